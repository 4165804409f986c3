/**
 * Kafka's SSL configs turned into node:tls options, for a listener (server side) and for the broker's
 * own connections to other brokers (client side).
 *
 * Keystore (the broker's key and certificate chain):
 *   - `ssl.keystore.key` + `ssl.keystore.certificate.chain`: inline PEM (ssl.keystore.type=PEM);
 *   - `ssl.keystore.location`: a PEM file holding the private key and the chain (Kafka's PEM keystore),
 *     or a PKCS12 file (`ssl.keystore.type=PKCS12`, or the default JKS type, under which Java reads
 *     PKCS12 too) with `ssl.keystore.password`. Java's own JKS format is refused with a clear message.
 *   - an encrypted PEM key takes `ssl.key.password`.
 * Truststore (CAs trusted for the peer's certificate): `ssl.truststore.certificates` inline PEM, or
 * the PEM file at `ssl.truststore.location`; none: the system's CAs, as Java's default truststore.
 * Versions: `ssl.enabled.protocols` (TLSv1.2,TLSv1.3), capped by `ssl.protocol` (TLSv1.2 means at
 * most 1.2). `ssl.cipher.suites`: IANA names, as Java takes them (mapped to OpenSSL's for TLS 1.2).
 *
 * Reading is synchronous and done at startup and on reload only (never per connection).
 */
import { readFileSync } from 'node:fs';
import { X509Certificate, type KeyObject } from 'node:crypto';
import type { SecureContextOptions, SecureVersion } from 'node:tls';
import { InvalidConfigError } from '../../common/config-def.js';
import type { ListenerConfigView } from './listener-config-view.js';

const VERSIONS: SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** IANA (Java) names of TLS 1.2 suites → OpenSSL's; TLS 1.3 suites keep their IANA names in node. */
const IANA_TO_OPENSSL: Record<string, string> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_DHE_RSA_WITH_AES_128_GCM_SHA256: 'DHE-RSA-AES128-GCM-SHA256',
  TLS_DHE_RSA_WITH_AES_256_GCM_SHA384: 'DHE-RSA-AES256-GCM-SHA384',
  TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'DHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384: 'ECDHE-ECDSA-AES256-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384: 'ECDHE-RSA-AES256-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_256_CBC_SHA256: 'AES256-SHA256',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
};
const TLS13_SUITES = new Set([
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_CCM_SHA256',
  'TLS_AES_128_CCM_8_SHA256',
]);

/** The cipher string node takes, from Kafka's ssl.cipher.suites; undefined = node's defaults. */
export function cipherString(suites: string[], key = 'ssl.cipher.suites'): string | undefined {
  if (suites.length === 0) return undefined;
  return suites
    .map((s) => {
      if (TLS13_SUITES.has(s)) return s;
      const o = IANA_TO_OPENSSL[s];
      if (!o) throw new InvalidConfigError(key, `Unknown or unsupported cipher suite ${s} in ${key}`);
      return o;
    })
    .join(':');
}

/** min/max TLS version from ssl.enabled.protocols and ssl.protocol. */
export function versionRange(
  enabled: string[],
  protocol: string | null,
): { minVersion: SecureVersion; maxVersion: SecureVersion } {
  const idx = enabled.map((p) => {
    const i = VERSIONS.indexOf(p as SecureVersion);
    if (i < 0)
      throw new InvalidConfigError(
        'ssl.enabled.protocols',
        `Unsupported protocol ${p} in ssl.enabled.protocols (use TLSv1.2, TLSv1.3)`,
      );
    return i;
  });
  if (idx.length === 0)
    throw new InvalidConfigError('ssl.enabled.protocols', 'ssl.enabled.protocols is empty');
  let max = Math.max(...idx);
  const min = Math.min(...idx);
  if (protocol && protocol !== 'TLS') {
    const cap = VERSIONS.indexOf(protocol as SecureVersion);
    if (cap < 0)
      throw new InvalidConfigError(
        'ssl.protocol',
        `Unsupported ssl.protocol ${protocol} (TLS, TLSv1.2 or TLSv1.3)`,
      );
    max = Math.min(max, cap);
  }
  if (max < min)
    throw new InvalidConfigError(
      'ssl.protocol',
      `ssl.protocol ${protocol} allows none of ssl.enabled.protocols ${enabled.join(',')}`,
    );
  return { minVersion: VERSIONS[min]!, maxVersion: VERSIONS[max]! };
}

