import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  electLeader,
  onAlterPartition,
  onControlledShutdown,
  onLiveBrokersChanged,
  onPreferredLeaderElection,
  restartBlockers,
} from '../../src/controller/partition-state-machine.js';
import type { PartitionState } from '../../src/controller/records.js';

const st = (leader: number, leaderEpoch: number, isr: number[], partitionEpoch = 0): PartitionState => ({
  leader,
  leaderEpoch,
  isr,
  partitionEpoch,
});

describe('leader election on broker failure', () => {
  it('moves leadership to the next live ISR member and bumps both epochs', () => {
    const next = onLiveBrokersChanged({
      replicas: [1, 2, 3],
      state: st(1, 4, [1, 2, 3], 9),
      live: new Set([2, 3]),
      uncleanLeaderElection: false,
    });
    expect(next).toEqual(st(2, 5, [2, 3], 10));
  });

  it('never elects a replica outside the ISR unless unclean election is enabled', () => {
    const input = {
      replicas: [1, 2, 3],
      state: st(1, 4, [1], 9),
      live: new Set([2, 3]),
      uncleanLeaderElection: false,
    };
    // Offline: no leader, and the ISR keeps its last member, who holds everything committed.
    expect(onLiveBrokersChanged(input)).toEqual(st(-1, 5, [1], 10));
    expect(onLiveBrokersChanged({ ...input, uncleanLeaderElection: true })).toEqual(st(2, 5, [2], 10));
  });

  it('lets the last ISR member lead again when it comes back', () => {
    expect(
      onLiveBrokersChanged({
        replicas: [1, 2, 3],
        state: st(-1, 5, [1], 10),
        live: new Set([1, 2, 3]),
        uncleanLeaderElection: false,
      }),
    ).toEqual(st(1, 6, [1], 11));
  });

  it('removes a dead follower from the ISR without a leader change', () => {
    expect(
      onLiveBrokersChanged({
        replicas: [1, 2, 3],
        state: st(1, 4, [1, 2, 3], 9),
        live: new Set([1, 2]),
        uncleanLeaderElection: false,
      }),
    ).toEqual(st(1, 4, [1, 2], 10));
    expect(
      onLiveBrokersChanged({
        replicas: [1, 2, 3],
        state: st(1, 4, [1, 2], 9),
        live: new Set([1, 2, 3]),
        uncleanLeaderElection: false,
      }),
    ).toBeNull();
  });

  it('property: a clean election only ever picks a live ISR member, and epochs never go down', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray([1, 2, 3, 4, 5], { minLength: 1 }),
        fc.func(fc.boolean()),
        fc.func(fc.boolean()),
        fc.nat(100),
        (replicas, inIsr, isLive, epoch) => {
          const isr = replicas.filter((r) => inIsr(r));
          const state = st(isr[0] ?? -1, epoch, isr, epoch);
          const live = new Set(replicas.filter((r) => isLive(r)));
          const next = onLiveBrokersChanged({ replicas, state, live, uncleanLeaderElection: false });
          if (!next) return;
          if (next.leader !== -1) {
            expect(isr).toContain(next.leader);
            expect(live.has(next.leader)).toBe(true);
          }
          expect(next.leaderEpoch).toBeGreaterThanOrEqual(state.leaderEpoch);
          expect(next.partitionEpoch).toBe(state.partitionEpoch + 1);
          for (const r of next.isr) expect(isr).toContain(r);
          expect(electLeader({ replicas, state, live, uncleanLeaderElection: false }).unclean).toBe(false);
        },
      ),
    );
  });
});

describe('controlled shutdown and preferred leaders', () => {
  it('moves leadership off a shutting-down broker to another ISR member', () => {
    expect(onControlledShutdown([1, 2, 3], st(1, 2, [1, 2, 3], 5), 1, new Set([1, 2, 3]))).toEqual(
      st(2, 3, [2, 3], 6),
    );
    expect(onControlledShutdown([1, 2, 3], st(2, 2, [1, 2, 3], 5), 1, new Set([1, 2, 3]))).toEqual(
      st(2, 2, [2, 3], 6),
    );
    // Alone in the ISR: nothing to move to.
    expect(onControlledShutdown([1, 2, 3], st(1, 2, [1], 5), 1, new Set([1, 2, 3]))).toBeNull();
  });

  it('gives leadership back to the preferred replica when it is in the ISR', () => {
    expect(onPreferredLeaderElection([1, 2, 3], st(2, 3, [1, 2, 3], 6), new Set([1, 2, 3]))).toEqual(
      st(1, 4, [1, 2, 3], 7),
    );
    expect(onPreferredLeaderElection([1, 2, 3], st(2, 3, [2, 3], 6), new Set([1, 2, 3]))).toBeNull();
  });
});

describe('AlterPartition', () => {
  const replicas = [1, 2, 3];
  const live = new Set([1, 2, 3]);
  it('applies an ISR change only against the current epochs', () => {
    expect(
      onAlterPartition(
        replicas,
        st(1, 4, [1, 2, 3], 7),
        { leaderId: 1, leaderEpoch: 4, partitionEpoch: 7, newIsr: [1, 3] },
        live,
      ),
    ).toEqual({ state: st(1, 4, [1, 3], 8) });
    expect(
      onAlterPartition(
        replicas,
        st(1, 4, [1, 2, 3], 7),
        { leaderId: 1, leaderEpoch: 4, partitionEpoch: 6, newIsr: [1, 3] },
        live,
      ),
    ).toMatchObject({ error: 'INVALID_UPDATE_VERSION' });
    expect(
      onAlterPartition(
        replicas,
        st(1, 4, [1, 2, 3], 7),
        { leaderId: 1, leaderEpoch: 3, partitionEpoch: 7, newIsr: [1, 3] },
        live,
      ),
    ).toMatchObject({ error: 'FENCED_LEADER_EPOCH' });
    expect(
      onAlterPartition(
        replicas,
        st(2, 4, [1, 2, 3], 7),
        { leaderId: 1, leaderEpoch: 4, partitionEpoch: 7, newIsr: [1] },
        live,
      ),
    ).toMatchObject({ error: 'NOT_LEADER_OR_FOLLOWER' });
    expect(
      onAlterPartition(
        replicas,
        st(1, 4, [1, 2], 7),
        { leaderId: 1, leaderEpoch: 4, partitionEpoch: 7, newIsr: [2] },
        live,
      ),
    ).toMatchObject({ error: 'INELIGIBLE_REPLICA' });
    expect(
      onAlterPartition(
        replicas,
        st(1, 4, [1, 2], 7),
        { leaderId: 1, leaderEpoch: 4, partitionEpoch: 7, newIsr: [1, 2, 3] },
        new Set([1, 2]),
      ),
    ).toMatchObject({ error: 'INELIGIBLE_REPLICA' });
  });
});

describe('restart gate', () => {
  it('refuses a restart that would take a partition below min.insync.replicas', () => {
    const parts = [
      { topic: 't', index: 0, replicas: [1, 2, 3], state: st(1, 0, [1, 2, 3]), minIsr: 2 },
      { topic: 't', index: 1, replicas: [1, 2, 3], state: st(2, 0, [2, 3]), minIsr: 2 },
    ];
    expect(restartBlockers(parts, 1)).toEqual([]);
    expect(restartBlockers(parts, 2)).toEqual(['t-1: ISR [2,3] would fall below min.insync.replicas=2']);
  });
});
