/**
 * Who may call the control plane (gRPC: AlterPartition, ControlledShutdown, the Admin service).
 * Derived from the inter-broker listener, so a secured cluster's control plane is secured with it:
 *
 *   transport  TLS when the inter-broker listener speaks TLS (SSL, SASL_SSL): the broker's keystore
 *              (PEM) serves and is presented as the client certificate, its truststore verifies;
 *   caller     a shared secret in every call's metadata (`x-sluice-control-secret`), compared in
 *              constant time: `sluice.control.plane.secret` when set, else one derived from the
 *              inter-broker SASL credentials (HMAC of the broker's own username and password, the same
 *              on every broker and unknown to anyone without that password);
 *              without any secret, on a TLS inter-broker listener with a truststore, the client
 *              certificate (mTLS: a caller needs a certificate from the trusted CA).
 *   none       a PLAINTEXT inter-broker listener and no secret: open, as before (a warning is logged
 *              when other listeners are secured).
 */
import { createHmac, createHash, createPrivateKey, timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';

/**
 * What the control plane reads of the inter-broker listener's TLS client settings (the broker's
 * TlsClientSettings has these fields). Declared here, not imported: the controller does not import
 * src/broker.
 */
export interface ControlPlaneTlsSource {
  key?: unknown;
  cert?: unknown;
  passphrase?: string;
  ca?: string[];
  verifyHostname: boolean;
}

/** The inter-broker SASL login the shared secret is derived from (the broker's ClientSasl). */
export type ControlPlaneSaslSource =
  | { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string }
  | { mechanism: 'OAUTHBEARER' };

export const SECRET_HEADER = 'x-sluice-control-secret';

export interface ControlPlaneAuth {
  /** 'mtls' | 'secret' | 'tls+secret' | 'none' (logged at startup). */
  readonly mode: string;
  serverCredentials(): grpc.ServerCredentials;
  channelCredentials(): grpc.ChannelCredentials;
  /** Metadata every call carries (the secret), or undefined. */
  callMetadata(): grpc.Metadata | undefined;
  /** Whether a server call may proceed (its secret matches, when one is required). */
  allows(metadata: grpc.Metadata): boolean;
}

export const OPEN_CONTROL_PLANE: ControlPlaneAuth = {
  mode: 'none',
  serverCredentials: () => grpc.ServerCredentials.createInsecure(),
  channelCredentials: () => grpc.credentials.createInsecure(),
  callMetadata: () => undefined,
  allows: () => true,
};

/** The secret every broker derives from the inter-broker SASL login (PLAIN/SCRAM), or null. */
export function derivedSecret(sasl: ControlPlaneSaslSource | null): string | null {
  if (!sasl || sasl.mechanism === 'OAUTHBEARER') return null;
  return createHmac('sha256', sasl.password)
    .update(`sluice-control-plane\u0000${sasl.username}`)
    .digest('base64');
}

function pem(x: unknown): string | null {
  if (x === undefined || x === null) return null;
  if (Array.isArray(x)) return x.map((e) => pem(e)).join('\n');
  if (Buffer.isBuffer(x)) return x.toString('utf8');
  if (typeof x === 'string') return x;
  return null;
}

/**
 * Build the control plane's auth. `tls`: the inter-broker listener's TLS settings (null: plaintext);
 * only PEM keystores can serve gRPC (grpc-js takes PEM).
 */
export function controlPlaneAuth(opts: {
  tls: ControlPlaneTlsSource | null;
  secret: string | null;
}): ControlPlaneAuth {
  const secret = opts.secret;
  const t = opts.tls;
  let key: Buffer | null = null;
  let cert: Buffer | null = null;
  let ca: Buffer | null = null;
  if (t) {
    const keyPem = pem(t.key);
    const certPem = pem(t.cert);
    if (keyPem && certPem) {
      // grpc-js needs an unencrypted key.
      key = Buffer.from(
        createPrivateKey({ key: keyPem, ...(t.passphrase !== undefined ? { passphrase: t.passphrase } : {}) })
          .export({ type: 'pkcs8', format: 'pem' })
          .toString(),
      );
      cert = Buffer.from(certPem);
    } else if (!secret) {
      throw new Error(
        'the control plane uses mTLS with the inter-broker keystore, which must then be PEM (grpc-js reads no PKCS12): use a PEM keystore or set sluice.control.plane.secret',
      );
    }
    if (t.ca) ca = Buffer.from(t.ca.join('\n'));
  }
  const useTls = key !== null && cert !== null;
  const mtls = useTls && !secret && ca !== null;
  if (useTls && !secret && ca === null)
    throw new Error(
      'the control plane needs a way to authenticate brokers: the inter-broker listener has no truststore (ssl.truststore.location), so client certificates cannot be checked; set one, or sluice.control.plane.secret',
    );
  const digest = secret ? createHash('sha256').update(secret).digest() : null;
  const verifyHostname = t?.verifyHostname ?? true;
  return {
    mode: mtls ? 'mtls' : useTls && secret ? 'tls+secret' : secret ? 'secret' : 'none',
    serverCredentials: () =>
      useTls
        ? grpc.ServerCredentials.createSsl(ca, [{ private_key: key!, cert_chain: cert! }], mtls)
        : grpc.ServerCredentials.createInsecure(),
    channelCredentials: () =>
      useTls
        ? grpc.credentials.createSsl(
            ca,
            key,
            cert,
            verifyHostname ? {} : { checkServerIdentity: () => undefined },
          )
        : grpc.credentials.createInsecure(),
    callMetadata: () => {
      if (!secret) return undefined;
      const md = new grpc.Metadata();
      md.set(SECRET_HEADER, secret);
      return md;
    },
    allows: (md) => {
      if (!digest) return true;
      const got = md.get(SECRET_HEADER)[0];
      if (typeof got !== 'string') return false;
      return timingSafeEqual(createHash('sha256').update(got).digest(), digest);
    },
  };
}
