/**
 * A new replica assignment for a replication-factor change (what `kafka-reassign-partitions`
 * users compute by hand). Pure: the current assignment, the live brokers and their load in, the
 * target out.
 *  - Increase: a partition keeps its replicas, in order (so its preferred leader stays), and gets
 *    the brokers it lacks: first brokers in a rack the partition does not use yet (when every
 *    broker has a rack), then the fewest replicas cluster-wide, then a rotation by partition index
 *    so equal brokers are spread. The load is updated as replicas are placed.
 *  - Decrease: replicas are dropped from the end; the preferred leader is kept.
 */
export interface BrokerInfo {
  id: number;
  rack: string | null;
}

export class AssignmentError extends Error {}

export function planReplicationFactor(
  current: number[][],
  replicationFactor: number,
  brokers: BrokerInfo[],
  load: ReadonlyMap<number, number> = new Map(),
): number[][] {
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1)
    throw new AssignmentError(`replication factor must be at least 1 (got ${replicationFactor})`);
  const live = [...brokers].sort((a, b) => a.id - b.id);
  if (replicationFactor > live.length)
    throw new AssignmentError(`replication factor ${replicationFactor} > ${live.length} live brokers`);
  const racks = live.every((b) => b.rack !== null && b.rack !== '');
  const rackOf = new Map(live.map((b) => [b.id, b.rack]));
  const count = new Map(live.map((b) => [b.id, load.get(b.id) ?? 0]));
  return current.map((replicas, partition) => {
    if (replicas.length > replicationFactor) {
      for (const r of replicas.slice(replicationFactor)) count.set(r, (count.get(r) ?? 1) - 1);
      return replicas.slice(0, replicationFactor);
    }
    const next = [...replicas];
    while (next.length < replicationFactor) {
      const usedRacks = new Set(next.map((r) => rackOf.get(r)));
      const candidates = live
        .map((b, i) => ({ b, rotation: (i - (partition % live.length) + live.length) % live.length }))
        .filter(({ b }) => !next.includes(b.id));
      if (candidates.length === 0)
        throw new AssignmentError(`partition ${partition}: no broker left for another replica`);
      candidates.sort(
        (x, y) =>
          (racks ? Number(usedRacks.has(x.b.rack)) - Number(usedRacks.has(y.b.rack)) : 0) ||
          count.get(x.b.id)! - count.get(y.b.id)! ||
          x.rotation - y.rotation,
      );
      const chosen = candidates[0]!.b.id;
      next.push(chosen);
      count.set(chosen, count.get(chosen)! + 1);
    }
    return next;
  });
}
