/**
 * Is a broker pod stuck: not Ready, and not going to become Ready by waiting? The roller replaces a
 * stuck pod at once when it runs an old revision (roller.ts): with updateStrategy OnDelete nothing
 * else ever would, so a fixed spec would never reach a pod that crash-loops on the old one.
 *
 * What counts (the kubelet's own words where it has them), never for a Ready pod:
 *   CrashLoopBackOff      a container waits in CrashLoopBackOff; or it is not ready, has
 *                         restarted ≥ crashLoopRestarts times and last terminated < 10 min ago
 *                         (restarts climbing, seen between two back-offs)
 *   ImagePullBackOff      a container waits in ImagePullBackOff, ErrImagePull, InvalidImageName or
 *                         ErrImageNeverPull
 *   CreateContainerError  a container waits in CreateContainerConfigError, CreateContainerError or
 *                         RunContainerError (a missing ConfigMap key or Secret, a bad command)
 *   Unschedulable         Pending with PodScheduled=False for ≥ unschedulableMs
 *   NeverReady            started ≥ startupGraceMs ago (status.startTime: image pulls, init
 *                         containers and the broker's start all count) and never Ready since:
 *                         its Ready condition has not changed since the pod started. A pod that
 *                         was Ready once and lost readiness is not stuck: it may hold data only
 *                         it has, and the normal roll waits for it.
 * Pure: the pod as the API gives it and the time in, a constant reason and a message out.
 */
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { timeOf, type Wire } from './kube/objects.js';
import type { StuckReason } from './types.js';

export interface StuckPodThresholds {
  /** Pending and unschedulable this long (ms) → Unschedulable. */
  unschedulableMs: number;
  /** Started this long (ms) without becoming Ready → NeverReady. */
  startupGraceMs: number;
  /** A not-ready container that restarted this often, and recently, is crash-looping. */
  crashLoopRestarts: number;
}

export const DEFAULT_STUCK_POD_THRESHOLDS: StuckPodThresholds = {
  unschedulableMs: 60_000,
  startupGraceMs: 300_000,
  crashLoopRestarts: 3,
};

/** "Recently" for climbing restarts: the kubelet's longest crash back-off is 5 minutes. */
const RECENT_TERMINATION_MS = 10 * 60_000;
/** The kubelet writes the first Ready=False a moment after status.startTime. */
const CLOCK_SLACK_MS = 10_000;

export interface StuckPod {
  reason: StuckReason;
  message: string;
}

const WAITING: Record<string, StuckReason> = {
  CrashLoopBackOff: 'CrashLoopBackOff',
  ImagePullBackOff: 'ImagePullBackOff',
  ErrImagePull: 'ImagePullBackOff',
  InvalidImageName: 'ImagePullBackOff',
  ErrImageNeverPull: 'ImagePullBackOff',
  CreateContainerConfigError: 'CreateContainerError',
  CreateContainerError: 'CreateContainerError',
  RunContainerError: 'CreateContainerError',
};

export function stuckPod(
  pod: Wire<V1Pod>,
  now: number,
  t: StuckPodThresholds = DEFAULT_STUCK_POD_THRESHOLDS,
): StuckPod | null {
  const status = pod.status;
  if (!status || pod.metadata?.deletionTimestamp) return null;
  // Failed/Succeeded pods are the StatefulSet controller's to replace.
  if (status.phase === 'Failed' || status.phase === 'Succeeded') return null;
  const condition = (type: string) => status.conditions?.find((c) => c.type === type);
  const ready = condition('Ready');
  if (ready?.status === 'True') return null;
  const containers: Wire<V1ContainerStatus>[] = [
    ...(status.initContainerStatuses ?? []),
    ...(status.containerStatuses ?? []),
  ];

  for (const c of containers) {
    const waiting = c.state?.waiting;
    const reason = waiting?.reason ? WAITING[waiting.reason] : undefined;
    if (waiting && reason)
      return {
        reason,
        message: `container ${c.name}: ${waiting.reason ?? ''} after ${c.restartCount} restart(s)${waiting.message ? `: ${waiting.message}` : ''}`,
      };
  }
  for (const c of containers) {
    if (c.ready || c.restartCount < t.crashLoopRestarts) continue;
    const terminated = c.state?.terminated ?? c.lastState?.terminated;
    const at = timeOf(terminated?.finishedAt);
    if (at !== undefined && now - at < RECENT_TERMINATION_MS)
      return {
        reason: 'CrashLoopBackOff',
        message: `container ${c.name}: ${c.restartCount} restarts, last exit ${terminated?.exitCode ?? '?'} (${terminated?.reason ?? 'unknown'}) ${Math.round((now - at) / 1000)} s ago`,
      };
  }

  const scheduled = condition('PodScheduled');
  if (status.phase === 'Pending' && scheduled?.status === 'False') {
    const since = timeOf(scheduled.lastTransitionTime) ?? timeOf(pod.metadata?.creationTimestamp);
    if (since === undefined || now - since < t.unschedulableMs) return null;
    return {
      reason: 'Unschedulable',
      message:
        `not scheduled for ${Math.round((now - since) / 1000)} s: ${scheduled.reason ?? ''} ${scheduled.message ?? ''}`.trim(),
    };
  }

  const started = timeOf(status.startTime);
  if (started === undefined) return null;
  const readyChanged = timeOf(ready?.lastTransitionTime);
  // Ready at some point after it started, not Ready now: it lost readiness rather than never got it.
  if (readyChanged !== undefined && readyChanged > started + CLOCK_SLACK_MS) return null;
  if (now - started < t.startupGraceMs) return null;
  return {
    reason: 'NeverReady',
    message: `never Ready in the ${Math.round((now - started) / 1000)} s since it started${ready?.message ? `: ${ready.message}` : ''}`,
  };
}
