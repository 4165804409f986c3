/**
 * The log cleaner on real files: a LogManager in a temp dir, its LogCleaner with a real worker thread,
 * driven pass by pass with cleanOnce() and a test clock. Each test checks what a consumer reads back
 * (offsets, keys, values, timestamps, batch headers) and what is on disk.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProducerStateManager } from '../../src/broker/producer-state.js';
import { CompressionType, compressionOf, hasDeleteHorizon } from '../../src/protocol/records/batch-header.js';
import { buildRecordBatch } from '../../src/protocol/records/build.js';
import {
  type CleanerConfig,
  DEFAULT_CLEANER_CONFIG,
  LogManager,
  type UnifiedLog,
  logConfigFromProps,
} from '../../src/storage/index.js';
import { keyValueMap, keyedBatch, readAllBatches, readAllRecords } from './cleaner-helpers.js';
import { tempDir } from './helpers.js';

interface Env {
  lm: LogManager;
  log: UnifiedLog;
  dir: string;
  clock: { now: number };
  cleaner: CleanerConfig;
  topicProps: Record<string, string>;
}

const envs: { lm: LogManager; cleanup: () => void }[] = [];
afterEach(() => {
  for (const e of envs.splice(0)) {
    e.lm.shutdown();
    e.cleanup();
  }
});

const T0 = 1_700_000_000_000;

function env(topicProps: Record<string, string> = {}, cleaner: Partial<CleanerConfig> = {}): Env {
  const d = tempDir('sluice-cleaner-');
  const clock = { now: T0 };
  const e: Env = {
    lm: null as unknown as LogManager,
    log: null as unknown as UnifiedLog,
    dir: d.path,
    clock,
    cleaner: { ...DEFAULT_CLEANER_CONFIG, dedupeBufferSize: 4 * 1024 * 1024, ...cleaner },
    topicProps: {
      'cleanup.policy': 'compact',
      'segment.bytes': '2048',
      'min.cleanable.dirty.ratio': '0.01',
      ...topicProps,
    },
  };
  e.lm = new LogManager({
    logDirs: [d.path],
    topicConfig: () => logConfigFromProps(e.topicProps),
    cleanerConfig: () => e.cleaner,
    time: () => clock.now,
  });
  e.lm.startup({ background: false });
  e.log = e.lm.getOrCreateLog('t', 0);
  envs.push({ lm: e.lm, cleanup: d.cleanup });
  return e;
}

/** Append a batch of keyed records and let the high watermark follow (a single replica). */
async function write(e: Env, records: { key: string; value: string | null }[], opts = {}): Promise<void> {
  e.log.append(await keyedBatch(records, { timestamp: BigInt(e.clock.now), ...opts }), { now: e.clock.now });
  e.log.updateHighWatermark(e.log.logEndOffset);
}

async function cleanOnce(
  e: Env,
): Promise<NonNullable<Awaited<ReturnType<LogManager['cleaner']['cleanOnce']>>>> {
  const out = await e.lm.cleaner.cleanOnce(e.clock.now);
  expect(out, 'a log to clean').not.toBeNull();
  if (out!.status !== 'cleaned') throw new Error(`cleaning ${out!.status}: ${out!.error ?? ''}`);
  return out!;
}

