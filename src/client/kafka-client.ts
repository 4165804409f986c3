/**
 * KafkaClient: a Kafka client for one logical peer (a bootstrap list, or one broker), on one
 * KafkaConnection at a time. It adds to the connection what a caller should not have to write:
 *
 * - bootstrap: connect to the first endpoint that accepts and answers; after a failure, start with
 *   the next one, so a dead broker at the head of the list costs one refused connect, not every time;
 * - version negotiation: ApiVersions on every new connection (api-versions.ts), then each request
 *   at the highest version the broker, the codecs and the caller's range allow;
 * - reconnecting: a closed connection (peer gone, timeout, endpoint change) is replaced on the next
 *   request; what was in flight on it has failed with a retriable error;
 * - retries with backoff, only for requests that ask (`retry`), only for retriable errors: transport
 *   failures and, when the caller says where the response keeps its error (`errorCode`), retriable
 *   Kafka error codes.
 *
 * - security: TLS (`tls`) on every connection, and an `authenticate` step after ApiVersions (the
 *   caller's SASL exchange: this module knows no mechanism); when the broker grants a session
 *   lifetime (KIP-368), the step runs again on the same connection at 85–95 % of it, between
 *   requests, as Kafka's clients re-authenticate.
 *
 * Requests are pipelined on the connection and answered in order. Nothing here knows any particular
 * API beyond ApiVersions: typed helpers (the operator's admin calls, the replica fetcher's Fetch) sit
 * on `request()`, whose types come from the generated codecs.
 */
import { apiByKey, type ApiKey, type ApiMessages } from '../protocol/messages/index.js';
import { errorName } from '../protocol/error-codes.js';
import { BrokerApiVersions, fetchApiVersions, pickVersion, type VersionRange } from './api-versions.js';
import { formatEndpoint, parseBootstrap, sameEndpoint, type Endpoint } from './endpoints.js';
import {
  ClientClosedError,
  ConnectionError,
  isRetriableError,
  KafkaClientError,
  ResponseError,
} from './errors.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  KafkaConnection,
  type TlsOptions,
} from './kafka-connection.js';
import { backoffMs, retryPolicy, type RetryOptions } from './retry.js';

export interface KafkaClientOptions {
  /** `"host:port,host:port"` or endpoints, tried in order. */
  bootstrap: string | readonly Endpoint[];
  clientId: string;
  /** Per endpoint: TCP connect and the ApiVersions handshake (default 10 s). */
  connectTimeoutMs?: number;
  /** Default per-request timeout (default 30 s, Kafka's request.timeout.ms). */
  requestTimeoutMs?: number;
  /** Largest response frame accepted (default 1 GiB). */
  maxFrameSize?: number;
  /**
   * Ask each new connection's broker for its versions (default true). Off: no ApiVersions, and a
   * request goes out at the highest version of its range the codecs know.
   */
  negotiateVersions?: boolean;
  /** Sent in ApiVersions v3+ (Kafka checks both against [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?). */
  clientSoftwareName?: string;
  clientSoftwareVersion?: string;
  /** Speak TLS on every connection (SSL and SASL_SSL listeners). */
  tls?: TlsOptions;
  /** Authenticate every new connection after ApiVersions (SASL_PLAINTEXT and SASL_SSL listeners). */
  authenticate?: ConnectionAuthenticator;
}

/**
 * Authenticates a connection (SaslHandshake and SaslAuthenticate, or anything else the caller's
 * mechanism needs) and resolves with the session lifetime the broker granted in ms (0: none, the
 * session does not expire). Rejects when the broker refuses: the connection is then closed.
 */
export type ConnectionAuthenticator = (
  conn: KafkaConnection,
  versions: BrokerApiVersions | null,
) => Promise<number>;

export type RequestBody<K extends ApiKey> =
  ApiMessages[K]['request'] | ((version: number) => ApiMessages[K]['request']);

export interface RequestOptions<R> {
  /** This request's timeout (default: the client's requestTimeoutMs). */
  timeoutMs?: number;
  /** Retry retriable failures: true for the defaults (5 retries, 100 ms → 1 s backoff). Default: none. */
  retry?: RetryOptions | boolean;
  /**
   * Where the response keeps its error, as a Kafka error code (0: none). A non-zero code fails the
   * request with a ResponseError, retried when the code is retriable and `retry` asks.
   */
  errorCode?: (response: R) => number;
}

interface Current {
  conn: KafkaConnection;
  /** The broker's API versions; null when negotiation is off. */
  versions: BrokerApiVersions | null;
  /** When to authenticate again (KIP-368; Date.now() ms), 0: never. */
  reauthAt: number;
  /** The re-authentication under way, which requests wait for. */
  reauthenticating: Promise<void> | null;
}

