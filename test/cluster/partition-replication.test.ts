/**
 * Replication rules of one partition, in process (no brokers): the leader's high watermark over the
 * ISR, follower fetch state (caught-up time, ISR expand/shrink candidates), follower appends keeping
 * the leader's offsets/epochs and producer state, and truncation after divergence (KIP-101/320),
 * including the follower that lacks the leader's epoch and the epoch entry left at the log end by a
 * leadership that never wrote.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogManager } from '../../src/storage/log-manager.js';
import { logConfigFromProps } from '../../src/storage/log-config.js';
import { buildRecordBatch } from '../../src/protocol/records/build.js';
import { Partition } from '../../src/broker/partition.js';
import { divergenceTruncation } from '../../src/broker/replication/replica-fetcher.js';

let dir: string;
let managers: LogManager[] = [];

function partitionOn(node: number): Partition {
  const lm = new LogManager({
    logDirs: [join(dir, `n${node}`)],
    defaultConfig: logConfigFromProps({}),
    topicConfig: () => logConfigFromProps({}),
    retentionCheckIntervalMs: 1 << 30,
  });
  lm.startup();
  managers.push(lm);
  return new Partition('t', 0, lm.getOrCreateLog('t', 0), node);
}

function batch(n: number, opts: { producerId?: bigint; baseSequence?: number } = {}): Buffer {
  return buildRecordBatch(
    Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `v${i}`, timestamp: BigInt(Date.now()) })),
    opts.producerId !== undefined
      ? { producerId: opts.producerId, producerEpoch: 0, baseSequence: opts.baseSequence ?? 0 }
      : {},
  );
}

function appendLeader(p: Partition, n: number, opts: { producerId?: bigint; baseSequence?: number } = {}) {
  return p.appendAsLeader(batch(n, opts), opts.producerId ?? -1n, 0, opts.baseSequence ?? -1, n);
}

/** One follower fetch round, as the leader's Fetch path and the ReplicaFetcher do it. */
function fetchRound(leader: Partition, follower: Partition, now = Date.now()): 'diverged' | 'appended' {
  const fetchOffset = follower.log.logEndOffset;
  const lastFetchedEpoch = follower.log.latestEpoch;
  if (lastFetchedEpoch >= 0) {
    const end = leader.log.endOffsetForEpoch(lastFetchedEpoch);
    if (end.epoch >= 0 && (end.epoch < lastFetchedEpoch || end.endOffset < fetchOffset)) {
      follower.truncateTo(divergenceTruncation(follower.log, end).target);
      return 'diverged';
    }
  }
  const data = leader.log.read(fetchOffset, {
    maxBytes: 1 << 20,
    maxOffset: leader.log.logEndOffset,
    minOneMessage: true,
  });
  leader.updateFollowerFetchState(follower.nodeId, fetchOffset, now);
  if (data.records.length > 0) follower.appendRecordsAsFollower(data.records);
  follower.updateFollowerHighWatermark(leader.highWatermark);
  return 'appended';
}