describe('log cleaner', { timeout: 120_000 }, () => {
  it('keeps the latest value of every key at its original offset and checkpoints where it stopped', async () => {
    const e = env();
    const latest = new Map<string, { value: string; offset: bigint }>();
    for (let i = 0; i < 100; i++) {
      const recs = [0, 1, 2].map((j) => ({ key: `k${(i * 3 + j) % 17}`, value: `v${i}-${j}` }));
      const base = e.log.logEndOffset;
      await write(e, recs);
      recs.forEach((r, j) => latest.set(r.key, { value: r.value, offset: base + BigInt(j) }));
    }
    const before = await readAllRecords(e.log);
    const segmentsBefore = e.log.numberOfSegments;
    expect(segmentsBefore).toBeGreaterThan(5);
    const out = await cleanOnce(e);
    // Everything below the active segment was cleanable and fits the map.
    expect(out.endOffset).toBe(e.log.activeSegment.baseOffset);
    const after = await readAllRecords(e.log);
    // Offsets strictly increase, and each surviving record is the one written at that offset.
    const written = new Map(before.map((r) => [r.offset, r]));
    for (let i = 1; i < after.length; i++) expect(after[i]!.offset).toBeGreaterThan(after[i - 1]!.offset);
    for (const r of after) expect(r).toEqual(written.get(r.offset));
    // Below the checkpoint only the latest record of each key written there (the cleaner does not
    // look past it); at or above it, nothing removed.
    const below = after.filter((r) => r.offset < out.endOffset!);
    expect(new Set(below.map((r) => r.key)).size).toBe(below.length);
    const latestBelow = new Map<string, bigint>();
    for (const r of before) if (r.offset < out.endOffset!) latestBelow.set(r.key!, r.offset);
    expect(new Map(below.map((r) => [r.key!, r.offset]))).toEqual(latestBelow);
    expect(after.filter((r) => r.offset >= out.endOffset!)).toEqual(
      before.filter((r) => r.offset >= out.endOffset!),
    );
    expect(keyValueMap(after)).toEqual(new Map([...latest].map(([k, v]) => [k, v.value])));
    expect(after.length).toBeLessThan(before.length);
    // Kafka's cleaner-offset-checkpoint: version 0, one entry.
    const cp = readFileSync(join(e.dir, 'cleaner-offset-checkpoint'), 'utf8');
    expect(cp).toBe(`0\n1\nt 0 ${out.endOffset}\n`);
    expect(out.stats!.messagesRead).toBe(Number(out.endOffset));
    expect(out.stats!.messagesWritten).toBe(below.length);
    // No leftovers of the swap.
    expect(readdirSync(e.log.dir).filter((f) => /\.(cleaned|swap)$/.test(f))).toEqual([]);
  });

  it('keeps a tombstone until delete.retention.ms after the pass that first kept it (KIP-534)', async () => {
    const e = env({ 'delete.retention.ms': '60000' });
    for (let i = 0; i < 30; i++)
      await write(e, [
        { key: `k${i % 5}`, value: `v${i}` },
        { key: 'x', value: 'filler' },
      ]);
    await write(e, [{ key: 'k1', value: null }]);
    const tombstoneOffset = e.log.logEndOffset - 1n;
    for (let i = 0; i < 30; i++) await write(e, [{ key: `f${i % 3}`, value: `v${i}` }]);
    const first = await cleanOnce(e);
    expect(first.endOffset!).toBeGreaterThan(tombstoneOffset);
    let batches = await readAllBatches(e.log);
    const withTombstone = batches.find((b) => b.records.some((r) => r.offset === tombstoneOffset));
    expect(withTombstone, 'tombstone kept in the first pass').toBeDefined();
    // The batch now carries its delete horizon: attribute bit 6, BaseTimestamp = now + delete.retention.ms.
    expect(hasDeleteHorizon(withTombstone!.header.attributes)).toBe(true);
    expect(withTombstone!.header.baseTimestamp).toBe(BigInt(T0 + 60_000));
    // The record keeps its own timestamp.
    expect(withTombstone!.records.find((r) => r.offset === tombstoneOffset)!.timestamp).toBe(BigInt(T0));
    expect(keyValueMap(batches.flatMap((b) => b.records)).has('k1')).toBe(false);

    // A pass before the horizon keeps it.
    e.clock.now = T0 + 59_000;
    for (let i = 0; i < 30; i++) await write(e, [{ key: `f${i % 3}`, value: `w${i}` }]);
    await cleanOnce(e);
    batches = await readAllBatches(e.log);
    expect(batches.some((b) => b.records.some((r) => r.offset === tombstoneOffset))).toBe(true);

    // A pass at the horizon removes it.
    e.clock.now = T0 + 60_000;
    for (let i = 0; i < 30; i++) await write(e, [{ key: `f${i % 3}`, value: `u${i}` }]);
    await cleanOnce(e);
    const records = await readAllRecords(e.log);
    expect(records.some((r) => r.offset === tombstoneOffset)).toBe(false);
    expect(records.some((r) => r.key === 'k1')).toBe(false);
    expect(keyValueMap(records).get('k0')).toBe('v25');
  });

  it('never cleans the active segment, nor past the high watermark or within min.compaction.lag.ms', async () => {
    const e = env({ 'min.compaction.lag.ms': '10000' });
    for (let i = 0; i < 80; i++) await write(e, [{ key: `k${i % 4}`, value: `v${i}`.padEnd(50, '.') }]);
    expect(e.log.numberOfSegments).toBeGreaterThan(4);
    // Every segment is younger than the lag: nothing cleanable.
    expect(await e.lm.cleaner.cleanOnce(e.clock.now)).toBeNull();
    e.clock.now = T0 + 10_001;
    // The high watermark holds back the rest: only segments wholly below it are cleaned.
    const hw = e.log.segments[2]!.baseOffset + 1n;
    e.log.updateHighWatermark(hw);
    const out = await cleanOnce(e);
    expect(out.endOffset).toBe(e.log.segments[2]!.baseOffset);
    const active = e.log.activeSegment;
    const recs = await readAllRecords(e.log);
    expect(recs.filter((r) => r.offset >= out.endOffset!)).toHaveLength(
      Number(e.log.logEndOffset - out.endOffset!),
    );
    expect(active.size).toBeGreaterThan(0);
  });

  it('cleans a log below its dirty ratio once its oldest dirty record passes max.compaction.lag.ms (KIP-354)', async () => {
    const e = env({ 'min.cleanable.dirty.ratio': '0.99', 'max.compaction.lag.ms': '5000' });
    for (let i = 0; i < 30; i++) await write(e, [{ key: `k${i % 3}`, value: `v${i}` }]);
    await cleanOnce(e); // first pass: everything dirty, ratio 1 > 0.99
    for (let i = 0; i < 30; i++) await write(e, [{ key: `k${i % 3}`, value: `w${i}` }]);
    e.clock.now = T0 + 1000;
    expect(await e.lm.cleaner.cleanOnce(e.clock.now)).toBeNull(); // below the ratio, not late yet
    e.clock.now = T0 + 6000;
    const out = await cleanOnce(e);
    expect(e.lm.cleaner.maxCompactionDelaySecs).toBeGreaterThanOrEqual(0);
    expect(out.firstDirtyOffset).toBeGreaterThan(0n);
  });

  it("keeps each idempotent producer's last batch, emptied, so its sequence survives", async () => {
    const e = env();
    const pid = 7000n;
    let seq = 0;
    for (let i = 0; i < 20; i++) {
      await write(
        e,
        [
          { key: 'same', value: `v${i}` },
          { key: 'same', value: `w${i}` },
        ],
        {
          producerId: pid,
          producerEpoch: 3,
          baseSequence: seq,
        },
      );
      seq += 2;
    }
    // A later, different key from another producer, so 'same' of pid 7000 is superseded at the end.
    await write(e, [{ key: 'same', value: 'final' }], {
      producerId: 8000n,
      producerEpoch: 0,
      baseSequence: 0,
    });
    for (let i = 0; i < 30; i++) await write(e, [{ key: `f${i}`, value: 'x' }]);
    const pidLastOffset = 39n;
    await cleanOnce(e);
    const batches = await readAllBatches(e.log);
    const ofPid = batches.filter((b) => b.header.producerId === pid);
    // Only the last batch of producer 7000 stays, without records, with its offsets and sequence.
    expect(ofPid).toHaveLength(1);
    expect(ofPid[0]!.records).toHaveLength(0);
    expect(ofPid[0]!.header.recordCount).toBe(0);
    expect(ofPid[0]!.header.baseOffset + BigInt(ofPid[0]!.header.lastOffsetDelta)).toBe(pidLastOffset);
    expect(ofPid[0]!.header.baseSequence).toBe(38);
    expect(ofPid[0]!.header.producerEpoch).toBe(3);
    expect(ofPid[0]!.header.baseTimestamp).toBe(-1n);
    // Replaying the cleaned log rebuilds the producer's state: the next sequence is still 40.
    const psm = new ProducerStateManager(join(e.dir, 'nowhere'));
    for (const b of batches) {
      const h = b.header;
      if (h.producerId < 0n) continue;
      psm.update(
        h.producerId,
        h.producerEpoch,
        h.baseSequence,
        h.baseSequence + h.lastOffsetDelta,
        h.baseOffset,
        h.baseOffset + BigInt(h.lastOffsetDelta),
        h.maxTimestamp,
      );
    }
    expect(psm.check(pid, 3, 40, 1).kind).toBe('append');
    expect(psm.check(pid, 3, 38, 2).kind).toBe('duplicate');
    expect(keyValueMap(batches.flatMap((b) => b.records)).get('same')).toBe('final');
  });

  it.each([
    ['gzip', CompressionType.Gzip],
    ['snappy', CompressionType.Snappy],
    ['lz4', CompressionType.Lz4],
    ['zstd', CompressionType.Zstd],
  ])('re-encodes %s batches that lose records with the same codec', async (_name, codec) => {
    const e = env();
    for (let i = 0; i < 30; i++)
      await write(
        e,
        [0, 1, 2, 3].map((j) => ({ key: `k${(i + j) % 6}`, value: `value-${i}-${j}`.repeat(5) })),
        { compression: codec },
      );
    const before = await readAllRecords(e.log);
    const out = await cleanOnce(e);
    const batches = await readAllBatches(e.log);
    const cleaned = batches.filter((b) => b.header.baseOffset < out.endOffset!);
    expect(cleaned.length).toBeGreaterThan(0);
    for (const b of cleaned) expect(compressionOf(b.header.attributes)).toBe(codec);
    // Batches that lost records were rewritten; what remains reads as written.
    const written = new Map(before.map((r) => [r.offset, r]));
    for (const r of batches.flatMap((b) => b.records)) expect(r).toEqual(written.get(r.offset));
    expect(keyValueMap(batches.flatMap((b) => b.records))).toEqual(keyValueMap(before));
    // The rewritten batches keep their last offset delta (so a batch's range is unchanged).
    const lastOffsets = new Set(
      (await readAllBatches(e.log)).map((b) => b.header.baseOffset + BigInt(b.header.lastOffsetDelta)),
    );
    for (const b of cleaned)
      expect(lastOffsets.has(b.header.baseOffset + BigInt(b.header.lastOffsetDelta))).toBe(true);
  });

  it('cleans a key set larger than the offset map in several passes, memory bounded by the map', async () => {
    // 24-byte slots: 50 slots, load factor 0.9 → 45 keys per pass.
    const e = env({ 'segment.bytes': '4096' }, { dedupeBufferSize: 50 * 24 });
    const keys = 200;
    for (let round = 0; round < 3; round++)
      for (let i = 0; i < keys; i += 4)
        await write(
          e,
          [0, 1, 2, 3].map((j) => ({ key: `key-${i + j}`, value: `r${round}` })),
        );
    let passes = 0;
    let out = await cleanOnce(e);
    passes++;
    expect(out.stats!.bufferUtilization).toBeLessThanOrEqual(0.9);
    expect(out.endOffset!).toBeLessThan(e.log.activeSegment.baseOffset);
    while (out.endOffset! < e.log.activeSegment.baseOffset) {
      const next = await e.lm.cleaner.cleanOnce(e.clock.now);
      if (!next) break;
      out = next;
      passes++;
      expect(passes).toBeLessThan(40);
    }
    expect(passes).toBeGreaterThan(2);
    const recs = await readAllRecords(e.log);
    const m = keyValueMap(recs);
    expect(m.size).toBe(keys);
    for (const v of m.values()) expect(v).toBe('r2');
  });

  it('merges small cleaned segments up to segment.bytes in later passes', async () => {
    const e = env({ 'segment.bytes': '1024' });
    for (let i = 0; i < 200; i++) await write(e, [{ key: `k${i % 8}`, value: `v${i}` }]);
    const first = await cleanOnce(e);
    // Each full segment was its own group (two would exceed segment.bytes): many small segments.
    const small = e.log.segments.filter((s) => s.baseOffset < first.endOffset!);
    expect(small.length).toBeGreaterThan(5);
    for (let i = 0; i < 200; i++) await write(e, [{ key: `k${i % 8}`, value: `w${i}` }]);
    await cleanOnce(e);
    // The next pass groups them up to segment.bytes: few segments hold that range now.
    const merged = e.log.segments.filter((s) => s.baseOffset < first.endOffset!);
    expect(merged.length).toBeLessThan(small.length);
    expect(merged.length).toBeLessThanOrEqual(2);
    for (const s of e.log.segments.slice(0, -1)) expect(s.size).toBeLessThanOrEqual(1024);
    expect(keyValueMap(await readAllRecords(e.log)).get('k7')).toBe('w199');
  });

  it('drops records without a key (Kafka counts them as invalid)', async () => {
    const e = env();
    for (let i = 0; i < 20; i++) {
      // The produce path refuses key-less records on compacted topics; a log can still hold some
      // (written before the topic became compacted).
      e.log.append(
        buildRecordBatch([
          { key: null, value: `nokey${i}` },
          { key: `k${i % 2}`, value: `v${i}` },
        ]),
      );
      e.log.updateHighWatermark(e.log.logEndOffset);
    }
    for (let i = 0; i < 30; i++) await write(e, [{ key: 'f', value: `${i}` }]);
    const out = await cleanOnce(e);
    const recs = await readAllRecords(e.log);
    expect(recs.filter((r) => r.key === null && r.offset < out.endOffset!)).toEqual([]);
    expect(out.stats!.invalidMessagesRead).toBeGreaterThan(0);
  });

  it('aborts a cleaning when the log is truncated meanwhile, and keeps the log as truncated', async () => {
    // A throttled cleaner is slow enough to be caught in the middle.
    const e = env({}, { maxIoBytesPerSecond: 20_000 });
    for (let i = 0; i < 150; i++) await write(e, [{ key: `k${i % 10}`, value: `v${i}`.padEnd(40, '.') }]);
    const pending = e.lm.cleaner.cleanOnce(e.clock.now);
    await new Promise((r) => setTimeout(r, 200));
    expect(e.lm.cleaner.isCleaning('t-0')).toBe(true);
    const target = e.log.segments[1]!.baseOffset + 2n;
    const before = (await readAllRecords(e.log)).filter((r) => r.offset < target);
    e.log.truncateTo(target);
    const out = await pending;
    expect(out!.status).toBe('aborted');
    expect(await readAllRecords(e.log)).toEqual(before);
    expect(readdirSync(e.log.dir).filter((f) => /\.(cleaned|swap)$/.test(f))).toEqual([]);
    // The next pass cleans what is left.
    e.cleaner = { ...e.cleaner, maxIoBytesPerSecond: Number.MAX_VALUE };
    for (let i = 0; i < 40; i++) await write(e, [{ key: 'f', value: `${i}` }]);
    await cleanOnce(e);
    expect(keyValueMap(await readAllRecords(e.log))).toEqual(
      keyValueMap([...before, ...(await readAllRecords(e.log)).filter((r) => r.offset >= target)]),
    );
  });

  it('aborts a cleaning when the partition is deleted meanwhile, and forgets its checkpoint', async () => {
    const e = env({}, { maxIoBytesPerSecond: 20_000 });
    for (let i = 0; i < 150; i++) await write(e, [{ key: `k${i % 10}`, value: `v${i}`.padEnd(40, '.') }]);
    const pending = e.lm.cleaner.cleanOnce(e.clock.now);
    await new Promise((r) => setTimeout(r, 200));
    e.lm.deleteLog('t', 0);
    const out = await pending;
    expect(out!.status).toBe('aborted');
    expect(e.lm.cleaner.manager.checkpointOf('t-0')).toBeUndefined();
    expect(existsSync(join(e.dir, 't-0'))).toBe(false);
  });

  it('keeps the cleaned log and its checkpoint across a clean restart', async () => {
    const e = env();
    for (let i = 0; i < 60; i++) await write(e, [{ key: `k${i % 5}`, value: `v${i}` }]);
    const out = await cleanOnce(e);
    const cleaned = await readAllRecords(e.log);
    e.lm.shutdown();
    envs.pop();
    const lm2 = new LogManager({
      logDirs: [e.dir],
      topicConfig: () => logConfigFromProps(e.topicProps),
      cleanerConfig: () => e.cleaner,
      time: () => e.clock.now,
    });
    lm2.startup({ background: false });
    envs.push({ lm: lm2, cleanup: () => {} });
    const log2 = lm2.getLog('t', 0)!;
    expect(await readAllRecords(log2)).toEqual(cleaned);
    expect(lm2.cleaner.manager.checkpointOf('t-0')).toBe(out.endOffset);
    // Nothing new is dirty: no pass.
    log2.updateHighWatermark(log2.logEndOffset);
    expect(await lm2.cleaner.cleanOnce(e.clock.now)).toBeNull();
  });
});
