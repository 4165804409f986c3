/**
 * The operator's custom resources (sluice.dev/v1alpha1) and the constant names it uses for labels,
 * annotations, finalizers, condition types and reasons. The resources' types come from their one
 * schema definition in api/ (which also gives the CRDs in crds/ and the defaults); this module
 * re-exports them so the rest of the operator has one place to import from.
 */
export { API_VERSION, GROUP, VERSION } from './api/common.js';
export type { Condition, CustomResource, ObjectMeta, OwnerReference } from './api/common.js';
export type {
  BrokerStatus,
  ExternalListenerType,
  KafkaCluster,
  KafkaClusterSpec,
  KafkaClusterStatus,
  ListenerStatus,
  PodRepair,
  StuckReason,
} from './api/kafka-cluster.js';
export { STUCK_REASONS } from './api/kafka-cluster.js';
export type { KafkaTopic, KafkaTopicSpec, KafkaTopicStatus } from './api/kafka-topic.js';

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
  /** The roller replaced a broker pod stuck on an old revision (status.lastPodRepair says why). */
  StuckPodReplaced: 'StuckPodReplaced',
  /** Partition reassignments for a scale-up or a scale-down in progress (model/rebalance.ts). */
  Rebalancing: 'Rebalancing',
  /** Event: the reassignments finished, every ISR full, preferred leaders elected. */
  Rebalanced: 'Rebalanced',
  /** A scale-down refused: some partition has more replicas than the brokers that would remain. */
  ScaleDownBlocked: 'ScaleDownBlocked',
} as const;
