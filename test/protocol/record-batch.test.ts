import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CompressionType,
  CorruptRecordError,
  RECORDS_OFFSET,
  TimestampType,
  computeBatchCrc,
  stampBaseOffset,
  stampPartitionLeaderEpoch,
  validateBatch,
} from '../../src/protocol/records/batch-header.js';
import {
  buildRecordBatchCompressed,
  decodeRecordBatch,
  decodeRecordBatchSync,
  decodeRecordBatches,
  encodeRecordBatch,
  iterateRecordBatches,
  scanRecordBatches,
} from '../../src/protocol/records/batch.js';
import { assembleBatch, buildRecordBatch, encodeRecordsSection } from '../../src/protocol/records/build.js';
import {
  ControlRecordType,
  buildControlBatch,
  parseControlRecordKey,
  parseTxnMarker,
} from '../../src/protocol/records/control.js';
import { InvalidRecordError } from '../../src/protocol/records/errors.js';
import type { RecordInput } from '../../src/protocol/records/record.js';
import { validateRecordBatchForAppend } from '../../src/protocol/records/validate.js';

const T0 = 1_700_000_000_000n;
const sample: RecordInput[] = [
  { key: 'k1', value: 'v1', headers: [{ key: 'h', value: 'hv' }], timestamp: T0 },
  { key: null, value: null, timestamp: T0 + 5n },
  {
    key: Buffer.from([0, 1, 2]),
    value: 'x'.repeat(5000),
    headers: [{ key: 'n', value: null }],
    timestamp: T0 + 2n,
  },
];

function plain(
  records: {
    key: Buffer | null;
    value: Buffer | null;
    headers: { key: string; value: Buffer | null }[];
    timestamp: bigint;
    offset: bigint;
  }[],
) {
  return records.map((r) => ({
    key: r.key?.toString('latin1') ?? null,
    value: r.value?.toString('latin1') ?? null,
    headers: r.headers.map((h) => [h.key, h.value?.toString('latin1') ?? null]),
    timestamp: r.timestamp,
    offset: r.offset,
  }));
}

const expected = [
  { key: 'k1', value: 'v1', headers: [['h', 'hv']], timestamp: T0, offset: 100n },
  { key: null, value: null, headers: [], timestamp: T0 + 5n, offset: 101n },
  { key: '\0\x01\x02', value: 'x'.repeat(5000), headers: [['n', null]], timestamp: T0 + 2n, offset: 102n },
];

const CODECS = [
  CompressionType.None,
  CompressionType.Gzip,
  CompressionType.Snappy,
  CompressionType.Lz4,
  CompressionType.Zstd,
] as const;

describe.each(CODECS.map((c) => [CompressionType[c], c] as const))('batch with %s', (_n, codec) => {
  it('round trips header and records', async () => {
    const batch = await encodeRecordBatch(sample, {
      compression: codec,
      baseOffset: 100n,
      producerId: 7n,
      producerEpoch: 1,
      baseSequence: 0,
    });
    expect(validateBatch(batch)).toBe(batch.length);
    const d = await decodeRecordBatch(batch);
    expect(d.compression).toBe(codec);
    expect(d.size).toBe(batch.length);
    expect(d.header).toMatchObject({
      baseOffset: 100n,
      recordCount: 3,
      lastOffsetDelta: 2,
      baseTimestamp: T0,
      maxTimestamp: T0 + 5n,
      producerId: 7n,
      producerEpoch: 1,
    });
    expect(plain(d.records)).toEqual(expected);
    if (codec !== CompressionType.None) expect(batch.length).toBeLessThan(5000);
    if (codec !== CompressionType.Zstd) expect(plain(decodeRecordBatchSync(batch).records)).toEqual(expected);
    const v = await validateRecordBatchForAppend(batch);
    expect(v.ok).toBe(true);
    if (v.ok) expect(v.batch).toMatchObject({ maxTimestamp: T0 + 5n, offsetDeltaOfMaxTimestamp: 1 });
  });

  it('buildRecordBatchCompressed is the same thing', async () => {
    const b = await buildRecordBatchCompressed(sample, codec, { baseOffset: 100n });
    expect(plain((await decodeRecordBatch(b)).records)).toEqual(expected);
  });

  it('rejects a compressed section whose records do not match the count', async () => {
    // Header says 4 records; the (compressed) section holds 3.
    const { section, maxTimestamp } = encodeRecordsSection(sample, T0);
    const { compress } = await import('../../src/protocol/records/compression.js');
    const bad = assembleBatch(await compress(codec, section), 4, codec, T0, maxTimestamp, {});
    const v = await validateRecordBatchForAppend(bad);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.error.errorName).toBe('INVALID_RECORD');
    await expect(decodeRecordBatch(bad)).rejects.toBeInstanceOf(InvalidRecordError);
  });
});

