/**
 * KafkaConnection: one TCP connection to one broker, speaking Kafka's framing (int32 size, header,
 * body) through the generated codecs. It owns the socket, the FrameDecoder and the requests in
 * flight, and nothing else: no retries, no version choice, no reconnecting (KafkaClient does those).
 *
 * Lifecycle: `KafkaConnection.connect()` resolves once the TCP connection is up (and the TLS
 * handshake done, with `tls`). Requests may be
 * pipelined; each gets the next correlation id and waits in a FIFO. A broker answers the requests of
 * one connection in the order they came, so a response must carry the correlation id at the head of
 * the FIFO (Kafka's NetworkClient checks the same); anything else closes the connection. The
 * connection closes, once, on: the peer closing, a socket error, a frame the decoder refuses, a
 * correlation mismatch, a request timeout, or `close()`; every request in flight then fails with
 * the reason and later requests fail at once. A closed connection stays closed.
 *
 * Timeouts: each request has a deadline. One timer per connection is armed for the earliest
 * deadline and is not touched when responses arrive (it re-arms itself when it fires early), so a
 * request costs no timer work of its own. A timeout closes the connection, like Kafka's client
 * does: the late response would otherwise answer the next request.
 *
 * For tests that need the bytes: `writeRaw()` sends any bytes, and with `keepUnmatchedFrames` a
 * response frame that answers no request of this connection is kept for `nextFrame()` instead of
 * closing the connection.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as NodeTlsOptions } from 'node:tls';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import {
  apiByKey,
  decodeResponse,
  encodeRequestFrame,
  type ApiKey,
  type ApiMessages,
} from '../protocol/messages/index.js';
import { formatEndpoint, type Endpoint } from './endpoints.js';
import {
  ClientClosedError,
  ConnectionError,
  KafkaClientError,
  MalformedResponseError,
  RequestTimeoutError,
} from './errors.js';

export interface KafkaConnectionOptions extends Endpoint {
  /** The header's client id (null is allowed by the protocol). */
  clientId: string | null;
  /** Give up connecting after this long (default 10 s, Kafka's socket.connection.setup.timeout.ms). */
  connectTimeoutMs?: number;
  /** Largest response frame accepted (default 1 GiB); a larger announced size closes the connection. */
  maxFrameSize?: number;
  /** Keep response frames that answer no request for `nextFrame()` (tests writing raw bytes). */
  keepUnmatchedFrames?: boolean;
  /**
   * Speak TLS (SSL and SASL_SSL listeners): Node's tls options (key, cert, ca, versions, ciphers,
   * checkServerIdentity …). The server name sent is the endpoint's host unless it is an IP address.
   */
  tls?: TlsOptions;
}

/** Node's TLS client options, less what the endpoint gives. */
export type TlsOptions = Omit<NodeTlsOptions, 'host' | 'port' | 'socket' | 'path'>;

/** Default per-request timeout (Kafka's request.timeout.ms). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RESPONSE_SIZE = 1 << 30;
/** Request header: size int32, api key int16, api version int16, then the correlation id. */
const CORRELATION_OFFSET = 8;

interface InFlight {
  correlationId: number;
  /** performance.now() after which the request has timed out. */
  deadline: number;
  timeoutMs: number;
  /** For error messages ("Fetch v12"), named only when one is needed. */
  apiKey: number;
  version: number;
  resolve: (frame: Buffer) => void;
  reject: (err: Error) => void;
}

/** "Fetch v12". */
function describeRequest(apiKey: number, version: number): string {
  return `${apiByKey(apiKey)?.name ?? `API ${apiKey}`} v${version}`;
}

export class KafkaConnection {
  readonly endpoint: Endpoint;
  readonly clientId: string | null;
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder;
  readonly #keepUnmatched: boolean;
  /** Requests sent and not answered, oldest first. */
  #inFlight: InFlight[] = [];
  #nextCorrelation = 1;
  #closeReason: KafkaClientError | null = null;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Infinity;
  /** Unmatched frames and their readers (keepUnmatchedFrames only). */
  readonly #frames: Buffer[] = [];
  #frameWaiters: ((f: Buffer | null) => void)[] = [];
  readonly #closeListeners: ((reason: KafkaClientError) => void)[] = [];

