import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  maybeCompleteReassignment,
  onAlterPartition,
  onAlterReassignment,
  onElectLeader,
  onLiveBrokersChanged,
  originalReplicas,
  targetReplicas,
  type ReassignmentStep,
} from '../../src/controller/partition-state-machine.js';
import type { PartitionState } from '../../src/controller/records.js';

const st = (
  leader: number,
  leaderEpoch: number,
  isr: number[],
  partitionEpoch = 0,
  extra: Partial<PartitionState> = {},
): PartitionState => ({ leader, leaderEpoch, isr, partitionEpoch, ...extra });
const live = (...ids: number[]) => new Set(ids);

describe('ElectLeaders: preferred election', () => {
  it('moves leadership to the preferred replica when it is live and in the ISR', () => {
    expect(onElectLeader(0, [1, 2, 3], st(2, 4, [1, 2, 3], 7), live(1, 2, 3))).toEqual({
      state: st(1, 5, [1, 2, 3], 8),
    });
  });
  it('answers ELECTION_NOT_NEEDED when the preferred replica already leads', () => {
    expect(onElectLeader(0, [1, 2], st(1, 4, [1, 2]), live(1, 2))).toMatchObject({
      error: 'ELECTION_NOT_NEEDED',
    });
  });
  it('answers PREFERRED_LEADER_NOT_AVAILABLE when the preferred replica is dead or out of the ISR', () => {
    expect(onElectLeader(0, [1, 2], st(2, 4, [1, 2]), live(2))).toMatchObject({
      error: 'PREFERRED_LEADER_NOT_AVAILABLE',
    });
    expect(onElectLeader(0, [1, 2], st(2, 4, [2]), live(1, 2))).toMatchObject({
      error: 'PREFERRED_LEADER_NOT_AVAILABLE',
    });
  });
  it('keeps a reassignment in progress', () => {
    const s = st(2, 4, [1, 2, 3], 7, { addingReplicas: [3], removingReplicas: [2] });
    expect(onElectLeader(0, [1, 3, 2], s, live(1, 2, 3))).toEqual({
      state: st(1, 5, [1, 2, 3], 8, { addingReplicas: [3], removingReplicas: [2] }),
    });
  });
});

describe('ElectLeaders: unclean election', () => {
  it('answers ELECTION_NOT_NEEDED while a live leader exists', () => {
    expect(onElectLeader(1, [1, 2], st(2, 4, [2]), live(1, 2))).toMatchObject({
      error: 'ELECTION_NOT_NEEDED',
    });
  });
  it('elects a live replica outside the ISR, which becomes the whole ISR', () => {
    expect(onElectLeader(1, [1, 2, 3], st(-1, 4, [1], 3), live(2, 3))).toEqual({ state: st(2, 5, [2], 4) });
  });
  it('still prefers a live ISR member', () => {
    expect(onElectLeader(1, [1, 2, 3], st(-1, 4, [1, 3], 3), live(2, 3))).toEqual({
      state: st(3, 5, [3], 4),
    });
  });
  it('answers ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica is live', () => {
    expect(onElectLeader(1, [1, 2], st(-1, 4, [1]), live(3))).toMatchObject({
      error: 'ELIGIBLE_LEADERS_NOT_AVAILABLE',
    });
  });
});

