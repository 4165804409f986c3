/**
 * Rack awareness needs the broker pods' init container (`sluice operator rack`) to read its Node,
 * a cluster-scoped object: the cluster's broker ServiceAccount gets a ClusterRoleBinding to the
 * ClusterRole the chart ships (get on nodes, nothing else). The operator itself only holds `bind`
 * on that one ClusterRole (Kubernetes' RBAC escalation check), not node access.
 *
 * A cluster-scoped object cannot have a namespaced owner, so the binding is cleaned up through a
 * finalizer on the KafkaCluster: added before the binding is created, removed after it is deleted
 * (when the KafkaCluster is deleted, or spec.rack is removed).
 */
import { createHash } from 'node:crypto';
import type { V1ClusterRoleBinding } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { resourceFor, type KubeClient } from './kube/client.js';
import type { Desired } from './kube/objects.js';
import { names } from './model/names.js';
import {
  API_VERSION,
  CLUSTER_FINALIZER,
  FIELD_MANAGER,
  LABELS,
  type KafkaCluster,
  type ObjectMeta,
} from './types.js';

/** What the cleanup needs of a KafkaCluster: its metadata (also of one whose spec is invalid). */
type ClusterMeta = { metadata: ObjectMeta };

const CLUSTER_ROLE_BINDING = resourceFor('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding');
const KAFKA_CLUSTER = resourceFor(API_VERSION, 'KafkaCluster');

/** `sluice-<namespace>-<cluster>-broker`, shortened with a hash past 253 characters. */
export function rackClusterRoleBindingName(cluster: ClusterMeta): string {
  const full = `sluice-${cluster.metadata.namespace ?? 'default'}-${cluster.metadata.name}-broker`;
  if (full.length <= 253) return full;
  const h = createHash('sha256').update(full).digest('hex').slice(0, 10);
  return `${full.slice(0, 242)}-${h}`;
}

export function buildRackClusterRoleBinding(
  cluster: KafkaCluster,
  clusterRole: string,
): Desired<V1ClusterRoleBinding, 'ClusterRoleBinding'> {
  const ns = cluster.metadata.namespace;
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: {
      name: rackClusterRoleBindingName(cluster),
      labels: {
        [LABELS.name]: 'sluice',
        [LABELS.instance]: cluster.metadata.name,
        [LABELS.component]: 'broker',
        [LABELS.managedBy]: 'sluice-operator',
        [LABELS.partOf]: 'sluice',
        'sluice.dev/cluster-namespace': ns,
      },
    },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: [{ kind: 'ServiceAccount', name: names.serviceAccount(cluster.metadata.name), namespace: ns }],
  };
}

export function hasClusterFinalizer(cluster: ClusterMeta): boolean {
  return (cluster.metadata.finalizers ?? []).includes(CLUSTER_FINALIZER);
}

/**
 * Step "rack RBAC" of a live KafkaCluster: with spec.rack, finalizer then binding (server-side
 * apply); without it, a binding left from before is deleted and the finalizer removed.
 */
export async function reconcileRackRbac(
  client: KubeClient,
  cluster: KafkaCluster,
  clusterRole: string,
  log: Logger,
): Promise<void> {
  if (cluster.spec.rack) {
    if (!hasClusterFinalizer(cluster)) {
      await client.jsonPatch(KAFKA_CLUSTER, cluster.metadata.namespace, cluster.metadata.name, [
        { op: 'test', path: '/metadata/resourceVersion', value: cluster.metadata.resourceVersion },
        cluster.metadata.finalizers
          ? { op: 'add', path: '/metadata/finalizers/-', value: CLUSTER_FINALIZER }
          : { op: 'add', path: '/metadata/finalizers', value: [CLUSTER_FINALIZER] },
      ]);
    }
    await client.apply(buildRackClusterRoleBinding(cluster, clusterRole), FIELD_MANAGER);
    return;
  }
  if (hasClusterFinalizer(cluster)) await finalizeCluster(client, cluster, log);
}

/** Deletes the cluster-scoped objects of a KafkaCluster, then removes its finalizer. */
export async function finalizeCluster(client: KubeClient, cluster: ClusterMeta, log: Logger): Promise<void> {
  const name = rackClusterRoleBindingName(cluster);
  if (await client.delete(CLUSTER_ROLE_BINDING, undefined, name))
    log.info({ clusterRoleBinding: name }, 'deleted the broker ClusterRoleBinding');
  const finalizers = cluster.metadata.finalizers ?? [];
  const i = finalizers.indexOf(CLUSTER_FINALIZER);
  if (i < 0) return;
  await client.jsonPatch(KAFKA_CLUSTER, cluster.metadata.namespace, cluster.metadata.name, [
    { op: 'test', path: `/metadata/finalizers/${i}`, value: CLUSTER_FINALIZER },
    { op: 'remove', path: `/metadata/finalizers/${i}` },
  ]);
}
