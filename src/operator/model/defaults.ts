/**
 * The same defaults the CRD schema applies, in code: the API server defaults stored objects, but
 * the builders must also work on objects that never went through it (unit tests, old versions).
 */
import type { KafkaCluster, KafkaTopic } from '../types.js';
import { PORTS } from './names.js';

export const DEFAULT_IMAGE = 'sluice:latest';
export const DEFAULT_ETCD_IMAGE = 'quay.io/coreos/etcd:v3.5.17';

export function withClusterDefaults(c: KafkaCluster): KafkaCluster {
  const spec = c.spec ?? ({} as KafkaCluster['spec']);
  const listeners = spec.listeners ?? { internal: { port: PORTS.kafka } };
  return {
    ...c,
    metadata: { ...c.metadata, namespace: c.metadata.namespace ?? 'default' },
    spec: {
      ...spec,
      replicas: spec.replicas ?? 3,
      image: spec.image ?? DEFAULT_IMAGE,
      listeners: {
        internal: { port: listeners.internal?.port ?? PORTS.kafka },
        ...(listeners.external
          ? { external: { ...listeners.external, port: listeners.external.port ?? PORTS.external } }
          : {}),
      },
      storage: spec.storage ?? { type: 'ephemeral' },
      etcd: spec.etcd?.managed
        ? {
            managed: {
              replicas: spec.etcd.managed.replicas ?? 1,
              image: spec.etcd.managed.image ?? DEFAULT_ETCD_IMAGE,
              ...(spec.etcd.managed.storage ? { storage: spec.etcd.managed.storage } : {}),
            },
          }
        : { endpoints: spec.etcd?.endpoints ?? [] },
    },
  };
}

export function withTopicDefaults(t: KafkaTopic): KafkaTopic {
  return {
    ...t,
    spec: {
      ...t.spec,
      partitions: t.spec?.partitions ?? 1,
      replicas: t.spec?.replicas ?? 1,
      config: t.spec?.config ?? {},
    },
  };
}

export function topicName(t: KafkaTopic): string {
  return t.spec.topicName ?? t.metadata.name;
}
