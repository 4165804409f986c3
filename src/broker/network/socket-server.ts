/**
 * SocketServer: accepts Kafka protocol connections on one listener (one per name in `listeners`;
 * each connection knows its listener's name and security protocol) and hands each request frame to
 * the request handler through a Connection. Owns the connection set for limits, metrics and a
 * graceful shutdown (stop accepting, finish what is in flight, close).
 *
 * SSL and SASL_SSL listeners wrap each taken socket in a tls.Server: the TLS handshake (on node's TLS,
 * as fast as node's tls is) happens before a Connection exists; a TCP connection counts against
 * max.connections from the moment it is taken, so a flood of unfinished handshakes is bounded like
 * any other connections, and a handshake must finish within TLS_HANDSHAKE_TIMEOUT_MS. A failed handshake or a refused client
 * certificate is a failed authentication (counted, logged without secrets).
 *
 * Connection quotas (ConnectionQuotas, shared by every listener) decide at accept, as Kafka's Acceptor
 * does: a socket first waits in this listener's acceptor queue, unread, for its creation-rate throttle
 * and for a connection slot (max.connections, per listener and broker-wide), in arrival order, as
 * behind Kafka's blocked acceptor thread; a full queue (socket.listen.backlog.size, Kafka's kernel
 * backlog) refuses the newest. Then the per-IP limit refuses and closes it at once, or it becomes a
 * Connection. On TLS listeners the socket is handed to the tls.Server only then, so a waiting socket
 * costs no handshake and its handshake timeout starts once it is taken.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { Connection, type ConnectionOptions, type RequestHandler } from './connection.js';
import type { Logger } from '../../common/logger.js';
import { PLAINTEXT_LISTENER, type ListenerSecurity } from '../security/listener-security.js';
import { SaslServerAuthenticator } from '../security/sasl-server-authenticator.js';
import { ClientCertificateError } from '../security/tls-listener.js';
import { ANONYMOUS, type KafkaPrincipal } from '../security/principal.js';
import type { ConnectionQuotas } from './connection-quotas.js';

/** How long a client has to finish its TLS handshake. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export interface SocketServerOptions extends ConnectionOptions {
  /** undefined: every interface. */
  host: string | undefined;
  port: number;
  /** The broker's connection limits (max.connections, per IP, creation rates), shared by its listeners. */
  quotas: ConnectionQuotas;
  /** Sockets that may wait for a slot or a throttle (Kafka: socket.listen.backlog.size). */
  acceptBacklog: number;
  /** TLS and SASL for this listener (default: PLAINTEXT). */
  security?: ListenerSecurity;
}

export class SocketServer {
  readonly #server: Server;
  /** TLS listeners: the tls.Server that wraps the sockets #server accepts. */
  #tlsServer: TlsServer | null = null;
  readonly #connections = new Set<Connection>();
  readonly #opts: SocketServerOptions;
  readonly #handler: RequestHandler;
  readonly #log: Logger;
  readonly #security: ListenerSecurity;
  /** TLS listeners: raw TCP sockets, from accept to close (handshakes included). */
  readonly #rawSockets = new Set<Socket>();
  /** Accepted sockets waiting for their creation-rate throttle or a connection slot, oldest first. */
  readonly #waiting: { socket: Socket; until: number | null }[] = [];
  /** Connections over their IP's creation rate, held until their delayed close. */
  readonly #throttled = new Set<Socket>();
  #waitTimer: NodeJS.Timeout | null = null;
  /** When the acceptor started waiting (null: not blocked), for the blocked-time metric. */
  #blockedSince: number | null = null;
  #stopping = false;
  /** Connections closed by #closeOldest. */
  readonly #shed = new WeakSet<object>();
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
      // Not listening itself: the plain server below hands it each socket the quotas let through
      // (emit('connection')), so the handshake (and its timeout) starts only then.
      const server = createTlsServer(
        { ...tls.serverOptions(), handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS },
        (socket) => this.#accept(socket),
      );
      server.on('connection', (raw: Socket) => {
        raw.setNoDelay(true);
        this.#rawSockets.add(raw);
        raw.once('close', () => this.#rawSockets.delete(raw));
      });
      server.on('tlsClientError', (err, socket) => this.#tlsFailure(err, socket));
      server.on('error', (err) => this.#log.error({ err }, 'TLS listener error'));
      tls.attach(server);
      this.#tlsServer = server;
    }
    // Paused: a socket waiting in the acceptor queue is not read, as one in Kafka's backlog.
    this.#server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.#enqueue(socket));
    this.#server.on('error', (err) => this.#log.error({ err }, 'listener error'));
    opts.quotas.register(opts.listenerName, {
      wake: () => this.#pumpWaiting(),
      closeExcess: (n) => this.#closeOldest(n),
    });
  }

  get #listener(): string {
    return this.#opts.listenerName;
  }

