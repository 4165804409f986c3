/**
 * Partition, in process, on real logs in a temp dir (no broker, no network): leader appends and
 * their refusals, idempotent duplicates, leader-epoch fencing (KIP-320), the read bound of each
 * isolation level and of replicas, the high watermark over the ISR (the maximal ISR while an
 * AlterPartition is in flight), ISR shrink and expand decisions and their AlterPartition round
 * trip, follower appends keeping the leader's offsets and producer state, and truncation after
 * divergence (KIP-101/320), including the follower that lacks the leader's epoch and the epoch entry
 * left at the log end by a leadership that never wrote.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Partition, PartitionFetchParams } from '../../src/broker/partition.js';
import { divergenceTruncation } from '../../src/broker/replication/replica-fetcher.js';
import { errorCodeOf } from '../../src/broker/error-mapping.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import type { PartitionState } from '../../src/controller/records.js';
import {
  Fixture,
  batch,
  batchOffsets,
  deferred,
  flushMicrotasks,
  nextOffsetAfter,
  partitionOn,
  type BatchOpts,
} from './helpers.js';

let fx: Fixture;
beforeEach(() => {
  fx = new Fixture();
});
afterEach(() => fx.cleanup());

function leaderAppend(p: Partition, n: number, o: BatchOpts = {}, acks = 1, minIsr = 1) {
  return p.appendRecordsToLeader(batch(n, o), acks, minIsr);
}

function read(p: Partition, fetchOffset: bigint, o: Partial<PartitionFetchParams> = {}) {
  return p.fetchRecords({
    fetchOffset,
    currentLeaderEpoch: -1,
    lastFetchedEpoch: -1,
    maxBytes: 1 << 20,
    minOneMessage: true,
    isolation: 'high-watermark',
    ...o,
  });
}

/** The code a client would get for what `fn` throws (NONE when it does not throw). */
function codeOf(fn: () => unknown): number {
  try {
    fn();
    return ErrorCode.NONE;
  } catch (err) {
    return errorCodeOf(err);
  }
}

async function codeOfAsync(fn: () => Promise<unknown>): Promise<number> {
  try {
    await fn();
    return ErrorCode.NONE;
  } catch (err) {
    return errorCodeOf(err);
  }
}

/** One follower fetch round, as the ReplicaManager's fetch path and the ReplicaFetcher do it. */
function fetchRound(leader: Partition, follower: Partition, now = Date.now()): 'diverged' | 'appended' {
  const fetchOffset = follower.logEndOffset;
  const r = leader.fetchRecords({
    fetchOffset,
    currentLeaderEpoch: follower.leaderEpoch,
    lastFetchedEpoch: follower.latestEpoch,
    maxBytes: 1 << 20,
    minOneMessage: true,
    isolation: 'log-end',
  });
  if (r.divergingEpoch) {
    follower.truncateTo(divergenceTruncation(follower, r.divergingEpoch).target);
    return 'diverged';
  }
  leader.updateFollowerFetchState(follower.nodeId, fetchOffset, now);
  if (r.records.length > 0) follower.appendRecordsAsFollower(r.records);
  follower.updateFollowerHighWatermark(r.highWatermark);
  return 'appended';
}

function sync(leader: Partition, follower: Partition, now = Date.now()): void {
  for (let i = 0; i < 20; i++) {
    fetchRound(leader, follower, now);
    if (follower.logEndOffset === leader.logEndOffset && follower.highWatermark === leader.highWatermark) {
      fetchRound(leader, follower, now); // reports the final offset, so the leader's HW can move
      return;
    }
  }
  throw new Error('follower did not converge');
}

const st = (leader: number, leaderEpoch: number, isr: number[], partitionEpoch: number): PartitionState => ({
  leader,
  leaderEpoch,
  isr,
  partitionEpoch,
});

