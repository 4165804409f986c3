/**
 * What both custom resources share: the object envelope (apiVersion, kind, metadata) and status
 * conditions (metav1.Condition's shape).
 */
import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { Int64, StringEnum } from './structural.js';

export const GROUP = 'sluice.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/**
 * The metadata the operator reads and writes. The CRD schema says only `type: object` here: the
 * API server validates metadata itself, whatever a CRD says.
 */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export const ConditionSchema = Type.Object({
  type: Type.String(),
  status: StringEnum(['True', 'False', 'Unknown']),
  reason: Type.String(),
  message: Type.String(),
  lastTransitionTime: Type.String({ format: 'date-time' }),
  observedGeneration: Type.Optional(Int64()),
});
export type Condition = Static<typeof ConditionSchema>;

/** status.conditions: a list keyed by type (server-side apply merges it by type). */
export const ConditionsSchema = Type.Array(ConditionSchema, {
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
});

/** A namespaced custom resource: the envelope around a spec and a status. */
export interface CustomResource<K extends string, Spec, Status> {
  apiVersion: string;
  kind: K;
  metadata: ObjectMeta & { namespace: string };
  spec: Spec;
  status?: Status;
}

/** A printer column of `kubectl get`. */
export interface PrinterColumn {
  name: string;
  type: 'integer' | 'number' | 'string' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

/** What gen-crds needs to know about one custom resource. */
export interface ResourceDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  /** One line above the generated YAML. */
  comment: string;
  description: string;
  spec: TSchema;
  status: TObject;
  printerColumns: PrinterColumn[];
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
}
