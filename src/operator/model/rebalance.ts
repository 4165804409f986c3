/**
 * Replica placement when the set of brokers changes (scale up or down): what a
 * `kafka-reassign-partitions` run or Cruise Control's rebalance would compute. Pure: the current
 * assignment of every topic and the brokers that should hold it in, the partitions to reassign out.
 * Per topic, in three passes:
 *  1. evacuate: a replica on a broker outside the set (one about to go) is replaced, at the same
 *     position, by a broker of the set the partition lacks (fewest replicas of the topic, then
 *     fewest overall, then lowest id). A partition with more replicas than the set has brokers
 *     cannot keep its replication factor: it is reported in `impossible` and left as it is.
 *  2. balance: every broker of the set should hold ⌊R/N⌋ or ⌈R/N⌉ of the topic's R replicas; the
 *     ⌈⌉ places go to the brokers that already hold most (fewest moves; ties: least loaded overall).
 *     An over-full broker hands one replica (same position) to an under-full broker the partition
 *     lacks, preferring partitions it does not lead; each hand-over is one replica copied. The
 *     number of moves is the sum of the excesses, the least any balanced placement needs.
 *  3. preferred leaders: the first replica of each partition is its preferred leader. While one
 *     broker is preferred leader of two more partitions than another that is a replica of one of
 *     them, the two swap positions in it (a reorder: no data moves).
 * Replication factors never change. The result is a fixed point: planning on a planned placement
 * moves nothing, so the operator can run it on every reconcile.
 */
export interface PartitionMove {
  topic: string;
  partition: number;
  from: number[];
  to: number[];
}

export interface RebalancePlan {
  /** Partitions whose replica list changes (set or order). */
  moves: PartitionMove[];
  /** Replicas that must be copied to a broker that lacks them (reorders not counted). */
  replicaMoves: number;
  /** Partitions that cannot keep their replication factor on the brokers given. */
  impossible: { topic: string; partition: number; replicationFactor: number }[];
}

