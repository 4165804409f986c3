/**
 * One client connection. Kafka's rules (SocketServer, Processor, KafkaChannel):
 *  - requests are handled one at a time, and responses go out in request order;
 *  - frames that arrive while a request is being handled wait in order; once `maxQueuedFrames` wait,
 *    reading the socket is paused (back-pressure: a client that pipelines fills its own TCP window,
 *    not our memory), and it resumes when the queue is empty. Clients pipeline up to 5 requests, so a
 *    few queued frames keep them busy without letting one connection hold unbounded memory;
 *  - a request that needs no response (Produce with acks=0) is still handled in order;
 *  - a malformed frame closes the connection after the responses already owed are written;
 *  - a connection idle for connections.max.idle.ms is closed.
 *
 * On a SASL listener every frame goes to the connection's SaslServerAuthenticator until it has
 * authenticated (ApiVersions excepted, which it hands back to KafkaApis), frames are limited to
 * sasl.server.max.receive.size until then, and a SaslHandshake on an authenticated connection may
 * start a re-authentication (KIP-368); a request on a connection whose session expired closes it.
 * On a TLS listener the socket is a TLSSocket whose handshake is done; its principal (mTLS) is known
 * when the Connection is made.
 */
import type { Socket } from 'node:net';
import { FrameDecoder, FrameError } from '../../protocol/frame-decoder.js';
import type { Logger } from '../../common/logger.js';
import type { SecurityProtocol } from '../../common/listener-config.js';
import { ANONYMOUS, principalToString, type KafkaPrincipal } from '../security/principal.js';
import type { SaslServerAuthenticator } from '../security/sasl-server-authenticator.js';
import type { SecurityMetrics } from '../security/security-metrics.js';

export interface ConnectionContext {
  readonly id: string;
  /** The listener the connection arrived on (its Metadata answers carry that listener's addresses). */
  readonly listenerName: string;
  readonly securityProtocol: SecurityProtocol;
  /**
   * Who the connection authenticated as (Kafka's KafkaPrincipal): the SASL user, the mapped client
   * certificate DN (mTLS), else User:ANONYMOUS. Requests only reach KafkaApis once it is final.
   */
  readonly principal: KafkaPrincipal;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  /**
   * Stop reading and handling this connection's requests for `ms` after the current response (a
   * client over its quota, Kafka's channel muting for throttling; see src/broker/quota).
   */
  muteFor?(ms: number): void;
  /**
   * Close the connection after the current request, dropping requests queued behind it (Kafka's
   * closeConnection: how a Produce with acks=0 that failed tells its client, which gets no response).
   */
  closeAfterCurrent?(): void;
}

/**
 * Handles one request frame (header + body, size prefix removed) and returns the response frame body
 * (header + body, without size prefix), or null when no response is sent. Throwing closes the connection.
 */
export type RequestHandler = (frame: Buffer, ctx: ConnectionContext) => Promise<Buffer | null>;

export interface ConnectionOptions {
  listenerName: string;
  securityProtocol?: SecurityProtocol;
  maxFrameSize: number;
  idleTimeoutMs: number;
  /** Frames allowed to wait before reading pauses (Kafka keeps one; a few smooth pipelining). */
  maxQueuedFrames: number;
}

/** What a connection on a secured listener gets besides its options. */
export interface ConnectionSecurity {
  /** The TLS principal (mTLS) or ANONYMOUS. */
  principal: KafkaPrincipal;
  /** SASL listeners: this connection's authenticator. */
  authenticator: SaslServerAuthenticator | null;
  metrics: SecurityMetrics | null;
}

export class Connection implements ConnectionContext {
  readonly id: string;
  readonly listenerName: string;
  readonly securityProtocol: SecurityProtocol;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder;
  readonly #handler: RequestHandler;
  readonly #log: Logger;
  readonly #opts: ConnectionOptions;
  readonly #queue: Buffer[] = [];
  #busy = false;
  #closing = false;
  #idleTimer: NodeJS.Timeout | null = null;
  /** Quota throttling: no request is read or handled before this time (Date.now() ms). */
  #mutedUntil = 0;
  #muteTimer: NodeJS.Timeout | null = null;
  #inFlight: Promise<void> = Promise.resolve();
  readonly #principal: KafkaPrincipal;
  readonly #auth: SaslServerAuthenticator | null;
  readonly #securityMetrics: SecurityMetrics | null;
  readonly closed: Promise<void>;

