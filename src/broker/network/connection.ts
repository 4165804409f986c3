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
 */
import type { Socket } from 'node:net';
import { FrameDecoder, FrameError } from '../../protocol/frame-decoder.js';
import type { Logger } from '../../common/logger.js';

export interface ConnectionContext {
  readonly id: string;
  /** The listener the connection arrived on (its Metadata answers carry that listener's addresses). */
  readonly listenerName: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
}

/**
 * Handles one request frame (header + body, size prefix removed) and returns the response frame body
 * (header + body, without size prefix), or null when no response is sent. Throwing closes the connection.
 */
export type RequestHandler = (frame: Buffer, ctx: ConnectionContext) => Promise<Buffer | null>;

export interface ConnectionOptions {
  listenerName: string;
  maxFrameSize: number;
  idleTimeoutMs: number;
  /** Frames allowed to wait before reading pauses (Kafka keeps one; a few smooth pipelining). */
  maxQueuedFrames: number;
}

export class Connection implements ConnectionContext {
  readonly id: string;
  readonly listenerName: string;
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
  #inFlight: Promise<void> = Promise.resolve();
  readonly closed: Promise<void>;

  constructor(socket: Socket, id: string, handler: RequestHandler, log: Logger, opts: ConnectionOptions) {
    this.#socket = socket;
    this.id = id;
    this.listenerName = opts.listenerName;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.localPort = socket.localPort ?? 0;
    this.#handler = handler;
    this.#log = log.child({ connection: id, remote: `${this.remoteAddress}:${this.remotePort}` });
    this.#opts = opts;
    this.#decoder = new FrameDecoder({ maxFrameSize: opts.maxFrameSize });
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#log.debug({ err }, 'socket error'));
    socket.on('close', () => this.#clearIdle());
    this.#armIdle();
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
        this.#log.warn({ reason: err.reason, size: err.announcedSize }, err.message);
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

  #pump(): void {
    if (this.#busy) return;
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
    let response: Buffer | null;
    try {
      response = await this.#handler(frame, this);
    } catch (err) {
      this.#log.warn({ err }, 'closing connection after a request that could not be handled');
      this.#queue.length = 0;
      this.#closing = true;
      return;
    }
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
