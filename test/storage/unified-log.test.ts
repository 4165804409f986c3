import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptRecordError, readBatchHeader } from '../../src/protocol/records/batch-header.js';
import {
  DEFAULT_LOG_CONFIG,
  EARLIEST_TIMESTAMP,
  FileHandlePool,
  LATEST_TIMESTAMP,
  MAX_TIMESTAMP,
  OffsetOutOfRangeError,
  RecordTooLargeError,
  UnexpectedAppendOffsetError,
  UnifiedLog,
  logConfigFromProps,
  type LogConfig,
} from '../../src/storage/index.js';
import { makeBatch, splitBatches, tempDir } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function openLog(
  config: Partial<LogConfig> = {},
  opts: { dir?: string; clean?: boolean; time?: () => number; pool?: FileHandlePool } = {},
) {
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
    pool: opts.pool ?? new FileHandlePool(64),
    hadCleanShutdown: opts.clean ?? true,
    time: opts.time,
  });
  return { log, dir };
}

describe('UnifiedLog', () => {
  it('assigns offsets in place and reads back the same bytes', () => {
    const { log } = openLog();
    const b1 = makeBatch(3);
    const b2 = makeBatch(2);
    const i1 = log.append(b1, { leaderEpoch: 5 });
    const i2 = log.append(b2, { leaderEpoch: 5 });
    expect([i1.firstOffset, i1.lastOffset, i2.firstOffset, i2.lastOffset]).toEqual([0n, 2n, 3n, 4n]);
    expect(readBatchHeader(b2).baseOffset).toBe(3n);
    expect(readBatchHeader(b2).partitionLeaderEpoch).toBe(5);
    expect(log.logEndOffset).toBe(5n);
    const r = log.read(0n, { maxBytes: 1 << 20 });
    expect(Buffer.compare(r.records, Buffer.concat([b1, b2]))).toBe(0);
    const r2 = log.read(4n, { maxBytes: 1 << 20 });
    expect(Buffer.compare(r2.records, b2)).toBe(0);
    expect(r2.firstBatchBaseOffset).toBe(3n);
    expect(log.read(5n, { maxBytes: 100 }).records.length).toBe(0);
    expect(() => log.read(6n, { maxBytes: 100 })).toThrow(OffsetOutOfRangeError);
    expect(log.endOffsetForEpoch(5)).toEqual({ epoch: 5, endOffset: 5n });
  });

  it('rejects corrupt and oversized batches with typed errors', () => {
    const { log } = openLog({ maxMessageBytes: 500 });
    const b = makeBatch(1);
    b[b.length - 1] = b[b.length - 1]! ^ 0xff;
    expect(() => log.append(b)).toThrow(CorruptRecordError);
    try {
      log.append(makeBatch(10, 100));
    } catch (e) {
      expect(e).toBeInstanceOf(RecordTooLargeError);
    }
    expect(log.logEndOffset).toBe(0n);
  });

  it('minOneMessage returns a whole first batch larger than maxBytes, maxOffset bounds reads', () => {
    const { log } = openLog();
    const big = makeBatch(5, 200);
    log.append(big);
    log.append(makeBatch(1));
    const r = log.read(0n, { maxBytes: 10 });
    expect(r.records.length).toBe(big.length);
    expect(r.firstEntryIncomplete).toBe(true);
    expect(log.read(0n, { maxBytes: 10, minOneMessage: false }).records.length).toBe(10);
    const bounded = log.read(0n, { maxBytes: 1 << 20, maxOffset: 5n });
    expect(bounded.records.length).toBe(big.length);
    expect(log.read(5n, { maxBytes: 1 << 20, maxOffset: 5n }).records.length).toBe(0);
    // maxBytes cutting inside the second batch returns a partial batch at the end
    const cut = log.read(0n, { maxBytes: big.length + 20 });
    expect(cut.records.length).toBe(big.length + 20);
  });

  it('rolls on segment.bytes and keeps reads working across segments; file names are 20 digits', () => {
    const { log, dir } = openLog({ segmentBytes: 1000, indexIntervalBytes: 100 });
    const batches: Buffer[] = [];
    for (let i = 0; i < 50; i++) {
      const b = makeBatch(2, 50, 1000n + BigInt(i) * 10n, i);
      log.append(b);
      batches.push(Buffer.from(b));
    }
    expect(log.numberOfSegments).toBeGreaterThan(5);
    const files = readdirSync(dir).filter((f) => f.endsWith('.log'));
    expect(files[0]).toBe('00000000000000000000.log');
    let off = 0n;
    const got: Buffer[] = [];
    while (off < log.logEndOffset) {
      const r = log.read(off, { maxBytes: 300 });
      const bs = splitBatches(r.records);
      got.push(...bs);
      off = readBatchHeader(bs[bs.length - 1]!).baseOffset + 2n;
    }
    expect(Buffer.concat(got).equals(Buffer.concat(batches))).toBe(true);
    // time lookups
    expect(log.fetchOffsetByTimestamp(1000n)?.offset).toBe(0n);
    expect(log.fetchOffsetByTimestamp(1001n)?.offset).toBe(1n);
    expect(log.fetchOffsetByTimestamp(1005n)?.offset).toBe(2n);
    expect(log.fetchOffsetByTimestamp(1250n)?.offset).toBe(50n);
    expect(log.fetchOffsetByTimestamp(1491n)?.offset).toBe(99n);
    expect(log.fetchOffsetByTimestamp(1492n)).toBeNull();
    expect(log.fetchOffsetByTimestamp(MAX_TIMESTAMP)?.offset).toBe(99n);
    expect(log.fetchOffsetByTimestamp(EARLIEST_TIMESTAMP)?.offset).toBe(0n);
    expect(log.fetchOffsetByTimestamp(LATEST_TIMESTAMP)?.offset).toBe(100n);
  });

  it('a segment.ms or segment.bytes changed at runtime rolls the active segment at the next append', () => {
    let now = 1_000_000;
    const { log } = openLog({}, { time: () => now });
    log.append(makeBatch(2, 50, 1000n, 0));
    log.append(makeBatch(2, 50, 1000n, 1));
    expect(log.numberOfSegments).toBe(1);
    log.updateConfig({ ...DEFAULT_LOG_CONFIG, segmentMs: 1000 });
    now += 1001;
    log.append(makeBatch(2, 50, 1000n, 2));
    expect(log.numberOfSegments).toBe(2);
    expect(log.activeSegment.baseOffset).toBe(4n);
    log.updateConfig({ ...DEFAULT_LOG_CONFIG, segmentBytes: 100 });
    log.append(makeBatch(2, 50, 1000n, 3));
    log.append(makeBatch(2, 50, 1000n, 4));
    expect(log.numberOfSegments).toBe(4);
  });

  it('truncates to an offset by whole batches and continues appending there', () => {
    const { log } = openLog({ segmentBytes: 600 });
    for (let i = 0; i < 20; i++) log.append(makeBatch(3, 40), { leaderEpoch: i < 10 ? 1 : 2 });
    log.updateHighWatermark(60n);
    expect(log.truncateTo(31n)).toBe(true);
    expect(log.logEndOffset).toBe(30n);
    expect(log.highWatermark).toBe(30n);
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 30n });
    expect(log.latestEpoch).toBe(1);
    const info = log.append(makeBatch(1));
    expect(info.firstOffset).toBe(30n);
    log.truncateFullyAndStartAt(1000n);
    expect([log.logStartOffset, log.logEndOffset]).toEqual([1000n, 1000n]);
    expect(log.append(makeBatch(1)).firstOffset).toBe(1000n);
  });

  it('follower appends keep offsets, allow gaps and refuse going backwards', () => {
    const { log } = openLog();
    const b = makeBatch(3);
    b.writeBigInt64BE(10n, 0);
    b.writeInt32BE(7, 12);
    log.appendAsFollower(b);
    expect(log.logEndOffset).toBe(13n);
    expect(log.latestEpoch).toBe(7);
    const back = makeBatch(1);
    back.writeBigInt64BE(12n, 0);
    expect(() => log.appendAsFollower(back)).toThrow(UnexpectedAppendOffsetError);
  });

  it('reloads after a clean close without reading more than the tail, and after an unclean one', () => {
    const { log, dir } = openLog({ segmentBytes: 2000, indexIntervalBytes: 200 });
    const all: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const b = makeBatch(2, 60, 5000n + BigInt(i));
      log.append(b, { leaderEpoch: 3 });
      all.push(Buffer.from(b));
    }
    log.close();
    const { log: again } = openLog({ segmentBytes: 2000, indexIntervalBytes: 200 }, { dir, clean: true });
    expect(again.logEndOffset).toBe(80n);
    expect(again.read(0n, { maxBytes: 1 << 20 }).records.length).toBeGreaterThan(0);
    // batch i holds timestamps 5000+i and 5001+i at offsets 2i, 2i+1
    expect(again.fetchOffsetByTimestamp(5020n)?.offset).toBe(39n);
    again.append(makeBatch(1));
    again.closeWithoutFlush();
    const { log: third } = openLog({ segmentBytes: 2000, indexIntervalBytes: 200 }, { dir, clean: false });
    expect(third.logEndOffset).toBe(81n);
    expect(third.latestEpoch).toBe(3);
    third.close();
  });

  it('rebuilds a corrupt index instead of trusting it', () => {
    const { log, dir } = openLog({ indexIntervalBytes: 100 });
    const all: Buffer[] = [];
    for (let i = 0; i < 30; i++) {
      const b = makeBatch(1, 80);
      log.append(b);
      all.push(Buffer.from(b));
    }
    log.close();
    const idx = join(dir, '00000000000000000000.index');
    const good = readFileSync(idx);
    expect(good.length).toBeGreaterThan(16);
    // Plausible but wrong entries: in order, inside the file, pointing at the wrong places.
    const bad = Buffer.from(good);
    for (let i = 0; i < bad.length / 8; i++) bad.writeInt32BE(bad.readInt32BE(i * 8 + 4) + 7, i * 8 + 4);
    writeFileSync(idx, bad);
    const { log: again } = openLog({ indexIntervalBytes: 100 }, { dir, clean: true });
    for (let off = 0n; off < 30n; off++) {
      const r = again.read(off, { maxBytes: 1 });
      expect(r.records.equals(all[Number(off)]!)).toBe(true);
    }
    again.close();
    // Garbage that fails the sanity check outright.
    writeFileSync(idx, Buffer.from('not an index!'));
    const { log: third } = openLog({ indexIntervalBytes: 100 }, { dir, clean: true });
    expect(third.read(17n, { maxBytes: 1 }).records.equals(all[17]!)).toBe(true);
    third.close();
    expect(existsSync(idx)).toBe(true);
  });

  it('retention deletes whole segments by time and size, moves the log start, never the active one', () => {
    let now = 1_000_000;
    const { log } = openLog(
      { segmentBytes: 500, retentionMs: 10_000, fileDeleteDelayMs: 0 },
      { time: () => now },
    );
    for (let i = 0; i < 20; i++) log.append(makeBatch(2, 50, BigInt(now - 50_000 + i)));
    log.updateHighWatermark(log.logEndOffset);
    const segs = log.numberOfSegments;
    expect(segs).toBeGreaterThan(3);
    const deleted = log.deleteOldSegments(now);
    expect(deleted).toBe(segs - 1);
    expect(log.numberOfSegments).toBe(1);
    expect(log.logStartOffset).toBe(log.activeSegment.baseOffset);
    expect(() => log.read(0n, { maxBytes: 10 })).toThrow(OffsetOutOfRangeError);
    // size
    now += 1;
    const { log: l2 } = openLog({
      segmentBytes: 500,
      retentionBytes: 1200,
      retentionMs: -1,
      fileDeleteDelayMs: 0,
    });
    for (let i = 0; i < 20; i++) l2.append(makeBatch(2, 50));
    l2.updateHighWatermark(l2.logEndOffset);
    const before = l2.size;
    l2.deleteOldSegments();
    // Kafka's rule: delete oldest segments while what remains is still >= retention.bytes
    expect(l2.size).toBeGreaterThanOrEqual(1200);
    expect(l2.size - l2.segments[0]!.size).toBeLessThan(1200);
    expect(l2.size).toBeLessThan(before);
    expect(l2.logStartOffset).toBe(l2.segments[0]!.baseOffset);
    // not beyond the high watermark
    const { log: l3 } = openLog({ segmentBytes: 500, retentionBytes: 0, fileDeleteDelayMs: 0 });
    for (let i = 0; i < 20; i++) l3.append(makeBatch(2, 50));
    expect(l3.deleteOldSegments()).toBe(0);
  });

  it('deleteRecordsBefore moves the log start offset up to the high watermark', () => {
    const { log } = openLog({ segmentBytes: 500, fileDeleteDelayMs: 0 });
    for (let i = 0; i < 20; i++) log.append(makeBatch(2, 50));
    expect(() => log.deleteRecordsBefore(10n)).toThrow(OffsetOutOfRangeError);
    log.updateHighWatermark(40n);
    expect(log.deleteRecordsBefore(25n)).toBe(25n);
    expect(log.logStartOffset).toBe(25n);
    expect(log.segments[0]!.baseOffset).toBeLessThanOrEqual(25n);
    expect(() => log.read(24n, { maxBytes: 10 })).toThrow(OffsetOutOfRangeError);
    expect(readBatchHeader(log.read(25n, { maxBytes: 10 }).records).baseOffset).toBeLessThanOrEqual(25n);
  });

  it('group commit: waitForFlush resolves after one fsync for appends of the same turn', async () => {
    const pending: UnifiedLog[] = [];
    const t = tempDir();
    cleanups.push(t.cleanup);
    const log = UnifiedLog.load({
      dir: join(t.path, 'g-0'),
      topicPartition: { topic: 'g', partition: 0 },
      config: { ...DEFAULT_LOG_CONFIG, flushMessages: 1 },
      pool: new FileHandlePool(16),
      hadCleanShutdown: true,
      flushScheduler: (l) => {
        pending.push(l);
        setImmediate(() => pending.splice(0).forEach((x) => x.flush()));
      },
    });
    const waits = [];
    for (let i = 0; i < 10; i++) {
      const info = log.append(makeBatch(1));
      waits.push(log.waitForFlush(info.lastOffset + 1n));
    }
    expect(log.recoveryPoint).toBe(0n);
    await Promise.all(waits);
    expect(log.recoveryPoint).toBe(10n);
  });

  it('config from Kafka property names', () => {
    const c = logConfigFromProps({
      'segment.bytes': 1234,
      'log.retention.ms': '99',
      'flush.messages': '9223372036854775807',
    });
    expect(c.segmentBytes).toBe(1234);
    expect(c.retentionMs).toBe(99);
    expect(c.flushMessages).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('offset for timestamp inside compressed batches', () => {
  it('finds the first record at or after the timestamp in gzip, snappy and lz4 batches; zstd at batch granularity', async () => {
    const { encodeRecordBatchSync, encodeRecordBatch } = await import('../../src/protocol/records/batch.js');
    const { CompressionType } = await import('../../src/protocol/records/batch-header.js');
    const { log } = openLog();
    const t0 = 1_700_000_000_000n;
    // Four batches of 10 records, timestamps t0 + 0..39, one codec each.
    const codecs = [CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd];
    for (const [b, codec] of codecs.entries()) {
      const recs = Array.from({ length: 10 }, (_, i) => ({
        value: `v${b * 10 + i}`,
        timestamp: t0 + BigInt(b * 10 + i),
      }));
      const batch =
        codec === CompressionType.Zstd
          ? await encodeRecordBatch(recs, { compression: codec })
          : encodeRecordBatchSync(recs, { compression: codec });
      log.append(batch);
    }
    for (const target of [3, 14, 27]) {
      expect(log.fetchOffsetByTimestamp(t0 + BigInt(target))).toMatchObject({
        offset: BigInt(target),
        timestamp: t0 + BigInt(target),
      });
    }
    // zstd: the batch's base offset and max timestamp (no synchronous zstd decoder).
    expect(log.fetchOffsetByTimestamp(t0 + 35n)).toMatchObject({ offset: 30n, timestamp: t0 + 39n });
  });
});

describe('truncation and the leader epoch cache', () => {
  it('drops an epoch recorded at the log end when truncating to the log end (a leader that never wrote)', () => {
    const { log } = openLog();
    log.append(makeBatch(3), { leaderEpoch: 0 });
    log.leaderEpochCache.assign(2, log.logEndOffset);
    expect(log.latestEpoch).toBe(2);
    expect(log.truncateTo(log.logEndOffset)).toBe(false);
    expect(log.latestEpoch).toBe(0);
    expect(log.logEndOffset).toBe(3n);
  });
});
