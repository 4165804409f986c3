/**
 * KafkaCluster (sluice.dev/v1alpha1): the one definition of its spec and status. The CRD's
 * OpenAPI schema (crds/sluice.dev_kafkaclusters.yaml, by `npm run gen:crds`), the TypeScript types
 * and the defaults applied in code all come from here (api/structural.ts says how).
 */
import type { V1Affinity, V1Toleration } from '@kubernetes/client-node';
import { Type, type Static } from '@sinclair/typebox';
import { ConditionsSchema, type CustomResource, type ResourceDefinition } from './common.js';
import {
  Int32,
  Int64,
  IntEnum,
  IntOrString,
  Preserved,
  StringEnum,
  StringMap,
  type ValidationRule,
} from './structural.js';

export const DEFAULT_IMAGE = 'sluice:latest';
export const DEFAULT_ETCD_IMAGE = 'quay.io/coreos/etcd:v3.5.17';
export const DEFAULT_KAFKA_PORT = 9092;
export const DEFAULT_EXTERNAL_PORT = 9094;

const rules = (...r: ValidationRule[]) => ({ 'x-kubernetes-validations': r });

const ExternalListenerSchema = Type.Object(
  {
    type: StringEnum(['NodePort', 'LoadBalancer']),
    port: Int32({
      description: 'Port clients connect to on the external Services (LoadBalancer).',
      minimum: 1,
      maximum: 65535,
      default: DEFAULT_EXTERNAL_PORT,
    }),
    nodePorts: Type.Optional(
      Type.Array(Int32({ minimum: 30000, maximum: 32767 }), {
        description: 'NodePort per broker id (NodePort only); unset entries are allocated.',
      }),
    ),
    annotations: Type.Optional(
      StringMap(Type.String(), { description: 'Annotations of the external Services.' }),
    ),
  },
  {
    description: 'Expose brokers outside the cluster, one Service per broker plus a bootstrap Service.',
    ...rules({
      rule: "self.type == 'NodePort' || !has(self.nodePorts)",
      message: 'listeners.external.nodePorts is only valid with type NodePort',
    }),
  },
);

const StorageSchema = Type.Object(
  {
    type: StringEnum(['ephemeral', 'persistent-claim']),
    sizeLimit: Type.Optional(Type.String({ description: 'emptyDir size limit (ephemeral only).' })),
    size: Type.Optional(
      Type.String({
        description: 'Volume size (persistent-claim), e.g. 100Gi.',
        pattern: '^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$',
      }),
    ),
    class: Type.Optional(
      Type.String({ description: 'StorageClass (persistent-claim); cluster default when unset.' }),
    ),
    deleteClaim: Type.Boolean({
      description: 'Delete the PersistentVolumeClaims when the KafkaCluster is deleted.',
      default: false,
    }),
  },
  {
    description: "The brokers' log storage.",
    default: { type: 'ephemeral' },
    ...rules(
      {
        rule: "self.type != 'persistent-claim' || has(self.size)",
        message: 'storage.size is required for persistent-claim storage',
      },
      { rule: 'self.type == oldSelf.type', message: 'storage.type cannot change' },
    ),
  },
);

const EtcdSchema = Type.Object(
  {
    endpoints: Type.Optional(
      Type.Array(Type.String({ pattern: '^https?://' }), {
        description: 'Client URLs of an existing etcd.',
        minItems: 1,
      }),
    ),
    managed: Type.Optional(
      Type.Object(
        {
          replicas: IntEnum([1, 3, 5], { default: 1 }),
          image: Type.String({ default: DEFAULT_ETCD_IMAGE }),
          storage: Type.Optional(Type.Object({ size: Type.String(), class: Type.Optional(Type.String()) })),
        },
        { description: 'An etcd the operator runs for this cluster (a StatefulSet).' },
      ),
    ),
  },
  {
    description: 'Where cluster metadata lives. Exactly one of endpoints (an existing etcd) or managed.',
    ...rules({
      rule: 'has(self.endpoints) != has(self.managed)',
      message: 'set exactly one of etcd.endpoints or etcd.managed',
    }),
  },
);

