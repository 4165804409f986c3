/**
 * Producer-state snapshots in Kafka's binary format (ProducerStateManager.writeSnapshot/readSnapshot):
 *  - Kafka 4.4.0's own snapshot files (written by a real broker, test/storage/fixtures/kafka-4.4.0)
 *    are read with the values its DumpLogSegments prints;
 *  - replaying the same batches, Sluice writes the same bytes as Kafka did;
 *  - coordinator epoch and current transaction first offset are written from state and read back;
 *  - a JSON snapshot of the format Sluice used before is read once, rewritten in Kafka's format, and
 *    deduplication works from both;
 *  - a corrupt snapshot is skipped (and removed) for an older one.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ProducerStateManager } from '../../src/broker/producer-state.js';
import { readBatchHeader } from '../../src/protocol/records/batch-header.js';
import { decodeProducerSnapshot, readProducerSnapshotFile } from '../../src/storage/index.js';
import { splitBatches, tempDir } from '../storage/helpers.js';

const KAFKA_DIR = join(dirname(fileURLToPath(import.meta.url)), '../storage/fixtures/kafka-4.4.0/mix3-0');

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));
function dir(): string {
  const t = tempDir('sluice-pstate-');
  cleanups.push(t.cleanup);
  return t.path;
}

/** Feed every idempotent batch of Kafka's log below `end` to the manager, as the broker does. */
function replay(m: ProducerStateManager, end: bigint): void {
  for (const f of readdirSync(KAFKA_DIR)
    .filter((x) => x.endsWith('.log'))
    .sort()) {
    for (const b of splitBatches(readFileSync(join(KAFKA_DIR, f)))) {
      const h = readBatchHeader(b);
      if (h.baseOffset >= end || h.producerId < 0n) continue;
      m.update(
        h.producerId,
        h.producerEpoch,
        h.baseSequence,
        h.baseSequence + h.lastOffsetDelta,
        h.baseOffset,
        h.baseOffset + BigInt(h.lastOffsetDelta),
        h.maxTimestamp,
      );
    }
  }
}

