/**
 * Idempotent producer state, through ProducerStateManager's public API and through a Partition on a
 * real log: sequence gaps (OUT_OF_ORDER_SEQUENCE_NUMBER), duplicates among the last 5 batches and
 * not beyond, epoch bumps (a new epoch starts at sequence 0), fencing of an older epoch
 * (INVALID_PRODUCER_EPOCH), sequence wrap-around, and recovery after a restart from the newest
 * snapshot plus the batches written after it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NUM_BATCHES_TO_RETAIN, ProducerStateManager } from '../../src/broker/producer-state.js';
import { errorCodeOf } from '../../src/broker/error-mapping.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import type { Partition } from '../../src/broker/partition.js';
import { Fixture, batch, partitionOn } from './helpers.js';

let fx: Fixture;
beforeEach(() => {
  fx = new Fixture();
});
afterEach(() => fx.cleanup());

/** Append `count` records' worth of sequence at `offset` as the log would, and return the next offset. */
function record(
  m: ProducerStateManager,
  pid: bigint,
  epoch: number,
  seq: number,
  count: number,
  offset: bigint,
) {
  m.update(pid, epoch, seq, (seq + count - 1) % 0x80000000, offset, offset + BigInt(count - 1), 0n);
  return offset + BigInt(count);
}

describe('ProducerStateManager', () => {
  it('an unknown producer may start anywhere; after that each batch must follow the last', () => {
    const m = new ProducerStateManager(fx.dir);
    expect(m.check(1n, 0, 17, 3)).toEqual({ kind: 'append' }); // state expired: accepted (KIP-360)
    record(m, 1n, 0, 17, 3, 0n);
    expect(m.check(1n, 0, 20, 1)).toEqual({ kind: 'append' });
    const gap = m.check(1n, 0, 22, 1);
    expect(gap).toMatchObject({ kind: 'error', errorName: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    expect(m.check(1n, 0, 19, 1)).toMatchObject({ kind: 'error', errorName: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    expect(m.producerCount).toBe(1);
  });

  it('recognises a retry of any of the last 5 batches, and no older one', () => {
    const m = new ProducerStateManager(fx.dir);
    let offset = 0n;
    for (let i = 0; i < NUM_BATCHES_TO_RETAIN + 1; i++) offset = record(m, 5n, 0, i * 2, 2, offset);
    expect(m.entry(5n)?.batches.length).toBe(NUM_BATCHES_TO_RETAIN);
    for (let i = 1; i <= NUM_BATCHES_TO_RETAIN; i++) {
      const c = m.check(5n, 0, i * 2, 2);
      expect(c).toEqual({
        kind: 'duplicate',
        batch: expect.objectContaining({ firstSeq: i * 2, firstOffset: BigInt(i * 2) }) as unknown,
      });
    }
    // The sixth-newest is forgotten: it does not follow the last batch either.
    expect(m.check(5n, 0, 0, 2)).toMatchObject({ kind: 'error', errorName: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    // Same first sequence, different length: not the same batch.
    expect(m.check(5n, 0, 10, 1)).toMatchObject({ kind: 'error' });
  });

  it('a newer epoch starts at sequence 0; an older epoch is fenced', () => {
    const m = new ProducerStateManager(fx.dir);
    record(m, 9n, 3, 0, 5, 0n);
    expect(m.check(9n, 4, 5, 1)).toMatchObject({ kind: 'error', errorName: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    expect(m.check(9n, 4, 0, 1)).toEqual({ kind: 'append' });
    record(m, 9n, 4, 0, 1, 5n);
    expect(m.entry(9n)).toMatchObject({ epoch: 4, batches: [expect.objectContaining({ firstSeq: 0 })] });
    expect(m.check(9n, 3, 5, 1)).toMatchObject({ kind: 'error', errorName: 'INVALID_PRODUCER_EPOCH' });
    // A stale batch replayed from the log does not roll the epoch back.
    record(m, 9n, 3, 5, 1, 6n);
    expect(m.entry(9n)?.epoch).toBe(4);
  });

  it('sequences wrap from Int32.MAX_VALUE to 0', () => {
    const m = new ProducerStateManager(fx.dir);
    record(m, 2n, 0, 0x7ffffffe, 2, 0n); // 2147483646, 2147483647
    expect(m.check(2n, 0, 0, 1)).toEqual({ kind: 'append' });
    expect(m.check(2n, 0, 1, 1)).toMatchObject({ kind: 'error' });
  });

  it('snapshots and loads its state; truncation forgets batches past the new end', () => {
    const m = new ProducerStateManager(fx.dir);
    let offset = record(m, 1n, 0, 0, 3, 0n);
    offset = record(m, 2n, 7, 0, 2, offset);
    m.takeSnapshot(offset);
    expect(m.snapshotOffsets()).toEqual([5n]);
    const loaded = new ProducerStateManager(fx.dir);
    expect(loaded.loadSnapshot(5n, 0n)).toBe(5n);
    expect(loaded.check(1n, 0, 0, 3)).toMatchObject({ kind: 'duplicate' });
    expect(loaded.check(2n, 7, 2, 1)).toEqual({ kind: 'append' });
    expect(loaded.entry(2n)?.epoch).toBe(7);
    // A snapshot past the log end describes truncated data: removed, replay starts at the log start.
    const behind = new ProducerStateManager(fx.dir);
    expect(behind.loadSnapshot(4n, 0n)).toBe(0n);
    expect(behind.producerCount).toBe(0);
    expect(behind.snapshotOffsets()).toEqual([]);
    m.truncateAndReload(3n);
    expect(m.entry(2n)).toBeUndefined();
    expect(m.entry(1n)?.batches.length).toBe(1);
    expect(m.removeExpired(Date.now() + 10_000, 5_000)).toBe(1);
    expect(m.producerCount).toBe(0);
  });
});

describe('producer state in a Partition', () => {
  async function append(p: Partition, n: number, pid: bigint, seq: number, epoch = 0) {
    return p.appendRecordsToLeader(
      batch(n, { producerId: pid, producerEpoch: epoch, baseSequence: seq }),
      1,
      1,
    );
  }

  async function code(fn: () => Promise<unknown>): Promise<number> {
    try {
      await fn();
      return ErrorCode.NONE;
    } catch (err) {
      return errorCodeOf(err);
    }
  }

  it('answers gaps, fenced epochs and retries as a client sees them, and writes nothing for them', async () => {
    const { p } = partitionOn(fx, 1);
    p.applyState({ leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch: 0 }, [1]);
    await append(p, 2, 100n, 0, 1);
    expect(await code(() => append(p, 1, 100n, 5, 1))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await code(() => append(p, 1, 100n, 2, 0))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(await code(() => append(p, 1, 100n, 3, 2))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(p.logEndOffset).toBe(2n);
    expect((await append(p, 1, 100n, 0, 2)).baseOffset).toBe(2n); // epoch bump from 0
    expect(await code(() => append(p, 1, 100n, 1, 1))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH); // fenced now
    expect(p.logEndOffset).toBe(3n);
  });

  it('recovers after a restart from the newest snapshot plus the batches written after it', async () => {
    const first = partitionOn(fx, 1, { dirName: 'restart' });
    const p = first.p;
    p.applyState({ leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch: 0 }, [1]);
    await append(p, 2, 1n, 0); // offsets 0-1
    await append(p, 2, 2n, 0); // 2-3
    p.snapshotProducerState(); // at 4
    await append(p, 2, 1n, 2); // 4-5: only in the log
    await append(p, 3, 3n, 0); // 6-8: a producer the snapshot does not know
    const dir = p.dir;
    first.logManager.shutdown();
    expect(readdirSync(dir).filter((f) => f.endsWith('.snapshot'))).toEqual([
      '00000000000000000004.snapshot',
    ]);

    const again = partitionOn(fx, 1, { dirName: 'restart' });
    const q = again.p;
    q.applyState({ leader: 1, leaderEpoch: 1, isr: [1], partitionEpoch: 1 }, [1]);
    expect(q.logEndOffset).toBe(9n);
    // Retries of batches from before and after the snapshot are recognised with their offsets.
    expect(await append(q, 2, 2n, 0)).toMatchObject({ duplicate: true, baseOffset: 2n });
    expect(await append(q, 2, 1n, 2)).toMatchObject({ duplicate: true, baseOffset: 4n });
    expect(await append(q, 3, 3n, 0)).toMatchObject({ duplicate: true, baseOffset: 6n });
    // And gaps are still gaps.
    expect(await code(() => append(q, 1, 1n, 9))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect((await append(q, 1, 1n, 4)).baseOffset).toBe(9n);
    expect(existsSync(join(dir, '00000000000000000004.snapshot'))).toBe(true);
  });
});
