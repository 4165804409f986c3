/**
 * Property test: random appends, reads, rolls, truncations, DeleteRecords and restarts (clean and
 * unclean) against a plain in-memory model of the log; after every step the log and the model agree
 * on offsets and on every byte a read returns.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LOG_CONFIG, FileHandlePool, UnifiedLog, type LogConfig } from '../../src/storage/index.js';
import { makeBatch, splitBatches, tempDir } from './helpers.js';

type Op =
  | { kind: 'append'; count: number; size: number; epoch: number }
  | { kind: 'read'; at: number; maxBytes: number }
  | { kind: 'roll' }
  | { kind: 'truncate'; at: number }
  | { kind: 'deleteRecords'; at: number }
  | { kind: 'restart'; clean: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      count: fc.integer({ min: 1, max: 5 }),
      size: fc.integer({ min: 0, max: 300 }),
      epoch: fc.integer({ min: 0, max: 2 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      maxBytes: fc.integer({ min: 1, max: 3000 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'roll' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('truncate' as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('deleteRecords' as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), clean: fc.boolean() }) },
);

interface ModelBatch {
  base: bigint;
  last: bigint;
  bytes: Buffer;
  epoch: number;
}

class Model {
  batches: ModelBatch[] = [];
  logStart = 0n;
  leo = 0n;
  epoch = 0;
  /** Batches from the one holding `offset`. */
  from(offset: bigint): Buffer {
    return Buffer.concat(this.batches.filter((b) => b.last >= offset).map((b) => b.bytes));
  }
  pick(frac: number): bigint {
    const span = this.leo - this.logStart;
    return this.logStart + BigInt(Math.floor(frac * Number(span + 1n))) > this.leo
      ? this.leo
      : this.logStart + BigInt(Math.floor(frac * Number(span + 1n)));
  }
}

function readAll(log: UnifiedLog): Buffer {
  const out: Buffer[] = [];
  let off = log.logStartOffset;
  while (off < log.logEndOffset) {
    const r = log.read(off, { maxBytes: 700 });
    const bs = splitBatches(r.records);
    expect(bs.length).toBeGreaterThan(0);
    out.push(...bs);
    const last = bs[bs.length - 1]!;
    off = last.readBigInt64BE(0) + BigInt(last.readInt32BE(23)) + 1n;
  }
  return Buffer.concat(out);
}

describe('UnifiedLog against an in-memory model', () => {
  it('agrees after random operation sequences', () => {
    const t = tempDir();
    let run = 0;
    try {
      fc.assert(
        fc.property(
          fc.array(opArb, { minLength: 1, maxLength: 60 }),
          fc.integer({ min: 400, max: 3000 }),
          (ops, segmentBytes) => {
            const dir = join(t.path, `p-${run++}`);
            const config: LogConfig = {
              ...DEFAULT_LOG_CONFIG,
              segmentBytes,
              indexIntervalBytes: 150,
              fileDeleteDelayMs: 0,
            };
            const pool = new FileHandlePool(8);
            const open = (clean: boolean, m: Model, hw: bigint): UnifiedLog =>
              UnifiedLog.load({
                dir,
                topicPartition: { topic: 'p', partition: 0 },
                config,
                pool,
                hadCleanShutdown: clean,
                logStartOffset: m.logStart,
                highWatermark: hw,
              });
            const m = new Model();
            let log = open(true, m, 0n);
            let ts = 1_000_000n;
            try {
              for (const op of ops) {
                switch (op.kind) {
                  case 'append': {
                    m.epoch = Math.max(m.epoch, op.epoch);
                    const b = makeBatch(op.count, op.size, ts);
                    ts += BigInt(op.count);
                    const info = log.append(b, { leaderEpoch: m.epoch });
                    expect(info.firstOffset).toBe(m.leo);
                    m.batches.push({
                      base: m.leo,
                      last: info.lastOffset,
                      bytes: Buffer.from(b),
                      epoch: m.epoch,
                    });
                    m.leo = info.lastOffset + 1n;
                    break;
                  }
                  case 'read': {
                    const at = m.pick(op.at);
                    const r = log.read(at, { maxBytes: op.maxBytes });
                    if (at === m.leo) {
                      expect(r.records.length).toBe(0);
                      break;
                    }
                    const expected = m.from(at);
                    const firstSize = m.batches.find((b) => b.last >= at)!.bytes.length;
                    expect(r.records.length).toBeGreaterThanOrEqual(Math.min(firstSize, expected.length));
                    expect(r.records.length).toBeLessThanOrEqual(Math.max(op.maxBytes, firstSize));
                    expect(r.records.equals(expected.subarray(0, r.records.length))).toBe(true);
                    break;
                  }
                  case 'roll':
                    log.roll();
                    break;
                  case 'truncate': {
                    const at = m.pick(op.at);
                    log.truncateTo(at);
                    const i = m.batches.findIndex((b) => b.last >= at);
                    if (i >= 0) {
                      m.leo = m.batches[i]!.base;
                      m.batches.splice(i);
                    }
                    if (m.logStart > m.leo) m.logStart = m.leo;
                    break;
                  }
                  case 'deleteRecords': {
                    const at = m.pick(op.at);
                    log.updateHighWatermark(log.logEndOffset);
                    log.deleteRecordsBefore(at);
                    if (at > m.logStart) m.logStart = at;
                    break;
                  }
                  case 'restart': {
                    const hw = log.highWatermark;
                    if (op.clean) log.close();
                    else log.closeWithoutFlush();
                    log = open(op.clean, m, hw);
                    break;
                  }
                }
                expect(log.logEndOffset).toBe(m.leo);
                expect(log.logStartOffset).toBe(m.logStart);
              }
              expect(readAll(log).equals(m.from(m.logStart))).toBe(true);
              const lastBatch = m.batches[m.batches.length - 1];
              if (lastBatch && lastBatch.last >= m.logStart) expect(log.latestEpoch).toBe(lastBatch.epoch);
            } finally {
              log.closeWithoutFlush();
              pool.closeAll();
            }
          },
        ),
        { numRuns: 80 },
      );
    } finally {
      t.cleanup();
    }
  });
});
