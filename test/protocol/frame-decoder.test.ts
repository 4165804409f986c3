import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_FRAME_SIZE, FrameDecoder, FrameError } from '../../src/protocol/frame-decoder.js';

function sized(frame: Buffer): Buffer {
  const out = Buffer.alloc(4 + frame.length);
  out.writeInt32BE(frame.length, 0);
  frame.copy(out, 4);
  return out;
}

/** Cut `buf` at the given sorted positions. */
function cut(buf: Buffer, points: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, buf.length]) {
    chunks.push(buf.subarray(prev, p));
    prev = p;
  }
  return chunks;
}

describe('FrameDecoder', () => {
  it('returns the frames of any chunking of the stream, in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (frames, rawPoints) => {
          const stream = Buffer.concat(frames.map((f) => sized(Buffer.from(f))));
          const points = [
            ...new Set(rawPoints.map((p) => (stream.length === 0 ? 0 : p % stream.length))),
          ].sort((a, b) => a - b);
          const d = new FrameDecoder();
          const out: Buffer[] = [];
          for (const chunk of cut(stream, points)) out.push(...d.push(chunk));
          expect(out.map((b) => Buffer.from(b))).toEqual(frames.map((f) => Buffer.from(f)));
          expect(d.idle).toBe(true);
          expect(d.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('handles many frames in one chunk and one byte at a time', () => {
    const frames = Array.from({ length: 1000 }, (_, i) => Buffer.from(`frame-${i}`));
    const stream = Buffer.concat(frames.map(sized));
    expect(new FrameDecoder().push(stream)).toEqual(frames);
    const d = new FrameDecoder();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...d.push(stream.subarray(i, i + 1)));
    expect(out).toEqual(frames);
  });

  it('returns frames inside one chunk as views, without copying', () => {
    const stream = Buffer.concat([sized(Buffer.from('abc')), sized(Buffer.from('defg'))]);
    const [a, b] = new FrameDecoder().push(stream);
    expect(a!.buffer).toBe(stream.buffer);
    expect(b!.toString()).toBe('defg');
  });

  it('keeps a partial frame until its last byte', () => {
    const d = new FrameDecoder();
    const s = sized(Buffer.alloc(10, 7));
    expect(d.push(s.subarray(0, 2))).toEqual([]);
    expect(d.push(s.subarray(2, 9))).toEqual([]);
    expect(d.idle).toBe(false);
    expect(d.bufferedBytes).toBe(5); // the size prefix has been consumed
    expect(d.push(s.subarray(9))).toEqual([Buffer.alloc(10, 7)]);
  });

  it('accepts an empty frame (the request parser rejects it later)', () => {
    expect(new FrameDecoder().push(Buffer.from([0, 0, 0, 0]))).toEqual([Buffer.alloc(0)]);
  });

  it('rejects an oversize frame as soon as the size is known, without waiting for the body', () => {
    const d = new FrameDecoder({ maxFrameSize: 1000 });
    const size = Buffer.alloc(4);
    size.writeInt32BE(1001);
    expect(d.push(size.subarray(0, 3))).toEqual([]);
    let err: unknown;
    try {
      d.push(size.subarray(3));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FrameError);
    expect(err).toMatchObject({ reason: 'too-large', announcedSize: 1001, maxFrameSize: 1000 });
    expect(d.bufferedBytes).toBe(0);
    // The decoder stays failed.
    expect(() => d.push(Buffer.from([0, 0, 0, 1, 1]))).toThrow(FrameError);
  });

  it('uses socket.request.max.bytes as default limit', () => {
    const d = new FrameDecoder();
    expect(d.maxFrameSize).toBe(DEFAULT_MAX_FRAME_SIZE);
    const s = Buffer.alloc(4);
    s.writeInt32BE(DEFAULT_MAX_FRAME_SIZE);
    expect(d.push(s)).toEqual([]); // exactly the limit is fine
    s.writeInt32BE(DEFAULT_MAX_FRAME_SIZE + 1);
    expect(() => new FrameDecoder().push(s)).toThrow(/larger than the maximum 104857600/);
  });

  it('rejects a negative size and reports frames completed before it', () => {
    const good = sized(Buffer.from('ok'));
    const bad = Buffer.from([0xff, 0xff, 0xff, 0xfe]);
    try {
      new FrameDecoder().push(Buffer.concat([good, bad]));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FrameError);
      const fe = e as FrameError;
      expect(fe.reason).toBe('negative-size');
      expect(fe.announcedSize).toBe(-2);
      expect(fe.completedFrames).toEqual([Buffer.from('ok')]);
    }
  });

  it('names HTTP and TLS garbage', () => {
    expect(() => new FrameDecoder().push(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(/looks like HTTP/);
    expect(() => new FrameDecoder().push(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]))).toThrow(/TLS/);
  });

  it('never throws anything but FrameError on random bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), (chunks) => {
        const d = new FrameDecoder({ maxFrameSize: 4096 });
        try {
          for (const c of chunks) d.push(Buffer.from(c));
        } catch (e) {
          expect(e).toBeInstanceOf(FrameError);
        }
      }),
    );
  });

  it('is linear for a big frame arriving in many small chunks', () => {
    const body = Buffer.alloc(8 * 1024 * 1024, 1);
    const stream = sized(body);
    const d = new FrameDecoder();
    const out: Buffer[] = [];
    const t0 = performance.now();
    for (let at = 0; at < stream.length; at += 512) out.push(...d.push(stream.subarray(at, at + 512)));
    const ms = performance.now() - t0;
    expect(out).toHaveLength(1);
    expect(out[0]!.equals(body)).toBe(true);
    expect(ms).toBeLessThan(2000);
  });
});