export function planRebalance(
  topics: ReadonlyMap<string, readonly (readonly number[])[]>,
  brokerIds: readonly number[],
): RebalancePlan {
  const brokers = [...new Set(brokerIds)].sort((a, b) => a - b);
  const inSet = new Set(brokers);
  // Load over all topics, updated as replicas move: it spreads the ⌈⌉ places across topics.
  const total = new Map(brokers.map((b) => [b, 0]));
  for (const parts of topics.values())
    for (const rs of parts) for (const r of rs) if (inSet.has(r)) total.set(r, total.get(r)! + 1);

  const plan: RebalancePlan = { moves: [], replicaMoves: 0, impossible: [] };
  for (const topic of [...topics.keys()].sort()) {
    const current = topics.get(topic)!;
    const next = current.map((rs) => [...rs]);
    const skip = new Set<number>();
    next.forEach((rs, p) => {
      if (new Set(rs).size > brokers.length) {
        plan.impossible.push({ topic, partition: p, replicationFactor: rs.length });
        skip.add(p);
      }
    });
    const count = new Map(brokers.map((b) => [b, 0]));
    next.forEach((rs, p) => {
      if (!skip.has(p)) for (const r of rs) if (count.has(r)) count.set(r, count.get(r)! + 1);
    });
    const place = (p: number, pos: number, to: number) => {
      const from = next[p]![pos]!;
      next[p]![pos] = to;
      if (count.has(from)) count.set(from, count.get(from)! - 1);
      if (total.has(from)) total.set(from, total.get(from)! - 1);
      count.set(to, count.get(to)! + 1);
      total.set(to, total.get(to)! + 1);
    };

    // 1. evacuate (also a replica listed twice: the duplicate is replaced)
    next.forEach((rs, p) => {
      if (skip.has(p)) return;
      rs.forEach((r, pos) => {
        if (inSet.has(r) && rs.indexOf(r) === pos) return;
        const candidates = brokers.filter((b) => !rs.includes(b));
        candidates.sort((a, b) => count.get(a)! - count.get(b)! || total.get(a)! - total.get(b)! || a - b);
        const to = candidates[0];
        if (to === undefined) return; // cannot happen: size ≤ brokers checked above
        if (inSet.has(r)) {
          // a duplicate: its first occurrence stays counted
          count.set(r, count.get(r)! - 1);
          total.set(r, total.get(r)! - 1);
        }
        rs[pos] = -1; // counted off above (or never counted): `place` must not count it again
        place(p, pos, to);
      });
    });

    // 2. balance
    if (brokers.length > 0) {
      const replicas = [...count.values()].reduce((a, b) => a + b, 0);
      const base = Math.floor(replicas / brokers.length);
      let extra = replicas % brokers.length;
      const target = new Map<number, number>();
      for (const b of [...brokers].sort(
        (a, b) => count.get(b)! - count.get(a)! || total.get(a)! - total.get(b)! || a - b,
      ))
        target.set(b, base + (extra-- > 0 ? 1 : 0));
      for (;;) {
        const over = brokers.find((b) => count.get(b)! > target.get(b)!);
        if (over === undefined) break;
        const unders = brokers
          .filter((b) => count.get(b)! < target.get(b)!)
          .sort((a, b) => count.get(a)! - count.get(b)! || total.get(a)! - total.get(b)! || a - b);
        let done = false;
        for (const under of unders) {
          const options = next
            .map((rs, p) => ({ rs, p, pos: rs.indexOf(over) }))
            .filter(({ rs, p, pos }) => !skip.has(p) && pos >= 0 && !rs.includes(under));
          // Prefer a follower (the partition's preferred leader stays), then the latest position.
          options.sort((a, b) => Number(a.pos === 0) - Number(b.pos === 0) || b.pos - a.pos || a.p - b.p);
          const o = options[0];
          if (!o) continue;
          place(o.p, o.pos, under);
          done = true;
          break;
        }
        if (!done) break; // no hand-over possible (cannot happen with counts differing)
      }
    }

    // 3. preferred leaders
    const leads = new Map(brokers.map((b) => [b, 0]));
    next.forEach((rs, p) => {
      if (!skip.has(p) && rs[0] !== undefined && leads.has(rs[0])) leads.set(rs[0], leads.get(rs[0])! + 1);
    });
    for (let guard = 0; guard < next.length * brokers.length + 1; guard++) {
      let swapped = false;
      const byLeads = [...brokers].sort((a, b) => leads.get(b)! - leads.get(a)! || a - b);
      outer: for (const hi of byLeads)
        for (const lo of [...byLeads].reverse()) {
          if (leads.get(hi)! - leads.get(lo)! < 2) continue;
          const p = next.findIndex((rs, i) => !skip.has(i) && rs[0] === hi && rs.includes(lo));
          if (p < 0) continue;
          const rs = next[p]!;
          const j = rs.indexOf(lo);
          rs[j] = hi;
          rs[0] = lo;
          leads.set(hi, leads.get(hi)! - 1);
          leads.set(lo, leads.get(lo)! + 1);
          swapped = true;
          break outer;
        }
      if (!swapped) break;
    }

    next.forEach((to, p) => {
      const from = current[p]!;
      if (to.length === from.length && to.every((r, i) => r === from[i])) return;
      plan.moves.push({ topic, partition: p, from: [...from], to });
      plan.replicaMoves += to.filter((r) => !from.includes(r)).length;
    });
  }
  return plan;
}

/** Partitions with a replica on a broker outside `brokerIds` (what a scale-down must move first). */
export function replicasOutside(
  topics: ReadonlyMap<string, readonly (readonly number[])[]>,
  brokerIds: readonly number[],
): { topic: string; partition: number }[] {
  const keep = new Set(brokerIds);
  const out: { topic: string; partition: number }[] = [];
  for (const [topic, parts] of topics)
    parts.forEach((rs, partition) => {
      if (rs.some((r) => !keep.has(r))) out.push({ topic, partition });
    });
  return out;
}
