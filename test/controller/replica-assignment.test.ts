import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  AssignmentError,
  assignReplicas,
  assignReplicasRackAware,
  assignReplicasToBrokers,
  rackAlternatedBrokers,
} from '../../src/controller/topic-frontend.js';

const racksOf = (m: Record<number, string>) =>
  new Map(Object.entries(m).map(([id, rack]) => [Number(id), rack]));

describe('rack-alternated broker list', () => {
  it('takes one broker from each rack in turn, racks by name, brokers by id', () => {
    expect(
      rackAlternatedBrokers(
        racksOf({ 0: 'rack1', 1: 'rack3', 2: 'rack3', 3: 'rack2', 4: 'rack2', 5: 'rack1' }),
      ),
    ).toEqual([0, 3, 1, 5, 4, 2]);
    expect(rackAlternatedBrokers(racksOf({ 1: 'a', 2: 'a', 3: 'b', 4: 'c', 5: 'c' }))).toEqual([
      1, 3, 4, 2, 5,
    ]);
  });
});

describe('rack-aware replica assignment', () => {
  it('matches Kafka on its own example (6 brokers in 3 racks, 7 partitions, RF 3)', () => {
    const racks = racksOf({ 0: 'rack1', 1: 'rack3', 2: 'rack3', 3: 'rack2', 4: 'rack2', 5: 'rack1' });
    expect(assignReplicasRackAware(racks, 7, 3)).toEqual([
      [0, 3, 1],
      [3, 1, 5],
      [1, 5, 4],
      [5, 4, 2],
      [4, 2, 0],
      [2, 0, 3],
      [0, 4, 2],
    ]);
  });

  it('falls back to the rack-unaware assignment when no broker has a rack', () => {
    const brokers = [3, 1, 2, 4].map((id) => ({ id, rack: null }));
    expect(assignReplicasToBrokers(brokers, 8, 3)).toEqual(assignReplicas([1, 2, 3, 4], 8, 3));
  });

  it('refuses when only some brokers have a rack', () => {
    const brokers = [
      { id: 1, rack: 'a' },
      { id: 2, rack: null },
      { id: 3, rack: 'b' },
    ];
    expect(() => assignReplicasToBrokers(brokers, 3, 2)).toThrow(AssignmentError);
    expect(() => assignReplicasToBrokers(brokers, 3, 2)).toThrow(/Not all brokers have rack information/);
  });

  it('refuses a replication factor above the broker count', () => {
    expect(() => assignReplicasToBrokers([{ id: 1, rack: 'a' }], 1, 2)).toThrow(AssignmentError);
  });

  const cluster = fc
    .record({
      brokers: fc.uniqueArray(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 12 }),
      rackCount: fc.integer({ min: 1, max: 6 }),
      seed: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
    })
    .map(
      ({ brokers, rackCount, seed }) =>
        new Map(brokers.map((id, i) => [id, `rack-${(seed[i]! + i) % rackCount}`])),
    );

  it('property: replicas are distinct brokers, on distinct racks when there are at least RF racks', () => {
    fc.assert(
      fc.property(
        cluster,
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 6 }),
        (racks, partitions, rfWanted) => {
          const rf = Math.min(rfWanted, racks.size);
          const out = assignReplicasRackAware(racks, partitions, rf);
          expect(out).toHaveLength(partitions);
          const numRacks = new Set(racks.values()).size;
          for (const replicas of out) {
            expect(replicas).toHaveLength(rf);
            expect(new Set(replicas).size).toBe(rf);
            for (const r of replicas) expect(racks.has(r)).toBe(true);
            const replicaRacks = new Set(replicas.map((r) => racks.get(r)));
            expect(replicaRacks.size).toBe(Math.min(rf, numRacks));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: leaders are balanced (every broker leads ⌊P/N⌋ or ⌈P/N⌉ partitions)', () => {
    fc.assert(
      fc.property(cluster, fc.integer({ min: 1, max: 60 }), (racks, partitions) => {
        const out = assignReplicasRackAware(racks, partitions, 1);
        const leads = new Map<number, number>([...racks.keys()].map((b) => [b, 0]));
        for (const r of out) leads.set(r[0]!, leads.get(r[0]!)! + 1);
        const n = racks.size;
        for (const c of leads.values()) {
          expect(c).toBeGreaterThanOrEqual(Math.floor(partitions / n));
          expect(c).toBeLessThanOrEqual(Math.ceil(partitions / n));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: with racks of equal size, replicas are spread evenly over brokers', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 5 }),
        (numRacks, perRack, rounds) => {
          const racks = new Map<number, string>();
          for (let r = 0; r < numRacks; r++) for (let i = 0; i < perRack; i++) racks.set(r * 10 + i, `r${r}`);
          const rf = Math.min(numRacks, 3);
          const partitions = racks.size * rounds;
          const count = new Map<number, number>();
          for (const replicas of assignReplicasRackAware(racks, partitions, rf))
            for (const b of replicas) count.set(b, (count.get(b) ?? 0) + 1);
          for (const b of racks.keys()) expect(count.get(b)).toBe(rounds * rf);
        },
      ),
    );
  });

  it('property: new partitions continue the assignment (CreatePartitions)', () => {
    fc.assert(
      fc.property(
        cluster,
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        (racks, existing, added) => {
          const rf = Math.min(2, racks.size);
          const brokers = [...racks].map(([id, rack]) => ({ id, rack }));
          expect(assignReplicasToBrokers(brokers, added, rf, 0, existing)).toEqual(
            assignReplicasRackAware(racks, existing + added, rf).slice(existing),
          );
        },
      ),
    );
  });
});
