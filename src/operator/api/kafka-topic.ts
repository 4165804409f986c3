/**
 * KafkaTopic (sluice.dev/v1alpha1): the one definition of its spec and status (CRD schema, types
 * and defaults; see api/structural.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConditionsSchema, type CustomResource, type ResourceDefinition } from './common.js';
import { Int32, Int64, IntOrString, StringMap } from './structural.js';

export const KafkaTopicSpecSchema = Type.Object(
  {
    topicName: Type.Optional(
      Type.String({
        description: 'Name of the topic in Kafka; defaults to metadata.name.',
        minLength: 1,
        maxLength: 249,
        pattern: '^[a-zA-Z0-9._-]+$',
      }),
    ),
    partitions: Int32({
      description: 'Number of partitions; can grow, never shrink.',
      minimum: 1,
      maximum: 100000,
      default: 1,
    }),
    replicas: Int32({
      description: 'Replication factor; at most the number of brokers (checked by the operator).',
      minimum: 1,
      maximum: 32,
      default: 1,
    }),
    config: Type.Optional(
      StringMap(IntOrString(), {
        description:
          "Topic configs with Kafka's keys (retention.ms, cleanup.policy, min.insync.replicas, ...). The operator makes the topic's overrides equal to exactly this map.",
      }),
    ),
  },
  {
    'x-kubernetes-validations': [
      {
        rule: 'self.partitions >= oldSelf.partitions',
        message: 'spec.partitions cannot decrease (Kafka cannot remove partitions)',
      },
      {
        rule: 'has(self.topicName) == has(oldSelf.topicName) && (!has(self.topicName) || self.topicName == oldSelf.topicName)',
        message: 'spec.topicName is immutable',
      },
    ],
  },
);

export const KafkaTopicStatusSchema = Type.Object({
  observedGeneration: Type.Optional(Int64()),
  topicName: Type.Optional(Type.String()),
  topicId: Type.Optional(Type.String()),
  partitions: Type.Optional(Int32()),
  replicas: Type.Optional(Int32()),
  conditions: Type.Optional(ConditionsSchema),
});

export type KafkaTopicSpec = Static<typeof KafkaTopicSpecSchema>;
export type KafkaTopicStatus = Static<typeof KafkaTopicStatusSchema>;
export type KafkaTopic = CustomResource<'KafkaTopic', KafkaTopicSpec, KafkaTopicStatus>;

export const KAFKA_TOPIC_DEFINITION: ResourceDefinition = {
  kind: 'KafkaTopic',
  plural: 'kafkatopics',
  singular: 'kafkatopic',
  shortNames: ['kt'],
  comment: 'KafkaTopic: a Kafka topic declared as a Kubernetes resource.',
  description: 'A Kafka topic in the KafkaCluster named by the label sluice.dev/cluster (same namespace).',
  spec: KafkaTopicSpecSchema,
  status: KafkaTopicStatusSchema,
  printerColumns: [
    { name: 'Cluster', type: 'string', jsonPath: '.metadata.labels.sluice\\.dev/cluster' },
    { name: 'Topic', type: 'string', jsonPath: '.status.topicName' },
    { name: 'Partitions', type: 'integer', jsonPath: '.spec.partitions' },
    { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
