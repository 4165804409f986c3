/**
 * Property test of the log cleaner against a model, on real files: random keyed writes and deletes
 * (tombstones), in batches of every codec, from plain and idempotent producers; rolls; the clock
 * moving; config changes (segment.bytes, delete.retention.ms, min.compaction.lag.ms, the dedupe
 * buffer); clean restarts and crashes; and cleaning passes of the real cleaner (LogManager's
 * LogCleaner, its worker thread, the swaps). After every pass:
 *
 *   - a full read equals the model's latest value per key (tombstones delete);
 *   - offsets strictly increase and every record read is exactly the one written at its offset;
 *   - every record at or above the cleaner's checkpoint is there, untouched;
 *   - below the checkpoint each key appears at most once, and every tombstone there carries a delete
 *     horizon the pass did not reach yet (or just set: delete.retention.ms after the pass);
 *   - each idempotent producer's last batch is still there (its sequence survives).
 *
 * CLEANER_PROPERTY_RUNS (default 20) sets the number of runs; CI uses the default. A failure is
 * reported as found (each shrinking step is a whole run with a worker thread: minutes); set
 * CLEANER_PROPERTY_SHRINK=1 to shrink it to a small counterexample.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CompressionType, hasDeleteHorizon } from '../../src/protocol/records/batch-header.js';
import {
  type CleanerConfig,
  DEFAULT_CLEANER_CONFIG,
  LogManager,
  logConfigFromProps,
} from '../../src/storage/index.js';
import { keyValueMap, keyedBatch, readAllBatches, type ReadRecord } from './cleaner-helpers.js';
import { tempDir } from './helpers.js';

const RUNS = Number(process.env.CLEANER_PROPERTY_RUNS ?? 20);

type Op =
  | {
      kind: 'write';
      records: { key: number; value: number | null }[];
      codec: CompressionType;
      producer: number | null;
    }
  | { kind: 'roll' }
  | { kind: 'tick'; ms: number }
  | { kind: 'clean' }
  | { kind: 'config'; segmentBytes: number; deleteRetentionMs: number; minLagMs: number; mapSlots: number }
  | { kind: 'restart'; clean: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      records: fc.array(
        fc.record({
          key: fc.integer({ min: 0, max: 11 }),
          value: fc.option(fc.integer({ min: 0, max: 1_000_000 }), { freq: 6 }),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      codec: fc.constantFrom(
        CompressionType.None,
        CompressionType.None,
        CompressionType.Gzip,
        CompressionType.Lz4,
        CompressionType.Snappy,
        CompressionType.Zstd,
      ),
      producer: fc.option(fc.constantFrom(100, 101), { freq: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'roll' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 5000 }) }),
  },
  { weight: 4, arbitrary: fc.constant({ kind: 'clean' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('config' as const),
      segmentBytes: fc.constantFrom(400, 1024, 4096),
      deleteRetentionMs: fc.constantFrom(0, 1000, 4000, 100_000),
      minLagMs: fc.constantFrom(0, 0, 2000),
      mapSlots: fc.constantFrom(3, 8, 100_000),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), clean: fc.boolean() }) },
);

interface Written {
  offset: bigint;
  key: string;
  value: string | null;
  timestamp: bigint;
}

const dirs: (() => void)[] = [];
afterAll(() => dirs.forEach((c) => c()));

describe('log cleaner property', () => {
  it(
    'a cleaned log reads as the model: latest value per key, untouched above the checkpoint',
    { timeout: 30 * 60_000 },
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 10, maxLength: 60 }), async (ops) => {
          const d = tempDir('sluice-cleaner-prop-');
          dirs.push(d.cleanup);
          const clock = { now: 1_700_000_000_000 };
          const topic: Record<string, string> = {
            'cleanup.policy': 'compact',
            'segment.bytes': '1024',
            'min.cleanable.dirty.ratio': '0.01',
            'delete.retention.ms': '1000',
            'min.compaction.lag.ms': '0',
          };
          let cleaner: CleanerConfig = { ...DEFAULT_CLEANER_CONFIG, dedupeBufferSize: 100_000 * 24 };
          const open = (): LogManager => {
            const lm = new LogManager({
              logDirs: [d.path],
              topicConfig: () => logConfigFromProps(topic),
              cleanerConfig: () => cleaner,
              time: () => clock.now,
            });
            lm.startup({ background: false });
            return lm;
          };
          let lm = open();
          let log = lm.getOrCreateLog('p', 0);
          const written: Written[] = [];
          const sequences = new Map<number, number>();
          const lastBatchOf = new Map<number, bigint>();
          let lastCheckpoint = -1n;
          try {
            for (const op of ops) {
              switch (op.kind) {
                case 'write': {
                  const base = log.logEndOffset;
                  const ts = BigInt(clock.now);
                  const records = op.records.map((r) => ({
                    key: `k${r.key}`,
                    value: r.value === null ? null : `v${r.value}`,
                  }));
                  const pid = op.producer;
                  const seq = pid === null ? 0 : (sequences.get(pid) ?? 0);
                  log.append(
                    await keyedBatch(records, {
                      compression: op.codec,
                      timestamp: ts,
                      ...(pid === null
                        ? {}
                        : { producerId: BigInt(pid), producerEpoch: 0, baseSequence: seq }),
                    }),
                    { now: clock.now },
                  );
                  log.updateHighWatermark(log.logEndOffset);
                  records.forEach((r, i) =>
                    written.push({
                      offset: base + BigInt(i),
                      key: r.key,
                      value: r.value,
                      timestamp: ts + BigInt(i),
                    }),
                  );
                  if (pid !== null) {
                    sequences.set(pid, seq + records.length);
                    lastBatchOf.set(pid, log.logEndOffset - 1n);
                  }
                  break;
                }
                case 'roll':
                  if (log.activeSegment.size > 0) log.roll();
                  break;
                case 'tick':
                  clock.now += op.ms;
                  break;
                case 'config':
                  topic['segment.bytes'] = String(op.segmentBytes);
                  topic['delete.retention.ms'] = String(op.deleteRetentionMs);
                  topic['min.compaction.lag.ms'] = String(op.minLagMs);
                  cleaner = { ...cleaner, dedupeBufferSize: op.mapSlots * 24 };
                  log.updateConfig(logConfigFromProps(topic));
                  break;
                case 'restart':
                  if (op.clean) lm.shutdown();
                  else lm.abandon();
                  lm = open();
                  log = lm.getOrCreateLog('p', 0);
                  log.updateHighWatermark(log.logEndOffset);
                  break;
                case 'clean': {
                  const out = await lm.cleaner.cleanOnce(clock.now);
                  if (out === null) break;
                  expect(out.status, out.error).toBe('cleaned');
                  const checkpoint = lm.cleaner.manager.checkpointOf('p-0')!;
                  expect(checkpoint).toBe(out.endOffset);
                  expect(checkpoint).toBeGreaterThanOrEqual(lastCheckpoint);
                  lastCheckpoint = checkpoint;
                  await check(checkpoint, clock.now, Number(topic['delete.retention.ms']));
                  break;
                }
              }
            }
            // Whatever happened last, the log still reads as the model.
            const cp = lm.cleaner.manager.checkpointOf('p-0') ?? 0n;
            await check(cp, null, 0);
          } finally {
            lm.shutdown();
          }

          async function check(
            checkpoint: bigint,
            passTime: number | null,
            retentionMs: number,
          ): Promise<void> {
            const batches = await readAllBatches(log);
            const read: ReadRecord[] = batches.flatMap((b) => b.records);
            const byOffset = new Map(written.map((w) => [w.offset, w]));
            for (let i = 1; i < read.length; i++)
              expect(read[i]!.offset).toBeGreaterThan(read[i - 1]!.offset);
            for (const r of read) {
              const w = byOffset.get(r.offset)!;
              expect({ key: r.key, value: r.value, timestamp: r.timestamp }).toEqual({
                key: w.key,
                value: w.value,
                timestamp: w.timestamp,
              });
            }
            // The key → value map a consumer builds.
            expect(keyValueMap(read)).toEqual(keyValueMap(written.map((w) => ({ ...w, headers: [] }))));
            // At or above the checkpoint: all there, untouched.
            expect(read.filter((r) => r.offset >= checkpoint).map((r) => r.offset)).toEqual(
              written.filter((w) => w.offset >= checkpoint).map((w) => w.offset),
            );
            // Below it: each key once; tombstones carry a horizon not yet reached (or set by this pass).
            const below = read.filter((r) => r.offset < checkpoint);
            expect(new Set(below.map((r) => r.key)).size).toBe(below.length);
            if (passTime !== null) {
              for (const b of batches) {
                for (const r of b.records) {
                  if (r.offset >= checkpoint || r.value !== null) continue;
                  expect(hasDeleteHorizon(b.header.attributes)).toBe(true);
                  const h = Number(b.header.baseTimestamp);
                  expect(h > passTime || h === passTime + retentionMs).toBe(true);
                }
              }
            }
            // Each idempotent producer's last batch survives.
            const lastOffsets = new Set(
              batches
                .filter((b) => b.header.producerId >= 0n)
                .map((b) => b.header.baseOffset + BigInt(b.header.lastOffsetDelta)),
            );
            for (const last of lastBatchOf.values()) expect(lastOffsets.has(last)).toBe(true);
          }
        }),
        { numRuns: RUNS, endOnFailure: process.env.CLEANER_PROPERTY_SHRINK !== '1' },
      );
    },
  );
});
