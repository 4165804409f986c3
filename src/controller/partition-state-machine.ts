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
export function electLeader({ replicas, state, live, uncleanLeaderElection }: ElectionInput): {
  leader: number;
  unclean: boolean;
} {
  const fromIsr = replicas.find((r) => state.isr.includes(r) && live.has(r));
  if (fromIsr !== undefined) return { leader: fromIsr, unclean: false };
  if (uncleanLeaderElection) {
    const any = replicas.find((r) => live.has(r));
    if (any !== undefined) return { leader: any, unclean: true };
  }
  return { leader: NO_LEADER, unclean: false };
}

/** The reassignment fields of a state, carried over unchanged into the next state. */
function carry(state: PartitionState): Pick<PartitionState, 'addingReplicas' | 'removingReplicas'> {
  const out: Pick<PartitionState, 'addingReplicas' | 'removingReplicas'> = {};
  if (state.addingReplicas) out.addingReplicas = state.addingReplicas;
  if (state.removingReplicas) out.removingReplicas = state.removingReplicas;
  return out;
}

function sameState(a: PartitionState, b: PartitionState): boolean {
  return (
    a.leader === b.leader &&
    a.leaderEpoch === b.leaderEpoch &&
    a.isr.length === b.isr.length &&
    a.isr.every((x, i) => x === b.isr[i])
  );
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
  const next: PartitionState = {
    leader,
    leaderEpoch,
    isr,
    partitionEpoch: state.partitionEpoch + 1,
    ...carry(state),
  };
  return sameState(state, next) ? null : next;
}

/**
 * Move leadership off `broker` (controlled shutdown) and take it out of the ISR where others remain.
 * Returns null when the partition does not involve the broker or nothing can change (it is the only
 * ISR member: it keeps leading until it exits, and the partition goes offline then).
 */
export function onControlledShutdown(
  replicas: number[],
  state: PartitionState,
  broker: number,
  live: ReadonlySet<number>,
): PartitionState | null {
  if (!state.isr.includes(broker) && state.leader !== broker) return null;
  const others = state.isr.filter((r) => r !== broker && live.has(r));
  if (others.length === 0) return null;
  const isr = replicas.filter((r) => others.includes(r));
  if (state.leader === broker) {
    const leader = replicas.find((r) => others.includes(r))!;
    return {
      leader,
      leaderEpoch: state.leaderEpoch + 1,
      isr,
      partitionEpoch: state.partitionEpoch + 1,
      ...carry(state),
    };
  }
  return {
    leader: state.leader,
    leaderEpoch: state.leaderEpoch,
    isr,
    partitionEpoch: state.partitionEpoch + 1,
    ...carry(state),
  };
}

/** Preferred leader election: the first assigned replica leads when it is live and in the ISR. */
export function onPreferredLeaderElection(
  replicas: number[],
  state: PartitionState,
  live: ReadonlySet<number>,
): PartitionState | null {
  const preferred = replicas[0];
  if (
    preferred === undefined ||
    state.leader === preferred ||
    !live.has(preferred) ||
    !state.isr.includes(preferred)
  )
    return null;
  return {
    leader: preferred,
    leaderEpoch: state.leaderEpoch + 1,
    isr: state.isr,
    partitionEpoch: state.partitionEpoch + 1,
    ...carry(state),
  };
}

export type ElectionError =
  'ELECTION_NOT_NEEDED' | 'PREFERRED_LEADER_NOT_AVAILABLE' | 'ELIGIBLE_LEADERS_NOT_AVAILABLE';

/** ElectLeaders election types (Kafka's ElectionType). */
export const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const;

/**
 * ElectLeaders for one partition (Kafka's ElectLeaders API, KIP-460):
 *  - preferred (0): the first assigned replica leads when it is live and in the ISR;
 *    ELECTION_NOT_NEEDED when it already leads, PREFERRED_LEADER_NOT_AVAILABLE when it cannot;
 *  - unclean (1): only for a partition without a live leader; a live ISR member is still preferred,
 *    else any live replica leads and becomes the whole ISR (data loss accepted);
 *    ELECTION_NOT_NEEDED when a live leader exists, ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica is live.
 */