  /** A plain socket joins the acceptor queue; the queue is taken in order (#pumpWaiting). */
  #enqueue(socket: Socket): void {
    if (this.#stopping) {
      socket.destroy();
      return;
    }
    if (this.#waiting.length >= Math.max(1, this.#opts.acceptBacklog)) {
      this.#opts.quotas.metrics.rejected.inc({ listener: this.#listener, reason: 'backlog' });
      this.#log.warn(
        { remote: socket.remoteAddress, waiting: this.#waiting.length },
        'acceptor queue full while waiting for a connection slot; closing the newest connection',
      );
      socket.destroy();
      return;
    }
    socket.on('error', () => {}); // a client that gives up while waiting
    this.#waiting.push({ socket, until: null });
    this.#pumpWaiting();
  }

  /** Take waiting sockets while the quotas allow (Kafka's Acceptor + ConnectionQuotas.inc). */
  #pumpWaiting(): void {
    const quotas = this.#opts.quotas;
    if (this.#waitTimer) {
      clearTimeout(this.#waitTimer);
      this.#waitTimer = null;
    }
    while (this.#waiting.length > 0) {
      const head = this.#waiting[0]!;
      if (head.socket.destroyed) {
        this.#waiting.shift();
        continue;
      }
      const now = Date.now();
      if (head.until === null) head.until = now + quotas.recordConnectionAndGetThrottleMs(this.#listener);
      if (head.until > now) {
        this.#blocked(now);
        this.#waitTimer = setTimeout(() => this.#pumpWaiting(), head.until - now);
        return;
      }
      if (!quotas.slotAvailable(this.#listener)) {
        // Woken by the quotas when a connection closes or a limit is raised.
        this.#blocked(now);
        return;
      }
      this.#waiting.shift();
      this.#unblocked(now);
      const socket = head.socket;
      const address = socket.remoteAddress ?? '';
      const refused = quotas.inc(this.#listener, address);
      if (refused?.reason === 'ip_rate') {
        // As Kafka's acceptor: the connection is held unread and closed once its throttle time has
        // passed, so a client reconnecting in a loop is slowed down rather than answered at once.
        const t = setTimeout(() => socket.destroy(), refused.throttleMs);
        t.unref();
        this.#throttled.add(socket);
        socket.once('close', () => {
          clearTimeout(t);
          this.#throttled.delete(socket);
        });
        continue;
      }
      if (refused) {
        socket.destroy();
        continue;
      }
      socket.once('close', () => quotas.dec(this.#listener, address));
      if (this.#tlsServer) {
        // Still paused: the TLS wrap reads the ClientHello from the handle itself.
        this.#tlsServer.emit('connection', socket);
      } else {
        this.#accept(socket);
        socket.resume();
      }
    }
    this.#unblocked(Date.now());
  }

  #blocked(now: number): void {
    this.#blockedSince ??= now;
  }

  #unblocked(now: number): void {
    if (this.#blockedSince === null) return;
    this.#opts.quotas.metrics.blockedSeconds.inc(
      { listener: this.#listener },
      (now - this.#blockedSince) / 1000,
    );
    this.#blockedSince = null;
  }

  /** Close up to n connections of this listener, oldest first (the broker is over max.connections). */
  #closeOldest(n: number): number {
    let closed = 0;
    const victims: { destroy(): void }[] = this.#security.tls
      ? [...this.#rawSockets]
      : [...this.#connections];
    for (const c of victims) {
      if (closed >= n) break;
      // Closed already, its slot not yet freed (the close event comes later).
      if (this.#shed.has(c)) continue;
      this.#shed.add(c);
      c.destroy();
      closed++;
    }
    if (closed > 0)
      this.#log.info({ closed }, 'closing connections over max.connections (lowest priority first)');
    return closed;
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
    this.#stopping = true;
    if (this.#waitTimer) clearTimeout(this.#waitTimer);
    for (const w of this.#waiting.splice(0)) w.socket.destroy();
    for (const socket of this.#throttled) socket.destroy();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await Promise.all([...this.#connections].map((c) => c.drain()));
    await closed;
  }
}