describe('partition reassignment (KIP-455)', () => {
  const all = live(1, 2, 3, 4);

  it('validates the target: non-empty, distinct, registered brokers', () => {
    const s = st(1, 0, [1, 2]);
    expect(onAlterReassignment([1, 2], s, [], all, all)).toMatchObject({
      error: 'INVALID_REPLICA_ASSIGNMENT',
    });
    expect(onAlterReassignment([1, 2], s, [3, 3], all, all)).toMatchObject({
      error: 'INVALID_REPLICA_ASSIGNMENT',
    });
    expect(onAlterReassignment([1, 2], s, [3, 9], all, all)).toMatchObject({
      error: 'INVALID_REPLICA_ASSIGNMENT',
    });
  });

  it('refuses to cancel when nothing is in progress', () => {
    expect(onAlterReassignment([1, 2], st(1, 0, [1, 2]), null, all, all)).toMatchObject({
      error: 'NO_REASSIGNMENT_IN_PROGRESS',
    });
  });

  it('starts by assigning target ++ removed, recording what is added and removed', () => {
    expect(onAlterReassignment([1, 2], st(1, 3, [1, 2], 5), [3, 4], all, all)).toEqual({
      replicas: [3, 4, 1, 2],
      state: st(1, 3, [1, 2], 6, { addingReplicas: [3, 4], removingReplicas: [1, 2] }),
    });
  });

  it('waits until every added replica is in the ISR, then switches and elects from the target', () => {
    const start = onAlterReassignment([1, 2], st(1, 3, [1, 2], 5), [3, 4], all, all) as ReassignmentStep;
    expect(maybeCompleteReassignment(start.replicas, start.state, all)).toBeNull();
    const oneIn = { ...start.state, isr: [3, 1, 2], partitionEpoch: 7 };
    expect(maybeCompleteReassignment(start.replicas, oneIn, all)).toBeNull();
    const allIn = { ...start.state, isr: [3, 4, 1, 2], partitionEpoch: 8 };
    expect(maybeCompleteReassignment(start.replicas, allIn, all)).toEqual({
      replicas: [3, 4],
      state: st(3, 4, [3, 4], 9),
    });
  });

  it('keeps the leader (and its epoch) when it stays', () => {
    const start = onAlterReassignment([1, 2], st(1, 3, [1, 2], 5), [1, 3], all, all) as ReassignmentStep;
    expect(start.replicas).toEqual([1, 3, 2]);
    const allIn = { ...start.state, isr: [1, 3, 2] };
    expect(maybeCompleteReassignment(start.replicas, allIn, all)).toEqual({
      replicas: [1, 3],
      state: st(1, 3, [1, 3], 7),
    });
  });

  it('does not elect a dead target replica', () => {
    const s = st(1, 3, [3, 4, 1, 2], 5, { addingReplicas: [3, 4], removingReplicas: [1, 2] });
    expect(maybeCompleteReassignment([3, 4, 1, 2], s, live(1, 2, 4))).toEqual({
      replicas: [3, 4],
      state: st(4, 4, [3, 4], 6),
    });
    expect(maybeCompleteReassignment([3, 4, 1, 2], s, live(1, 2))).toBeNull();
  });

  it('switches at once when nothing is added (a shrink or reorder)', () => {
    expect(onAlterReassignment([1, 2, 3], st(1, 3, [1, 2, 3], 5), [2, 3], all, all)).toEqual({
      replicas: [2, 3],
      state: st(2, 4, [2, 3], 6),
    });
    // The ISR follows the assignment order, as everywhere.
    expect(onAlterReassignment([1, 2], st(1, 3, [1, 2], 5), [2, 1], all, all)).toEqual({
      replicas: [2, 1],
      state: st(1, 3, [2, 1], 6),
    });
  });

  it('cancels back to the original replicas; added replicas leave the ISR', () => {
    const s = st(1, 3, [1, 2, 3], 6, { addingReplicas: [3, 4], removingReplicas: [1, 2] });
    expect(onAlterReassignment([3, 4, 1, 2], s, null, all, all)).toEqual({
      replicas: [1, 2],
      state: st(1, 3, [1, 2], 7),
    });
  });

  it('a new target replaces the one in progress, measured from the original replicas', () => {
    const s = st(1, 3, [1, 2, 3], 6, { addingReplicas: [3, 4], removingReplicas: [1, 2] });
    expect(onAlterReassignment([3, 4, 1, 2], s, [1, 4], all, all)).toEqual({
      replicas: [1, 4, 2],
      state: st(1, 3, [1, 2], 7, { addingReplicas: [4], removingReplicas: [2] }),
    });
  });

  it('other rules keep the reassignment fields', () => {
    const s = st(1, 3, [1, 2], 6, { addingReplicas: [3], removingReplicas: [2] });
    const r = onAlterPartition(
      [1, 3, 2],
      s,
      { leaderId: 1, leaderEpoch: 3, partitionEpoch: 6, newIsr: [1, 2, 3] },
      live(1, 2, 3),
    );
    expect(r).toEqual({ state: st(1, 3, [1, 3, 2], 7, { addingReplicas: [3], removingReplicas: [2] }) });
    expect(
      onLiveBrokersChanged({ replicas: [1, 3, 2], state: s, live: live(2, 3), uncleanLeaderElection: false }),
    ).toEqual(st(2, 4, [2], 7, { addingReplicas: [3], removingReplicas: [2] }));
  });

  it('property: a reassignment ends on exactly the target, with a leader and ISR inside it', () => {
    const ids = fc.uniqueArray(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(ids, ids, (original, target) => {
        const everyone = live(1, 2, 3, 4, 5, 6);
        const started = onAlterReassignment(
          original,
          st(original[0]!, 0, original, 0),
          target,
          everyone,
          everyone,
        );
        expect('error' in started).toBe(false);
        const step = started as ReassignmentStep;
        const pending = step.state.addingReplicas !== undefined || step.state.removingReplicas !== undefined;
        if (pending) {
          // Both replica sets are assigned while the added replicas catch up.
          expect(new Set(step.replicas)).toEqual(new Set([...original, ...target]));
          expect(originalReplicas(step.replicas, step.state).sort()).toEqual([...original].sort());
        } else {
          // Nothing to add: switched at once.
          expect(target.every((r) => original.includes(r))).toBe(true);
        }
        // Every replica catches up and joins the ISR.
        const caughtUp = { ...step.state, isr: step.replicas };
        const done = pending ? maybeCompleteReassignment(step.replicas, caughtUp, everyone) : step;
        expect(done).not.toBeNull();
        expect(done!.replicas).toEqual(target);
        expect(targetReplicas(done!.replicas, done!.state)).toEqual(target);
        expect(target).toContain(done!.state.leader);
        for (const r of done!.state.isr) expect(target).toContain(r);
        expect(done!.state.addingReplicas).toBeUndefined();
        expect(done!.state.removingReplicas).toBeUndefined();
      }),
    );
  });
});
