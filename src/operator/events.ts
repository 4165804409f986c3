/**
 * Kubernetes Events (core/v1) about the operator's resources, so `kubectl describe kafkacluster`
 * and `kubectl get events` show what the operator did and why. One Event per occurrence, named as
 * client-go's recorder names them (`<object>.<hex nanoseconds>`). Recording never fails a
 * reconcile: an Event that cannot be written is logged and dropped, as client-go does.
 */
import { hostname } from 'node:os';
import type { CoreV1Event } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { resourceFor, type KubeClient } from './kube/client.js';
import type { Desired, Wire } from './kube/objects.js';
import { FIELD_MANAGER, type ObjectMeta } from './types.js';

const EVENT = resourceFor('v1', 'Event');

export type EventObject = Wire<Desired<CoreV1Event, 'Event'>>;

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

export interface EventNote {
  type: 'Normal' | 'Warning';
  /** A constant (REASON): tools filter on it. */
  reason: string;
  message: string;
}

export function buildEvent(
  involved: InvolvedObject,
  note: EventNote,
  now: Date,
  instance: string = hostname(),
): EventObject {
  const m = involved.metadata;
  const nanos = BigInt(now.getTime()) * 1_000_000n;
  const at = now.toISOString();
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${m.name}.${nanos.toString(16)}`, namespace: m.namespace ?? 'default' },
    involvedObject: {
      apiVersion: involved.apiVersion,
      kind: involved.kind,
      name: m.name,
      namespace: m.namespace ?? 'default',
      ...(m.uid ? { uid: m.uid } : {}),
      ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
    },
    type: note.type,
    reason: note.reason,
    // The API server refuses messages over 1 KiB.
    message: note.message.length > 1024 ? `${note.message.slice(0, 1021)}...` : note.message,
    source: { component: FIELD_MANAGER },
    reportingComponent: FIELD_MANAGER,
    reportingInstance: instance.slice(0, 128),
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
  };
}

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #log: Logger;

  constructor(client: KubeClient, log: Logger) {
    this.#client = client;
    this.#log = log;
  }

  async record(involved: InvolvedObject, note: EventNote): Promise<void> {
    const event = buildEvent(involved, note, new Date());
    try {
      await this.#client.create(EVENT, event);
    } catch (err) {
      this.#log.warn(
        { err: err instanceof Error ? err.message : String(err), reason: note.reason },
        'cannot record an Event',
      );
    }
  }
}
