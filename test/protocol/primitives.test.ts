import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ByteReader, ByteWriter, DecodeError } from '../../src/protocol/primitives.js';
import { buildRecordBatch } from '../../src/protocol/records/build.js';
import {
  readBatchHeader,
  validateBatch,
  CorruptRecordError,
  RECORDS_OFFSET,
} from '../../src/protocol/records/batch-header.js';
import { readRecords } from '../../src/protocol/records/record.js';

describe('primitives', () => {
  it('round-trips zig-zag varints and varlongs at the edges', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        (i, l) => {
          const b = new ByteWriter(2).varint(i).varlong(l).finish();
          const r = new ByteReader(Buffer.from(b));
          expect(r.varint()).toBe(i);
          expect(r.varlong()).toBe(l);
          expect(r.remaining).toBe(0);
        },
      ),
    );
  });

  it('encodes the documented zig-zag bytes', () => {
    // ByteUtils.writeVarint: 0->00, -1->01, 1->02, 63->7e, -64->7f, 64->8001
    const hex = (n: number) => Buffer.from(new ByteWriter().varint(n).finish()).toString('hex');
    expect([0, -1, 1, 63, -64, 64].map(hex)).toEqual(['00', '01', '02', '7e', '7f', '8001']);
  });

  it('throws DecodeError, not RangeError, on truncation and lying lengths', () => {
    expect(() => new ByteReader(Buffer.from([0x00])).int32()).toThrow(DecodeError);
    expect(() => new ByteReader(Buffer.from([0x00, 0x05, 0x61])).string()).toThrow(DecodeError);
    expect(() => new ByteReader(Buffer.from([0x7f, 0xff, 0xff, 0xff])).arrayLength(false)).toThrow(
      DecodeError,
    );
    expect(() => new ByteReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).unsignedVarint()).toThrow(
      DecodeError,
    );
  });

  it('round-trips compact and nullable strings, bytes and uuids', () => {
    const w = new ByteWriter(1);
    w.compactNullableString(null)
      .compactString('héllo')
      .nullableString(null)
      .string('x')
      .uuid('0123456789abcdef0123456789abcdef');
    w.compactNullableBytes(Buffer.from([1, 2])).nullableBytes(null);
    const r = new ByteReader(Buffer.from(w.finish()));
    expect(r.compactNullableString()).toBeNull();
    expect(r.compactString()).toBe('héllo');
    expect(r.nullableString()).toBeNull();
    expect(r.string()).toBe('x');
    expect(r.uuid()).toBe('01234567-89ab-cdef-0123-456789abcdef');
    expect([...r.compactNullableBytes()!]).toEqual([1, 2]);
    expect(r.nullableBytes()).toBeNull();
  });
});

describe('uncompressed record batch', () => {
  it('builds a batch that validates and reads back', () => {
    const batch = buildRecordBatch(
      [
        { key: 'k1', value: 'v1', timestamp: 1000n, headers: [{ key: 'h', value: 'x' }] },
        { key: null, value: null, timestamp: 1005n },
      ],
      { baseOffset: 42n },
    );
    expect(validateBatch(batch)).toBe(batch.length);
    const h = readBatchHeader(batch);
    expect(h.recordCount).toBe(2);
    expect(h.maxTimestamp).toBe(1005n);
    const recs = readRecords(batch.subarray(RECORDS_OFFSET), h.recordCount, h.baseOffset, h.baseTimestamp);
    expect(
      recs.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString() ?? null]),
    ).toEqual([
      [42n, 1000n, 'k1', 'v1'],
      [43n, 1005n, null, null],
    ]);
    expect(recs[0]!.headers[0]!.value!.toString()).toBe('x');
    batch[70] = batch[70]! ^ 0xff;
    expect(() => validateBatch(batch)).toThrow(CorruptRecordError);
  });
});

describe('zero-copy record walk', () => {
  it('agrees with the full decoder on random records, and varlongNumber with varlong', async () => {
    const { walkRecords, readRecords } = await import('../../src/protocol/records/record.js');
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.option(fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a))),
            value: fc.option(fc.uint8Array({ maxLength: 50 }).map((a) => Buffer.from(a))),
            ts: fc.bigInt({ min: 0n, max: 2n ** 45n }),
            headers: fc.array(
              fc.record({ key: fc.string({ maxLength: 5 }), value: fc.option(fc.string({ maxLength: 5 })) }),
              { maxLength: 3 },
            ),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        (recs) => {
          const batch = buildRecordBatch(
            recs.map((r) => ({ key: r.key, value: r.value, timestamp: r.ts, headers: r.headers })),
            { baseTimestamp: 0n },
          );
          const h = readBatchHeader(batch);
          const section = batch.subarray(RECORDS_OFFSET);
          const full = readRecords(section, h.recordCount, 0n, h.baseTimestamp);
          const walked: [number, number, boolean][] = [];
          walkRecords(section, h.recordCount, (_i, off, ts, keyNull) => walked.push([off, ts, keyNull]));
          expect(walked).toEqual(full.map((r) => [Number(r.offset), Number(r.timestamp), r.key === null]));
          // One byte short anywhere in the section is an error, never a silent success.
          expect(() => walkRecords(section.subarray(0, section.length - 1), h.recordCount, () => {})).toThrow(
            DecodeError,
          );
        },
      ),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 52n), max: 2n ** 52n }), (v) => {
        const b = Buffer.from(new ByteWriter().varlong(v).finish());
        expect(new ByteReader(b).varlongNumber()).toBe(Number(v));
      }),
    );
  });
});
