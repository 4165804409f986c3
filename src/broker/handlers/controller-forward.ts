/**
 * Shared by the admin handlers that the active controller answers (ElectLeaders, partition
 * reassignments): the broker that receives the request forwards it over the gRPC control plane.
 * The client is null on a single node (no controller to forward to).
 */
import type { ControlPlaneClient } from '../../controller/grpc/control-plane-client.js';
import { errorByName, ErrorCode } from '../../protocol/error-codes.js';

export type ControlPlaneAccess = () => ControlPlaneClient | null;

/** A Kafka error name from the control plane as its code (UNKNOWN_SERVER_ERROR when unknown). */
export function codeOfName(name: string): number {
  return errorByName(name)?.code ?? ErrorCode.UNKNOWN_SERVER_ERROR;
}

/** Group per-partition results by topic, in first-seen order. */
export function byTopic<T extends { topic: string }>(items: T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const i of items) {
    let l = m.get(i.topic);
    if (!l) m.set(i.topic, (l = []));
    l.push(i);
  }
  return m;
}

/** How long to wait for the controller: the request's timeout, within sane bounds. */
export function forwardTimeout(timeoutMs: number): number {
  return Math.min(Math.max(timeoutMs > 0 ? timeoutMs : 30_000, 1000), 120_000);
}