describe('leader appends', () => {
  it('assigns offsets, moves the high watermark with a single-replica ISR, counts bytes', async () => {
    const { p, metrics } = partitionOn(fx, 1);
    expect(p.applyState(st(1, 0, [1], 0), [1])).toBe('became-leader');
    const b1 = batch(3);
    const r1 = await p.appendRecordsToLeader(b1, 1, 1);
    expect(r1).toMatchObject({
      baseOffset: 0n,
      lastOffset: 2n,
      recordCount: 3,
      duplicate: false,
      logAppendTime: -1n,
    });
    const r2 = await leaderAppend(p, 2);
    expect([r2.baseOffset, r2.lastOffset]).toEqual([3n, 4n]);
    expect(p.logEndOffset).toBe(5n);
    expect(p.highWatermark).toBe(5n);
    expect(metrics.messagesInTotal).toBe(5);
    expect(metrics.bytesInTotal).toBe(b1.length + batch(2).length);
    expect(p.appendedBytes).toBe(metrics.bytesInTotal);
    // Below the high watermark at once: consumers may read every byte.
    expect(p.committedBytes).toBe(p.appendedBytes);
    expect(batchOffsets(read(p, 0n).records)).toEqual([
      [0n, 2n],
      [3n, 4n],
    ]);
  });

  it('stamps LogAppendTime when the topic asks for it', async () => {
    const { p } = partitionOn(fx, 1, { props: { 'message.timestamp.type': 'LogAppendTime' } });
    p.applyState(st(1, 0, [1], 0), [1]);
    const before = BigInt(Date.now());
    const r = await leaderAppend(p, 1, { timestamp: 1000n });
    expect(r.logAppendTime).toBeGreaterThanOrEqual(before);
  });

  it('refuses: not the leader, no records, truncated or corrupt batches, null keys on a compacted topic', async () => {
    const { p } = partitionOn(fx, 1, { props: { 'cleanup.policy': 'compact' } });
    p.applyState(st(2, 0, [2, 1], 0), [2, 1]);
    expect(await codeOfAsync(() => leaderAppend(p, 1))).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    p.applyState(st(1, 1, [1], 1), [2, 1]);
    expect(await codeOfAsync(() => p.appendRecordsToLeader(null, 1, 1))).toBe(ErrorCode.INVALID_RECORD);
    expect(await codeOfAsync(() => p.appendRecordsToLeader(Buffer.alloc(0), 1, 1))).toBe(
      ErrorCode.INVALID_RECORD,
    );
    const good = batch(2);
    expect(await codeOfAsync(() => p.appendRecordsToLeader(good.subarray(0, good.length - 3), 1, 1))).toBe(
      ErrorCode.CORRUPT_MESSAGE,
    );
    const corrupt = Buffer.from(good);
    corrupt[corrupt.length - 1] = corrupt[corrupt.length - 1]! ^ 0xff;
    expect(await codeOfAsync(() => p.appendRecordsToLeader(corrupt, 1, 1))).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(await codeOfAsync(() => leaderAppend(p, 1, { keys: false }))).toBe(ErrorCode.INVALID_RECORD);
    // Nothing of it reached the log; a good batch still does.
    expect(p.logEndOffset).toBe(0n);
    await p.appendRecordsToLeader(good, 1, 1);
    expect(p.logEndOffset).toBe(2n);
  });

  it('acks=all with the ISR below min.insync.replicas is refused before the append (acks=1 is not)', async () => {
    const { p } = partitionOn(fx, 1);
    p.applyState(st(1, 0, [1], 0), [1, 2]);
    expect(await codeOfAsync(() => leaderAppend(p, 1, {}, -1, 2))).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
    expect(p.logEndOffset).toBe(0n);
    await leaderAppend(p, 1, {}, 1, 2);
    await leaderAppend(p, 1, {}, -1, 1);
    expect(p.logEndOffset).toBe(2n);
  });

  it('answers a retried idempotent batch with its original offsets and writes nothing', async () => {
    const { p, metrics } = partitionOn(fx, 1);
    p.applyState(st(1, 0, [1], 0), [1]);
    await leaderAppend(p, 3, { producerId: 7n, baseSequence: 0 });
    await leaderAppend(p, 2, { producerId: 7n, baseSequence: 3 });
    const size = p.sizeInBytes;
    const retry = await leaderAppend(p, 3, { producerId: 7n, baseSequence: 0 });
    expect(retry).toMatchObject({ baseOffset: 0n, lastOffset: 2n, duplicate: true });
    expect(p.logEndOffset).toBe(5n);
    expect(p.sizeInBytes).toBe(size);
    expect(metrics.duplicates).toBe(1);
    // A gap is refused; the next sequence is not.
    expect(await codeOfAsync(() => leaderAppend(p, 1, { producerId: 7n, baseSequence: 9 }))).toBe(
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    expect((await leaderAppend(p, 1, { producerId: 7n, baseSequence: 5 })).baseOffset).toBe(5n);
  });
});

describe('reads', () => {
  it('fences by leader epoch (KIP-320): older FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH, -1 unchecked', async () => {
    const { p } = partitionOn(fx, 1);
    p.applyState(st(1, 5, [1], 0), [1]);
    await leaderAppend(p, 2);
    expect(codeOf(() => read(p, 0n, { currentLeaderEpoch: 4 }))).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    expect(codeOf(() => read(p, 0n, { currentLeaderEpoch: 6 }))).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    expect(nextOffsetAfter(read(p, 0n, { currentLeaderEpoch: 5 }).records)).toBe(2n);
    expect(nextOffsetAfter(read(p, 0n, { currentLeaderEpoch: -1 }).records)).toBe(2n);
    // The same fence on ListOffsets and OffsetForLeaderEpoch.
    expect(codeOf(() => p.fetchOffsetForTimestamp(-1n, 'high-watermark', 4))).toBe(
      ErrorCode.FENCED_LEADER_EPOCH,
    );
    expect(codeOf(() => p.lastOffsetForLeaderEpoch(7, 5))).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    expect(p.lastOffsetForLeaderEpoch(5, 5)).toEqual({ epoch: 5, endOffset: 2n });
    // A follower does not answer reads.
    p.applyState(st(2, 6, [2, 1], 1), [1, 2]);
    expect(codeOf(() => read(p, 0n))).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });

  it('bounds reads: replicas to the log end, read_uncommitted to the HW, read_committed to the LSO', async () => {
    const { p, metrics } = partitionOn(fx, 1);
    p.applyState(st(1, 0, [1, 2], 0), [1, 2]);
    await leaderAppend(p, 3);
    expect(p.highWatermark).toBe(0n); // the follower has not fetched
    expect(nextOffsetAfter(read(p, 0n, { isolation: 'log-end' }).records)).toBe(3n);
    expect(read(p, 0n, { isolation: 'high-watermark' }).records.length).toBe(0);
    expect(read(p, 0n, { isolation: 'txn-committed' }).records.length).toBe(0);
    expect(metrics.bytesOutTotal).toBe(0); // replica reads are not consumer bytes
    expect(p.fetchOffsetForTimestamp(-1n, 'log-end', -1)?.offset).toBe(3n);
    expect(p.fetchOffsetForTimestamp(-1n, 'high-watermark', -1)?.offset).toBe(0n);
    expect(p.fetchOffsetForTimestamp(-1n, 'txn-committed', -1)?.offset).toBe(0n);
    // A timestamp lookup does not reveal offsets past what the reader may read.
    expect(p.fetchOffsetForTimestamp(0n, 'high-watermark', -1)).toBeNull();
    expect(p.fetchOffsetForTimestamp(0n, 'log-end', -1)?.offset).toBe(0n);

    p.updateFollowerFetchState(2, 3n);
    expect(p.highWatermark).toBe(3n);
    const r = read(p, 0n);
    expect(r).toMatchObject({ highWatermark: 3n, lastStableOffset: 3n, logStartOffset: 0n });
    expect(nextOffsetAfter(r.records)).toBe(3n);
    expect(metrics.bytesOutTotal).toBe(r.records.length);
    expect(nextOffsetAfter(read(p, 0n, { isolation: 'txn-committed' }).records)).toBe(3n);
    expect(p.fetchOffsetForTimestamp(-2n, 'high-watermark', -1)).toEqual({
      offset: 0n,
      timestamp: -1n,
      leaderEpoch: 0,
    });
  });

  it('out of range and byte limits: OFFSET_OUT_OF_RANGE past the log end; an oversized first batch only when allowed', async () => {
    const { p } = partitionOn(fx, 1);
    p.applyState(st(1, 0, [1], 0), [1]);
    await leaderAppend(p, 10);
    expect(codeOf(() => read(p, 11n))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(read(p, 10n).records.length).toBe(0);
    expect(read(p, 0n, { maxBytes: 10, minOneMessage: false }).records.length).toBe(0);
    expect(nextOffsetAfter(read(p, 0n, { maxBytes: 10, minOneMessage: true }).records)).toBe(10n);
  });

  it('tells a fetcher whose last epoch ends earlier here where to truncate (divergingEpoch)', async () => {
    const { p } = partitionOn(fx, 1);
    p.applyState(st(1, 0, [1], 0), [1]);
    await leaderAppend(p, 3);
    p.applyState(st(1, 2, [1], 1), [1]);
    await leaderAppend(p, 2);
    // The fetcher has epoch 1 data the leader never had: epoch 0 ends at 3 here.
    const r = read(p, 4n, { isolation: 'log-end', lastFetchedEpoch: 1 });
    expect(r.divergingEpoch).toEqual({ epoch: 0, endOffset: 3n });
    expect(r.records.length).toBe(0);
    // Same epoch, but its end here is before the fetch offset.
    expect(read(p, 4n, { isolation: 'log-end', lastFetchedEpoch: 0 }).divergingEpoch).toEqual({
      epoch: 0,
      endOffset: 3n,
    });
    expect(read(p, 3n, { isolation: 'log-end', lastFetchedEpoch: 0 }).divergingEpoch).toBeUndefined();
  });

  it('DeleteRecords moves the log start up to the high watermark; readLocal reads without fencing', async () => {
    const { p } = partitionOn(fx, 1);
    p.applyState(st(1, 0, [1, 2], 0), [1, 2]);
    await leaderAppend(p, 5);
    p.updateFollowerFetchState(2, 4n);
    expect(p.highWatermark).toBe(4n);
    expect(codeOf(() => p.deleteRecordsOnLeader(5n))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(p.deleteRecordsOnLeader(2n)).toBe(2n);
    expect(p.deleteRecordsOnLeader(-1n)).toBe(4n); // -1: the high watermark
    expect(p.logStartOffset).toBe(4n);
    expect(codeOf(() => read(p, 3n, { isolation: 'log-end' }))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(nextOffsetAfter(p.readLocal(4n, 1 << 20))).toBe(5n);
    expect(p.readLocal(4n, 1 << 20, 4n).length).toBe(0);
  });
});

describe('high watermark and ISR', () => {
  it('the high watermark waits for every ISR member and moves with follower fetches', async () => {
    const { p: l } = partitionOn(fx, 1);
    const { p: f } = partitionOn(fx, 2);
    const state = st(1, 0, [1, 2], 0);
    expect(l.applyState(state, [1, 2])).toBe('became-leader');
    expect(f.applyState(state, [1, 2])).toBe('leader-changed');
    await leaderAppend(l, 3);
    expect(l.highWatermark).toBe(0n); // the follower has not fetched yet
    fetchRound(l, f);
    expect(f.logEndOffset).toBe(3n);
    expect(l.highWatermark).toBe(0n); // it fetched from 0
    fetchRound(l, f);
    expect(l.highWatermark).toBe(3n);
    fetchRound(l, f);
    expect(f.highWatermark).toBe(3n);
    // Epochs are the leader's.
    expect(f.latestEpoch).toBe(0);
    // Consumer bytes become visible only as the high watermark passes them.
    expect(l.committedBytes).toBe(l.appendedBytes);
  });

  it('ISR shrink candidates are followers not caught up within the lag time; expand needs a live, caught-up fetcher', async () => {
    const { p: l } = partitionOn(fx, 1);
    const { p: f } = partitionOn(fx, 2);
    const t0 = 1_000_000;
    l.applyState(st(1, 0, [1, 2], 0), [1, 2], t0);
    f.applyState(st(1, 0, [1, 2], 0), [1, 2]);
    await leaderAppend(l, 5);
    expect(l.outOfSyncFollowers(1000, t0 + 500)).toEqual([]);
    expect(l.outOfSyncFollowers(1000, t0 + 1500)).toEqual([2]);
    fetchRound(l, f, t0 + 1600); // fetched from 0 while the leader had 5: not caught up
    expect(l.outOfSyncFollowers(1000, t0 + 1700)).toEqual([2]);
    fetchRound(l, f, t0 + 1800); // now at the leader's end
    expect(l.outOfSyncFollowers(1000, t0 + 1900)).toEqual([]);

    // Out of the ISR: the leader alone advances the HW; the follower is proposed once it caught up
    // and only while it keeps fetching.
    l.applyState(st(1, 0, [1], 1), [1, 2]);
    await leaderAppend(l, 2);
    expect(l.highWatermark).toBe(7n);
    fetchRound(l, f, t0 + 2000);
    expect(l.followersToAdd(1000, t0 + 2000)).toEqual([]); // at 5, HW 7
    fetchRound(l, f, t0 + 2100);
    expect(l.followersToAdd(1000, t0 + 2100)).toEqual([2]);
    expect(l.followersToAdd(1000, t0 + 5000)).toEqual([]); // stopped fetching
    // A state older than the one applied is ignored.
    expect(l.applyState(st(1, 0, [1, 2], 0), [1, 2])).toBe('stale');
    expect(l.isr).toEqual([1]);
  });

  it('shrinks through AlterPartition; while it is in flight the high watermark counts the larger ISR', async () => {
    // The broker's clock is this one: records stamped now (CreateTime) are within its bounds.
    let now = Date.now();
    const sent: { newIsr: number[]; partitionEpoch: number }[] = [];
    let answer = deferred<{ error: string; message: string; state?: PartitionState }>();
    const {
      p: l,
      metrics,
      changes,
    } = partitionOn(fx, 1, {
      lagMs: 1000,
      time: () => now,
      alterPartition: (req) => {
        sent.push({ newIsr: req.newIsr, partitionEpoch: req.partitionEpoch });
        return answer.promise;
      },
    });
    const { p: f } = partitionOn(fx, 2);
    l.applyState(st(1, 0, [1, 2], 0), [1, 2]);
    f.applyState(st(1, 0, [1, 2], 0), [1, 2]);
    await leaderAppend(l, 2);
    sync(l, f, now);
    expect(l.highWatermark).toBe(2n);
    expect(l.maybeShrinkIsr()).toBe(false); // caught up just now

    now += 1500; // the follower stops fetching
    expect(l.maybeShrinkIsr()).toBe(true);
    expect(sent).toEqual([{ newIsr: [1], partitionEpoch: 0 }]);
    expect(l.pendingIsr).toEqual([1]);
    expect(l.maybeShrinkIsr()).toBe(false); // one change at a time
    await leaderAppend(l, 2);
    expect(l.highWatermark).toBe(2n); // 2 may still be in the ISR

    answer.resolve({ error: 'NONE', message: '', state: st(1, 0, [1], 1) });
    await flushMicrotasks();
    expect(l.pendingIsr).toBeNull();
    expect(l.isr).toEqual([1]);
    expect(l.partitionEpoch).toBe(1);
    expect(l.highWatermark).toBe(4n);
    expect(metrics.isrChanges).toEqual(['shrink']);
    expect(changes).toEqual([l]); // the ReplicaManager is told, to complete waiting operations

    // The follower catches up and keeps fetching: it is proposed back (expand).
    answer = deferred();
    sync(l, f, now);
    expect(sent[1]).toEqual({ newIsr: [1, 2], partitionEpoch: 1 });
    answer.resolve({ error: 'NONE', message: '', state: st(1, 0, [1, 2], 2) });
    await flushMicrotasks();
    expect(l.isr).toEqual([1, 2]);
    expect(metrics.isrChanges).toEqual(['shrink', 'expand']);
  });

  it('while an expand is in flight the high watermark waits for the joining follower (maximal ISR)', async () => {
    const answer = deferred<{ error: string; message: string; state?: PartitionState }>();
    const sent: number[][] = [];
    const { p: l } = partitionOn(fx, 1, {
      alterPartition: (req) => {
        sent.push(req.newIsr);
        return answer.promise;
      },
    });
    const { p: f } = partitionOn(fx, 2);
    l.applyState(st(1, 0, [1], 0), [1, 2]);
    f.applyState(st(1, 0, [1], 0), [1, 2]);
    await leaderAppend(l, 3);
    expect(l.highWatermark).toBe(3n); // the leader alone is the ISR
    sync(l, f); // caught up: proposed for the ISR
    expect(sent).toEqual([[1, 2]]);
    expect(l.maximalIsr()).toEqual([1, 2]);
    // The controller may already have 2 in the ISR: the HW must not pass what 2 has.
    await leaderAppend(l, 2);
    expect(l.logEndOffset).toBe(5n);
    expect(l.highWatermark).toBe(3n);
    answer.resolve({ error: 'NONE', message: '', state: st(1, 0, [1, 2], 1) });
    await flushMicrotasks();
    expect(l.isr).toEqual([1, 2]);
    expect(l.highWatermark).toBe(3n);
    sync(l, f);
    expect(l.highWatermark).toBe(5n);
  });

  it('a refused or failed AlterPartition clears the pending ISR and is not retried for a second', async () => {
    // The broker's clock is this one: records stamped now (CreateTime) are within its bounds.
    let now = Date.now();
    const calls: number[][] = [];
    let reply: () => Promise<{ error: string; message: string; state?: PartitionState }> = () =>
      Promise.resolve({ error: 'INVALID_UPDATE_VERSION', message: 'stale' });
    const { p: l, metrics } = partitionOn(fx, 1, {
      lagMs: 1000,
      time: () => now,
      alterPartition: (req) => {
        calls.push(req.newIsr);
        return reply();
      },
    });
    l.applyState(st(1, 0, [1, 2], 0), [1, 2]);
    await leaderAppend(l, 1);
    now += 2000;
    expect(l.maybeShrinkIsr()).toBe(true);
    await flushMicrotasks();
    expect(l.pendingIsr).toBeNull();
    expect(l.isr).toEqual([1, 2]);
    expect(l.maybeShrinkIsr()).toBe(false); // backing off
    now += 1001;
    reply = () => Promise.reject(new Error('controller unreachable'));
    expect(l.maybeShrinkIsr()).toBe(true);
    await flushMicrotasks();
    expect(l.pendingIsr).toBeNull();
    expect(calls).toEqual([[1], [1]]);
    expect(metrics.isrChanges).toEqual([]);
  });

  it('does not propose a follower that is not a live broker', async () => {
    const sent: number[][] = [];
    const { p: l } = partitionOn(fx, 1, {
      alive: (id) => id !== 2,
      alterPartition: (req) => {
        sent.push(req.newIsr);
        return new Promise(() => {});
      },
    });
    const { p: f } = partitionOn(fx, 2);
    l.applyState(st(1, 0, [1], 0), [1, 2]);
    f.applyState(st(1, 0, [1], 0), [1, 2]);
    await leaderAppend(l, 1);
    sync(l, f);
    expect(l.followersToAdd(30_000)).toEqual([2]);
    expect(sent).toEqual([]);
  });

  it('an AlterPartition answer for an older leader epoch is not applied', async () => {
    const answer = deferred<{ error: string; message: string; state?: PartitionState }>();
    const { p: l } = partitionOn(fx, 1, { lagMs: 1, alterPartition: () => answer.promise });
    l.applyState(st(1, 0, [1, 2], 0), [1, 2], 0);
    expect(l.maybeShrinkIsr(10_000)).toBe(true);
    l.applyState(st(1, 1, [1, 2], 1), [1, 2]); // re-elected meanwhile: the request is void
    expect(l.pendingIsr).toBeNull();
    answer.resolve({ error: 'NONE', message: '', state: st(1, 0, [1], 1) });
    await flushMicrotasks();
    expect(l.isr).toEqual([1, 2]);
    expect(l.leaderEpoch).toBe(1);
  });
});

describe('followers', () => {
  it('a follower records idempotent producers, so deduplication survives a leader change', async () => {
    const { p: l } = partitionOn(fx, 1);
    const { p: f, metrics } = partitionOn(fx, 2);
    l.applyState(st(1, 0, [1, 2], 0), [1, 2]);
    f.applyState(st(1, 0, [1, 2], 0), [1, 2]);
    await leaderAppend(l, 3, { producerId: 42n, baseSequence: 0 });
    await leaderAppend(l, 2, { producerId: 42n, baseSequence: 3 });
    sync(l, f);
    expect(metrics.replicationBytes).toBe(l.appendedBytes);
    expect(f.appendedBytes).toBe(l.appendedBytes);
    // The follower becomes leader: a retry of the second batch is a duplicate at its original offsets.
    f.applyState(st(2, 1, [2], 1), [1, 2]);
    const retry = await leaderAppend(f, 2, { producerId: 42n, baseSequence: 3 });
    expect(retry.duplicate).toBe(true);
    expect(retry.baseOffset).toBe(3n);
    expect(f.logEndOffset).toBe(5n);
  });

  it('appends only what is new and refuses to append while leading', async () => {
    const { p: l } = partitionOn(fx, 1);
    const { p: f } = partitionOn(fx, 2);
    l.applyState(st(1, 0, [1, 2], 0), [1, 2]);
    f.applyState(st(1, 0, [1, 2], 0), [1, 2]);
    await leaderAppend(l, 2);
    await leaderAppend(l, 2);
    const all = read(l, 0n, { isolation: 'log-end' }).records;
    expect(f.appendRecordsAsFollower(all)).toBe(all.length);
    expect(f.appendRecordsAsFollower(all)).toBe(0); // the same data again: nothing new
    expect(f.logEndOffset).toBe(4n);
    expect(codeOf(() => l.appendRecordsAsFollower(all))).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    // The follower's log start follows the leader's once below its own high watermark.
    f.updateFollowerHighWatermark(3n);
    f.maybeIncrementLogStartOffset(4n);
    expect(f.logStartOffset).toBe(0n);
    f.maybeIncrementLogStartOffset(2n);
    expect(f.logStartOffset).toBe(2n);
  });

  it('truncates a diverged tail: same epoch known, then an epoch the follower lacks', async () => {
    const { p: a } = partitionOn(fx, 1);
    const { p: b } = partitionOn(fx, 2);
    // Epoch 0: a leads, both get 3 records.
    const s0 = st(1, 0, [1, 2], 0);
    a.applyState(s0, [1, 2]);
    b.applyState(s0, [1, 2]);
    await leaderAppend(a, 3);
    sync(a, b);
    // a writes 4 more in epoch 0 that b never gets, then b becomes leader in epoch 1 and writes 2.
    await leaderAppend(a, 4);
    b.applyState(st(2, 1, [2], 1), [1, 2]);
    await leaderAppend(b, 2);
    const s1 = st(2, 1, [2, 1], 2);
    a.applyState(s1, [1, 2]);
    b.applyState(s1, [1, 2]);
    expect(fetchRound(b, a)).toBe('diverged');
    expect(a.logEndOffset).toBe(3n);
    sync(b, a);
    expect(a.logEndOffset).toBe(5n);
    // Epoch 0 ends at 3, epoch 1 is the last: the leader's epochs exactly.
    expect(a.endOffsetForEpoch(0)).toEqual({ epoch: 0, endOffset: 3n });
    expect(a.latestEpoch).toBe(1);

    // b (leader, epochs 0,1) fails; a leads epoch 2 without writing; then a fails before writing and b
    // leads epoch 3 writing 1 record; a returns with an epoch-2 entry at its log end and nothing in it.
    a.applyState(st(1, 2, [1], 3), [1, 2]);
    expect(a.latestEpoch).toBe(2);
    b.applyState(st(2, 3, [2], 4), [1, 2]);
    await leaderAppend(b, 1);
    const s3 = st(2, 3, [2, 1], 5);
    a.applyState(s3, [1, 2]);
    b.applyState(s3, [1, 2]);
    expect(fetchRound(b, a)).toBe('diverged'); // b never had epoch 2: ends at 5 in epoch 1
    expect(a.latestEpoch).toBe(1); // the empty epoch-2 entry is gone even though no data was
    sync(b, a);
    expect(a.logEndOffset).toBe(6n);
  });

  it('a follower far behind the leader start starts over there; truncation rebuilds producer state', async () => {
    const { p: l } = partitionOn(fx, 1);
    const { p: f } = partitionOn(fx, 2);
    l.applyState(st(1, 0, [1, 2], 0), [1, 2]);
    f.applyState(st(1, 0, [1, 2], 0), [1, 2]);
    await leaderAppend(l, 2, { producerId: 9n, baseSequence: 0 });
    await leaderAppend(l, 2, { producerId: 9n, baseSequence: 2 });
    sync(l, f);
    f.truncateTo(2n);
    expect(f.logEndOffset).toBe(2n);
    // Leading now, the truncated batch (seq 2-3) is new again, not a duplicate.
    f.applyState(st(2, 1, [2], 1), [1, 2]);
    const r = await leaderAppend(f, 2, { producerId: 9n, baseSequence: 2 });
    expect(r).toMatchObject({ duplicate: false, baseOffset: 2n });
    f.applyState(st(1, 2, [1, 2], 2), [1, 2]);
    f.truncateFullyAndStartAt(100n);
    expect([f.logStartOffset, f.logEndOffset, f.highWatermark]).toEqual([100n, 100n, 100n]);
  });
});

describe('divergence decisions', () => {
  it('picks the truncation target', () => {
    const log = (entries: [number, bigint][], leo: bigint, hw = 0n) => ({
      logEndOffset: leo,
      highWatermark: hw,
      endOffsetForEpoch(epoch: number) {
        const higher = entries.find(([e]) => e > epoch);
        const floor = [...entries].reverse().find(([e]) => e <= epoch);
        if (entries.length === 0) return { epoch: -1, endOffset: -1n };
        if (epoch === entries[entries.length - 1]![0]) return { epoch, endOffset: leo };
        if (!higher) return { epoch: -1, endOffset: -1n };
        return { epoch: floor ? floor[0] : epoch, endOffset: higher[1] };
      },
    });
    // Same epoch on both sides: the smaller end.
    expect(
      divergenceTruncation(
        log(
          [
            [0, 0n],
            [3, 50n],
          ],
          60n,
        ),
        { epoch: 3, endOffset: 55n },
      ),
    ).toEqual({ target: 55n, done: true });
    // The follower lacks epoch 2: back to the end of its epoch 1, not done.
    expect(
      divergenceTruncation(
        log(
          [
            [1, 0n],
            [3, 50n],
          ],
          60n,
        ),
        { epoch: 2, endOffset: 55n },
      ),
    ).toEqual({ target: 50n, done: false });
    // The leader knows nothing: the high watermark.
    expect(divergenceTruncation(log([[1, 0n]], 60n, 40n), { epoch: -1, endOffset: -1n })).toEqual({
      target: 40n,
      done: true,
    });
    // Never past the log end.
    expect(divergenceTruncation(log([[1, 0n]], 30n), { epoch: 1, endOffset: 55n })).toEqual({
      target: 30n,
      done: true,
    });
  });
});
