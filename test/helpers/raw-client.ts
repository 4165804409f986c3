/**
 * A minimal Kafka client for tests that need exact control of the bytes: sends request frames built
 * with the generated codecs (or raw bytes) and reads response frames. Not a real client: no retries,
 * no metadata; tests use it for bad input and precise protocol checks.
 */
import { connect, type Socket } from 'node:net';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import {
  decodeResponse,
  encodeRequestFrame,
  type ApiKey,
  type ApiMessages,
} from '../../src/protocol/messages/index.js';

export class RawClient {
  readonly #socket: Socket;
  readonly #decoder = new FrameDecoder({ maxFrameSize: 1 << 30 });
  readonly #frames: Buffer[] = [];
  #waiters: ((f: Buffer | null) => void)[] = [];
  #closed = false;
  #nextCorrelation = 1;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.#decoder.push(chunk)) {
        const w = this.#waiters.shift();
        if (w) w(f);
        else this.#frames.push(f);
      }
    });
    const onEnd = () => {
      this.#closed = true;
      for (const w of this.#waiters.splice(0)) w(null);
    };
    socket.on('close', onEnd);
    socket.on('error', () => {});
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host }, () => {
        s.off('error', reject);
        resolve(new RawClient(s));
      });
      s.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  writeRaw(bytes: Buffer): void {
    this.#socket.write(bytes);
  }

  /** Next response frame, or null when the broker closed the connection first. */
  nextFrame(timeoutMs = 10_000): Promise<Buffer | null> {
    const f = this.#frames.shift();
    if (f) return Promise.resolve(f);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no response within timeout')), timeoutMs);
      this.#waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  }

  async request<K extends ApiKey>(
    apiKey: K,
    version: number,
    body: ApiMessages[K]['request'],
  ): Promise<ApiMessages[K]['response']> {
    const correlationId = this.#nextCorrelation++;
    this.#socket.write(encodeRequestFrame(apiKey, version, correlationId, 'sluice-test', body));
    const frame = await this.nextFrame();
    if (!frame) throw new Error('connection closed before the response');
    const res = decodeResponse(frame, apiKey, version);
    if (res.correlationId !== correlationId)
      throw new Error(`correlation id ${res.correlationId}, expected ${correlationId}`);
    return res.body;
  }

  close(): void {
    this.#socket.destroy();
  }
}
