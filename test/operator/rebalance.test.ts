/** planRebalance: replica placement after a scale-up or before a scale-down. */
import { describe, expect, it } from 'vitest';
import { planRebalance, replicasOutside } from '../../src/operator/model/rebalance.js';

const ids = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Applies a plan to the topics it was made from. */
function apply(topics: Map<string, number[][]>, plan: ReturnType<typeof planRebalance>) {
  const out = new Map([...topics].map(([t, ps]) => [t, ps.map((r) => [...r])]));
  for (const m of plan.moves) out.get(m.topic)![m.partition] = m.to;
  return out;
}

function counts(parts: number[][], brokers: number[]) {
  return brokers.map((b) => parts.filter((rs) => rs.includes(b)).length);
}
function leaders(parts: number[][], brokers: number[]) {
  return brokers.map((b) => parts.filter((rs) => rs[0] === b).length);
}

/** What Kafka's round-robin gives a topic created on `n` brokers. */
function roundRobin(partitions: number, rf: number, n: number): number[][] {
  return Array.from({ length: partitions }, (_, p) => Array.from({ length: rf }, (_, i) => (p + i) % n));
}

describe('planRebalance', () => {
  it('scale 3 → 5: 6 partitions RF 3 — the new brokers get 3 replicas each, 6 copies, leaders spread', () => {
    const topics = new Map([['t', roundRobin(6, 3, 3)]]);
    const plan = planRebalance(topics, ids(5));
    expect(plan.impossible).toEqual([]);
    expect(plan.replicaMoves).toBe(6); // 18 replicas: 4,4,4,3,3 — the three old brokers give 2 each
    const after = apply(topics, plan).get('t')!;
    expect(counts(after, ids(5)).sort()).toEqual([3, 3, 4, 4, 4]);
    expect(counts(after, ids(5)).slice(3)).toEqual([3, 3]);
    for (const [p, rs] of after.entries()) {
      expect(rs).toHaveLength(3);
      expect(new Set(rs).size).toBe(3);
      // every partition keeps at least one replica that has its data
      expect(rs.some((r) => topics.get('t')![p]!.includes(r))).toBe(true);
    }
    const l = leaders(after, ids(5));
    expect(Math.max(...l) - Math.min(...l)).toBeLessThanOrEqual(1);
    expect(l.reduce((a, b) => a + b)).toBe(6);
  });

  it('is a fixed point: planning again on its own result moves nothing', () => {
    for (const [parts, rf, from, to] of [
      [6, 3, 3, 5],
      [12, 2, 3, 4],
      [7, 1, 2, 5],
      [50, 3, 3, 7],
      [6, 3, 5, 3],
    ] as const) {
      const topics = new Map([
        ['a', roundRobin(parts, rf, from)],
        ['b', roundRobin(parts + 1, Math.min(rf, 2), from)],
      ]);
      const once = apply(topics, planRebalance(topics, ids(to)));
      const again = planRebalance(once, ids(to));
      expect(again.moves).toEqual([]);
      for (const ps of once.values()) {
        const c = counts(ps, ids(to));
        expect(Math.max(...c) - Math.min(...c)).toBeLessThanOrEqual(1);
        const l = leaders(ps, ids(to));
        expect(Math.max(...l) - Math.min(...l)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('a balanced placement needs no move (a cluster created at its size is left alone)', () => {
    const topics = new Map([
      ['t', roundRobin(6, 3, 3)],
      ['u', roundRobin(10, 2, 5)],
    ]);
    expect(planRebalance(topics, ids(3)).moves.filter((m) => m.topic === 't')).toEqual([]);
    expect(planRebalance(new Map([['u', roundRobin(10, 2, 5)]]), ids(5)).moves).toEqual([]);
  });

  it('scale 5 → 3: every replica leaves brokers 3 and 4, the factor is kept, the fewest copies', () => {
    const topics = new Map([['t', roundRobin(10, 2, 5)]]);
    const plan = planRebalance(topics, ids(3));
    const after = apply(topics, plan).get('t')!;
    expect(replicasOutside(new Map([['t', after]]), ids(3))).toEqual([]);
    for (const rs of after) expect(new Set(rs).size).toBe(2);
    // 8 replicas lived on 3 and 4: each is copied once; balancing 20 replicas on 0-2 (7,7,6)
    // needs nothing more, as the evacuation already fills the least loaded brokers.
    const onLeaving = topics
      .get('t')!
      .flat()
      .filter((r) => r >= 3).length;
    expect(onLeaving).toBe(8);
    expect(plan.replicaMoves).toBe(8);
    expect(counts(after, ids(3)).sort()).toEqual([6, 7, 7]);
  });

  it('a partition with more replicas than the remaining brokers is impossible and left as it is', () => {
    const topics = new Map([
      [
        't',
        [
          [0, 1, 2, 3],
          [1, 2, 3, 4],
          [0, 1, 2, 4],
        ],
      ],
    ]);
    const plan = planRebalance(topics, ids(3));
    expect(plan.impossible).toEqual([
      { topic: 't', partition: 0, replicationFactor: 4 },
      { topic: 't', partition: 1, replicationFactor: 4 },
      { topic: 't', partition: 2, replicationFactor: 4 },
    ]);
    expect(plan.moves).toEqual([]);
  });

  it('replicasOutside names the partitions a scale-down has to move first', () => {
    const topics = new Map([
      [
        'a',
        [
          [0, 1],
          [1, 3],
          [4, 0],
        ],
      ],
      ['b', [[2, 1]]],
    ]);
    expect(replicasOutside(topics, ids(3))).toEqual([
      { topic: 'a', partition: 1 },
      { topic: 'a', partition: 2 },
    ]);
  });

  it('a duplicated replica is replaced and the order of the others kept', () => {
    const plan = planRebalance(new Map([['t', [[0, 0, 1]]]]), ids(3));
    expect(plan.moves[0]!.to).toEqual([0, 2, 1]);
  });
});