/** Re-authenticate at 85–95 % of the session lifetime, as Kafka's clients do. */
function reauthTime(lifetimeMs: number): number {
  return lifetimeMs > 0 ? Date.now() + Math.floor(lifetimeMs * (0.85 + Math.random() * 0.1)) : 0;
}

export class KafkaClient {
  readonly clientId: string;
  #endpoints: readonly Endpoint[];
  /** Index of the endpoint to try first on the next connect. */
  #cursor = 0;
  #current: Current | null = null;
  #connecting: Promise<Current> | null = null;
  #closed = false;
  readonly #o: Required<Omit<KafkaClientOptions, 'bootstrap' | 'maxFrameSize' | 'tls' | 'authenticate'>> & {
    maxFrameSize?: number;
    tls?: TlsOptions;
    authenticate?: ConnectionAuthenticator;
  };

  constructor(o: KafkaClientOptions) {
    this.#endpoints = typeof o.bootstrap === 'string' ? parseBootstrap(o.bootstrap) : [...o.bootstrap];
    if (this.#endpoints.length === 0) throw new TypeError('KafkaClient: no bootstrap endpoint');
    this.clientId = o.clientId;
    this.#o = {
      clientId: o.clientId,
      connectTimeoutMs: o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      requestTimeoutMs: o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      negotiateVersions: o.negotiateVersions ?? true,
      clientSoftwareName: o.clientSoftwareName ?? 'sluice',
      clientSoftwareVersion: o.clientSoftwareVersion ?? 'unknown',
      ...(o.maxFrameSize !== undefined ? { maxFrameSize: o.maxFrameSize } : {}),
      ...(o.tls ? { tls: o.tls } : {}),
      ...(o.authenticate ? { authenticate: o.authenticate } : {}),
    };
  }

  get endpoints(): readonly Endpoint[] {
    return this.#endpoints;
  }

  /**
   * Replaces the endpoints (the broker moved). An open connection to an endpoint no longer listed is
   * closed, failing its requests in flight with a retriable ConnectionError; the next request
   * connects to the new endpoints.
   */
  setEndpoints(endpoints: readonly Endpoint[]): void {
    if (endpoints.length === 0) throw new TypeError('KafkaClient: no endpoint');
    const same =
      endpoints.length === this.#endpoints.length &&
      endpoints.every((e, i) => sameEndpoint(e, this.#endpoints[i]!));
    if (same) return;
    this.#endpoints = [...endpoints];
    this.#cursor = 0;
    const cur = this.#current;
    if (cur && !this.#listed(cur.conn.endpoint)) {
      this.#current = null;
      cur.conn.close(new ConnectionError(`endpoint changed from ${cur.conn.describe()}`));
    }
  }

  /** Whether a connection is open now (no I/O). */
  get connected(): boolean {
    return this.#current !== null && !this.#current.conn.closed;
  }

  /** The open connection, after connecting (and negotiating) when there is none. */
  async connection(): Promise<KafkaConnection> {
    return (await this.#ensure()).conn;
  }

  /** The version of `apiKey` a request with `wanted` would go out at on the current connection. */
  async versionFor(apiKey: ApiKey, wanted: VersionRange): Promise<number> {
    const cur = await this.#ensure();
    return cur.versions ? cur.versions.pick(apiKey, wanted) : pickVersion(apiKey, wanted);
  }

  /**
   * Sends a request at the highest version in `versions` the broker and codecs allow and resolves
   * with the decoded response. `body` may be a function of the chosen version, for bodies whose
   * fields depend on it. Throws a KafkaClientError (see errors.ts).
   */
  async request<K extends ApiKey>(
    apiKey: K,
    versions: VersionRange,
    body: RequestBody<K>,
    opts: RequestOptions<ApiMessages[K]['response']> = {},
  ): Promise<ApiMessages[K]['response']> {
    const policy = retryPolicy(opts.retry);
    for (let retry = 1; ; retry++) {
      try {
        return await this.#attempt(apiKey, versions, body, opts);
      } catch (err) {
        if (!policy || retry > policy.retries || !isRetriableError(err) || this.#closed) throw err;
        const delay = backoffMs(policy, retry);
        policy.onRetry?.(err as KafkaClientError, retry, delay);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Closes the connection; requests in flight and later ones fail with ClientClosedError. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const cur = this.#current;
    this.#current = null;
    cur?.conn.close(new ClientClosedError(`client ${this.clientId} closed`));
  }

  async #attempt<K extends ApiKey>(
    apiKey: K,
    versions: VersionRange,
    body: RequestBody<K>,
    opts: RequestOptions<ApiMessages[K]['response']>,
  ): Promise<ApiMessages[K]['response']> {
    const cur = await this.#ensure();
    if (cur.reauthAt > 0 && Date.now() >= cur.reauthAt) await this.#reauthenticate(cur);
    const { conn, versions: table } = cur;
    const version = table ? table.pick(apiKey, versions) : pickVersion(apiKey, versions);
    const b = typeof body === 'function' ? body(version) : body;
    const res = await conn.request(apiKey, version, b, opts.timeoutMs ?? this.#o.requestTimeoutMs);
    const code = opts.errorCode?.(res) ?? 0;
    if (code !== 0)
      throw new ResponseError(
        code,
        `${apiByKey(apiKey)?.name ?? apiKey} v${version} to ${conn.describe()}: ${errorName(code)}`,
      );
    return res;
  }

  /**
   * KIP-368: authenticate again on the same connection, once nothing is in flight on it (a request
   * sent meanwhile would be taken for part of the exchange); requests arriving meanwhile wait. A
   * refusal closes the connection (its requests fail with a retriable ConnectionError).
   */
  #reauthenticate(cur: Current): Promise<void> {
    if (cur.reauthenticating) return cur.reauthenticating;
    const authenticate = this.#o.authenticate;
    if (!authenticate || cur.conn.inFlightCount > 0) return Promise.resolve();
    cur.reauthAt = 0;
    cur.reauthenticating = authenticate(cur.conn, cur.versions)
      .then(
        (lifetimeMs) => {
          cur.reauthAt = reauthTime(lifetimeMs);
        },
        (err: unknown) => {
          const reason = new ConnectionError(
            `re-authentication to ${cur.conn.describe()} failed: ${err instanceof Error ? err.message : String(err)}`,
            { cause: err },
          );
          cur.conn.close(reason);
          throw reason;
        },
      )
      .finally(() => {
        cur.reauthenticating = null;
      });
    return cur.reauthenticating;
  }

  #listed(e: Endpoint): boolean {
    return this.#endpoints.some((x) => sameEndpoint(x, e));
  }

  #ensure(): Promise<Current> {
    if (this.#closed) return Promise.reject(new ClientClosedError(`client ${this.clientId} closed`));
    const cur = this.#current;
    if (cur && !cur.conn.closed) return Promise.resolve(cur);
    this.#current = null;
    this.#connecting ??= this.#open().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  /** Tries each endpoint once, from the cursor on; the first that connects and answers wins. */
  async #open(): Promise<Current> {
    const endpoints = this.#endpoints;
    const failures: string[] = [];
    let last: unknown;
    for (let i = 0; i < endpoints.length; i++) {
      const at = (this.#cursor + i) % endpoints.length;
      const ep = endpoints[at]!;
      let conn: KafkaConnection | null = null;
      try {
        conn = await KafkaConnection.connect({
          ...ep,
          clientId: this.clientId,
          connectTimeoutMs: this.#o.connectTimeoutMs,
          ...(this.#o.maxFrameSize !== undefined ? { maxFrameSize: this.#o.maxFrameSize } : {}),
          ...(this.#o.tls ? { tls: this.#o.tls } : {}),
        });
        const versions = this.#o.negotiateVersions
          ? await fetchApiVersions(conn, {
              timeoutMs: this.#o.connectTimeoutMs,
              clientSoftwareName: this.#o.clientSoftwareName,
              clientSoftwareVersion: this.#o.clientSoftwareVersion,
            })
          : null;
        let lifetimeMs = 0;
        if (this.#o.authenticate) {
          try {
            lifetimeMs = await this.#o.authenticate(conn, versions);
          } catch (err) {
            if (err instanceof KafkaClientError) throw err;
            throw new ConnectionError(
              `authentication to ${formatEndpoint(ep)} failed: ${err instanceof Error ? err.message : String(err)}`,
              { cause: err },
            );
          }
        }
        if (this.#closed) throw new ClientClosedError(`client ${this.clientId} closed`);
        if (!this.#listed(ep))
          throw new ConnectionError(`endpoint ${formatEndpoint(ep)} was replaced while connecting`);
        const opened: Current = { conn, versions, reauthAt: reauthTime(lifetimeMs), reauthenticating: null };
        const c = conn;
        c.onClose(() => {
          if (this.#current?.conn !== c) return;
          this.#current = null;
          // Next time, start with the endpoint after the one that failed.
          if (this.#endpoints === endpoints) this.#cursor = (at + 1) % endpoints.length;
        });
        this.#cursor = at;
        this.#current = opened;
        return opened;
      } catch (err) {
        conn?.close();
        if (err instanceof ClientClosedError) throw err;
        last = err;
        failures.push(err instanceof Error ? err.message : String(err));
      }
    }
    // One endpoint: its own error says it best (and keeps e.g. UNSUPPORTED_VERSION not retriable).
    if (endpoints.length === 1 && last instanceof KafkaClientError) throw last;
    throw new ConnectionError(
      `cannot reach any of ${endpoints.map(formatEndpoint).join(',')}: ${failures.join('; ')}`,
      { cause: last },
    );
  }
}
