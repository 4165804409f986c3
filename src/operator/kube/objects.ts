/**
 * Types for the Kubernetes objects the operator builds and reads, on @kubernetes/client-node's
 * generated models (V1StatefulSet, V1Service, V1Pod …): a misspelt or misplaced field in a builder
 * is a compile error. The operator sends and receives plain JSON (kube/client.ts), never the
 * models' classes, so:
 *   - `Desired<T, K>`: what a builder returns, with apiVersion, kind and metadata.name required
 *     (server-side apply needs them);
 *   - `Wire<T>`: an object as the API server's JSON gives it. The models type timestamps as Date,
 *     but JSON has strings; Wire says string, so a reader cannot call Date methods on a string.
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';

export type Desired<T, K extends string> = Omit<T, 'apiVersion' | 'kind' | 'metadata'> & {
  apiVersion: string;
  kind: K;
  metadata: Omit<V1ObjectMeta, 'creationTimestamp' | 'deletionTimestamp'> & { name: string };
};

export type Wire<T> = T extends Date
  ? string
  : T extends (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

/** An RFC 3339 time from the API (or a Date): milliseconds since the epoch, undefined if absent. */
export function timeOf(t: string | Date | undefined | null): number | undefined {
  if (t === undefined || t === null) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * monitoring.coreos.com/v1 ServiceMonitor (the Prometheus operator's CRD; client-node has no model
 * of it): the fields the operator sets.
 */
export interface ServiceMonitorSpec {
  selector: { matchLabels: Record<string, string> };
  namespaceSelector?: { matchNames: string[] };
  endpoints: { port: string; path?: string; interval?: string }[];
}
export interface ServiceMonitor {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  spec: ServiceMonitorSpec;
}
