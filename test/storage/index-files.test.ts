/**
 * The .index and .timeindex files as Kafka 4.4 writes them:
 *  - the same bytes as Kafka's own files for the same batches (a partition directory written by a
 *    real Kafka 4.4.0 broker: mixed codecs, out-of-order timestamps, five segments), after appends,
 *    rolls and a clean close, and after recovery rebuilt them;
 *  - entry values for known appends: (last offset of the batch, its position) in the .index,
 *    (largest timestamp so far, last offset of the first batch that reached it) in the .timeindex;
 *  - the active segment's files preallocated to segment.index.bytes rounded down to whole entries,
 *    trimmed to their entries on roll and close, preallocated again when the segment takes appends
 *    after a restart, with the earlier entries kept;
 *  - a preallocated file left by a crash is read by its data (entries, then zeros), and truncation
 *    leaves a preallocated file as entries followed by zeros.
 */
import { cpSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_LOG_CONFIG,
  FileHandlePool,
  UnifiedLog,
  type LogConfig,
  type LogSegment,
} from '../../src/storage/index.js';
import { makeBatch, splitBatches, tempDir } from './helpers.js';

const KAFKA_DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/kafka-4.4.0/mix3-0');
const name = (base: bigint, suffix: string): string => `${base.toString().padStart(20, '0')}${suffix}`;

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function openLog(config: Partial<LogConfig> = {}, opts: { dir?: string; clean?: boolean } = {}) {
  let dir = opts.dir;
  if (!dir) {
    const t = tempDir();
    cleanups.push(t.cleanup);
    dir = join(t.path, 'topic-0');
  }
  const log = UnifiedLog.load({
    dir,
    topicPartition: { topic: 'topic', partition: 0 },
    config: { ...DEFAULT_LOG_CONFIG, ...config },
    pool: new FileHandlePool(64),
    hadCleanShutdown: opts.clean ?? true,
  });
  return { log, dir };
}

/** (offset, position) entries of an .index file, read as Kafka's format. */
function offsetEntries(file: string, base: bigint): [bigint, number][] {
  const b = readFileSync(file);
  const out: [bigint, number][] = [];
  for (let i = 0; i + 8 <= b.length; i += 8) {
    if (i > 0 && b.readInt32BE(i) === 0) break;
    out.push([base + BigInt(b.readInt32BE(i)), b.readInt32BE(i + 4)]);
  }
  return out;
}

/** (timestamp, offset) entries of a .timeindex file. */
function timeEntries(file: string, base: bigint): [bigint, bigint][] {
  const b = readFileSync(file);
  const out: [bigint, bigint][] = [];
  for (let i = 0; i + 12 <= b.length; i += 12) {
    if (i > 0 && b.readInt32BE(i + 8) === 0) break;
    out.push([b.readBigInt64BE(i), base + BigInt(b.readInt32BE(i + 8))]);
  }
  return out;
}

const size = (file: string): number => statSync(file).size;

/** Kafka's segments: base offset and the batches of its .log. */
function kafkaSegments(): { base: bigint; batches: Buffer[] }[] {
  return readdirSync(KAFKA_DIR)
    .filter((f) => f.endsWith('.log'))
    .sort()
    .map((f) => ({ base: BigInt(f.slice(0, 20)), batches: splitBatches(readFileSync(join(KAFKA_DIR, f))) }));
}

/** Append Kafka's batches one per append (as its leader did), rolling where Kafka rolled. */
function replayKafka(log: UnifiedLog): void {
  kafkaSegments().forEach((s, i) => {
    if (i > 0) log.roll(s.base);
    for (const b of s.batches) log.appendAsFollower(Buffer.from(b));
  });
}

function expectSameIndexesAsKafka(dir: string): void {
  const segs = kafkaSegments();
  expect(segs.map((s) => s.base)).toEqual([0n, 20n, 47n, 147n, 241n]);
  for (const { base } of segs) {
    for (const suffix of ['.index', '.timeindex']) {
      const ours = readFileSync(join(dir, name(base, suffix)));
      const kafka = readFileSync(join(KAFKA_DIR, name(base, suffix)));
      expect({ file: name(base, suffix), hex: ours.toString('hex') }).toEqual({
        file: name(base, suffix),
        hex: kafka.toString('hex'),
      });
    }
  }
}