export function onElectLeader(
  electionType: number,
  replicas: number[],
  state: PartitionState,
  live: ReadonlySet<number>,
): { state: PartitionState } | { error: ElectionError; message: string } {
  if (electionType === ElectionType.PREFERRED) {
    const preferred = replicas[0];
    if (preferred === undefined)
      return { error: 'PREFERRED_LEADER_NOT_AVAILABLE', message: 'the partition has no replicas' };
    if (state.leader === preferred)
      return { error: 'ELECTION_NOT_NEEDED', message: `the preferred replica ${preferred} already leads` };
    if (!live.has(preferred))
      return {
        error: 'PREFERRED_LEADER_NOT_AVAILABLE',
        message: `the preferred replica ${preferred} is not alive`,
      };
    if (!state.isr.includes(preferred))
      return {
        error: 'PREFERRED_LEADER_NOT_AVAILABLE',
        message: `the preferred replica ${preferred} is not in the ISR ${JSON.stringify(state.isr)}`,
      };
    return {
      state: {
        leader: preferred,
        leaderEpoch: state.leaderEpoch + 1,
        isr: state.isr,
        partitionEpoch: state.partitionEpoch + 1,
        ...carry(state),
      },
    };
  }
  if (state.leader !== NO_LEADER && live.has(state.leader))
    return { error: 'ELECTION_NOT_NEEDED', message: `broker ${state.leader} leads the partition` };
  const e = electLeader({ replicas, state, live, uncleanLeaderElection: true });
  if (e.leader === NO_LEADER)
    return {
      error: 'ELIGIBLE_LEADERS_NOT_AVAILABLE',
      message: `no replica of ${JSON.stringify(replicas)} is alive`,
    };
  const isr = e.unclean ? [e.leader] : replicas.filter((r) => state.isr.includes(r) && live.has(r));
  return {
    state: {
      leader: e.leader,
      leaderEpoch: state.leaderEpoch + 1,
      isr,
      partitionEpoch: state.partitionEpoch + 1,
      ...carry(state),
    },
  };
}

// ---- partition reassignment (KIP-455) ----

export type ReassignmentError = 'INVALID_REPLICA_ASSIGNMENT' | 'NO_REASSIGNMENT_IN_PROGRESS';

/** What a reassignment step writes: the topic record's replicas for the partition and its state. */
export interface ReassignmentStep {
  replicas: number[];
  state: PartitionState;
}

export function isReassigning(state: PartitionState): boolean {
  return (state.addingReplicas?.length ?? 0) > 0 || (state.removingReplicas?.length ?? 0) > 0;
}

/** The replicas before the reassignment in progress (all of them when none is). */
export function originalReplicas(replicas: number[], state: PartitionState): number[] {
  const adding = state.addingReplicas ?? [];
  return replicas.filter((r) => !adding.includes(r));
}

/** The replicas the reassignment in progress moves to (all of them when none is). */
export function targetReplicas(replicas: number[], state: PartitionState): number[] {
  const removing = state.removingReplicas ?? [];
  return replicas.filter((r) => !removing.includes(r));
}

function withoutReassignment(state: PartitionState): PartitionState {
  return {
    leader: state.leader,
    leaderEpoch: state.leaderEpoch,
    isr: state.isr,
    partitionEpoch: state.partitionEpoch,
  };
}

/**
 * Move the partition to `final` replicas now: the ISR keeps only members of `final`, and a leader
 * outside it is replaced by the first live ISR member of `final`. Null when that cannot happen yet
 * (no ISR member would remain, or no live one could lead).
 */
function switchTo(
  final: number[],
  state: PartitionState,
  live: ReadonlySet<number>,
): ReassignmentStep | null {
  const isr = final.filter((r) => state.isr.includes(r));
  if (isr.length === 0) return null;
  let { leader, leaderEpoch } = state;
  if (!final.includes(leader) || !live.has(leader)) {
    const next = isr.find((r) => live.has(r));
    if (next === undefined) return null;
    leader = next;
    leaderEpoch = state.leaderEpoch + 1;
  }
  return { replicas: final, state: { leader, leaderEpoch, isr, partitionEpoch: state.partitionEpoch + 1 } };
}

/**
 * AlterPartitionReassignments for one partition. `target` null cancels the reassignment in progress
 * (back to the original replicas). Otherwise the target (non-empty, distinct, registered brokers)
 * replaces any reassignment in progress, measured from the original replicas: the topic record gets
 * target ++ (original -- target), so the added replicas start fetching, and the state records what is
 * being added and removed. When nothing is to be added the switch happens at once (when it can).
 */
/**
 * Why a reassignment target is refused (INVALID_REPLICA_ASSIGNMENT), in Kafka's words and order
 * (ReplicationControlManager.validateManualPartitionAssignment: the brokers in ascending order, the
 * first unregistered or repeated one named), or null when it is acceptable.
 */
export function reassignmentTargetProblem(
  target: readonly number[],
  registered: ReadonlySet<number>,
): string | null {
  if (target.length === 0) return 'The manual partition assignment includes an empty replica list.';
  const sorted = [...target].sort((x, y) => x - y);
  let prev: number | null = null;
  for (const id of sorted) {
    if (!registered.has(id))
      return `The manual partition assignment includes broker ${id}, but no such broker is registered.`;
    if (id === prev) return `The manual partition assignment includes the broker ${prev} more than once.`;
    prev = id;
  }
  return null;
}

