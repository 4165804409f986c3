/**
 * The TLS side of one SSL or SASL_SSL listener: the secure context its tls.Server serves, the client
 * certificate check (ssl.client.auth) and principal (mTLS), and certificate reloads without restart.
 *
 * Reload: the keystore and truststore files are watched (their directories, so Kubernetes' atomic
 * `..data` symlink swaps and cert-manager's renames are seen) and re-checked every 30 s; a change
 * builds a new secure context and `setSecureContext` hands it to the server, so new connections get
 * the new certificate and open ones keep theirs. A broken intermediate state (a key that does not
 * match the certificate yet) keeps the old context and is retried on the next change. As Kafka's
 * SslFactory, a new certificate must keep the subject DN and SANs unless ssl.allow.dn.changes /
 * ssl.allow.san.changes. Dynamic config changes of the listener's ssl.* keys reload too (`reload()`).
 *
 * Client certificates: Node's TLS finishes the handshake and checks the chain afterwards, so an
 * untrusted client certificate ends in a closed connection rather than a TLS alert (Kafka's JSSE sends
 * the alert). It is counted and logged as a failed authentication either way.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext, type Server as TlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import { InvalidConfigError } from '../../common/config-def.js';
import type { Logger } from '../../common/logger.js';
import type { ListenerConfigView } from './listener-config-view.js';
import { ANONYMOUS, userPrincipal, type KafkaPrincipal } from './principal.js';
import type { SecurityMetrics } from './security-metrics.js';
import { SslPrincipalMapper } from './ssl-principal-mapper.js';
import { sans, tlsServerSettings, type ClientAuth, type TlsServerSettings } from './tls-config.js';
import { subjectDn } from './x500-name.js';

export class ClientCertificateError extends Error {
  override readonly name = 'ClientCertificateError';
}

const POLL_MS = 30_000;
const SSL_KEYS = [
  'ssl.keystore.type',
  'ssl.keystore.location',
  'ssl.keystore.password',
  'ssl.key.password',
  'ssl.keystore.key',
  'ssl.keystore.certificate.chain',
  'ssl.truststore.type',
  'ssl.truststore.location',
  'ssl.truststore.certificates',
  'ssl.enabled.protocols',
  'ssl.protocol',
  'ssl.cipher.suites',
];
const DEBOUNCE_MS = 200;

export class TlsListener {
  readonly listenerName: string;
  readonly securityProtocol: string;
  readonly #view: ListenerConfigView;
  readonly #log: Logger;
  readonly #metrics: SecurityMetrics | null;
  readonly #mapper: SslPrincipalMapper;
  #settings: TlsServerSettings;
  #fingerprint: string;
  #server: TlsServer | null = null;
  #watchers: FSWatcher[] = [];
  #poll: NodeJS.Timeout | null = null;
  #debounce: NodeJS.Timeout | null = null;

  /** Reads and checks everything once; throws InvalidConfigError (a startup error). */
  constructor(
    view: ListenerConfigView,
    securityProtocol: string,
    log: Logger,
    metrics: SecurityMetrics | null,
  ) {
    this.listenerName = view.listenerName;
    this.securityProtocol = securityProtocol;
    this.#view = view;
    this.#log = log;
    this.#metrics = metrics;
    this.#settings = tlsServerSettings(view, securityProtocol);
    try {
      createSecureContext(this.#settings.contextOptions);
    } catch (err) {
      throw new InvalidConfigError(
        `${view.prefix}ssl.keystore.location`,
        `Listener ${view.listenerName}: the keystore/truststore cannot be used: ${(err as Error).message}`,
      );
    }
    try {
      this.#mapper = new SslPrincipalMapper(view.str('ssl.principal.mapping.rules'));
    } catch (err) {
      throw new InvalidConfigError('ssl.principal.mapping.rules', (err as Error).message);
    }
    this.#fingerprint = this.#currentFingerprint();
    this.#recordExpiry(this.#settings.leaf);
  }

  get clientAuth(): ClientAuth {
    return this.#settings.clientAuth;
  }

  /** Options for tls.createServer. */
  serverOptions(): TlsOptions {
    return {
      ...this.#settings.contextOptions,
      requestCert: this.#settings.clientAuth !== 'none',
      // required: OpenSSL refuses a handshake without a certificate (certificate_required alert) and
      // node closes one whose certificate does not verify (tlsClientError, authorizationError set).
      // requested: peerPrincipal() refuses an untrusted certificate, accepts none.
      rejectUnauthorized: this.#settings.clientAuth === 'required',
    };
  }

  /** The server whose context reloads replace; starts watching the files. */
  attach(server: TlsServer): void {
    this.#server = server;
    this.#watch();
  }

  #watch(): void {
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = null;
    for (const dir of new Set(this.#settings.files.map((f) => dirname(f)))) {
      try {
        // Any change in the directory is checked (by content): Kubernetes secret volumes swap a
        // `..data` symlink, cert-manager and editors rename files into place.
        const w = watch(dir, { persistent: false }, () => this.#scheduleCheck());
        w.on('error', (err) => this.#log.warn({ err, dir }, 'watching TLS files failed; polling only'));
        this.#watchers.push(w);
      } catch (err) {
        this.#log.warn({ err, dir }, 'cannot watch TLS files; polling only');
      }
    }
    if (this.#settings.files.length > 0) {
      this.#poll = setInterval(() => this.check(), POLL_MS);
      this.#poll.unref();
    }
  }

  stop(): void {
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
    if (this.#poll) clearInterval(this.#poll);
    if (this.#debounce) clearTimeout(this.#debounce);
  }

  #scheduleCheck(): void {
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => this.check(), DEBOUNCE_MS);
    this.#debounce.unref();
  }

  /** The files' contents and the listener's ssl.* values: a change of either means a reload. */
  #currentFingerprint(): string {
    const h = createHash('sha256');
    for (const k of SSL_KEYS) h.update(`${k}=${this.#view.raw(k) ?? ''}\n`);
    for (const f of this.#settings.files) {
      try {
        h.update(f).update(readFileSync(f));
      } catch {
        h.update(`${f}:missing`);
      }
    }
    return h.digest('hex');
  }

  /** Reload when the keystore/truststore files or the listener's ssl.* configs changed. */
  check(): void {
    const fp = this.#currentFingerprint();
    if (fp === this.#fingerprint) return;
    if (this.reload()) this.#fingerprint = this.#currentFingerprint();
  }

  /**
   * Re-read the keystore and truststore and serve them to new connections. Returns whether it did;
   * a keystore that cannot be used yet (half-written, mismatched) keeps the old one.
   */
  reload(): boolean {
    let next: TlsServerSettings;
    try {
      next = tlsServerSettings(this.#view, this.securityProtocol);
      createSecureContext(next.contextOptions);
      const old = this.#settings.leaf;
      if (old && next.leaf) {
        if (!this.#view.bool('ssl.allow.dn.changes') && old.subject !== next.leaf.subject)
          throw new Error(
            `Keystore DistinguishedName does not match: existing={${old.subject.replace(/\n/g, ', ')}}, new={${next.leaf.subject.replace(/\n/g, ', ')}}`,
          );
        if (!this.#view.bool('ssl.allow.san.changes') && sans(old) !== sans(next.leaf))
          throw new Error(
            `Keystore SubjectAltNames do not match: existing={${sans(old)}}, new={${sans(next.leaf)}}`,
          );
      }
      if (next.clientAuth !== this.#settings.clientAuth)
        throw new Error('ssl.client.auth cannot change without a restart');
    } catch (err) {
      this.#metrics?.certificateReloads.inc({ listener: this.listenerName, result: 'error' });
      this.#log.warn(
        { listener: this.listenerName, err: err instanceof Error ? err.message : String(err) },
        'TLS keystore/truststore changed but cannot be used; still serving the previous certificate',
      );
      return false;
    }
    const filesChanged = next.files.join('\n') !== this.#settings.files.join('\n');
    this.#settings = next;
    this.#server?.setSecureContext(next.contextOptions);
    if (filesChanged && this.#server) this.#watch();
    this.#metrics?.certificateReloads.inc({ listener: this.listenerName, result: 'ok' });
    this.#recordExpiry(next.leaf);
    this.#log.info(
      {
        listener: this.listenerName,
        subject: next.leaf?.subject.replace(/\n/g, ', '),
        serial: next.leaf?.serialNumber,
        validTo: next.leaf?.validTo,
      },
      'TLS certificate reloaded',
    );
    return true;
  }

  #recordExpiry(leaf: X509Certificate | null): void {
    if (leaf)
      this.#metrics?.certificateNotAfter.set(
        { listener: this.listenerName },
        Date.parse(leaf.validTo) / 1000,
      );
  }

  /**
   * Who the peer is, from its certificate (SSL listeners), per ssl.client.auth: no certificate is
   * ANONYMOUS unless one is required; a certificate that does not verify, or whose DN no mapping rule
   * matches, is a ClientCertificateError.
   */
  peerPrincipal(socket: TLSSocket): KafkaPrincipal {
    if (this.#settings.clientAuth === 'none') return ANONYMOUS;
    const cert = socket.getPeerX509Certificate();
    if (!cert) {
      if (this.#settings.clientAuth === 'required')
        throw new ClientCertificateError('no client certificate (ssl.client.auth=required)');
      return ANONYMOUS;
    }
    if (!socket.authorized)
      throw new ClientCertificateError(
        `client certificate not trusted (${String(socket.authorizationError)}): ${cert.subject.replace(/\n/g, ', ')} issued by ${cert.issuer.replace(/\n/g, ', ')}`,
      );
    const dn = subjectDn(cert.raw);
    try {
      return userPrincipal(this.#mapper.getName(dn));
    } catch (err) {
      throw new ClientCertificateError((err as Error).message);
    }
  }
}
