/**
 * Restart decisions for a cluster's broker pods. The StatefulSet uses updateStrategy OnDelete, so
 * a pod runs its old template until someone deletes it; that someone is this roller, and it never
 * does so blindly. One decision per reconcile:
 *   pending = pods whose controller-revision-hash is not the StatefulSet's updateRevision (or that
 *             carry the manual-restart annotation);
 *   repair  a pending pod of an old revision that is stuck (stuck-pod.ts: crash-looping, image or
 *             container errors, unschedulable, never Ready) is deleted at once, lowest id first:
 *             it serves nothing, so no availability gate applies, and the StatefulSet recreates
 *             it from the new revision. A pod on the update revision is never deleted for being
 *             stuck (that would only loop), nor is any Ready pod;
 *   wait while any broker pod is missing, not Ready or terminating, or any partition is
 *             under-replicated or offline (the previous restart has not healed yet);
 *   pick one: non-controllers by id, the active controller last;
 *   ask the controller SafeToRestart(id) (no partition would fall below min.insync.replicas);
 *   drain it (controlled shutdown: leaderships moved away), then delete the pod; the pod's
 *   SIGTERM runs the broker's own controlled shutdown too.
 * `planRoll` is pure and unit-tested; `Roller.step` does the I/O.
 */
import type { ClusterHealth, RestartGate } from './restart-gate.js';
import type { StuckPod } from './stuck-pod.js';

export interface BrokerPod {
  id: number;
  name: string;
  ready: boolean;
  terminating: boolean;
  revision: string | undefined;
  manualRestart: boolean;
  /** The node's address (status.hostIP), for NodePort listener status. */
  hostIP?: string;
  /** Why the pod cannot become Ready by waiting (stuck-pod.ts), or null. */
  stuck: StuckPod | null;
}

export function pendingRestart(pods: BrokerPod[], updateRevision: string | undefined): BrokerPod[] {
  return pods.filter(
    (p) =>
      p.manualRestart ||
      (updateRevision !== undefined && p.revision !== undefined && p.revision !== updateRevision),
  );
}

/** Restart order: every other broker by id, then the controller. */
export function restartOrder(pending: number[], controllerId: number): number[] {
  return [...pending].sort((a, b) => (a === controllerId ? 1 : b === controllerId ? -1 : a - b));
}

/**
 * The pod to replace without the gate: the lowest-id pod that is stuck, not Ready, not already
 * terminating, and runs an old revision. Manual restarts of stuck pods go through the gate.
 */
export function planRepair(pods: BrokerPod[], updateRevision: string | undefined): BrokerPod | undefined {
  if (updateRevision === undefined) return undefined;
  return pods.find(
    (p) =>
      p.stuck !== null &&
      !p.ready &&
      !p.terminating &&
      p.revision !== undefined &&
      p.revision !== updateRevision,
  );
}

export type RollStep =
  | { kind: 'idle' }
  | {
      kind: 'repaired';
      brokerId: number;
      pod: string;
      stuck: StuckPod;
      fromRevision: string | undefined;
      toRevision: string | undefined;
      pending: number[];
    }
  | { kind: 'wait'; reason: 'BrokersNotReady' | 'UnderReplicated'; message: string; pending: number[] }
  | { kind: 'blocked'; brokerId: number; reasons: string[]; pending: number[] }
  | { kind: 'restarted'; brokerId: number; pod: string; pending: number[] };

/** The pure part: what to do given the pods, the replicas wanted and the cluster's health. */
export function planRoll(
  pods: BrokerPod[],
  replicas: number,
  updateRevision: string | undefined,
  health: ClusterHealth | null,
):
  | { kind: 'idle' }
  | { kind: 'wait'; reason: 'BrokersNotReady' | 'UnderReplicated'; message: string; pending: number[] }
  | { kind: 'candidate'; brokerId: number; pending: number[] } {
  const pending = pendingRestart(pods, updateRevision).map((p) => p.id);
  if (pending.length === 0) return { kind: 'idle' };
  const notReady = pods.filter((p) => !p.ready || p.terminating);
  if (notReady.length > 0 || pods.length < replicas) {
    // A stuck pod here runs the update revision: only a spec change can help it.
    const stuck = notReady.flatMap((p) =>
      p.stuck
        ? [`broker ${p.id} is stuck on the current revision (${p.stuck.reason}: ${p.stuck.message})`]
        : [],
    );
    return {
      kind: 'wait',
      reason: 'BrokersNotReady',
      message:
        `waiting for broker(s) ${notReady.map((p) => p.id).join(', ') || '(missing pods)'} to be Ready before restarting ${pending.join(', ')}` +
        (stuck.length > 0 ? `; ${stuck.join('; ')}` : ''),
      pending,
    };
  }
  if (!health)
    return {
      kind: 'wait',
      reason: 'UnderReplicated',
      message: 'cluster health unknown (no controller answered)',
      pending,
    };
  if (health.underReplicatedPartitions > 0 || health.offlinePartitions > 0) {
    return {
      kind: 'wait',
      reason: 'UnderReplicated',
      message: `waiting for ${health.underReplicatedPartitions} under-replicated and ${health.offlinePartitions} offline partition(s) to recover before restarting ${pending.join(', ')}`,
      pending,
    };
  }
  return { kind: 'candidate', brokerId: restartOrder(pending, health.controllerId)[0]!, pending };
}

export class Roller {
  readonly #gate: RestartGate;
  readonly #deletePod: (name: string) => Promise<void>;

  constructor(gate: RestartGate, deletePod: (name: string) => Promise<void>) {
    this.#gate = gate;
    this.#deletePod = deletePod;
  }

  async step(pods: BrokerPod[], replicas: number, updateRevision: string | undefined): Promise<RollStep> {
    const pending = pendingRestart(pods, updateRevision).map((p) => p.id);
    if (pending.length === 0) return { kind: 'idle' };
    // Repair first, without the controller: with every broker crash-looping none would answer.
    const stuck = planRepair(pods, updateRevision);
    if (stuck?.stuck) {
      await this.#deletePod(stuck.name);
      return {
        kind: 'repaired',
        brokerId: stuck.id,
        pod: stuck.name,
        stuck: stuck.stuck,
        fromRevision: stuck.revision,
        toRevision: updateRevision,
        pending,
      };
    }
    let health: ClusterHealth | null = null;
    try {
      health = await this.#gate.health();
    } catch {
      health = null;
    }
    const plan = planRoll(pods, replicas, updateRevision, health);
    if (plan.kind !== 'candidate') return plan;
    const id = plan.brokerId;
    const verdict = await this.#gate.safeToRestart(id);
    if (!verdict.safe)
      return { kind: 'blocked', brokerId: id, reasons: verdict.reasons, pending: plan.pending };
    const remaining = await this.#gate.drain(id);
    if (remaining.length > 0)
      return {
        kind: 'blocked',
        brokerId: id,
        reasons: remaining.map((p) => `${p}: no other in-sync replica to lead it`),
        pending: plan.pending,
      };
    const pod = pods.find((p) => p.id === id)!;
    await this.#deletePod(pod.name);
    return { kind: 'restarted', brokerId: id, pod: pod.name, pending: plan.pending };
  }
}
