/**
 * The client side of the broker's own connections to other brokers (replica fetchers), with the
 * inter-broker listener's security protocol, as Kafka's inter-broker client:
 *
 *   TLS     the inter-broker listener's truststore verifies the other broker, its keystore is
 *           presented as the client certificate; ssl.endpoint.identification.algorithm=https (the
 *           default) checks the other broker's name against its certificate
 *   SASL    mechanism sasl.mechanism.inter.broker.protocol; credentials from the `username` and
 *           `password` options of listener.name.<inter-broker>.<mechanism>.sasl.jaas.config (Kafka
 *           reads the same entry); OAUTHBEARER with an unsecured token from
 *           unsecuredLoginStringClaim_sub, as Kafka's OAuthBearerUnsecuredLoginCallbackHandler
 *
 * The connection is the shared client's (src/client): `clientTlsOptions` are its TLS options and
 * `clientAuthenticator` its authentication step; `saslAuthenticate` runs SaslHandshake v1 +
 * SaslAuthenticate v2 over any request function.
 */
import { checkServerIdentity } from 'node:tls';
import type { ConnectionAuthenticator, TlsOptions } from '../../client/index.js';
import { InvalidConfigError } from '../../common/config-def.js';
import type { SecurityProtocol } from '../../common/listener-config.js';
import { ErrorCode, errorName } from '../../protocol/error-codes.js';
import type { SaslAuthenticateResponse } from '../../protocol/messages/sasl-authenticate.js';
import type { SaslHandshakeResponse } from '../../protocol/messages/sasl-handshake.js';
import { jaasFor } from './sasl-config.js';
import type { ListenerConfigView } from './listener-config-view.js';
import { clientInitialResponse, unsecuredToken } from './oauthbearer.js';
import { isSupportedMechanism, type SaslMechanismName } from './sasl-mechanism.js';
import { isScramMechanism, ScramSaslClient } from './scram.js';
import { tlsClientSettings, type TlsClientSettings } from './tls-config.js';

export type ClientSasl =
  | { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string }
  | { mechanism: 'OAUTHBEARER'; token: () => string };

export interface ClientSecurity {
  protocol: SecurityProtocol;
  tls: TlsClientSettings | null;
  sasl: ClientSasl | null;
}

export const PLAINTEXT_CLIENT: ClientSecurity = { protocol: 'PLAINTEXT', tls: null, sasl: null };

export class AuthenticationError extends Error {
  override readonly name = 'AuthenticationError';
}

/** The inter-broker client's security, from the inter-broker listener's configs. Throws InvalidConfigError. */
export function interBrokerClientSecurity(
  v: ListenerConfigView,
  protocol: SecurityProtocol,
  interBrokerMechanism: string,
): ClientSecurity {
  const tls = protocol === 'SSL' || protocol === 'SASL_SSL' ? tlsClientSettings(v) : null;
  let sasl: ClientSasl | null = null;
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
    const m = interBrokerMechanism;
    if (!isSupportedMechanism(m))
      throw new InvalidConfigError(
        'sasl.mechanism.inter.broker.protocol',
        `sasl.mechanism.inter.broker.protocol ${m} is not supported${m === 'GSSAPI' ? " (GSSAPI is Kafka's default: set PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER)" : ''}`,
      );
    const jaas = jaasFor(v, m);
    const key = `${v.prefix}${m.toLowerCase()}.sasl.jaas.config`;
    if (m === 'OAUTHBEARER') {
      const sub = jaas?.options.unsecuredLoginStringClaim_sub;
      if (!sub)
        throw new InvalidConfigError(
          key,
          `Inter-broker OAUTHBEARER needs ${key} with unsecuredLoginStringClaim_sub (Sluice's brokers log in with unsecured tokens only)`,
        );
      const lifetimeS = Number(jaas.options.unsecuredLoginLifetimeSeconds ?? 3600);
      sasl = {
        mechanism: 'OAUTHBEARER',
        token: () => {
          const now = Math.floor(Date.now() / 1000);
          return unsecuredToken({ sub, iat: now, exp: now + lifetimeS });
        },
      };
    } else {
      const username = jaas?.options.username;
      const password = jaas?.options.password;
      if (username === undefined || password === undefined)
        throw new InvalidConfigError(
          key,
          `The inter-broker listener ${v.listenerName} uses SASL/${m}: set username and password in ${key} (the broker's own credentials)`,
        );
      sasl = { mechanism: m as 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512', username, password };
    }
  }
  return { protocol, tls, sasl };
}

