/**
 * Status conditions keyed by type (metav1.Condition): setting one keeps its lastTransitionTime
 * unless its status changes, so repeated reconciles do not churn the status.
 */
import type { Condition } from './types.js';

export function setCondition(
  conditions: Condition[] | undefined,
  c: Omit<Condition, 'lastTransitionTime'>,
  now: () => string = () => new Date().toISOString(),
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    ...c,
    lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now(),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

export function getCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Ready/Reconciling/Degraded together, from one outcome (the three always agree). */
export function outcomeConditions(
  prev: Condition[] | undefined,
  generation: number | undefined,
  o: { ready: boolean; reconciling: boolean; degraded: boolean; reason: string; message: string },
): Condition[] {
  const g = generation;
  let list = setCondition(prev, {
    type: 'Ready',
    status: o.ready ? 'True' : 'False',
    reason: o.reason,
    message: o.message,
    observedGeneration: g,
  });
  list = setCondition(list, {
    type: 'Reconciling',
    status: o.reconciling ? 'True' : 'False',
    reason: o.reason,
    message: o.reconciling ? o.message : '',
    observedGeneration: g,
  });
  list = setCondition(list, {
    type: 'Degraded',
    status: o.degraded ? 'True' : 'False',
    reason: o.reason,
    message: o.degraded ? o.message : '',
    observedGeneration: g,
  });
  return list;
}