function sync(leader: Partition, follower: Partition): void {
  for (let i = 0; i < 20; i++) {
    fetchRound(leader, follower);
    if (
      follower.log.logEndOffset === leader.log.logEndOffset &&
      follower.highWatermark === leader.highWatermark
    ) {
      fetchRound(leader, follower); // reports the final offset, so the leader's HW can move
      return;
    }
  }
  throw new Error('follower did not converge');
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-partition-repl-'));
  managers = [];
});
afterEach(() => {
  for (const m of managers) m.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe('partition replication rules', () => {
  it('the high watermark waits for every ISR member and moves with follower fetches', () => {
    const l = partitionOn(1);
    const f = partitionOn(2);
    const state = { leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 0 };
    expect(l.applyState(state, [1, 2])).toBe('became-leader');
    expect(f.applyState(state, [1, 2])).toBe('leader-changed');
    appendLeader(l, 3);
    expect(l.highWatermark).toBe(0n); // the follower has not fetched yet
    fetchRound(l, f);
    expect(f.log.logEndOffset).toBe(3n);
    expect(l.highWatermark).toBe(0n); // it fetched from 0
    fetchRound(l, f);
    expect(l.highWatermark).toBe(3n);
    fetchRound(l, f);
    expect(f.highWatermark).toBe(3n);
    // Epochs are the leader's.
    expect(f.log.latestEpoch).toBe(0);
  });

  it('ISR shrink candidates are followers not caught up within the lag time; expand needs a live, caught-up fetcher', () => {
    const l = partitionOn(1);
    const f = partitionOn(2);
    const t0 = 1_000_000;
    l.applyState({ leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 0 }, [1, 2], t0);
    f.applyState({ leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 0 }, [1, 2]);
    appendLeader(l, 5);
    expect(l.outOfSyncFollowers(1000, t0 + 500)).toEqual([]);
    expect(l.outOfSyncFollowers(1000, t0 + 1500)).toEqual([2]);
    fetchRound(l, f, t0 + 1600); // fetched from 0 while the leader had 5: not caught up
    expect(l.outOfSyncFollowers(1000, t0 + 1700)).toEqual([2]);
    fetchRound(l, f, t0 + 1800); // now at the leader's end
    expect(l.outOfSyncFollowers(1000, t0 + 1900)).toEqual([]);

    // Out of the ISR: the leader alone advances the HW; the follower is proposed once it caught up
    // and only while it keeps fetching.
    l.applyState({ leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch: 1 }, [1, 2]);
    appendLeader(l, 2);
    expect(l.highWatermark).toBe(7n);
    fetchRound(l, f, t0 + 2000);
    expect(l.followersToAdd(1000, t0 + 2000)).toEqual([]); // at 5, HW 7
    fetchRound(l, f, t0 + 2100);
    expect(l.followersToAdd(1000, t0 + 2100)).toEqual([2]);
    expect(l.followersToAdd(1000, t0 + 5000)).toEqual([]); // stopped fetching
    // A state older than the one applied is ignored.
    expect(l.applyState({ leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 0 }, [1, 2])).toBe('stale');
    expect(l.isr).toEqual([1]);
  });

  it('while an ISR change is in flight the high watermark counts the larger ISR', () => {
    const l = partitionOn(1);
    const f = partitionOn(2);
    l.applyState({ leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 0 }, [1, 2]);
    f.applyState({ leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 0 }, [1, 2]);
    appendLeader(l, 2);
    sync(l, f);
    expect(l.highWatermark).toBe(2n);
    l.pendingIsr = [1]; // shrink requested, not confirmed
    appendLeader(l, 2);
    expect(l.highWatermark).toBe(2n);
    l.applyState({ leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch: 1 }, [1, 2]);
    l.pendingIsr = null;
    l.maybeIncrementHighWatermark();
    expect(l.highWatermark).toBe(4n);
  });

  it('a follower records idempotent producers, so deduplication survives a leader change', () => {
    const l = partitionOn(1);
    const f = partitionOn(2);
    l.applyState({ leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 0 }, [1, 2]);
    f.applyState({ leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 0 }, [1, 2]);
    appendLeader(l, 3, { producerId: 42n, baseSequence: 0 });
    appendLeader(l, 2, { producerId: 42n, baseSequence: 3 });
    sync(l, f);
    // The follower becomes leader: a retry of the second batch is a duplicate at its original offsets.
    f.applyState({ leader: 2, leaderEpoch: 1, isr: [2], partitionEpoch: 1 }, [1, 2]);
    const retry = appendLeader(f, 2, { producerId: 42n, baseSequence: 3 });
    expect(retry.duplicate).toBe(true);
    expect(retry.baseOffset).toBe(3n);
    expect(f.log.logEndOffset).toBe(5n);
  });

  it('truncates a diverged tail: same epoch known, then an epoch the follower lacks', () => {
    const a = partitionOn(1);
    const b = partitionOn(2);
    // Epoch 0: a leads, both get 3 records.
    const s0 = { leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 0 };
    a.applyState(s0, [1, 2]);
    b.applyState(s0, [1, 2]);
    appendLeader(a, 3);
    sync(a, b);
    // a writes 4 more in epoch 0 that b never gets, then b becomes leader in epoch 1 and writes 2.
    appendLeader(a, 4);
    b.applyState({ leader: 2, leaderEpoch: 1, isr: [2], partitionEpoch: 1 }, [1, 2]);
    appendLeader(b, 2);
    const s1 = { leader: 2, leaderEpoch: 1, isr: [2, 1], partitionEpoch: 2 };
    a.applyState(s1, [1, 2]);
    b.applyState(s1, [1, 2]);
    expect(fetchRound(b, a)).toBe('diverged');
    expect(a.log.logEndOffset).toBe(3n);
    sync(b, a);
    expect(a.log.logEndOffset).toBe(5n);
    expect(a.log.leaderEpochCache.entries.map((e) => `${e.epoch}@${e.startOffset}`)).toEqual(['0@0', '1@3']);

    // b (leader, epochs 0,1) fails; a leads epoch 2 without writing; then a fails before writing and b
    // leads epoch 3 writing 1 record; a returns with an epoch-2 entry at its log end and nothing in it.
    a.applyState({ leader: 1, leaderEpoch: 2, isr: [1], partitionEpoch: 3 }, [1, 2]);
    expect(a.log.latestEpoch).toBe(2);
    b.applyState({ leader: 2, leaderEpoch: 3, isr: [2], partitionEpoch: 4 }, [1, 2]);
    appendLeader(b, 1);
    const s3 = { leader: 2, leaderEpoch: 3, isr: [2, 1], partitionEpoch: 5 };
    a.applyState(s3, [1, 2]);
    b.applyState(s3, [1, 2]);
    expect(fetchRound(b, a)).toBe('diverged'); // b never had epoch 2: ends at 5 in epoch 1
    expect(a.log.latestEpoch).toBe(1); // the empty epoch-2 entry is gone even though no data was
    sync(b, a);
    expect(a.log.logEndOffset).toBe(6n);
  });

  it('divergence decisions', () => {
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
