/**
 * A loopback TCP proxy that records what real clients and the broker say to each other, byte for
 * byte. It forwards every chunk unchanged in both directions and, on the side, splits each direction
 * into Kafka frames (int32 size + body) to record them per connection. Responses are matched to
 * requests by correlation id, in order (a request the broker never answers, e.g. Produce acks=0, is
 * left with `response: null`).
 *
 * Clients bootstrap through the proxy, but then connect to whatever address the Metadata response
 * advertises. So the proxy listens first (`RecordingProxy.listen()`), the broker is started with
 * `--advertise 127.0.0.1:<proxy.port>`, and then `proxy.setUpstream(broker port)`: every connection,
 * bootstrap or not, goes through the proxy, and no byte needs rewriting.
 */
import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';

export interface RecordedExchange {
  /** `proxy.label` when the request arrived: lets a test tell its steps apart. */
  label: string;
  /** Connection number (1, 2, ...) in the order clients connected. */
  conn: number;
  /** Position of the request on its connection (0, 1, ...). */
  seq: number;
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** The request frame without its 4-byte size. */
  request: Buffer;
  /** The response frame without its 4-byte size; null if none came (yet). */
  response: Buffer | null;
}

export interface ProxyConnection {
  id: number;
  exchanges: RecordedExchange[];
  /** Response frames whose correlation id matched no outstanding request (should stay empty). */
  unmatched: Buffer[];
  closed: boolean;
}

export class RecordingProxy {
  readonly connections: ProxyConnection[] = [];
  /** Stamped on every request recorded from now on. */
  label = '';
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #upstream: { host: string; port: number } | null = null;
  #errors: Error[] = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Listen on 127.0.0.1 on a free port; set the upstream before clients connect. */
  static async listen(): Promise<RecordingProxy> {
    const server = createServer();
    const proxy = new RecordingProxy(server);
    server.on('connection', (s) => proxy.#onConnection(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  setUpstream(port: number, host = '127.0.0.1'): void {
    this.#upstream = { host, port };
  }

  /** Protocol-level problems seen (framing errors, unmatched responses, upstream failures). */
  get errors(): readonly Error[] {
    return this.#errors;
  }

  /** Every exchange of every connection, connection by connection, in order. */
  get exchanges(): RecordedExchange[] {
    return this.connections.flatMap((c) => c.exchanges);
  }

  /** Forget what was recorded so far (connections stay open). */
  clear(): void {
    for (const c of this.connections) c.exchanges.length = 0;
  }

  #onConnection(client: Socket): void {
    const conn: ProxyConnection = {
      id: this.connections.length + 1,
      exchanges: [],
      unmatched: [],
      closed: false,
    };
    this.connections.push(conn);
    this.#sockets.add(client);
    const up = this.#upstream;
    if (up === null) {
      this.#errors.push(new Error('connection before setUpstream'));
      client.destroy();
      return;
    }
    const server = connect(up.port, up.host);
    this.#sockets.add(server);
    client.setNoDelay(true);
    server.setNoDelay(true);

    const requests = new FrameDecoder();
    const responses = new FrameDecoder();
    const pending: RecordedExchange[] = [];
    let seq = 0;

    client.on('data', (chunk: Buffer) => {
      try {
        for (const f of requests.push(chunk)) {
          const frame = Buffer.from(f);
          const ex: RecordedExchange = {
            label: this.label,
            conn: conn.id,
            seq: seq++,
            apiKey: frame.readInt16BE(0),
            apiVersion: frame.readInt16BE(2),
            correlationId: frame.readInt32BE(4),
            request: frame,
            response: null,
          };
          conn.exchanges.push(ex);
          pending.push(ex);
        }
      } catch (e) {
        this.#errors.push(e as Error);
      }
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      try {
        for (const f of responses.push(chunk)) {
          const frame = Buffer.from(f);
          const id = frame.readInt32BE(0);
          const at = pending.findIndex((p) => p.correlationId === id);
          if (at < 0) {
            conn.unmatched.push(frame);
            this.#errors.push(new Error(`conn ${conn.id}: response with unknown correlation id ${id}`));
            continue;
          }
          // Requests before it in the queue got no response (acks=0 produce): they stay null.
          pending.splice(0, at + 1)[at]!.response = frame;
        }
      } catch (e) {
        this.#errors.push(e as Error);
      }
      client.write(chunk);
    });
    const close = () => {
      conn.closed = true;
      client.destroy();
      server.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(server);
    };
    client.on('close', close);
    server.on('close', close);
    client.on('error', () => close());
    server.on('error', (e) => {
      // The broker going away after the client did is normal; before, it is worth reporting.
      if (!conn.closed) this.#errors.push(e);
      close();
    });
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
