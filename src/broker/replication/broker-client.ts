/**
 * BrokerClient: the broker's own small Kafka client, for talking to another broker's client port
 * (replica fetching). Requests are built and responses decoded with the generated codecs. One
 * connection, opened on first use and again after any failure; requests may be pipelined and are
 * matched to responses by correlation id. Every request has a timeout; a timeout or a socket error
 * closes the connection and fails what is in flight, so the caller backs off and simply retries.
 */
import { connect, type Socket } from 'node:net';
import { FrameDecoder } from '../../protocol/frame-decoder.js';
import {
  decodeResponse,
  encodeRequestFrame,
  type ApiKey,
  type ApiMessages,
} from '../../protocol/messages/index.js';

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

  constructor(endpoint: Endpoint, opts: { clientId: string; connectTimeoutMs?: number }) {
    this.#endpoint = endpoint;
    this.#clientId = opts.clientId;
    this.#connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
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
    if (this.#socket) return Promise.resolve(this.#socket);
    if (this.#connecting) return this.#connecting;
    const { host, port } = this.#endpoint;
    this.#connecting = new Promise<Socket>((resolve, reject) => {
      const s = connect({ host, port });
      s.setNoDelay(true);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new BrokerClientError(`connecting to ${host}:${port} timed out`));
      }, this.#connectTimeoutMs);
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(new BrokerClientError(`connecting to ${host}:${port} failed: ${err.message}`));
      });
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        if (this.#closed) {
          s.destroy();
          reject(new BrokerClientError('client closed'));
          return;
        }
        this.#attach(s);
        resolve(s);
      });
    }).finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
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
