/**
 * BrokerClient: the broker's own small Kafka client, for talking to another broker's client port
 * (replica fetching). Requests are built and responses decoded with the generated codecs. One
 * connection, opened on first use and again after any failure; requests may be pipelined and are
 * matched to responses by correlation id. Every request has a timeout; a timeout or a socket error
 * closes the connection and fails what is in flight, so the caller backs off and simply retries.
 *
 * Security (the inter-broker listener's): the connection is opened with TLS when it says so and
 * authenticates with SASL before the first request; when the broker grants a session lifetime
 * (KIP-368) it re-authenticates on the same connection before the session ends (src/broker/security/
 * client-security.ts does both; this class only calls it).
 */
import type { Socket } from 'node:net';
import { FrameDecoder } from '../../protocol/frame-decoder.js';
import {
  decodeResponse,
  encodeRequestFrame,
  type ApiKey,
  type ApiMessages,
} from '../../protocol/messages/index.js';
import {
  openSocket,
  PLAINTEXT_CLIENT,
  saslAuthenticate,
  type ClientSecurity,
} from '../security/client-security.js';

export interface Endpoint {
  host: string;
  port: number;
}

export class BrokerClientError extends Error {
  override readonly name = 'BrokerClientError';
}

interface InFlight {
  apiKey: ApiKey;
  version: number;
  resolve: (frame: Buffer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class BrokerClient {
  readonly #clientId: string;
  readonly #connectTimeoutMs: number;
  #endpoint: Endpoint;
  #socket: Socket | null = null;
  #connecting: Promise<Socket> | null = null;
  readonly #inFlight = new Map<number, InFlight>();
  #nextCorrelation = 1;
  #closed = false;
  readonly #security: ClientSecurity;
  /** When to re-authenticate (KIP-368), 0 = never. */
  #reauthAt = 0;

  constructor(
    endpoint: Endpoint,
    opts: { clientId: string; connectTimeoutMs?: number; security?: ClientSecurity },
  ) {
    this.#endpoint = endpoint;
    this.#clientId = opts.clientId;
    this.#connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.#security = opts.security ?? PLAINTEXT_CLIENT;
  }

  get endpoint(): Endpoint {
    return this.#endpoint;
  }

  /** The broker moved (re-registered with another address): reconnect there on the next request. */
  setEndpoint(endpoint: Endpoint): void {
    if (endpoint.host === this.#endpoint.host && endpoint.port === this.#endpoint.port) return;
    this.#endpoint = endpoint;
    this.#disconnect(new BrokerClientError('endpoint changed'));
  }

  get connected(): boolean {
    return this.#socket !== null;
  }

  async request<K extends ApiKey>(
    apiKey: K,
    version: number,
    body: ApiMessages[K]['request'],
    timeoutMs: number,
  ): Promise<ApiMessages[K]['response']> {
    if (this.#closed) throw new BrokerClientError('client closed');
    const socket = await this.#connect();
    if (this.#reauthAt > 0 && Date.now() >= this.#reauthAt && this.#inFlight.size === 0) {
      this.#reauthAt = 0;
      try {
        await this.#authenticate(socket);
      } catch (err) {
        this.#disconnect(new BrokerClientError(`re-authentication failed: ${(err as Error).message}`));
        throw err;
      }
    }
    return this.#send(socket, apiKey, version, body, timeoutMs);
  }

  async #send<K extends ApiKey>(
    socket: Socket,
    apiKey: K,
    version: number,
    body: ApiMessages[K]['request'],
    timeoutMs: number,
  ): Promise<ApiMessages[K]['response']> {
    const correlationId = this.#nextCorrelation++;
    if (this.#nextCorrelation > 0x7fffffff) this.#nextCorrelation = 1;
    const frame = encodeRequestFrame(apiKey, version, correlationId, this.#clientId, body);
    const response = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#disconnect(
          new BrokerClientError(
            `request ${apiKey} v${version} to ${this.#describe()} timed out after ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.#inFlight.set(correlationId, { apiKey, version, resolve, reject, timer });
      socket.write(frame);
    });
    const decoded = decodeResponse(response, apiKey, version);
    return decoded.body;
  }

  #describe(): string {
    return `${this.#endpoint.host}:${this.#endpoint.port}`;
  }

  #connect(): Promise<Socket> {
    // While connecting (and authenticating) callers wait for that, even once the socket is attached.
    if (this.#connecting) return this.#connecting;
    if (this.#socket) return Promise.resolve(this.#socket);
    const endpoint = this.#endpoint;
    this.#connecting = (async () => {
      let s: Socket;
      try {
        s = await openSocket(endpoint, this.#security, this.#connectTimeoutMs);
      } catch (err) {
        throw new BrokerClientError((err as Error).message);
      }
      if (this.#closed) {
        s.destroy();
        throw new BrokerClientError('client closed');
      }
      this.#attach(s);
      if (this.#security.sasl) {
        try {
          await this.#authenticate(s);
        } catch (err) {
          this.#disconnect(new BrokerClientError(`authentication failed: ${(err as Error).message}`));
          throw new BrokerClientError(
            `SASL authentication to ${endpoint.host}:${endpoint.port} failed: ${(err as Error).message}`,
          );
        }
      }
      return s;
    })().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  /** SaslHandshake + SaslAuthenticate on `s` (login or KIP-368 re-login); schedules the next one. */
  async #authenticate(s: Socket): Promise<void> {
    const sasl = this.#security.sasl!;
    const timeout = this.#connectTimeoutMs;
    const lifetime = await saslAuthenticate(
      {
        handshake: (mechanism) => this.#send(s, 17, 1, { mechanism }, timeout),
        authenticate: (authBytes) => this.#send(s, 36, 2, { authBytes }, timeout),
      },
      sasl,
    );
    // Re-authenticate at 85-95% of the session, as Kafka's clients do.
    this.#reauthAt = lifetime > 0 ? Date.now() + Math.floor(lifetime * (0.85 + Math.random() * 0.1)) : 0;
  }

  #attach(s: Socket): void {
    this.#socket = s;
    const decoder = new FrameDecoder({ maxFrameSize: 1 << 30 });
    s.on('data', (chunk: Buffer) => {
      if (this.#socket !== s) return;
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        this.#disconnect(new BrokerClientError(`bad response frame: ${(err as Error).message}`));
        return;
      }
      for (const f of frames) {
        if (f.length < 4) continue;
        const id = f.readInt32BE(0);
        const w = this.#inFlight.get(id);
        if (!w) continue;
        this.#inFlight.delete(id);
        clearTimeout(w.timer);
        w.resolve(f);
      }
    });
    s.on(
      'error',
      (err) =>
        this.#socket === s &&
        this.#disconnect(new BrokerClientError(`connection to ${this.#describe()} failed: ${err.message}`)),
    );
    s.on(
      'close',
      () =>
        this.#socket === s &&
        this.#disconnect(new BrokerClientError(`connection to ${this.#describe()} closed`)),
    );
  }

  #disconnect(err: Error): void {
    const s = this.#socket;
    this.#socket = null;
    s?.destroy();
    for (const [id, w] of this.#inFlight) {
      this.#inFlight.delete(id);
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  close(): void {
    this.#closed = true;
    this.#disconnect(new BrokerClientError('client closed'));
  }
}
