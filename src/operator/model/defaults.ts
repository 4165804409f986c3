/**
 * The CRD schema's defaults, applied in code from the same schema (api/): the API server defaults
 * stored objects, but the builders must also work on objects that never went through it (unit
 * tests, objects stored before a default was added). A spec the schema rejects even after
 * defaulting (a required field without a default is missing, a value of the wrong type) throws a
 * SchemaError: the reconciler reports it as InvalidSpec instead of building from it.
 */
import { KafkaClusterSpecSchema } from '../api/kafka-cluster.js';
import { KafkaTopicSpecSchema } from '../api/kafka-topic.js';
import { SchemaError, schemaErrors, withDefaults } from '../api/structural.js';
import type { KafkaCluster, KafkaClusterSpec, KafkaTopic, KafkaTopicSpec, ObjectMeta } from '../types.js';

export { DEFAULT_ETCD_IMAGE, DEFAULT_IMAGE } from '../api/kafka-cluster.js';

/** Every property optional, at any depth: what a user may write before defaulting. */
export type DeepPartial<T> = T extends (infer U)[]
  ? DeepPartial<U>[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** A custom resource as written (or stored by an older CRD): spec not defaulted yet. */
export type Undefaulted<R extends { metadata: ObjectMeta; spec: unknown }> = Omit<R, 'metadata' | 'spec'> & {
  metadata: ObjectMeta;
  spec?: DeepPartial<R['spec']>;
};

function defaulted<T>(schema: Parameters<typeof withDefaults>[0], spec: unknown): T {
  const value = withDefaults(schema, spec);
  const errors = schemaErrors(schema, value);
  if (errors.length > 0) throw new SchemaError(errors);
  return value as T;
}

export function withClusterDefaults(c: Undefaulted<KafkaCluster>): KafkaCluster {
  return {
    ...c,
    metadata: { ...c.metadata, namespace: c.metadata.namespace ?? 'default' },
    spec: defaulted<KafkaClusterSpec>(KafkaClusterSpecSchema, c.spec),
  };
}

export function withTopicDefaults(t: Undefaulted<KafkaTopic>): KafkaTopic {
  return {
    ...t,
    metadata: { ...t.metadata, namespace: t.metadata.namespace ?? 'default' },
    spec: defaulted<KafkaTopicSpec>(KafkaTopicSpecSchema, t.spec),
  };
}

export function topicName(t: KafkaTopic): string {
  return t.spec.topicName ?? t.metadata.name;
}