describe('corruption', () => {
  it('a flipped bit anywhere under the CRC is detected', async () => {
    const batch = buildRecordBatch([
      { key: 'a', value: 'b', timestamp: T0 },
      { value: 'c', timestamp: T0 },
    ]);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 21, max: batch.length - 1 }),
        fc.integer({ min: 0, max: 7 }),
        async (pos, bit) => {
          const copy = Buffer.from(batch);
          copy[pos]! ^= 1 << bit;
          expect(() => validateBatch(copy)).toThrow(CorruptRecordError);
          const v = await validateRecordBatchForAppend(copy);
          expect(v.ok).toBe(false);
          if (!v.ok) expect(v.error.errorName).toBe('CORRUPT_MESSAGE');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('every byte position of a small batch, exhaustively: CRC and stored-CRC bytes too', () => {
    const batch = buildRecordBatch([{ key: 'a', value: 'b', timestamp: T0 }]);
    for (let pos = 16; pos < batch.length; pos++) {
      const copy = Buffer.from(batch);
      copy[pos]! ^= 0xff;
      expect(() => validateBatch(copy), `byte ${pos}`).toThrow(CorruptRecordError);
    }
  });

  it('base offset and leader epoch are outside the CRC: stamping keeps the batch valid', () => {
    const batch = buildRecordBatch([{ value: 'v', timestamp: T0 }]);
    stampBaseOffset(batch, 0, 123456789n);
    stampPartitionLeaderEpoch(batch, 0, 42);
    expect(validateBatch(batch)).toBe(batch.length);
  });

  it('truncated batches are CorruptRecordError at every length', async () => {
    const batch = await encodeRecordBatch(sample, { compression: CompressionType.Lz4 });
    for (let n = 0; n < batch.length; n++) {
      await expect(decodeRecordBatch(batch.subarray(0, n)), `length ${n}`).rejects.toBeInstanceOf(
        CorruptRecordError,
      );
      const v = await validateRecordBatchForAppend(batch.subarray(0, n));
      expect(v.ok).toBe(false);
    }
  });

  it('a records section that lies about its lengths is INVALID_RECORD even with a good CRC', async () => {
    const batch = buildRecordBatch([{ key: 'a', value: 'b', timestamp: T0 }]);
    batch[RECORDS_OFFSET] = 0x7e; // record length varint: 63, far beyond the section
    batch.writeUInt32BE(computeBatchCrc(batch, 0, batch.length), 17);
    const v = await validateRecordBatchForAppend(batch);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.error).toMatchObject({ errorName: 'INVALID_RECORD', code: 87 });
  });
});