export interface KeyMaterial {
  /** Options for createSecureContext: key/cert, or pfx. */
  options: Pick<SecureContextOptions, 'key' | 'cert' | 'pfx' | 'passphrase'>;
  /** The leaf certificate (PEM keystores), for DN/SAN checks and the expiry metric. */
  leaf: X509Certificate | null;
  /** Files read (watched for reloads). */
  files: string[];
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_KEY = /-----BEGIN ((?:ENCRYPTED |RSA |EC )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/;

function readConfigFile(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new InvalidConfigError(key, `Cannot read ${key} ${path}: ${(err as Error).message}`);
  }
}

function firstCert(pem: string): X509Certificate | null {
  const m = pem.match(PEM_CERT);
  return m ? new X509Certificate(m[0]) : null;
}

/** The keystore, or null when none is configured. Throws InvalidConfigError. */
export function keyMaterial(v: ListenerConfigView): KeyMaterial | null {
  const type = (v.str('ssl.keystore.type') ?? 'JKS').toUpperCase();
  const inlineKey = v.raw('ssl.keystore.key');
  const inlineChain = v.raw('ssl.keystore.certificate.chain');
  const location = v.raw('ssl.keystore.location');
  const keyPassword = v.raw('ssl.key.password');
  const p = v.prefix;
  if (inlineKey !== null || inlineChain !== null) {
    if (inlineKey === null || inlineChain === null)
      throw new InvalidConfigError(
        'ssl.keystore.key',
        'ssl.keystore.key and ssl.keystore.certificate.chain must be set together',
      );
    if (location !== null)
      throw new InvalidConfigError(
        'ssl.keystore.location',
        'ssl.keystore.location cannot be set with ssl.keystore.key',
      );
    return {
      options: {
        key: inlineKey,
        cert: inlineChain,
        ...(keyPassword !== null ? { passphrase: keyPassword } : {}),
      },
      leaf: firstCert(inlineChain),
      files: [],
    };
  }
  if (location === null) return null;
  const bytes = readConfigFile(
    location,
    `${v.listenerSet('ssl.keystore.location') ? p : ''}ssl.keystore.location`,
  );
  const text = bytes.toString('latin1');
  if (type === 'PEM' || text.includes('-----BEGIN')) {
    const key = PEM_KEY.exec(text)?.[0];
    const certs = text.match(PEM_CERT);
    if (!key || !certs)
      throw new InvalidConfigError(
        'ssl.keystore.location',
        `PEM keystore ${location} must hold a private key and its certificate chain`,
      );
    if (key.includes('ENCRYPTED') && keyPassword === null)
      throw new InvalidConfigError(
        'ssl.key.password',
        `The private key in ${location} is encrypted: set ssl.key.password`,
      );
    return {
      options: { key, cert: certs.join('\n'), ...(keyPassword !== null ? { passphrase: keyPassword } : {}) },
      leaf: new X509Certificate(certs[0]!),
      files: [location],
    };
  }
  if (bytes.readUInt32BE(0) === 0xfeedfeed)
    throw new InvalidConfigError(
      'ssl.keystore.type',
      `${location} is a JKS keystore, which Sluice cannot read: convert it to PKCS12 (keytool -importkeystore -deststoretype pkcs12) or PEM`,
    );
  const password = v.raw('ssl.keystore.password');
  return {
    options: { pfx: bytes, ...(password !== null ? { passphrase: password } : {}) },
    leaf: null,
    files: [location],
  };
}

/** Trusted CA certificates (PEM), or null for the system's. */
export function trustMaterial(v: ListenerConfigView): { ca: string[] | null; files: string[] } {
  const inline = v.raw('ssl.truststore.certificates');
  if (inline !== null) return { ca: inline.match(PEM_CERT) ?? [], files: [] };
  const location = v.raw('ssl.truststore.location');
  if (location === null) return { ca: null, files: [] };
  const text = readConfigFile(location, 'ssl.truststore.location').toString('latin1');
  const certs = text.match(PEM_CERT);
  if (!certs)
    throw new InvalidConfigError(
      'ssl.truststore.location',
      `${location} holds no PEM certificate: Sluice reads PEM truststores (ssl.truststore.type=PEM); convert a JKS/PKCS12 truststore with keytool -exportcert -rfc`,
    );
  return { ca: certs, files: [location] };
}

export type ClientAuth = 'none' | 'requested' | 'required';

export interface TlsServerSettings {
  /** Everything createSecureContext / tls.Server need; re-read by reload(). */
  contextOptions: SecureContextOptions;
  clientAuth: ClientAuth;
  leaf: X509Certificate | null;
  files: string[];
}

/** A listener's TLS server settings. Throws InvalidConfigError (a startup error). */
export function tlsServerSettings(v: ListenerConfigView, securityProtocol: string): TlsServerSettings {
  const keys = keyMaterial(v);
  if (!keys)
    throw new InvalidConfigError(
      `${v.prefix}ssl.keystore.location`,
      `Listener ${v.listenerName} (${securityProtocol}) needs a keystore: set ${v.prefix}ssl.keystore.location (or ssl.keystore.location), or ssl.keystore.key and ssl.keystore.certificate.chain`,
    );
  const trust = trustMaterial(v);
  // Kafka: on SASL_SSL listeners only the listener-prefixed ssl.client.auth counts.
  const clientAuth = (
    securityProtocol === 'SASL_SSL' && !v.listenerSet('ssl.client.auth')
      ? 'none'
      : (v.str('ssl.client.auth') ?? 'none')
  ) as ClientAuth;
  const { minVersion, maxVersion } = versionRange(v.list('ssl.enabled.protocols'), v.str('ssl.protocol'));
  const ciphers = cipherString(v.list('ssl.cipher.suites'));
  return {
    contextOptions: {
      ...keys.options,
      ...(trust.ca ? { ca: trust.ca } : {}),
      minVersion,
      maxVersion,
      ...(ciphers ? { ciphers } : {}),
    },
    clientAuth,
    leaf: keys.leaf,
    files: [...keys.files, ...trust.files],
  };
}

export interface TlsClientSettings {
  key?: SecureContextOptions['key'];
  cert?: SecureContextOptions['cert'];
  pfx?: SecureContextOptions['pfx'];
  passphrase?: string;
  ca?: string[];
  minVersion: SecureVersion;
  maxVersion: SecureVersion;
  ciphers?: string;
  /** ssl.endpoint.identification.algorithm=https: check the server's name (default, as Kafka). */
  verifyHostname: boolean;
}

/** The broker's client-side TLS for its connections to other brokers on this listener. */
export function tlsClientSettings(v: ListenerConfigView): TlsClientSettings {
  const keys = keyMaterial(v);
  const trust = trustMaterial(v);
  const { minVersion, maxVersion } = versionRange(v.list('ssl.enabled.protocols'), v.str('ssl.protocol'));
  const ciphers = cipherString(v.list('ssl.cipher.suites'));
  const alg = (v.str('ssl.endpoint.identification.algorithm') ?? '').trim().toLowerCase();
  if (alg !== '' && alg !== 'https')
    throw new InvalidConfigError(
      'ssl.endpoint.identification.algorithm',
      `Unsupported ssl.endpoint.identification.algorithm ${alg} (https or empty)`,
    );
  return {
    ...(keys?.options ?? {}),
    ...(keys?.options.passphrase !== undefined ? { passphrase: keys.options.passphrase } : {}),
    ...(trust.ca ? { ca: trust.ca } : {}),
    minVersion,
    maxVersion,
    ...(ciphers ? { ciphers } : {}),
    verifyHostname: alg === 'https',
  };
}

/** The subject alternative names of a certificate, for comparing a reloaded keystore with the last one. */
export function sans(c: X509Certificate | null): string {
  return c?.subjectAltName ?? '';
}

export type { KeyObject };