export const KafkaClusterSpecSchema = Type.Object({
  replicas: Int32({
    description: 'Number of brokers (node ids 0..replicas-1, one per pod).',
    minimum: 1,
    maximum: 64,
    default: 3,
  }),
  image: Type.String({
    description: 'Sluice container image (the same image runs the broker and the operator).',
    minLength: 1,
    default: DEFAULT_IMAGE,
  }),
  imagePullPolicy: StringEnum(['Always', 'IfNotPresent', 'Never'], { default: 'IfNotPresent' }),
  listeners: Type.Object(
    {
      internal: Type.Object(
        {
          port: Int32({ minimum: 1024, maximum: 65535, default: DEFAULT_KAFKA_PORT }),
        },
        { description: 'The listener inside the cluster, also used between brokers.', default: {} },
      ),
      external: Type.Optional(ExternalListenerSchema),
    },
    { default: {} },
  ),
  config: Type.Optional(
    StringMap(IntOrString(), {
      description:
        "Broker configs with Kafka's keys. Dynamic keys are applied live; others restart brokers one at a time. Keys the operator owns (node.id, listeners, log.dirs, broker.rack, ...) are rejected.",
    }),
  ),
  storage: StorageSchema,
  resources: Type.Optional(
    Type.Object(
      {
        requests: Type.Optional(StringMap(IntOrString())),
        limits: Type.Optional(StringMap(IntOrString())),
      },
      { description: 'Broker container resources (requests, limits).' },
    ),
  ),
  rack: Type.Optional(
    Type.Object(
      { topologyKey: Type.String({ minLength: 1 }) },
      { description: "Rack awareness. Each broker's broker.rack is its node's value of this label." },
    ),
  ),
  etcd: EtcdSchema,
  metrics: Type.Optional(
    Type.Object({
      serviceMonitor: Type.Optional(
        Type.Object(
          {
            enabled: Type.Boolean({ default: false }),
            interval: Type.String({ default: '30s' }),
            labels: Type.Optional(StringMap(Type.String())),
          },
          { description: 'A Prometheus operator ServiceMonitor for the brokers.' },
        ),
      ),
    }),
  ),
  template: Type.Optional(
    Type.Object({
      pod: Type.Optional(
        Type.Object(
          {
            affinity: Type.Optional(Preserved<V1Affinity>()),
            tolerations: Type.Optional(Type.Array(Preserved<V1Toleration>())),
            annotations: Type.Optional(StringMap(Type.String())),
            labels: Type.Optional(StringMap(Type.String())),
          },
          { description: 'Added to the broker pod template.' },
        ),
      ),
    }),
  ),
});

export const ListenerStatusSchema = Type.Object({
  name: Type.String(),
  type: Type.String(),
  bootstrapServers: Type.String(),
});

export const BrokerStatusSchema = Type.Object({
  id: Int32(),
  ready: Type.Boolean(),
  pendingRestart: Type.Optional(Type.Boolean()),
});

/**
 * Why the roller replaced a broker pod without the restart gate: the pod was on an old revision
 * and served nothing (roller.ts, stuck-pod.ts). Constant: tools and alerts match on it.
 */
export const STUCK_REASONS = [
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'CreateContainerError',
  'Unschedulable',
  'NeverReady',
] as const;

export const PodRepairSchema = Type.Object(
  {
    pod: Type.String(),
    brokerId: Int32(),
    reason: StringEnum(STUCK_REASONS),
    message: Type.String(),
    time: Type.String({ format: 'date-time' }),
    fromRevision: Type.Optional(Type.String()),
    toRevision: Type.Optional(Type.String()),
  },
  {
    description:
      'The last broker pod the operator replaced because it was stuck on an old revision (crash-looping, unschedulable, never Ready).',
  },
);

export const KafkaClusterStatusSchema = Type.Object({
  observedGeneration: Type.Optional(Int64()),
  replicas: Type.Optional(Int32()),
  readyReplicas: Type.Optional(Int32()),
  labelSelector: Type.Optional(Type.String()),
  controllerId: Type.Optional(Int32()),
  listeners: Type.Optional(Type.Array(ListenerStatusSchema)),
  brokers: Type.Optional(Type.Array(BrokerStatusSchema)),
  lastPodRepair: Type.Optional(PodRepairSchema),
  conditions: Type.Optional(ConditionsSchema),
});

export type KafkaClusterSpec = Static<typeof KafkaClusterSpecSchema>;
export type KafkaClusterStatus = Static<typeof KafkaClusterStatusSchema>;
export type ListenerStatus = Static<typeof ListenerStatusSchema>;
export type BrokerStatus = Static<typeof BrokerStatusSchema>;
export type PodRepair = Static<typeof PodRepairSchema>;
export type StuckReason = (typeof STUCK_REASONS)[number];
export type ExternalListenerType = Static<typeof ExternalListenerSchema>['type'];
export type KafkaCluster = CustomResource<'KafkaCluster', KafkaClusterSpec, KafkaClusterStatus>;

export const KAFKA_CLUSTER_DEFINITION: ResourceDefinition = {
  kind: 'KafkaCluster',
  plural: 'kafkaclusters',
  singular: 'kafkacluster',
  shortNames: ['kc'],
  comment: 'KafkaCluster: a Sluice cluster (brokers, their Services, config, storage, etcd).',
  description: 'A Sluice (Kafka-compatible) cluster managed by the Sluice operator.',
  spec: KafkaClusterSpecSchema,
  status: KafkaClusterStatusSchema,
  scale: {
    specReplicasPath: '.spec.replicas',
    statusReplicasPath: '.status.replicas',
    labelSelectorPath: '.status.labelSelector',
  },
  printerColumns: [
    { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
    { name: 'Ready-Brokers', type: 'integer', jsonPath: '.status.readyReplicas' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
    { name: 'Controller', type: 'integer', jsonPath: '.status.controllerId', priority: 1 },
    {
      name: 'Bootstrap',
      type: 'string',
      jsonPath: '.status.listeners[?(@.name=="internal")].bootstrapServers',
      priority: 1,
    },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