describe('producer state snapshots', () => {
  it("reads Kafka 4.4's snapshot files", () => {
    const entries = readProducerSnapshotFile(join(KAFKA_DIR, '00000000000000000733.snapshot'));
    expect(entries.map((e) => e.producerId)).toEqual(Array.from({ length: 12 }, (_, i) => BigInt(1012 + i)));
    // As DumpLogSegments prints it: producerId: 1013 producerEpoch: 0 coordinatorEpoch: -1
    // currentTxnFirstOffset: OptionalLong.empty lastTimestamp: 1700000496000 firstSequence: 0
    // lastSequence: 33 lastOffset: 80 offsetDelta: 33 timestamp: 1700000496000
    expect(entries[1]).toEqual({
      producerId: 1013n,
      epoch: 0,
      lastSequence: 33,
      lastOffset: 80n,
      offsetDelta: 33,
      timestamp: 1700000496000n,
      coordinatorEpoch: -1,
      currentTxnFirstOffset: -1n,
    });

    const d = dir();
    writeFileSync(
      join(d, '00000000000000000733.snapshot'),
      readFileSync(join(KAFKA_DIR, '00000000000000000733.snapshot')),
    );
    const m = new ProducerStateManager(d);
    expect(m.loadSnapshot(733n, 0n)).toBe(733n);
    expect(m.producerCount).toBe(12);
    expect(m.entry(1023n)).toEqual({
      producerId: 1023n,
      epoch: 0,
      batches: [{ firstSeq: 0, lastSeq: 35, firstOffset: 677n, lastOffset: 712n, timestamp: 1700000016000n }],
      lastTimestamp: 1700000016000,
      coordinatorEpoch: -1,
      currentTxnFirstOffset: null,
    });
    // A retry of producer 1023's last batch is a duplicate with its original offsets; the next
    // sequence appends; a gap is refused.
    expect(m.check(1023n, 0, 0, 36)).toEqual({ kind: 'duplicate', batch: m.entry(1023n)!.batches[0] });
    expect(m.check(1023n, 0, 36, 1)).toEqual({ kind: 'append' });
    expect(m.check(1023n, 0, 40, 1)).toMatchObject({
      kind: 'error',
      errorName: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
    });
  });

  it('writes the bytes Kafka wrote for the same batches', () => {
    for (const end of [147n, 733n]) {
      const d = dir();
      const m = new ProducerStateManager(d);
      replay(m, end);
      m.takeSnapshot(end);
      const file = `${end.toString().padStart(20, '0')}.snapshot`;
      expect(readFileSync(join(d, file)).toString('hex')).toBe(
        readFileSync(join(KAFKA_DIR, file)).toString('hex'),
      );
    }
  });

  it('writes coordinator epoch, ongoing transaction and producers without batches from state', () => {
    const d = dir();
    const m = new ProducerStateManager(d);
    m.update(7n, 3, 0, 9, 100n, 109n, 1234n);
    m.update(7n, 3, 10, 14, 110n, 114n, 1240n);
    m.update(8n, 1, 0, 4, 200n, 204n, 99n);
    m.entry(7n)!.coordinatorEpoch = 12;
    m.entry(7n)!.currentTxnFirstOffset = 100n;
    m.entry(8n)!.batches = [];
    m.takeSnapshot(215n);
    const entries = decodeProducerSnapshot(readFileSync(join(d, '00000000000000000215.snapshot')));
    expect(entries).toEqual([
      {
        producerId: 7n,
        epoch: 3,
        lastSequence: 14,
        lastOffset: 114n,
        offsetDelta: 4,
        timestamp: 1240n,
        coordinatorEpoch: 12,
        currentTxnFirstOffset: 100n,
      },
      {
        producerId: 8n,
        epoch: 1,
        lastSequence: -1,
        lastOffset: -1n,
        offsetDelta: 0,
        timestamp: BigInt(m.entry(8n)!.lastTimestamp),
        coordinatorEpoch: -1,
        currentTxnFirstOffset: -1n,
      },
    ]);
    const again = new ProducerStateManager(d);
    again.loadSnapshot(215n, 0n);
    expect(again.entry(7n)).toMatchObject({
      epoch: 3,
      coordinatorEpoch: 12,
      currentTxnFirstOffset: 100n,
      batches: [{ firstSeq: 10, lastSeq: 14, firstOffset: 110n, lastOffset: 114n, timestamp: 1240n }],
    });
    expect(again.entry(8n)).toMatchObject({ epoch: 1, batches: [], currentTxnFirstOffset: null });

    // Kafka's BatchMetadata.firstSeq wraps: last sequence 4 with offset delta 12 started at 2147483640.
    const d2 = dir();
    const m2 = new ProducerStateManager(d2);
    m2.update(9n, 0, 2147483640, 4, 0n, 12n, 5n);
    m2.takeSnapshot(13n);
    const m3 = new ProducerStateManager(d2);
    m3.loadSnapshot(13n, 0n);
    expect(m3.entry(9n)?.batches).toEqual([
      { firstSeq: 2147483640, lastSeq: 4, firstOffset: 0n, lastOffset: 12n, timestamp: 5n },
    ]);
    expect(m3.check(9n, 0, 2147483640, 13)).toMatchObject({ kind: 'duplicate' });
  });

  it('reads a JSON snapshot of the earlier format once and rewrites it in Kafka format', () => {
    const d = dir();
    const file = join(d, '00000000000000000008.snapshot');
    // Exactly what the earlier ProducerStateManager.takeSnapshot wrote: every retained batch.
    const json = {
      version: 1,
      offset: '8',
      producers: [
        {
          producerId: '42',
          epoch: 2,
          lastTimestamp: Date.now(),
          batches: [
            { firstSeq: 0, lastSeq: 4, firstOffset: '0', lastOffset: '4', timestamp: '1000' },
            { firstSeq: 5, lastSeq: 7, firstOffset: '5', lastOffset: '7', timestamp: '1001' },
          ],
        },
      ],
    };
    writeFileSync(file, JSON.stringify(json));
    const m = new ProducerStateManager(d);
    expect(m.loadSnapshot(8n, 0n)).toBe(8n);
    // Both batches are known: retries of either are duplicates.
    expect(m.check(42n, 2, 0, 5)).toMatchObject({
      kind: 'duplicate',
      batch: { firstOffset: 0n, lastOffset: 4n },
    });
    expect(m.check(42n, 2, 5, 3)).toMatchObject({
      kind: 'duplicate',
      batch: { firstOffset: 5n, lastOffset: 7n },
    });
    expect(m.check(42n, 2, 8, 1)).toEqual({ kind: 'append' });
    // The file is now Kafka's format.
    const bytes = readFileSync(file);
    expect(bytes.readInt16BE(0)).toBe(1);
    expect(decodeProducerSnapshot(bytes)).toEqual([
      {
        producerId: 42n,
        epoch: 2,
        lastSequence: 7,
        lastOffset: 7n,
        offsetDelta: 2,
        timestamp: 1001n,
        coordinatorEpoch: -1,
        currentTxnFirstOffset: -1n,
      },
    ]);
    // Loaded again (the next restart): Kafka keeps the last batch only, which still deduplicates.
    const next = new ProducerStateManager(d);
    expect(next.loadSnapshot(8n, 0n)).toBe(8n);
    expect(next.check(42n, 2, 5, 3)).toMatchObject({
      kind: 'duplicate',
      batch: { firstOffset: 5n, lastOffset: 7n },
    });
    expect(next.check(42n, 1, 8, 1)).toMatchObject({ kind: 'error', errorName: 'INVALID_PRODUCER_EPOCH' });
  });

  it('skips and removes a corrupt snapshot, falling back to an older one', () => {
    const d = dir();
    const m = new ProducerStateManager(d);
    m.update(1n, 0, 0, 0, 0n, 0n, 10n);
    m.takeSnapshot(1n);
    m.update(1n, 0, 1, 1, 1n, 1n, 11n);
    m.takeSnapshot(2n);
    const newest = join(d, '00000000000000000002.snapshot');
    const bytes = readFileSync(newest);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    writeFileSync(newest, bytes);
    const again = new ProducerStateManager(d);
    // Replay must start after the older snapshot.
    expect(again.loadSnapshot(2n, 0n)).toBe(1n);
    expect(again.entry(1n)?.batches.map((b) => b.lastSeq)).toEqual([0]);
    expect(again.snapshotOffsets()).toEqual([1n]);
  });
});
