/**
 * The operator's custom resources (sluice.dev/v1alpha1) as TypeScript types, the constant names it
 * uses for labels, annotations, finalizers, condition types and reasons. The CRDs in crds/ are the
 * schema the API server enforces; these types mirror them after defaulting.
 */
export const GROUP = 'sluice.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

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

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

// ---------------------------------------------------------------------------------------------
// KafkaCluster

export type ExternalListenerType = 'NodePort' | 'LoadBalancer';

export interface KafkaClusterSpec {
  replicas: number;
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  listeners: {
    internal: { port: number };
    external?: {
      type: ExternalListenerType;
      port: number;
      nodePorts?: number[];
      annotations?: Record<string, string>;
    };
  };
  /** Kafka broker configs (Kafka's keys); values are strings. */
  config?: Record<string, string>;
  storage:
    | { type: 'ephemeral'; sizeLimit?: string }
    | { type: 'persistent-claim'; size: string; class?: string; deleteClaim?: boolean };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  rack?: { topologyKey: string };
  etcd: {
    endpoints?: string[];
    managed?: { replicas: number; image: string; storage?: { size: string; class?: string } };
  };
  metrics?: { serviceMonitor?: { enabled: boolean; interval?: string; labels?: Record<string, string> } };
  template?: {
    pod?: {
      affinity?: Record<string, unknown>;
      tolerations?: Record<string, unknown>[];
      annotations?: Record<string, string>;
      labels?: Record<string, string>;
    };
  };
}

export interface ListenerStatus {
  name: string;
  type: string;
  bootstrapServers: string;
}

export interface BrokerStatus {
  id: number;
  ready: boolean;
  pendingRestart?: boolean;
}

export interface KafkaClusterStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  listeners?: ListenerStatus[];
  brokers?: BrokerStatus[];
  controllerId?: number;
  replicas?: number;
  readyReplicas?: number;
  labelSelector?: string;
}

export interface KafkaCluster {
  apiVersion: string;
  kind: 'KafkaCluster';
  metadata: ObjectMeta;
  spec: KafkaClusterSpec;
  status?: KafkaClusterStatus;
}

// ---------------------------------------------------------------------------------------------
// KafkaTopic

export interface KafkaTopicSpec {
  topicName?: string;
  partitions: number;
  replicas: number;
  config?: Record<string, string>;
}

export interface KafkaTopicStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  topicName?: string;
  topicId?: string;
  partitions?: number;
  replicas?: number;
}

export interface KafkaTopic {
  apiVersion: string;
  kind: 'KafkaTopic';
  metadata: ObjectMeta;
  spec: KafkaTopicSpec;
  status?: KafkaTopicStatus;
}

// ---------------------------------------------------------------------------------------------
// Names

export const LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  managedBy: 'app.kubernetes.io/managed-by',
  partOf: 'app.kubernetes.io/part-of',
  /** On a KafkaTopic: the KafkaCluster (same namespace) it belongs to. */
  cluster: 'sluice.dev/cluster',
  brokerId: 'sluice.dev/broker-id',
} as const;

export const ANNOTATIONS = {
  /** Hash of everything in a broker's static config: a change means a restart. */
  configHash: 'sluice.dev/config-hash',
  /** On a KafkaTopic: "retain" keeps the Kafka topic when the resource is deleted. */
  deletionPolicy: 'sluice.dev/deletion-policy',
  /** On a broker pod: the operator asked for a restart of this pod (manual roll). */
  manualRestart: 'sluice.dev/manual-restart',
} as const;

export const TOPIC_FINALIZER = 'sluice.dev/topic-finalizer';
/**
 * On a KafkaCluster with spec.rack: its broker pods' ClusterRoleBinding is cluster-scoped, so no
 * owner reference can delete it; the operator deletes it, then removes this finalizer.
 */
export const CLUSTER_FINALIZER = 'sluice.dev/cluster-finalizer';
/** The ClusterRole (shipped by the chart) that lets broker pods read their Node's labels. */
export const DEFAULT_BROKER_CLUSTER_ROLE = 'sluice-broker';
export const FIELD_MANAGER = 'sluice-operator';

export const CONDITION = { Ready: 'Ready', Reconciling: 'Reconciling', Degraded: 'Degraded' } as const;

/** Constant reasons: tools and alerts match on them, so never build them from data. */
export const REASON = {
  Ready: 'Ready',
  Reconciled: 'Reconciled',
  Creating: 'Creating',
  Progressing: 'Progressing',
  WaitingForBrokers: 'WaitingForBrokers',
  RestartPending: 'RestartPending',
  RestartBlocked: 'RestartBlocked',
  Restarting: 'Restarting',
  InvalidConfig: 'InvalidConfig',
  InvalidSpec: 'InvalidSpec',
  ApiError: 'ApiError',
  KafkaError: 'KafkaError',
  ClusterNotFound: 'ClusterNotFound',
  ClusterUnreachable: 'ClusterUnreachable',
  PartitionDecreaseRejected: 'PartitionDecreaseRejected',
  ReplicationFactorChangeRejected: 'ReplicationFactorChangeRejected',
  /** A replication-factor change: partition reassignments submitted and not finished yet. */
  ReassignmentInProgress: 'ReassignmentInProgress',
  InsufficientBrokers: 'InsufficientBrokers',
  TopicCreated: 'TopicCreated',
  Healthy: 'Healthy',
  UnderReplicated: 'UnderReplicated',
  BrokersNotReady: 'BrokersNotReady',
  WaitingForExternalAddresses: 'WaitingForExternalAddresses',
} as const;
