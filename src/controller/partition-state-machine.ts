/**
 * The controller's decisions about one partition, as pure functions of (assignment, state, live
 * brokers): no I/O, so every rule is unit-tested. Kafka's rules (PartitionStateMachine,
 * PartitionLeaderElectionAlgorithms):
 *
 *  - a new leader comes from the ISR, preferring the assignment order; only when the ISR has no live
 *    member and unclean.leader.election.enable is set may any live replica lead (data loss accepted);
 *  - a broker that dies leaves the ISR (unless it is the last member: the ISR then keeps it, so that
 *    when it comes back it is known to hold every committed message and can lead again);
 *  - every change bumps the partition epoch; a leader change bumps the leader epoch;
 *  - an ISR change from the leader (AlterPartition) applies only against the current leader epoch and
 *    partition epoch, and the new ISR must contain the leader and only assigned replicas.
 */
import { NO_LEADER, type PartitionState } from './records.js';

export interface ElectionInput {
  replicas: number[];
  state: PartitionState;
  live: ReadonlySet<number>;
  uncleanLeaderElection: boolean;
}

/** Leader for the partition given who is alive, or NO_LEADER. Does not change the ISR. */
export function electLeader({ replicas, state, live, uncleanLeaderElection }: ElectionInput): { leader: number; unclean: boolean } {
  const fromIsr = replicas.find((r) => state.isr.includes(r) && live.has(r));
  if (fromIsr !== undefined) return { leader: fromIsr, unclean: false };
  if (uncleanLeaderElection) {
    const any = replicas.find((r) => live.has(r));
    if (any !== undefined) return { leader: any, unclean: true };
  }
  return { leader: NO_LEADER, unclean: false };
}

function sameState(a: PartitionState, b: PartitionState): boolean {
  return a.leader === b.leader && a.leaderEpoch === b.leaderEpoch && a.isr.length === b.isr.length && a.isr.every((x, i) => x === b.isr[i]);
}

/**
 * The state after the set of live brokers changed (a broker died or came back). Returns null when
 * nothing changes.
 */
export function onLiveBrokersChanged(input: ElectionInput): PartitionState | null {
  const { state, live, replicas } = input;
  // Dead members leave the ISR, but never the last one (it holds everything committed).
  let isr = state.isr.filter((r) => live.has(r));
  if (isr.length === 0) isr = state.isr.slice();
  let leader = state.leader;
  let leaderEpoch = state.leaderEpoch;
  if (leader === NO_LEADER || !live.has(leader)) {
    const e = electLeader({ ...input, state: { ...state, isr } });
    if (e.leader !== leader) {
      leader = e.leader;
      leaderEpoch = state.leaderEpoch + 1;
    }
    // An unclean leader starts a new history: it is the whole ISR.
    if (e.unclean) isr = [e.leader];
    // A clean new leader comes from the ISR; drop members that are not live.
    if (leader !== NO_LEADER && !e.unclean) isr = isr.filter((r) => live.has(r));
  }
  isr = replicas.filter((r) => isr.includes(r));
  const next: PartitionState = { leader, leaderEpoch, isr, partitionEpoch: state.partitionEpoch + 1 };
  return sameState(state, next) ? null : next;
}

/**
 * Move leadership off `broker` (controlled shutdown) and take it out of the ISR where others remain.
 * Returns null when the partition does not involve the broker or nothing can change (it is the only
 * ISR member: it keeps leading until it exits, and the partition goes offline then).
 */
export function onControlledShutdown(replicas: number[], state: PartitionState, broker: number, live: ReadonlySet<number>): PartitionState | null {
  if (!state.isr.includes(broker) && state.leader !== broker) return null;
  const others = state.isr.filter((r) => r !== broker && live.has(r));
  if (others.length === 0) return null;
  const isr = replicas.filter((r) => others.includes(r));
  if (state.leader === broker) {
    const leader = replicas.find((r) => others.includes(r))!;
    return { leader, leaderEpoch: state.leaderEpoch + 1, isr, partitionEpoch: state.partitionEpoch + 1 };
  }
  return { leader: state.leader, leaderEpoch: state.leaderEpoch, isr, partitionEpoch: state.partitionEpoch + 1 };
}