describe('index files', () => {
  it('are byte for byte what Kafka 4.4 wrote for the same batches, after close and after recovery', () => {
    // What Kafka wrote, as its DumpLogSegments prints it: the .index names each indexed batch by its
    // LAST offset; the .timeindex names the first batch reaching the largest timestamp by its last
    // offset (270: batch 241..270 has 1700000616000, and batch 588..625 with the same timestamp did
    // not replace it).
    expect(offsetEntries(join(KAFKA_DIR, name(241n, '.index')), 241n)).toEqual([
      [392n, 4572],
      [532n, 9080],
      [676n, 13741],
    ]);
    expect(timeEntries(join(KAFKA_DIR, name(241n, '.timeindex')), 241n)).toEqual([[1700000616000n, 270n]]);
    expect(timeEntries(join(KAFKA_DIR, name(20n, '.timeindex')), 20n)).toEqual([[1700000256000n, 46n]]);

    const { log, dir } = openLog();
    replayKafka(log);
    expect(log.logEndOffset).toBe(733n);
    // The rolled segments are already final and trimmed; the active one is preallocated.
    expect(size(join(dir, name(147n, '.index')))).toBe(size(join(KAFKA_DIR, name(147n, '.index'))));
    expect(size(join(dir, name(241n, '.index')))).toBe(10 * 1024 * 1024);
    expect(size(join(dir, name(241n, '.timeindex')))).toBe(10 * 1024 * 1024 - 4);
    log.close();
    expectSameIndexesAsKafka(dir);

    // Unclean reopen: every segment is recovered and its indexes rebuilt (Kafka's LogSegment.recover
    // indexes the same batches); a clean close then writes the same files again.
    const { log: again } = openLog({}, { dir, clean: false });
    expect(again.logEndOffset).toBe(733n);
    // Lookups through the rebuilt index find every batch.
    for (const s of kafkaSegments())
      for (const b of s.batches) {
        const base = b.readBigInt64BE(0);
        const last = base + BigInt(b.readInt32BE(23));
        for (const o of [base, last]) {
          const r = again.read(o, { maxBytes: 1 });
          expect(r.firstBatchBaseOffset).toBe(base);
          expect(r.records.equals(b)).toBe(true);
        }
      }
    again.close();
    expectSameIndexesAsKafka(dir);
  });

  it('reads the index files Kafka wrote and answers lookups with them', () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const dir = join(t.path, 'mix3-0');
    cpSync(KAFKA_DIR, dir, { recursive: true, filter: (src) => !src.endsWith('.snapshot') });
    // After Kafka's clean shutdown: the files are trusted as they are.
    const { log } = openLog({}, { dir, clean: true });
    expect(log.logEndOffset).toBe(733n);
    const active = log.activeSegment;
    expect(active.offsetIndex.entries).toBe(3);
    expect(active.offsetIndex.lookup(600n)).toEqual({ offset: 532n, position: 9080 });
    // Batch 588..625 holds offset 600; the scan starts at the entry for batch 493..532.
    expect(log.read(600n, { maxBytes: 1 }).firstBatchBaseOffset).toBe(588n);
    // The largest timestamp of the log is in batch 241..270.
    expect(log.fetchOffsetByTimestamp(-3n)?.timestamp).toBe(1700000616000n);
    log.close();
    // Kafka's entries were used, not rebuilt into something else: the files are unchanged.
    for (const f of readdirSync(KAFKA_DIR).filter((x) => /\.(index|timeindex)$/.test(x)))
      expect(readFileSync(join(dir, f)).equals(readFileSync(join(KAFKA_DIR, f)))).toBe(true);
  });

  it('hold the Kafka entry values for known appends, preallocated while active and trimmed on roll', () => {
    // segment.index.bytes 1003: the .index is preallocated to 1000 bytes (125 entries of 8), the
    // .timeindex to 996 (83 entries of 12), as Kafka rounds down to whole entries.
    const cfg = { indexIntervalBytes: 0, segmentIndexBytes: 1003, segmentBytes: 100_000 };
    const { log, dir } = openLog(cfg);
    const idx = join(dir, name(0n, '.index'));
    const tidx = join(dir, name(0n, '.timeindex'));
    expect([size(idx), size(tidx)]).toEqual([1000, 996]);
    expect(readFileSync(idx).every((b) => b === 0)).toBe(true);
    // Batches of 3 records, timestamps out of order: batch k has max timestamp ts[k].
    const ts = [1000n, 5000n, 3000n, 7000n, 7000n, 2000n, 9000n, 8000n];
    const positions: number[] = [];
    let pos = 0;
    for (const t of ts) {
      const b = makeBatch(3, 20, t - 2n);
      positions.push(pos);
      pos += b.length;
      log.append(b);
    }
    // index.interval.bytes 0: every batch after the first is indexed (more than 0 bytes since the
    // last entry), by its last offset 3k+2 and its position.
    const expectedOffsets = ts.slice(1).map((_, i) => [BigInt(3 * (i + 1) + 2), positions[i + 1]!]);
    // Time entries: the largest timestamp so far when the max grew, with the last offset of the first
    // batch that reached it; batch 4 ties batch 3 (7000) and does not replace it.
    const expectedTimes = [
      [5000n, 5n],
      [7000n, 11n],
      [9000n, 20n],
    ];
    log.writeIndexEntries();
    expect(offsetEntries(idx, 0n)).toEqual(expectedOffsets);
    expect(timeEntries(tidx, 0n)).toEqual(expectedTimes);
    expect([size(idx), size(tidx)]).toEqual([1000, 996]);

    // Roll: the old segment's files are cut to their entries, the new one is preallocated.
    log.roll();
    expect([size(idx), size(tidx)]).toEqual([7 * 8, 3 * 12]);
    expect(offsetEntries(idx, 0n)).toEqual(expectedOffsets);
    expect(timeEntries(tidx, 0n)).toEqual(expectedTimes);
    expect([size(join(dir, name(24n, '.index'))), size(join(dir, name(24n, '.timeindex')))]).toEqual([
      1000, 996,
    ]);

    // A segment whose only batch was never indexed (the first batch of a segment never is): the roll
    // adds the final time entry, largest timestamp and its batch's last offset (Kafka's
    // onBecomeInactiveSegment), and leaves an empty .index.
    log.append(makeBatch(2, 20, 50n)); // 24..25, timestamps 50 and 51
    log.roll();
    expect(size(join(dir, name(24n, '.index')))).toBe(0);
    expect(timeEntries(join(dir, name(24n, '.timeindex')), 24n)).toEqual([[51n, 25n]]);
    log.close();
  });

  it('are trimmed at a clean close and preallocated again when the segment takes appends after a restart', () => {
    const cfg = { indexIntervalBytes: 100, segmentIndexBytes: 4096 };
    const { log, dir } = openLog(cfg);
    for (let i = 0; i < 20; i++) log.append(makeBatch(2, 40, 1000n + BigInt(i)));
    log.close();
    const idx = join(dir, name(0n, '.index'));
    const tidx = join(dir, name(0n, '.timeindex'));
    const before = offsetEntries(idx, 0n);
    const beforeTimes = timeEntries(tidx, 0n);
    expect(before.length).toBeGreaterThan(5);
    expect(size(idx)).toBe(before.length * 8);
    expect(size(tidx)).toBe(beforeTimes.length * 12);

    // Reopened: nothing is touched until the segment takes an append.
    const { log: again } = openLog(cfg, { dir });
    expect(again.read(7n, { maxBytes: 1 }).firstBatchBaseOffset).toBe(6n);
    expect(size(idx)).toBe(before.length * 8);
    for (let i = 20; i < 40; i++) again.append(makeBatch(2, 40, 1000n + BigInt(i)));
    again.writeIndexEntries();
    expect(size(idx)).toBe(4096);
    expect(size(tidx)).toBe(4092);
    const after = offsetEntries(idx, 0n);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.length).toBeGreaterThan(before.length + 5);
    // Every entry names a batch's last offset and that batch's position.
    const bytes = readFileSync(join(dir, name(0n, '.log')));
    for (const [offset, position] of after)
      expect(bytes.readBigInt64BE(position) + BigInt(bytes.readInt32BE(position + 23))).toBe(offset);
    const afterTimes = timeEntries(tidx, 0n);
    expect(afterTimes.slice(0, beforeTimes.length)).toEqual(beforeTimes);
    again.close();
    expect(size(idx)).toBe(after.length * 8);
    expect(size(tidx)).toBe(timeEntries(tidx, 0n).length * 12);
  });

  it('counts the entries of a preallocated file from its data, and truncation zeroes what it removes', () => {
    const cfg = { indexIntervalBytes: 100, segmentIndexBytes: 8192 };
    const { log, dir } = openLog(cfg);
    const batches: Buffer[] = [];
    for (let i = 0; i < 30; i++) {
      const b = makeBatch(2, 40, 1000n + BigInt(i));
      log.append(b);
      batches.push(Buffer.from(b));
    }
    log.writeIndexEntries();
    const idx = join(dir, name(0n, '.index'));
    const n = offsetEntries(idx, 0n).length;
    expect(size(idx)).toBe(8192);

    // Truncation: entries at or past the cut become zeros in the preallocated file.
    log.truncateTo(40n);
    const kept = offsetEntries(idx, 0n);
    expect(kept.length).toBeLessThan(n);
    expect(kept.every(([o]) => o < 40n)).toBe(true);
    expect(
      readFileSync(idx)
        .subarray(kept.length * 8)
        .every((b) => b === 0),
    ).toBe(true);
    expect(size(idx)).toBe(8192);

    // A crash leaves the preallocated files; trusted as they are (as if the shutdown had been clean),
    // the entries are read up to the first zero entry, not the file size.
    log.writeIndexEntries();
    log.closeWithoutFlush();
    const { log: again } = openLog(cfg, { dir, clean: true });
    const seg: LogSegment = again.activeSegment;
    expect(seg.offsetIndex.entries).toBe(kept.length);
    expect(seg.offsetIndex.isPreallocated).toBe(true);
    for (let o = 0n; o < 40n; o++) {
      const r = again.read(o, { maxBytes: 1 });
      expect(r.records.equals(batches[Number(o / 2n)]!)).toBe(true);
    }
    expect(again.logEndOffset).toBe(40n);
    again.close();
    expect(size(idx)).toBe(kept.length * 8);
  });
});
