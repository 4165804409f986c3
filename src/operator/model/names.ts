/**
 * Names and labels of every object the operator makes for a KafkaCluster. One place, so builders,
 * reconcilers, the chart's RBAC and the tests agree.
 */
import { LABELS, type KafkaCluster } from '../types.js';

export const PORTS = {
  kafka: 9092,
  control: 9091,
  metrics: 9404,
  external: 9094,
  etcdClient: 2379,
  etcdPeer: 2380,
} as const;

export const names = {
  configMap: (c: string) => `${c}-config`,
  statefulSet: (c: string) => `${c}-broker`,
  headlessService: (c: string) => `${c}-brokers`,
  bootstrapService: (c: string) => `${c}-bootstrap`,
  externalBootstrapService: (c: string) => `${c}-external-bootstrap`,
  externalBrokerService: (c: string, id: number) => `${c}-broker-${id}-external`,
  pdb: (c: string) => `${c}-broker`,
  serviceAccount: (c: string) => `${c}-broker`,
  serviceMonitor: (c: string) => `${c}-broker`,
  etcdStatefulSet: (c: string) => `${c}-etcd`,
  etcdService: (c: string) => `${c}-etcd`,
  pod: (c: string, id: number) => `${c}-broker-${id}`,
};

/** Labels selecting a cluster's broker pods (immutable once the StatefulSet exists). */
export function brokerSelector(cluster: KafkaCluster): Record<string, string> {
  return { [LABELS.name]: 'sluice', [LABELS.instance]: cluster.metadata.name, [LABELS.component]: 'broker' };
}

export function etcdSelector(cluster: KafkaCluster): Record<string, string> {
  return { [LABELS.name]: 'sluice', [LABELS.instance]: cluster.metadata.name, [LABELS.component]: 'etcd' };
}

/** Labels every object gets (selector labels plus ownership). */
export function commonLabels(cluster: KafkaCluster, component: string): Record<string, string> {
  return {
    [LABELS.name]: 'sluice',
    [LABELS.instance]: cluster.metadata.name,
    [LABELS.component]: component,
    [LABELS.managedBy]: 'sluice-operator',
    [LABELS.partOf]: 'sluice',
  };
}

export function selectorString(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** A broker's stable DNS name inside the cluster (through the headless Service). */
export function brokerHost(cluster: KafkaCluster, id: number): string {
  return `${names.pod(cluster.metadata.name, id)}.${names.headlessService(cluster.metadata.name)}.${cluster.metadata.namespace}.svc`;
}

export function internalBootstrap(cluster: KafkaCluster): string {
  return `${names.bootstrapService(cluster.metadata.name)}.${cluster.metadata.namespace}.svc:${cluster.spec.listeners.internal.port}`;
}

export function kafkaClusterId(cluster: KafkaCluster): string {
  return `${cluster.metadata.namespace}-${cluster.metadata.name}`;
}
