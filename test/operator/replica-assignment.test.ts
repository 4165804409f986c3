/** planReplicationFactor: the new assignment for a replication-factor change. */
import { describe, expect, it } from 'vitest';
import { AssignmentError, planReplicationFactor } from '../../src/operator/model/replica-assignment.js';

const brokers = (n: number, racks?: string[]) =>
  Array.from({ length: n }, (_, i) => ({ id: i, rack: racks?.[i] ?? null }));

describe('planReplicationFactor', () => {
  it('increase keeps existing replicas first and spreads the new ones by load and partition', () => {
    const plan = planReplicationFactor([[0], [1], [2], [0]], 2, brokers(3));
    expect(plan.map((r) => r[0])).toEqual([0, 1, 2, 0]);
    for (const r of plan) expect(new Set(r).size).toBe(2);
    const perBroker = [0, 1, 2].map((b) => plan.flat().filter((x) => x === b).length);
    expect(Math.max(...perBroker) - Math.min(...perBroker)).toBeLessThanOrEqual(1);
    const full = planReplicationFactor([[1], [2], [0]], 3, brokers(3));
    expect(full.map((r) => r[0])).toEqual([1, 2, 0]);
    for (const r of full) expect([...r].sort()).toEqual([0, 1, 2]);
  });

  it('prefers the broker with the fewest replicas cluster-wide', () => {
    const load = new Map([
      [0, 10],
      [1, 10],
      [2, 0],
      [3, 10],
    ]);
    expect(planReplicationFactor([[0]], 2, brokers(4), load)).toEqual([[0, 2]]);
  });

  it('spreads over racks when every broker has one', () => {
    const b = brokers(4, ['a', 'a', 'b', 'b']);
    // Broker 1 has the least load but shares rack a with broker 0.
    const load = new Map([
      [1, 0],
      [2, 5],
      [3, 5],
    ]);
    expect(planReplicationFactor([[0]], 2, b, load)[0]![1]).not.toBe(1);
  });

  it('decrease drops replicas from the end', () => {
    expect(
      planReplicationFactor(
        [
          [2, 0, 1],
          [0, 1, 2],
        ],
        2,
        brokers(3),
      ),
    ).toEqual([
      [2, 0],
      [0, 1],
    ]);
    expect(planReplicationFactor([[2, 0, 1]], 1, brokers(3))).toEqual([[2]]);
  });

  it('refuses below 1 and above the live broker count', () => {
    expect(() => planReplicationFactor([[0]], 0, brokers(3))).toThrow(AssignmentError);
    expect(() => planReplicationFactor([[0]], 4, brokers(3))).toThrow(
      /replication factor 4 > 3 live brokers/,
    );
  });
});