/** Preferred leader election: the first assigned replica leads when it is live and in the ISR. */
export function onPreferredLeaderElection(replicas: number[], state: PartitionState, live: ReadonlySet<number>): PartitionState | null {
  const preferred = replicas[0];
  if (preferred === undefined || state.leader === preferred || !live.has(preferred) || !state.isr.includes(preferred)) return null;
  return { leader: preferred, leaderEpoch: state.leaderEpoch + 1, isr: state.isr, partitionEpoch: state.partitionEpoch + 1 };
}

export type AlterPartitionError = 'NOT_LEADER_OR_FOLLOWER' | 'FENCED_LEADER_EPOCH' | 'INVALID_UPDATE_VERSION' | 'INELIGIBLE_REPLICA' | 'UNKNOWN_TOPIC_OR_PARTITION';

/** A leader asks to set the ISR. Checked against the epochs it last saw. */
export function onAlterPartition(
  replicas: number[],
  state: PartitionState,
  req: { leaderId: number; leaderEpoch: number; partitionEpoch: number; newIsr: number[] },
  live: ReadonlySet<number>,
): { state: PartitionState } | { error: AlterPartitionError; message: string } {
  if (req.leaderId !== state.leader) return { error: 'NOT_LEADER_OR_FOLLOWER', message: `broker ${req.leaderId} is not the leader (leader is ${state.leader})` };
  if (req.leaderEpoch !== state.leaderEpoch) return { error: 'FENCED_LEADER_EPOCH', message: `leader epoch ${req.leaderEpoch} is not the current ${state.leaderEpoch}` };
  if (req.partitionEpoch !== state.partitionEpoch) {
    return { error: 'INVALID_UPDATE_VERSION', message: `partition epoch ${req.partitionEpoch} is not the current ${state.partitionEpoch}` };
  }
  if (!req.newIsr.includes(state.leader)) return { error: 'INELIGIBLE_REPLICA', message: 'the ISR must contain the leader' };
  const bad = req.newIsr.find((r) => !replicas.includes(r));
  if (bad !== undefined) return { error: 'INELIGIBLE_REPLICA', message: `broker ${bad} is not a replica` };
  const added = req.newIsr.filter((r) => !state.isr.includes(r));
  const dead = added.find((r) => !live.has(r));
  if (dead !== undefined) return { error: 'INELIGIBLE_REPLICA', message: `broker ${dead} is not alive and cannot join the ISR` };
  const isr = replicas.filter((r) => req.newIsr.includes(r));
  return { state: { leader: state.leader, leaderEpoch: state.leaderEpoch, isr, partitionEpoch: state.partitionEpoch + 1 } };
}

/**
 * Is it safe to restart `broker` now (the operator's restart gate)? Not when any partition whose ISR
 * includes it would drop below min.insync.replicas without it (Strimzi's rule). A broker outside a
 * partition's ISR cannot shrink it further; the roller separately waits for zero under-replicated
 * partitions between restarts.
 */
export function restartBlockers(
  partitions: { topic: string; index: number; replicas: number[]; state: PartitionState; minIsr: number }[],
  broker: number,
): string[] {
  const out: string[] = [];
  for (const p of partitions) {
    if (!p.state.isr.includes(broker)) continue;
    const isrWithout = p.state.isr.filter((r) => r !== broker).length;
    if (isrWithout < p.minIsr) {
      out.push(`${p.topic}-${p.index}: ISR ${JSON.stringify(p.state.isr)} would fall below min.insync.replicas=${p.minIsr}`);
    }
  }
  return out;
}