  private constructor(socket: Socket, o: KafkaConnectionOptions) {
    this.endpoint = { host: o.host, port: o.port };
    this.clientId = o.clientId;
    this.#socket = socket;
    this.#keepUnmatched = o.keepUnmatchedFrames ?? false;
    this.#decoder = new FrameDecoder({ maxFrameSize: o.maxFrameSize ?? DEFAULT_MAX_RESPONSE_SIZE });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) =>
      this.#fail(
        new ConnectionError(`connection to ${this.describe()} failed: ${err.message}`, { cause: err }),
      ),
    );
    socket.on('close', () => this.#fail(new ConnectionError(`connection to ${this.describe()} closed`)));
  }

  /**
   * Opens a TCP connection (and with `tls`, finishes the TLS handshake, the server's certificate
   * verified); rejects with ConnectionError when it cannot within the timeout.
   */
  static connect(o: KafkaConnectionOptions): Promise<KafkaConnection> {
    const where = formatEndpoint(o);
    const timeoutMs = o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const t = o.tls;
    return new Promise((resolve, reject) => {
      const s: Socket = t
        ? tlsConnect({ ...(isIP(o.host) ? {} : { servername: o.host }), ...t, host: o.host, port: o.port })
        : netConnect({ host: o.host, port: o.port });
      s.setNoDelay(true);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new ConnectionError(`connecting to ${where} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (err: Error) => {
        clearTimeout(timer);
        s.destroy();
        reject(
          new ConnectionError(`connecting to ${where}${t ? ' (TLS)' : ''} failed: ${err.message}`, {
            cause: err,
          }),
        );
      };
      s.once('error', onError);
      s.once(t ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.off('error', onError);
        resolve(new KafkaConnection(s, o));
      });
    });
  }

  describe(): string {
    return formatEndpoint(this.endpoint);
  }

  get closed(): boolean {
    return this.#closeReason !== null;
  }

  /** Why the connection closed, or null while it is open. */
  get closeReason(): KafkaClientError | null {
    return this.#closeReason;
  }

  get inFlightCount(): number {
    return this.#inFlight.length;
  }

  /** Called once, when the connection closes (at once if it already has). */
  onClose(listener: (reason: KafkaClientError) => void): void {
    if (this.#closeReason) listener(this.#closeReason);
    else this.#closeListeners.push(listener);
  }

  /**
   * Sends a request at exactly `version` and resolves with the decoded response body. Rejects with
   * ConnectionError / RequestTimeoutError / ClientClosedError when the connection fails first, or
   * MalformedResponseError when the body does not decode.
   */
  async request<K extends ApiKey>(
    apiKey: K,
    version: number,
    body: ApiMessages[K]['request'],
    timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ): Promise<ApiMessages[K]['response']> {
    const response = await this.requestFrame(apiKey, version, body, timeoutMs);
    try {
      return decodeResponse(response, apiKey, version).body;
    } catch (err) {
      throw new MalformedResponseError(
        `${describeRequest(apiKey, version)} response from ${this.describe()} does not decode: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }

  /** As `request`, but resolves with the response frame undecoded (size removed, header first). */
  requestFrame<K extends ApiKey>(
    apiKey: K,
    version: number,
    body: ApiMessages[K]['request'],
    timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ): Promise<Buffer> {
    if (this.#closeReason) return Promise.reject(this.#closeReason);
    const correlationId = this.#takeCorrelationId();
    let frame: Buffer;
    try {
      frame = encodeRequestFrame(apiKey, version, correlationId, this.clientId, body);
    } catch (err) {
      // A body this version cannot carry (EncodeError): the caller's mistake, the connection is fine.
      return Promise.reject(err as Error);
    }
    return this.#send(frame, correlationId, timeoutMs);
  }

  /**
   * Sends a whole request frame built by the caller (size prefix included) and resolves with the
   * response frame (size prefix removed, correlation id first). The frame's correlation id is
   * overwritten with this connection's next one, so one frame can be built once and sent many
   * times (the bench's produce load): send it again only after its response, since until then the
   * socket may still hold the buffer.
   */
  sendFrame(frame: Buffer, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<Buffer> {
    const correlationId = this.#takeCorrelationId();
    frame.writeInt32BE(correlationId, CORRELATION_OFFSET);
    return this.#send(frame, correlationId, timeoutMs);
  }

  /** Writes bytes as they are: no framing, no correlation, nothing waits for an answer. */
  writeRaw(bytes: Buffer): void {
    if (!this.closed) this.#socket.write(bytes);
  }

  /**
   * The next response frame that answered no request (keepUnmatchedFrames), or null once the
   * connection is closed and none is left. Rejects with RequestTimeoutError after `timeoutMs`.
   */
  nextFrame(timeoutMs = 10_000): Promise<Buffer | null> {
    const f = this.#frames.shift();
    if (f) return Promise.resolve(f);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const waiter = (x: Buffer | null) => {
        clearTimeout(t);
        resolve(x);
      };
      const t = setTimeout(() => {
        this.#frameWaiters = this.#frameWaiters.filter((w) => w !== waiter);
        reject(new RequestTimeoutError(`no frame from ${this.describe()} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#frameWaiters.push(waiter);
    });
  }

  /** Closes the connection; what is in flight fails with `reason` (default ClientClosedError). */
  close(
    reason: KafkaClientError = new ClientClosedError(`connection to ${this.describe()} closed by the client`),
  ): void {
    this.#fail(reason);
  }

  #takeCorrelationId(): number {
    const id = this.#nextCorrelation;
    this.#nextCorrelation = id === 0x7fffffff ? 1 : id + 1;
    return id;
  }

  #send(frame: Buffer, correlationId: number, timeoutMs: number): Promise<Buffer> {
    if (this.#closeReason) return Promise.reject(this.#closeReason);
    return new Promise<Buffer>((resolve, reject) => {
      const deadline = performance.now() + timeoutMs;
      // The frame's own header names the API and version, for a timeout's message.
      const apiKey = frame.readInt16BE(4);
      const version = frame.readInt16BE(6);
      this.#inFlight.push({ correlationId, deadline, timeoutMs, apiKey, version, resolve, reject });
      if (deadline < this.#timerAt) this.#arm(deadline);
      this.#socket.write(frame);
    });
  }

  #onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      this.#fail(
        new ConnectionError(
          `bad response frame from ${this.describe()}: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        ),
      );
      return;
    }
    for (const f of frames) {
      if (this.#closeReason) return;
      const head = this.#inFlight[0];
      const id = f.length >= 4 ? f.readInt32BE(0) : null;
      if (head && id === head.correlationId) {
        this.#inFlight.shift();
        head.resolve(f);
      } else if (this.#keepUnmatched) {
        const w = this.#frameWaiters.shift();
        if (w) w(f);
        else this.#frames.push(f);
      } else {
        this.#fail(
          new ConnectionError(
            `response from ${this.describe()} with correlation id ${id ?? '(none)'}, expected ${head?.correlationId ?? 'none'}`,
          ),
        );
      }
    }
  }

  #arm(at: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, at - performance.now()) + 1);
    // A stale timer (its requests long answered) must not keep a process alive.
    this.#timer.unref();
  }

  #onTimer(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    const now = performance.now();
    let earliest = Infinity;
    let expired: InFlight | undefined;
    for (const r of this.#inFlight) {
      if (r.deadline <= now) expired ??= r;
      else if (r.deadline < earliest) earliest = r.deadline;
    }
    if (expired) {
      const timeout = new RequestTimeoutError(
        `${describeRequest(expired.apiKey, expired.version)} to ${this.describe()} timed out after ${expired.timeoutMs} ms`,
      );
      this.#fail(timeout, expired);
      return;
    }
    if (earliest !== Infinity) this.#arm(earliest);
  }

  /** Close once: fail what is in flight (the timed-out request with its own error), wake readers. */
  #fail(reason: KafkaClientError, timedOut?: InFlight): void {
    if (this.#closeReason) return;
    this.#closeReason = reason;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#socket.destroy();
    const inFlight = this.#inFlight;
    this.#inFlight = [];
    for (const r of inFlight) {
      if (!timedOut || r === timedOut) r.reject(reason);
      else
        r.reject(
          new ConnectionError(`connection to ${this.describe()} closed: ${reason.message}`, {
            cause: reason,
          }),
        );
    }
    for (const w of this.#frameWaiters.splice(0)) w(null);
    for (const l of this.#closeListeners.splice(0)) l(reason);
  }
}