export function onAlterReassignment(
  replicas: number[],
  state: PartitionState,
  target: number[] | null,
  registered: ReadonlySet<number>,
  live: ReadonlySet<number>,
): ReassignmentStep | { error: ReassignmentError; message: string } {
  const original = originalReplicas(replicas, state);
  if (target === null) {
    if (!isReassigning(state))
      return {
        error: 'NO_REASSIGNMENT_IN_PROGRESS',
        message: 'No partition reassignment is in progress.',
      };
    // Cancelling: back to the original replicas. They held the partition before, so some are in the ISR
    // unless all were lost meanwhile; then the partition has no leader until one returns.
    const step = switchTo(original, state, live);
    if (step) return step;
    return {
      replicas: original,
      state: {
        ...withoutReassignment(state),
        isr: original.filter((r) => state.isr.includes(r)),
        leader: NO_LEADER,
        leaderEpoch: state.leaderEpoch + 1,
        partitionEpoch: state.partitionEpoch + 1,
      },
    };
  }
  const invalid = reassignmentTargetProblem(target, registered);
  if (invalid !== null) return { error: 'INVALID_REPLICA_ASSIGNMENT', message: invalid };
  const adding = target.filter((r) => !original.includes(r));
  const removing = original.filter((r) => !target.includes(r));
  const union = [...target, ...removing];
  // Replicas a replaced reassignment was adding and this one is not leave the ISR with them.
  const isr = union.filter((r) => state.isr.includes(r));
  const pending: PartitionState = {
    ...withoutReassignment(state),
    isr,
    partitionEpoch: state.partitionEpoch + 1,
  };
  if (adding.length > 0) pending.addingReplicas = adding;
  if (removing.length > 0) pending.removingReplicas = removing;
  if (adding.length === 0) {
    // Nothing to copy: reorder or shrink at once when the ISR allows it.
    const now = switchTo(target, pending, live);
    if (now)
      return { replicas: now.replicas, state: { ...now.state, partitionEpoch: state.partitionEpoch + 1 } };
  }
  return { replicas: union, state: pending };
}

/**
 * Finish a reassignment in progress once every adding replica is in the ISR (KIP-455): replicas =
 * target, ISR = ISR ∩ target, a new leader from target ∩ ISR when the leader is removed. Null when
 * there is nothing to finish yet.
 */
export function maybeCompleteReassignment(
  replicas: number[],
  state: PartitionState,
  live: ReadonlySet<number>,
): ReassignmentStep | null {
  if (!isReassigning(state)) return null;
  const adding = state.addingReplicas ?? [];
  if (!adding.every((r) => state.isr.includes(r))) return null;
  return switchTo(targetReplicas(replicas, state), state, live);
}

export type AlterPartitionError =
  | 'NOT_LEADER_OR_FOLLOWER'
  | 'FENCED_LEADER_EPOCH'
  | 'INVALID_UPDATE_VERSION'
  | 'INELIGIBLE_REPLICA'
  | 'UNKNOWN_TOPIC_OR_PARTITION';

/** AlterPartition as the leader sends it (gRPC) and the controller takes it. */
export interface AlterPartitionRequest {
  brokerId: number;
  topic: string;
  partition: number;
  leaderEpoch: number;
  partitionEpoch: number;
  newIsr: number[];
}

/** A leader asks to set the ISR. Checked against the epochs it last saw. */
export function onAlterPartition(
  replicas: number[],
  state: PartitionState,
  req: { leaderId: number; leaderEpoch: number; partitionEpoch: number; newIsr: number[] },
  live: ReadonlySet<number>,
): { state: PartitionState } | { error: AlterPartitionError; message: string } {
  if (req.leaderId !== state.leader)
    return {
      error: 'NOT_LEADER_OR_FOLLOWER',
      message: `broker ${req.leaderId} is not the leader (leader is ${state.leader})`,
    };
  if (req.leaderEpoch !== state.leaderEpoch)
    return {
      error: 'FENCED_LEADER_EPOCH',
      message: `leader epoch ${req.leaderEpoch} is not the current ${state.leaderEpoch}`,
    };
  if (req.partitionEpoch !== state.partitionEpoch) {
    return {
      error: 'INVALID_UPDATE_VERSION',
      message: `partition epoch ${req.partitionEpoch} is not the current ${state.partitionEpoch}`,
    };
  }
  if (!req.newIsr.includes(state.leader))
    return { error: 'INELIGIBLE_REPLICA', message: 'the ISR must contain the leader' };
  const bad = req.newIsr.find((r) => !replicas.includes(r));
  if (bad !== undefined) return { error: 'INELIGIBLE_REPLICA', message: `broker ${bad} is not a replica` };
  const added = req.newIsr.filter((r) => !state.isr.includes(r));
  const dead = added.find((r) => !live.has(r));
  if (dead !== undefined)
    return { error: 'INELIGIBLE_REPLICA', message: `broker ${dead} is not alive and cannot join the ISR` };
  const isr = replicas.filter((r) => req.newIsr.includes(r));
  return {
    state: {
      leader: state.leader,
      leaderEpoch: state.leaderEpoch,
      isr,
      partitionEpoch: state.partitionEpoch + 1,
      ...carry(state),
    },
  };
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
      out.push(
        `${p.topic}-${p.index}: ISR ${JSON.stringify(p.state.isr)} would fall below min.insync.replicas=${p.minIsr}`,
      );
    }
  }
  return out;
}