describe('concatenated batches', () => {
  it('iterates all batches and reports a partial tail', async () => {
    const batches = await Promise.all(
      CODECS.map((c, i) =>
        encodeRecordBatch([{ value: `v${i}`, timestamp: T0 }], { compression: c, baseOffset: BigInt(i) }),
      ),
    );
    const all = Buffer.concat(batches);
    const cutAt = all.length - 7;
    const partials: unknown[] = [];
    const seen: string[] = [];
    const it = iterateRecordBatches(all.subarray(0, cutAt), { onPartial: (p) => partials.push(p) });
    let r = await it.next();
    while (!r.done) {
      seen.push(r.value.records[0]!.value!.toString());
      r = await it.next();
    }
    expect(seen).toEqual(['v0', 'v1', 'v2', 'v3']);
    const last = batches.at(-1)!;
    const partial = { position: cutAt - (last.length - 7), available: last.length - 7, size: last.length };
    expect(r.value).toEqual(partial);
    expect(partials).toEqual([partial]);
    const whole = await decodeRecordBatches(all);
    expect(whole.partial).toBeNull();
    expect(whole.batches.map((b) => b.header.baseOffset)).toEqual([0n, 1n, 2n, 3n, 4n]);
  });

  it('a tail shorter than 12 bytes is partial with unknown size', () => {
    const b = buildRecordBatch([{ value: 'v', timestamp: T0 }]);
    const s = scanRecordBatches(Buffer.concat([b, b.subarray(0, 5)]));
    expect(s.batches).toEqual([{ position: 0, size: b.length }]);
    expect(s.partial).toEqual({ position: b.length, available: 5, size: -1 });
  });

  it('an impossible batch length is corruption, not a partial batch', () => {
    const b = buildRecordBatch([{ value: 'v', timestamp: T0 }]);
    b.writeInt32BE(3, 8);
    expect(() => scanRecordBatches(b)).toThrow(CorruptRecordError);
  });
});

describe('control batches', () => {
  it('builds and parses COMMIT and ABORT markers', async () => {
    for (const type of [ControlRecordType.Commit, ControlRecordType.Abort] as const) {
      const b = buildControlBatch(type, {
        producerId: 9n,
        producerEpoch: 3,
        coordinatorEpoch: 17,
        timestamp: T0,
      });
      const d = await decodeRecordBatch(b);
      expect(d.control).toBe(true);
      expect(d.header.attributes & 0x30).toBe(0x30); // control + transactional
      expect(d.header).toMatchObject({ producerId: 9n, producerEpoch: 3, recordCount: 1 });
      expect(d.records[0]!.key).toEqual(Buffer.from([0, 0, 0, type]));
      expect(d.records[0]!.value).toEqual(Buffer.from([0, 0, 0, 0, 0, 17]));
      expect(parseTxnMarker(d.records[0]!)).toEqual({ type, coordinatorEpoch: 17 });
    }
  });

  it('is refused from clients but accepted from the coordinator', async () => {
    const b = buildControlBatch(ControlRecordType.Commit, {
      producerId: 9n,
      producerEpoch: 3,
      coordinatorEpoch: 0,
    });
    const fromClient = await validateRecordBatchForAppend(b);
    expect(fromClient.ok).toBe(false);
    expect((await validateRecordBatchForAppend(b, 0, { fromClient: false })).ok).toBe(true);
  });

  it('reads newer key versions and rejects short keys', () => {
    expect(parseControlRecordKey(Buffer.from([0, 1, 0, 1, 0xaa]))).toEqual({ version: 1, type: 1 });
    expect(() => parseControlRecordKey(Buffer.from([0, 0, 0]))).toThrow(InvalidRecordError);
    expect(() => parseControlRecordKey(null)).toThrow(InvalidRecordError);
  });
});

