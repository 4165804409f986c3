/**
 * SocketServer: accepts Kafka protocol connections on one listener (one per name in `listeners`;
 * each connection knows its listener's name and security protocol) and hands each request frame to
 * the request handler through a Connection. Owns the connection set for limits, metrics and a
 * graceful shutdown (stop accepting, finish what is in flight, close).
 *
 * SSL and SASL_SSL listeners are tls.Servers: the TLS handshake (on node's TLS, as fast as node's
 * tls is) happens before a Connection exists; a raw TCP connection counts against max.connections
 * from its first byte, so a flood of unfinished handshakes is bounded like any other connections,
 * and a handshake must finish within TLS_HANDSHAKE_TIMEOUT_MS. A failed handshake or a refused client
 * certificate is a failed authentication (counted, logged without secrets).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Connection, type ConnectionOptions, type RequestHandler } from './connection.js';
import type { Logger } from '../../common/logger.js';
import { PLAINTEXT_LISTENER, type ListenerSecurity } from '../security/listener-security.js';
import { SaslServerAuthenticator } from '../security/sasl-server-authenticator.js';
import { ClientCertificateError } from '../security/tls-listener.js';
import { ANONYMOUS, type KafkaPrincipal } from '../security/principal.js';

/** How long a client has to finish its TLS handshake. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export interface SocketServerOptions extends ConnectionOptions {
  /** undefined: every interface. */
  host: string | undefined;
  port: number;
  /** max.connections is per broker: across every listener when `brokerConnections` is given. */
  maxConnections: number;
  brokerConnections?: () => number;
  /** TLS and SASL for this listener (default: PLAINTEXT). */
  security?: ListenerSecurity;
}

export class SocketServer {
  readonly #server: Server;
  readonly #connections = new Set<Connection>();
  readonly #opts: SocketServerOptions;
  readonly #handler: RequestHandler;
  readonly #log: Logger;
  readonly #security: ListenerSecurity;
  /** TLS listeners: raw TCP sockets, from accept to close (handshakes included). */
  readonly #rawSockets = new Set<Socket>();
  #nextId = 0;
  #boundPort = 0;
  onConnectionCountChange: (count: number) => void = () => {};

  constructor(opts: SocketServerOptions, handler: RequestHandler, log: Logger) {
    this.#opts = opts;
    this.#handler = handler;
    this.#log = log;
    this.#security = opts.security ?? PLAINTEXT_LISTENER;
    const tls = this.#security.tls;
    if (tls) {
      const server = createTlsServer(
        { ...tls.serverOptions(), handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS },
        (socket) => this.#accept(socket),
      );
      // Runs after tls.Server's own listener has wrapped the socket: refusing destroys it before the
      // handshake costs anything.
      server.on('connection', (raw: Socket) => {
        if (this.#refuseOverLimit(raw)) return;
        raw.setNoDelay(true);
        this.#rawSockets.add(raw);
        raw.once('close', () => this.#rawSockets.delete(raw));
      });
      server.on('tlsClientError', (err, socket) => this.#tlsFailure(err, socket));
      tls.attach(server);
      this.#server = server;
    } else {
      this.#server = createServer({ noDelay: true }, (socket) => {
        if (!this.#refuseOverLimit(socket)) this.#accept(socket);
      });
    }
    this.#server.on('error', (err) => this.#log.error({ err }, 'listener error'));
  }

  #refuseOverLimit(socket: Socket): boolean {
    const open = this.#opts.brokerConnections?.() ?? this.connectionCount;
    if (open < this.#opts.maxConnections) return false;
    this.#log.warn(
      { remote: socket.remoteAddress, listener: this.#opts.listenerName },
      'max.connections reached; refusing connection',
    );
    socket.destroy();
    return true;
  }

  /** A TLS handshake that failed: a failed authentication when TLS refused it, else a dropped client. */
  #tlsFailure(err: Error & { code?: string }, socket: TLSSocket): void {
    const authError = (socket as TLSSocket & { authorizationError?: Error | string }).authorizationError;
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    if (authError || err.code?.startsWith('ERR_SSL_')) {
      this.#security.metrics?.failedAuthentication.inc({
        listener: this.#opts.listenerName,
        mechanism: 'SSL',
      });
      this.#log.info(
        {
          remote,
          reason: authError ? `client certificate: ${String(authError)}` : err.message,
        },
        'SSL handshake failed',
      );
    } else {
      this.#log.debug({ remote, err: err.message }, 'client left during the TLS handshake');
    }
  }

  #accept(socket: Socket): void {
    const sec = this.#security;
    let principal: KafkaPrincipal = ANONYMOUS;
    if (sec.tls) {
      try {
        principal = sec.tls.peerPrincipal(socket as TLSSocket);
      } catch (err) {
        if (!(err instanceof ClientCertificateError)) throw err;
        sec.metrics?.failedAuthentication.inc({ listener: this.#opts.listenerName, mechanism: 'SSL' });
        this.#log.info(
          {
            remote: `${socket.remoteAddress}:${socket.remotePort}`,
            reason: err.message,
          },
          'SSL authentication failed',
        );
        socket.destroy();
        return;
      }
      if (sec.tls.clientAuth !== 'none' && principal !== ANONYMOUS)
        sec.metrics?.successfulAuthentication.inc({ listener: this.#opts.listenerName, mechanism: 'SSL' });
    }
    const id = `${socket.localAddress}:${socket.localPort}-${socket.remoteAddress}:${socket.remotePort}-${this.#nextId++}`;
    const authenticator = sec.sasl
      ? new SaslServerAuthenticator(sec.sasl, {
          listenerName: this.#opts.listenerName,
          log: this.#log.child({ connection: id }),
          metrics: sec.metrics,
          failedAuthDelayMs: sec.failedAuthDelayMs,
        })
      : null;
    const conn = new Connection(
      socket,
      id,
      this.#handler,
      this.#log,
      { ...this.#opts, securityProtocol: sec.securityProtocol },
      { principal, authenticator, metrics: sec.metrics },
    );
    this.#connections.add(conn);
    this.onConnectionCountChange(this.#connections.size);
    void conn.closed.then(() => {
      this.#connections.delete(conn);
      this.onConnectionCountChange(this.#connections.size);
    });
  }

  /** Open connections (on TLS listeners: TCP connections, handshakes included). */
  get connectionCount(): number {
    return this.#security.tls ? this.#rawSockets.size : this.#connections.size;
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
