/**
 * SocketServer: accepts Kafka protocol connections on one listener (one per name in `listeners`;
 * each connection knows its listener's name) and hands each request frame to
 * the request handler through a Connection. Owns the connection set for limits, metrics and a
 * graceful shutdown (stop accepting, finish what is in flight, close).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Connection, type ConnectionOptions, type RequestHandler } from './connection.js';
import type { Logger } from '../../common/logger.js';

export interface SocketServerOptions extends ConnectionOptions {
  /** undefined: every interface. */
  host: string | undefined;
  port: number;
  /** max.connections is per broker: across every listener when `brokerConnections` is given. */
  maxConnections: number;
  brokerConnections?: () => number;
}

export class SocketServer {
  readonly #server: Server;
  readonly #connections = new Set<Connection>();
  readonly #opts: SocketServerOptions;
  readonly #handler: RequestHandler;
  readonly #log: Logger;
  #nextId = 0;
  #boundPort = 0;
  onConnectionCountChange: (count: number) => void = () => {};

  constructor(opts: SocketServerOptions, handler: RequestHandler, log: Logger) {
    this.#opts = opts;
    this.#handler = handler;
    this.#log = log;
    this.#server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
    this.#server.on('error', (err) => this.#log.error({ err }, 'listener error'));
  }

  #accept(socket: Socket): void {
    const open = this.#opts.brokerConnections?.() ?? this.#connections.size;
    if (open >= this.#opts.maxConnections) {
      this.#log.warn(
        { remote: socket.remoteAddress, listener: this.#opts.listenerName },
        'max.connections reached; refusing connection',
      );
      socket.destroy();
      return;
    }
    const id = `${socket.localAddress}:${socket.localPort}-${socket.remoteAddress}:${socket.remotePort}-${this.#nextId++}`;
    const conn = new Connection(socket, id, this.#handler, this.#log, this.#opts);
    this.#connections.add(conn);
    this.onConnectionCountChange(this.#connections.size);
    void conn.closed.then(() => {
      this.#connections.delete(conn);
      this.onConnectionCountChange(this.#connections.size);
    });
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** The port actually bound (differs from the configured one when that was 0). */
  get port(): number {
    return this.#boundPort;
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      this.#server.listen({ host: this.#opts.host, port: this.#opts.port, backlog: 1024 }, () => {
        this.#server.off('error', onError);
        const addr = this.#server.address();
        this.#boundPort = typeof addr === 'object' && addr ? addr.port : this.#opts.port;
        resolve();
      });
    });
  }

  /** Stop accepting, let every connection finish its in-flight and queued requests, then close. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await Promise.all([...this.#connections].map((c) => c.drain()));
    await closed;
  }
}