describe('append validation', () => {
  const now = Number(T0);

  it('null key on a compacted topic is INVALID_RECORD', async () => {
    const b = buildRecordBatch([
      { key: 'k', value: 'v', timestamp: T0 },
      { value: 'v', timestamp: T0 },
    ]);
    expect((await validateRecordBatchForAppend(b)).ok).toBe(true);
    const v = await validateRecordBatchForAppend(b, 0, { compacted: true });
    expect(v.ok).toBe(false);
    if (!v.ok) {
      // KIP-467: the refused record by index, and Kafka's summary as the error message.
      expect(v.error.errorName).toBe('INVALID_RECORD');
      expect(v.error).toBeInstanceOf(InvalidRecordError);
      expect((v.error as InvalidRecordError).recordErrors).toEqual([
        { batchIndex: 1, message: 'Compacted topic cannot accept message without key' },
      ]);
      expect(v.error.message).toBe(
        "One or more records have been rejected due to 1 record errors in total, and only showing the first three errors at most: [RecordError(batchIndex=1, message='Compacted topic cannot accept message without key')]",
      );
    }
  });

  it('timestamps outside before/after.max.ms are INVALID_TIMESTAMP, unless LogAppendTime', async () => {
    const b = buildRecordBatch([{ value: 'v', timestamp: T0 + 10_000n }]);
    const opts = { nowMs: now, timestampAfterMaxMs: 5_000, timestampBeforeMaxMs: 5_000 };
    const v = await validateRecordBatchForAppend(b, 0, opts);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.error).toMatchObject({ errorName: 'INVALID_TIMESTAMP', code: 32 });
    const old = buildRecordBatch([{ value: 'v', timestamp: T0 - 10_000n }]);
    expect((await validateRecordBatchForAppend(old, 0, opts)).ok).toBe(false);
    expect((await validateRecordBatchForAppend(old, 0, { ...opts, timestampBeforeMaxMs: 20_000 })).ok).toBe(
      true,
    );
    expect(
      (await validateRecordBatchForAppend(b, 0, { ...opts, timestampType: TimestampType.LogAppendTime })).ok,
    ).toBe(true);
    const none = buildRecordBatch([{ value: 'v', timestamp: -1n }], { baseTimestamp: -1n });
    expect((await validateRecordBatchForAppend(none, 0, opts)).ok).toBe(true);
  });

  it('offset deltas must run 0, 1, 2, ... and match lastOffsetDelta', async () => {
    const b = buildRecordBatch([
      { value: 'a', timestamp: T0 },
      { value: 'b', timestamp: T0 },
    ]);
    // Second record's offset delta is the byte after: length, attributes, timestamp delta (0).
    const firstLen = b[RECORDS_OFFSET]! >> 1;
    const secondOffsetDeltaAt = RECORDS_OFFSET + 1 + firstLen + 1 + 1 + 1;
    expect(b[secondOffsetDeltaAt]).toBe(2); // zig-zag 1
    b[secondOffsetDeltaAt] = 4; // zig-zag 2
    b.writeUInt32BE(computeBatchCrc(b, 0, b.length), 17);
    const v = await validateRecordBatchForAppend(b);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.error.message).toMatch(/offset delta 2, expected 1/);

    const c = buildRecordBatch([
      { value: 'a', timestamp: T0 },
      { value: 'b', timestamp: T0 },
    ]);
    c.writeInt32BE(5, 23); // lastOffsetDelta
    c.writeUInt32BE(computeBatchCrc(c, 0, c.length), 17);
    const w = await validateRecordBatchForAppend(c);
    expect(w.ok).toBe(false);
    if (!w.ok) expect(w.error.errorName).toBe('INVALID_RECORD');
  });

  it('idempotent batch without a sequence, and oversize batches, are refused', async () => {
    const b = buildRecordBatch([{ value: 'a', timestamp: T0 }], {
      producerId: 5n,
      producerEpoch: 0,
      baseSequence: -1,
    });
    expect((await validateRecordBatchForAppend(b)).ok).toBe(false);
    const big = buildRecordBatch([{ value: 'x'.repeat(2000), timestamp: T0 }]);
    const v = await validateRecordBatchForAppend(big, 0, { maxBatchSize: 1000 });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.error.errorName).toBe('MESSAGE_TOO_LARGE');
  });

  it('a decompression bomb is MESSAGE_TOO_LARGE before inflating', async () => {
    const b = await encodeRecordBatch([{ value: Buffer.alloc(4 * 1024 * 1024), timestamp: T0 }], {
      compression: CompressionType.Zstd,
    });
    expect(b.length).toBeLessThan(4096);
    const v = await validateRecordBatchForAppend(b, 0, { maxDecompressedSize: 1024 * 1024 });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.error.errorName).toBe('MESSAGE_TOO_LARGE');
  });
});