/**
 * Node's TLS client options for the shared client's connection (src/client): the truststore
 * verifies the other broker, the keystore is the client certificate, and with
 * ssl.endpoint.identification.algorithm=https the other broker's name is checked against its
 * certificate.
 */
export function clientTlsOptions(t: TlsClientSettings): TlsOptions {
  return {
    ...(t.key !== undefined ? { key: t.key } : {}),
    ...(t.cert !== undefined ? { cert: t.cert } : {}),
    ...(t.pfx !== undefined ? { pfx: t.pfx } : {}),
    ...(t.passphrase !== undefined ? { passphrase: t.passphrase } : {}),
    ...(t.ca ? { ca: t.ca } : {}),
    minVersion: t.minVersion,
    maxVersion: t.maxVersion,
    ...(t.ciphers ? { ciphers: t.ciphers } : {}),
    rejectUnauthorized: true,
    checkServerIdentity: t.verifyHostname ? checkServerIdentity : () => undefined,
  };
}

/**
 * The shared client's authentication step for `sasl`: SaslHandshake v1 and SaslAuthenticate v2 on
 * the new connection (and again for KIP-368 re-authentication); resolves with the session lifetime.
 */
export function clientAuthenticator(sasl: ClientSasl, timeoutMs: number): ConnectionAuthenticator {
  return (conn) =>
    saslAuthenticate(
      {
        handshake: (mechanism) => conn.request(17, 1, { mechanism }, timeoutMs),
        authenticate: (authBytes) => conn.request(36, 2, { authBytes }, timeoutMs),
      },
      sasl,
    );
}

/** How saslAuthenticate sends a request and waits for its answer. */
export interface SaslRequester {
  handshake(mechanism: string): Promise<SaslHandshakeResponse>;
  authenticate(authBytes: Buffer): Promise<SaslAuthenticateResponse>;
}

/**
 * SaslHandshake v1 + SaslAuthenticate v2 for one login (or re-login, KIP-368). Returns the session
 * lifetime the broker granted (0: none). Throws AuthenticationError with the broker's message.
 */
export async function saslAuthenticate(send: SaslRequester, sasl: ClientSasl): Promise<number> {
  const hs = await send.handshake(sasl.mechanism);
  if (hs.errorCode !== ErrorCode.NONE)
    throw new AuthenticationError(
      `SaslHandshake for ${sasl.mechanism} failed: ${errorName(hs.errorCode)} (the broker enables ${hs.mechanisms.join(', ')})`,
    );
  const step = async (bytes: Buffer): Promise<SaslAuthenticateResponse> => {
    const r = await send.authenticate(bytes);
    if (r.errorCode !== ErrorCode.NONE)
      throw new AuthenticationError(`${errorName(r.errorCode)}: ${r.errorMessage ?? ''}`.trim());
    return r;
  };
  let last: SaslAuthenticateResponse;
  const m: SaslMechanismName = sasl.mechanism;
  if (sasl.mechanism === 'OAUTHBEARER') {
    last = await step(clientInitialResponse(sasl.token()));
    if (last.authBytes.length > 0) {
      // The broker refused the token; its reason (JSON) comes with the failure to the \x01 answer.
      await step(Buffer.from([1]));
      throw new AuthenticationError(`OAUTHBEARER token refused: ${last.authBytes.toString('utf8')}`);
    }
  } else if (sasl.mechanism === 'PLAIN') {
    last = await step(Buffer.from(`\u0000${sasl.username}\u0000${sasl.password}`, 'utf8'));
  } else if (isScramMechanism(m)) {
    const c = new ScramSaslClient(m, sasl.username, sasl.password);
    const first = await step(c.first());
    last = await step(await c.final(first.authBytes));
    c.verify(last.authBytes);
  } else {
    throw new AuthenticationError(`unsupported mechanism ${m as string}`);
  }
  return Number(last.sessionLifetimeMs ?? 0n);
}
