/**
 * BrokerClient: the replica fetcher's view of the shared Kafka client (src/client) for talking to
 * one other broker's client port. One connection, opened on first use and again after any failure
 * (ApiVersions first, so a leader that lacks the version asked for is a clear error); requests are
 * pipelined and matched to responses by correlation id; every request has a timeout, and a timeout
 * or a socket error closes the connection and fails what is in flight, so the caller backs off and
 * simply retries. When the broker re-registers elsewhere, `setEndpoint` moves the client there.
 *
 * Security (the inter-broker listener's, src/broker/security/client-security.ts): the shared
 * client's connection speaks TLS when the listener does and runs the SASL login after ApiVersions;
 * when the broker grants a session lifetime (KIP-368) the client logs in again on the same
 * connection before the session ends.
 */
import { KafkaClient, KafkaClientError, type Endpoint } from '../../client/index.js';
import type { ApiKey, ApiMessages } from '../../protocol/messages/index.js';
import {
  clientAuthenticator,
  clientTlsOptions,
  PLAINTEXT_CLIENT,
  type ClientSecurity,
} from '../security/client-security.js';

export type { Endpoint };
/** What every failure of a request is (see src/client/errors.ts for the kinds). */
export { KafkaClientError as BrokerClientError };

export class BrokerClient {
  readonly #client: KafkaClient;

  constructor(
    endpoint: Endpoint,
    opts: { clientId: string; connectTimeoutMs?: number; security?: ClientSecurity },
  ) {
    const security = opts.security ?? PLAINTEXT_CLIENT;
    const connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.#client = new KafkaClient({
      bootstrap: [endpoint],
      clientId: opts.clientId,
      connectTimeoutMs,
      ...(security.tls ? { tls: clientTlsOptions(security.tls) } : {}),
      ...(security.sasl ? { authenticate: clientAuthenticator(security.sasl, connectTimeoutMs) } : {}),
    });
  }

  get endpoint(): Endpoint {
    return this.#client.endpoints[0]!;
  }

  /** The broker moved (re-registered with another address): reconnect there on the next request. */
  setEndpoint(endpoint: Endpoint): void {
    this.#client.setEndpoints([endpoint]);
  }

  get connected(): boolean {
    return this.#client.connected;
  }

  /** One request at exactly `version`; rejects with a KafkaClientError. */
  request<K extends ApiKey>(
    apiKey: K,
    version: number,
    body: ApiMessages[K]['request'],
    timeoutMs: number,
  ): Promise<ApiMessages[K]['response']> {
    return this.#client.request(apiKey, version, body, { timeoutMs });
  }

  close(): void {
    this.#client.close();
  }
}