  constructor(
    socket: Socket,
    id: string,
    handler: RequestHandler,
    log: Logger,
    opts: ConnectionOptions,
    security: ConnectionSecurity = { principal: ANONYMOUS, authenticator: null, metrics: null },
  ) {
    this.#socket = socket;
    this.id = id;
    this.listenerName = opts.listenerName;
    this.securityProtocol = opts.securityProtocol ?? 'PLAINTEXT';
    this.#principal = security.principal;
    this.#auth = security.authenticator;
    this.#securityMetrics = security.metrics;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.localPort = socket.localPort ?? 0;
    this.#handler = handler;
    this.#log = log.child({ connection: id, remote: `${this.remoteAddress}:${this.remotePort}` });
    this.#opts = opts;
    this.#decoder = new FrameDecoder({
      maxFrameSize: this.#auth ? Math.min(opts.maxFrameSize, this.#auth.maxReceiveSize) : opts.maxFrameSize,
    });
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#log.debug({ err }, 'socket error'));
    socket.on('close', () => {
      this.#clearIdle();
      if (this.#muteTimer) clearTimeout(this.#muteTimer);
      this.#muteTimer = null;
    });
    this.#armIdle();
  }

  get principal(): KafkaPrincipal {
    return this.#auth ? this.#auth.principal : this.#principal;
  }

  #armIdle(): void {
    this.#clearIdle();
    if (this.#opts.idleTimeoutMs > 0 && Number.isFinite(this.#opts.idleTimeoutMs)) {
      this.#idleTimer = setTimeout(() => {
        if (!this.#busy && this.#queue.length === 0) {
          this.#log.debug('closing idle connection');
          this.#socket.destroy();
        }
      }, this.#opts.idleTimeoutMs);
      this.#idleTimer.unref();
    }
  }

  #clearIdle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }

  #onData(chunk: Buffer): void {
    if (this.#closing) return;
    this.#armIdle();
    let frames: Buffer[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      if (err instanceof FrameError) {
        if (this.#auth && !this.#auth.complete && err.reason === 'too-large')
          this.#auth.onOversizedFrame(err.announcedSize);
        else this.#log.warn({ reason: err.reason, size: err.announcedSize }, err.message);
        // Answer what arrived intact before the bad size, then close.
        this.#queue.push(...err.completedFrames);
        this.#closeAfterQueue();
        return;
      }
      throw err;
    }
    if (frames.length === 0) return;
    this.#queue.push(...frames);
    if (this.#queue.length >= this.#opts.maxQueuedFrames) this.#socket.pause();
    this.#pump();
  }

  muteFor(ms: number): void {
    if (ms > 0) this.#mutedUntil = Math.max(this.#mutedUntil, Date.now() + ms);
  }

  closeAfterCurrent(): void {
    this.#queue.length = 0;
    this.#closing = true;
  }

  #pump(): void {
    if (this.#busy || this.#muteTimer) return;
    const wait = this.#mutedUntil - Date.now();
    if (wait > 0 && !this.#closing) {
      // Throttled: read nothing more until the throttle time has passed (Kafka mutes the channel).
      this.#socket.pause();
      this.#muteTimer = setTimeout(() => {
        this.#muteTimer = null;
        this.#pump();
      }, wait);
      return;
    }
    const frame = this.#queue.shift();
    if (frame === undefined) {
      if (this.#closing) this.#socket.end();
      else if (this.#socket.isPaused()) this.#socket.resume();
      return;
    }
    this.#busy = true;
    this.#inFlight = this.#handle(frame).finally(() => {
      this.#busy = false;
      this.#pump();
    });
  }

  async #handle(frame: Buffer): Promise<void> {
    const auth = this.#auth;
    let response: Buffer | null;
    try {
      if (auth?.wantsFrame(frame)) {
        const outcome = await auth.onFrame(frame);
        response = outcome.passToApis ? await this.#handler(frame, this) : outcome.response;
        if (outcome.close) {
          this.#queue.length = 0;
          this.#closing = true;
        } else if (auth.complete) {
          this.#decoder.maxFrameSize = this.#opts.maxFrameSize;
        }
      } else if (auth?.sessionExpired()) {
        // KIP-368: the session ended and the client did not re-authenticate.
        this.#log.info(
          { principal: principalToString(auth.principal), mechanism: auth.mechanism },
          'closing a connection whose SASL session expired',
        );
        this.#securityMetrics?.expiredConnectionsKilled.inc({ listener: this.listenerName });
        this.#queue.length = 0;
        this.#closing = true;
        this.#socket.destroy();
        return;
      } else {
        response = await this.#handler(frame, this);
      }
    } catch (err) {
      this.#log.warn({ err }, 'closing connection after a request that could not be handled');
      this.#queue.length = 0;
      this.#closing = true;
      return;
    }
    await this.#write(response);
  }

  async #write(response: Buffer | null): Promise<void> {
    if (response === null || this.#socket.destroyed) return;
    const size = Buffer.allocUnsafe(4);
    size.writeInt32BE(response.length, 0);
    // One writev-like call: cork so the size and body leave in one segment.
    this.#socket.cork();
    this.#socket.write(size);
    const flushed = this.#socket.write(response);
    this.#socket.uncork();
    if (!flushed) {
      // The client is not reading: wait for the kernel buffer to drain before the next response.
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#socket.off('drain', done);
          this.#socket.off('close', done);
          resolve();
        };
        this.#socket.on('drain', done);
        this.#socket.on('close', done);
      });
    }
  }

  #closeAfterQueue(): void {
    this.#closing = true;
    // A throttled connection that is closing answers what it owes without waiting out its throttle.
    if (this.#muteTimer) clearTimeout(this.#muteTimer);
    this.#muteTimer = null;
    this.#socket.pause();
    if (!this.#busy) this.#pump();
  }

  /**
   * Stop taking requests; finish the one in flight and those already queued, then close. Done once
   * the last answer is handed to the kernel (the socket's writable side finished): the peer's own
   * close is not waited for, as Kafka's SocketServer does not (a client that keeps its half open
   * would hold a shutdown for the whole grace period).
   */
  async drain(): Promise<void> {
    this.#closeAfterQueue();
    await this.#inFlight;
    const s = this.#socket;
    const finished =
      s.writableFinished || s.destroyed
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            s.once('finish', () => resolve());
            s.once('close', () => resolve());
          });
    await Promise.race([finished, new Promise((r) => setTimeout(r, 5000).unref())]);
    s.destroy();
  }

  destroy(): void {
    this.#socket.destroy();
  }
}
