/**
 * Length-prefixed framing of the Kafka protocol, sans-I/O:
 *
 *   Size   int32   bytes that follow (request header + body)
 *   Frame  Size bytes
 *
 * `push(chunk)` takes whatever the socket delivered and returns the frames it completed, without the
 * size prefix. A chunk may hold many frames, part of one, or a size split across chunks; the decoder
 * keeps at most one partial frame. Frames that lie inside one chunk are returned as views of it (no
 * copy); a frame spread over several chunks is copied once, when its last byte arrives, so the cost is
 * linear in the bytes received whatever the chunking.
 *
 * Limits follow Kafka's NetworkReceive: a negative size, or one above `maxFrameSize`
 * (socket.request.max.bytes, default 100 MiB), is a FrameError as soon as the four size bytes are
 * there; the body is never buffered. After a FrameError the decoder stays failed: the connection
 * must be closed, since where the next frame starts is unknowable.
 */

export const DEFAULT_MAX_FRAME_SIZE = 104_857_600;

export type FrameErrorReason = 'negative-size' | 'too-large' | 'decoder-failed';

export class FrameError extends Error {
  override readonly name = 'FrameError';
  readonly reason: FrameErrorReason;
  /** The size the peer announced. */
  readonly announcedSize: number;
  readonly maxFrameSize: number;
  /** Frames completed earlier in the same push, before the bad size. */
  readonly completedFrames: Buffer[];

  constructor(
    reason: FrameErrorReason,
    announcedSize: number,
    maxFrameSize: number,
    completedFrames: Buffer[] = [],
  ) {
    super(FrameError.#describe(reason, announcedSize, maxFrameSize));
    this.reason = reason;
    this.announcedSize = announcedSize;
    this.maxFrameSize = maxFrameSize;
    this.completedFrames = completedFrames;
  }

  static #describe(reason: FrameErrorReason, size: number, max: number): string {
    if (reason === 'decoder-failed') return 'frame decoder already failed; close the connection';
    const base =
      reason === 'negative-size'
        ? `invalid frame: negative size ${size}`
        : `invalid frame: size ${size} is larger than the maximum ${max} (socket.request.max.bytes)`;
    return base + garbageHint(size);
  }
}

/** Names the usual suspects when the "size" is really text or a TLS record from a misconfigured peer. */
function garbageHint(size: number): string {
  const b = Buffer.alloc(4);
  b.writeInt32BE(size);
  if (b[0] === 0x16 && b[1] === 0x03) return ' (looks like a TLS handshake on a plaintext listener)';
  const text = b.toString('latin1');
  if (/^(GET |POST|PUT |HEAD|HTTP)/.test(text)) return ' (looks like HTTP)';
  return '';
}

export class FrameDecoder {
  /**
   * May change between frames: a SASL connection reads with sasl.server.max.receive.size until it
   * has authenticated, then with socket.request.max.bytes (Kafka's SaslServerAuthenticator).
   */
  maxFrameSize: number;
  /** Chunks not yet consumed; the first is consumed from #headOffset on. */
  #chunks: Buffer[] = [];
  #headOffset = 0;
  #buffered = 0;
  /** Size of the frame being collected, or -1 while waiting for its size bytes. */
  #frameSize = -1;
  #failed = false;

  constructor(options: { maxFrameSize?: number } = {}) {
    this.maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  }

  /** Bytes held for the pending frame (its body so far, or a partial size prefix). */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** True when no partial frame is pending: a clean point to close the connection. */
  get idle(): boolean {
    return this.#buffered === 0 && this.#frameSize < 0;
  }

  push(chunk: Buffer): Buffer[] {
    if (this.#failed) throw new FrameError('decoder-failed', -1, this.maxFrameSize);
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const frames: Buffer[] = [];
    for (;;) {
      if (this.#frameSize < 0) {
        if (this.#buffered < 4) break;
        const size = this.#take(4).readInt32BE(0);
        if (size < 0 || size > this.maxFrameSize) {
          this.#failed = true;
          this.#chunks = [];
          this.#buffered = 0;
          throw new FrameError(size < 0 ? 'negative-size' : 'too-large', size, this.maxFrameSize, frames);
        }
        this.#frameSize = size;
      }
      if (this.#buffered < this.#frameSize) break;
      frames.push(this.#take(this.#frameSize));
      this.#frameSize = -1;
    }
    return frames;
  }

  /** Remove and return the next n buffered bytes: a view when they are in one chunk, else one copy. */
  #take(n: number): Buffer {
    this.#buffered -= n;
    const head = this.#chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (head !== undefined && head.length - this.#headOffset >= n) {
      const out = head.subarray(this.#headOffset, this.#headOffset + n);
      this.#advanceHead(n, head);
      return out;
    }
    // Spread over several chunks: copy once, then drop the consumed chunks in one splice (shifting
    // one by one would be quadratic for a large frame arriving in many small chunks).
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let i = 0;
    let at = this.#headOffset;
    while (filled < n) {
      const c = this.#chunks[i]!;
      const k = Math.min(c.length - at, n - filled);
      c.copy(out, filled, at, at + k);
      filled += k;
      at += k;
      if (at === c.length) {
        i++;
        at = 0;
      }
    }
    this.#chunks.splice(0, i);
    this.#headOffset = at;
    return out;
  }

  #advanceHead(n: number, head: Buffer): void {
    this.#headOffset += n;
    if (this.#headOffset === head.length) {
      this.#chunks.shift();
      this.#headOffset = 0;
    }
  }
}
