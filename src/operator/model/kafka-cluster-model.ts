/**
 * Pure builders: a KafkaCluster in, the exact Kubernetes objects it needs out (Strimzi's
 * model/KafkaCluster.java). No I/O and no clock, so unit tests compare whole objects. The
 * reconciler applies them with server-side apply, in the order of `desiredObjects()`.
 */
import type {
  V1ConfigMap,
  V1Container,
  V1OwnerReference,
  V1PodDisruptionBudget,
  V1PodSpec,
  V1ResourceRequirements,
  V1Service,
  V1ServiceAccount,
  V1ServicePort,
  V1StatefulSet,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { SchemaError } from '../api/structural.js';
import type { Desired, ServiceMonitor } from '../kube/objects.js';
import type { KafkaCluster } from '../types.js';
import { ANNOTATIONS, API_VERSION, LABELS } from '../types.js';
import { hashOf, planBrokerConfig, toProperties, type BrokerConfigPlan } from './broker-config.js';
import {
  EXTERNAL,
  EXTERNAL_ADVERTISED_ENV,
  INTERNAL,
  externalAdvertisedEnv,
  externalContainerPort,
  listenerBrokerConfig,
  type ExternalAddress,
} from './listeners.js';
import {
  PORTS,
  brokerHost,
  brokerSelector,
  commonLabels,
  etcdSelector,
  kafkaClusterId,
  names,
  selectorString,
} from './names.js';

export type ConfigMapObject = Desired<V1ConfigMap, 'ConfigMap'>;
export type ServiceObject = Desired<V1Service, 'Service'>;
export type StatefulSetObject = Desired<V1StatefulSet, 'StatefulSet'>;
export type PodDisruptionBudgetObject = Desired<V1PodDisruptionBudget, 'PodDisruptionBudget'>;
export type ServiceAccountObject = Desired<V1ServiceAccount, 'ServiceAccount'>;
export type ServiceMonitorObject = Desired<ServiceMonitor, 'ServiceMonitor'>;

/** Every kind of object a KafkaCluster is made of. */
export type KubeObject =
  | ConfigMapObject
  | ServiceObject
  | StatefulSetObject
  | PodDisruptionBudgetObject
  | ServiceAccountObject
  | ServiceMonitorObject;

const DATA_DIR = '/var/lib/sluice';
const CONFIG_DIR = '/etc/sluice';
const RACK_DIR = '/etc/sluice-rack';
const MAIN = '/app/dist/src/cli/main.js';

export function ownerReference(cluster: KafkaCluster): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: 'KafkaCluster',
    name: cluster.metadata.name,
    uid: cluster.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

function meta(
  cluster: KafkaCluster,
  name: string,
  component: string,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
) {
  const m: KubeObject['metadata'] = {
    name,
    namespace: cluster.metadata.namespace,
    labels: { ...commonLabels(cluster, component), ...(extra.labels ?? {}) },
    ownerReferences: [ownerReference(cluster)],
  };
  if (extra.annotations && Object.keys(extra.annotations).length > 0) m.annotations = extra.annotations;
  return m;
}

/** The etcd endpoints the brokers use: the user's, or the managed etcd's members. */
export function etcdEndpoints(cluster: KafkaCluster): string[] {
  const { etcd } = cluster.spec;
  if (etcd.managed) {
    const n = names.etcdStatefulSet(cluster.metadata.name);
    const svc = names.etcdService(cluster.metadata.name);
    return Array.from(
      { length: etcd.managed.replicas },
      (_, i) => `http://${n}-${i}.${svc}.${cluster.metadata.namespace}.svc:${PORTS.etcdClient}`,
    );
  }
  return etcd.endpoints ?? [];
}

/**
 * What the CRD's CEL rules enforce on the API server, checked again in code for objects that never
 * went through it (the schema's other checks run in withClusterDefaults). Empty when valid.
 */
export function clusterSpecProblems(cluster: KafkaCluster): string[] {
  const { etcd, storage, listeners } = cluster.spec;
  const problems: string[] = [];
  if ((etcd.endpoints !== undefined) === (etcd.managed !== undefined))
    problems.push('set exactly one of etcd.endpoints or etcd.managed');
  if (storage.type === 'persistent-claim' && !storage.size)
    problems.push('storage.size is required for persistent-claim storage');
  if (listeners.external && listeners.external.type !== 'NodePort' && listeners.external.nodePorts)
    problems.push('listeners.external.nodePorts is only valid with type NodePort');
  return problems;
}

/** spec.storage when it is persistent-claim (its size is required then), else null. */
export function persistentStorage(
  cluster: KafkaCluster,
): { size: string; class?: string; deleteClaim: boolean } | null {
  const s = cluster.spec.storage;
  if (s.type !== 'persistent-claim') return null;
  if (!s.size) throw new SchemaError(['storage.size is required for persistent-claim storage']);
  return { size: s.size, deleteClaim: s.deleteClaim, ...(s.class ? { class: s.class } : {}) };
}

/** spec.resources as a container's: quantities are strings in the API (YAML may give numbers). */
function resourceRequirements(r: NonNullable<KafkaCluster['spec']['resources']>): V1ResourceRequirements {
  const quantities = (m: Record<string, string | number> | undefined) =>
    m && Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)]));
  return {
    ...(r.requests ? { requests: quantities(r.requests) } : {}),
    ...(r.limits ? { limits: quantities(r.limits) } : {}),
  };
}

export function brokerConfigPlan(cluster: KafkaCluster): BrokerConfigPlan {
  return planBrokerConfig(cluster.spec.config, cluster.spec.replicas, listenerBrokerConfig(cluster));
}

/**
 * What a broker pod must be restarted for: the static config and everything in the pod template
 * that the StatefulSet would roll anyway. Dynamic configs are left out on purpose.
 */
export function restartHash(cluster: KafkaCluster, plan = brokerConfigPlan(cluster)): string {
  return hashOf({ static: plan.static, etcd: etcdEndpoints(cluster), rack: cluster.spec.rack ?? null });
}

export function buildConfigMap(cluster: KafkaCluster, plan = brokerConfigPlan(cluster)): ConfigMapObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(cluster, names.configMap(cluster.metadata.name), 'broker'),
    data: { 'server.properties': toProperties(plan.all) },
  };
}

export function buildHeadlessService(cluster: KafkaCluster): ServiceObject {
  const port = cluster.spec.listeners.internal.port;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(cluster, names.headlessService(cluster.metadata.name), 'broker'),
    spec: {
      clusterIP: 'None',
      // Brokers must find each other (and the controller) before they are Ready.
      publishNotReadyAddresses: true,
      selector: brokerSelector(cluster),
      ports: [
        { name: 'kafka', port, targetPort: port, protocol: 'TCP' },
        { name: 'control', port: PORTS.control, targetPort: PORTS.control, protocol: 'TCP' },
        { name: 'metrics', port: PORTS.metrics, targetPort: PORTS.metrics, protocol: 'TCP' },
      ],
    },
  };
}

export function buildBootstrapService(cluster: KafkaCluster): ServiceObject {
  const port = cluster.spec.listeners.internal.port;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(cluster, names.bootstrapService(cluster.metadata.name), 'broker'),
    spec: {
      type: 'ClusterIP',
      selector: brokerSelector(cluster),
      ports: [{ name: 'kafka', port, targetPort: port, protocol: 'TCP' }],
    },
  };
}

/** External listener: one Service per broker (clients reach a named broker) plus a bootstrap. */
export function buildExternalServices(cluster: KafkaCluster): ServiceObject[] {
  const ext = cluster.spec.listeners.external;
  if (!ext) return [];
  const target = externalContainerPort(cluster);
  const out: ServiceObject[] = [];
  const annotations = ext.annotations ?? {};
  out.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(cluster, names.externalBootstrapService(cluster.metadata.name), 'broker', { annotations }),
    spec: {
      type: ext.type,
      selector: brokerSelector(cluster),
      ports: [{ name: 'kafka-external', port: ext.port, targetPort: target, protocol: 'TCP' }],
    },
  });
  for (let id = 0; id < cluster.spec.replicas; id++) {
    const port: V1ServicePort = {
      name: 'kafka-external',
      port: ext.port,
      targetPort: target,
      protocol: 'TCP',
    };
    const nodePort = ext.nodePorts?.[id];
    if (ext.type === 'NodePort' && nodePort !== undefined) port.nodePort = nodePort;
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(cluster, names.externalBrokerService(cluster.metadata.name, id), 'broker', {
        labels: { [LABELS.brokerId]: String(id) },
        annotations,
      }),
      spec: {
        type: ext.type,
        selector: {
          ...brokerSelector(cluster),
          'statefulset.kubernetes.io/pod-name': names.pod(cluster.metadata.name, id),
        },
        ports: [port],
      },
    });
  }
  return out;
}

export function buildPodDisruptionBudget(cluster: KafkaCluster): PodDisruptionBudgetObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(cluster, names.pdb(cluster.metadata.name), 'broker'),
    spec: { maxUnavailable: 1, selector: { matchLabels: brokerSelector(cluster) } },
  };
}

export function buildServiceAccount(cluster: KafkaCluster): ServiceAccountObject {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: meta(cluster, names.serviceAccount(cluster.metadata.name), 'broker'),
  };
}

/**
 * The shell line that starts a broker: its node id is the pod's ordinal; listeners come from
 * server.properties, advertised.listeners is composed here per pod (model/listeners.ts): INTERNAL
 * is the pod's DNS name, EXTERNAL this broker's entry of SLUICE_EXTERNAL_ADVERTISED, ":port" entries
 * taking the node's address (NODE_IP).
 */
export function brokerCommand(cluster: KafkaCluster): string {
  const c = cluster.metadata.name;
  const port = cluster.spec.listeners.internal.port;
  const lines = [
    'set -e',
    'ID="${HOSTNAME##*-}"',
    `ADVERTISED="${INTERNAL}://$HOSTNAME.${names.headlessService(c)}.$POD_NAMESPACE.svc:${port}"`,
  ];
  if (cluster.spec.listeners.external)
    lines.push(
      'EXTERNAL=""',
      `for a in $${EXTERNAL_ADVERTISED_ENV}; do case "$a" in "$ID="*) EXTERNAL="\${a#*=}" ;; esac; done`,
      `if [ -z "$EXTERNAL" ]; then echo "no external address for broker $ID in ${EXTERNAL_ADVERTISED_ENV}" >&2; exit 1; fi`,
      'case "$EXTERNAL" in :*) EXTERNAL="$NODE_IP$EXTERNAL" ;; esac',
      `ADVERTISED="$ADVERTISED,${EXTERNAL}://$EXTERNAL"`,
    );
  lines.push(
    'RACK_ARGS=""',
    `if [ -s ${RACK_DIR}/rack ]; then RACK_ARGS="--override broker.rack=$(cat ${RACK_DIR}/rack)"; fi`,
    `exec node ${MAIN} broker --node-id "$ID" --override "advertised.listeners=$ADVERTISED"` +
      ` --control-listen 0.0.0.0:${PORTS.control} --metrics-listen 0.0.0.0:${PORTS.metrics}` +
      ` --config ${CONFIG_DIR}/server.properties --data-dir ${DATA_DIR}/data` +
      ` --etcd "$SLUICE_ETCD" --cluster-id "$SLUICE_CLUSTER_ID" $RACK_ARGS`,
  );
  return lines.join('\n');
}

/**
 * `external`: each broker's EXTERNAL address (model/listeners.ts externalAddresses), required when
 * spec.listeners.external is set.
 */
export function buildStatefulSet(
  cluster: KafkaCluster,
  plan = brokerConfigPlan(cluster),
  external: Map<number, ExternalAddress> = new Map(),
): StatefulSetObject {
  const c = cluster.metadata.name;
  const spec = cluster.spec;
  const port = spec.listeners.internal.port;
  const podTpl = spec.template?.pod ?? {};
  const persistent = persistentStorage(cluster);
  const volumes: V1Volume[] = [{ name: 'config', configMap: { name: names.configMap(c) } }];
  if (!persistent) {
    const sizeLimit = spec.storage.sizeLimit;
    volumes.push({ name: 'data', emptyDir: sizeLimit ? { sizeLimit } : {} });
  }
  const mounts: V1VolumeMount[] = [
    { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
    { name: 'data', mountPath: DATA_DIR },
  ];
  const initContainers: V1Container[] = [];
  if (spec.rack) {
    volumes.push({ name: 'rack', emptyDir: {} });
    mounts.push({ name: 'rack', mountPath: RACK_DIR, readOnly: true });
    initContainers.push({
      name: 'rack',
      image: spec.image,
      imagePullPolicy: spec.imagePullPolicy,
      command: [
        'node',
        MAIN,
        'operator',
        'rack',
        '--topology-key',
        spec.rack.topologyKey,
        '--node',
        '$(NODE_NAME)',
        '--output',
        `${RACK_DIR}/rack`,
      ],
      env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
      volumeMounts: [{ name: 'rack', mountPath: RACK_DIR }],
    });
  }
  const podSpec: V1PodSpec = {
    serviceAccountName: names.serviceAccount(c),
    // Long enough for a controlled shutdown (leaderships moved away) and a clean log close.
    terminationGracePeriodSeconds: 120,
    securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
    ...(initContainers.length > 0 ? { initContainers } : {}),
    containers: [
      {
        name: 'broker',
        image: spec.image,
        imagePullPolicy: spec.imagePullPolicy,
        command: ['/bin/sh', '-c', brokerCommand(cluster)],
        env: [
          { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'SLUICE_ETCD', value: etcdEndpoints(cluster).join(',') },
          { name: 'SLUICE_CLUSTER_ID', value: kafkaClusterId(cluster) },
          ...(spec.listeners.external
            ? [
                { name: EXTERNAL_ADVERTISED_ENV, value: externalAdvertisedEnv(external) },
                ...(spec.listeners.external.type === 'NodePort'
                  ? [{ name: 'NODE_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }]
                  : []),
              ]
            : []),
        ],
        ports: [
          { name: 'kafka', containerPort: port, protocol: 'TCP' },
          ...(spec.listeners.external
            ? [{ name: 'kafka-external', containerPort: externalContainerPort(cluster), protocol: 'TCP' }]
            : []),
          { name: 'control', containerPort: PORTS.control, protocol: 'TCP' },
          { name: 'metrics', containerPort: PORTS.metrics, protocol: 'TCP' },
        ],
        readinessProbe: {
          httpGet: { path: '/ready', port: 'metrics' },
          periodSeconds: 5,
          failureThreshold: 3,
        },
        livenessProbe: {
          tcpSocket: { port: 'kafka' },
          initialDelaySeconds: 30,
          periodSeconds: 10,
          failureThreshold: 6,
        },
        ...(spec.resources ? { resources: resourceRequirements(spec.resources) } : {}),
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        volumeMounts: mounts,
      },
    ],
    volumes,
  };
  if (podTpl.affinity) podSpec.affinity = podTpl.affinity;
  if (podTpl.tolerations) podSpec.tolerations = podTpl.tolerations;
  const sts: StatefulSetObject = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: meta(cluster, names.statefulSet(c), 'broker'),
    spec: {
      replicas: spec.replicas,
      serviceName: names.headlessService(c),
      // Brokers only need etcd to start, not each other.
      podManagementPolicy: 'Parallel',
      // The operator decides when a broker restarts (roller.ts); the StatefulSet never does.
      updateStrategy: { type: 'OnDelete' },
      selector: { matchLabels: brokerSelector(cluster) },
      template: {
        metadata: {
          labels: { ...(podTpl.labels ?? {}), ...commonLabels(cluster, 'broker') },
          annotations: {
            ...(podTpl.annotations ?? {}),
            [ANNOTATIONS.configHash]: restartHash(cluster, plan),
          },
        },
        spec: podSpec,
      },
      ...(persistent
        ? {
            persistentVolumeClaimRetentionPolicy: {
              whenDeleted: persistent.deleteClaim ? 'Delete' : 'Retain',
              whenScaled: 'Retain',
            },
            volumeClaimTemplates: [
              {
                apiVersion: 'v1',
                kind: 'PersistentVolumeClaim',
                metadata: { name: 'data', labels: commonLabels(cluster, 'broker') },
                spec: {
                  accessModes: ['ReadWriteOnce'],
                  resources: { requests: { storage: persistent.size } },
                  ...(persistent.class ? { storageClassName: persistent.class } : {}),
                },
              },
            ],
          }
        : {}),
    },
  };
  return sts;
}

export function buildServiceMonitor(cluster: KafkaCluster): ServiceMonitorObject | null {
  const sm = cluster.spec.metrics?.serviceMonitor;
  if (!sm?.enabled) return null;
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: meta(cluster, names.serviceMonitor(cluster.metadata.name), 'broker', {
      labels: sm.labels ?? {},
    }),
    spec: {
      selector: { matchLabels: { ...brokerSelector(cluster) } },
      namespaceSelector: { matchNames: [cluster.metadata.namespace] },
      endpoints: [{ port: 'metrics', path: '/metrics', interval: sm.interval }],
    },
  };
}

export function buildEtcdObjects(cluster: KafkaCluster): [ServiceObject, StatefulSetObject] | [] {
  const managed = cluster.spec.etcd.managed;
  if (!managed) return [];
  const c = cluster.metadata.name;
  const sts = names.etcdStatefulSet(c);
  const svc = names.etcdService(c);
  const ns = cluster.metadata.namespace;
  const initialCluster = Array.from(
    { length: managed.replicas },
    (_, i) => `${sts}-${i}=http://${sts}-${i}.${svc}.${ns}.svc:${PORTS.etcdPeer}`,
  ).join(',');
  const service: ServiceObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(cluster, svc, 'etcd'),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: etcdSelector(cluster),
      ports: [
        { name: 'client', port: PORTS.etcdClient, targetPort: PORTS.etcdClient, protocol: 'TCP' },
        { name: 'peer', port: PORTS.etcdPeer, targetPort: PORTS.etcdPeer, protocol: 'TCP' },
      ],
    },
  };
  const script = [
    'exec etcd --name "$HOSTNAME" --data-dir /var/lib/etcd',
    `--listen-client-urls http://0.0.0.0:${PORTS.etcdClient} --advertise-client-urls "http://$HOSTNAME.${svc}.${ns}.svc:${PORTS.etcdClient}"`,
    `--listen-peer-urls http://0.0.0.0:${PORTS.etcdPeer} --initial-advertise-peer-urls "http://$HOSTNAME.${svc}.${ns}.svc:${PORTS.etcdPeer}"`,
    `--initial-cluster ${initialCluster} --initial-cluster-state new --initial-cluster-token ${kafkaClusterId(cluster)}`,
  ].join(' ');
  const storage = managed.storage;
  const statefulSet: StatefulSetObject = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: meta(cluster, sts, 'etcd'),
    spec: {
      replicas: managed.replicas,
      serviceName: svc,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: etcdSelector(cluster) },
      template: {
        metadata: { labels: commonLabels(cluster, 'etcd') },
        spec: {
          containers: [
            {
              name: 'etcd',
              image: managed.image,
              command: ['/bin/sh', '-c', script],
              ports: [
                { name: 'client', containerPort: PORTS.etcdClient },
                { name: 'peer', containerPort: PORTS.etcdPeer },
              ],
              readinessProbe: { httpGet: { path: '/health', port: 'client' }, periodSeconds: 5 },
              volumeMounts: [{ name: 'data', mountPath: '/var/lib/etcd' }],
            },
          ],
          ...(storage ? {} : { volumes: [{ name: 'data', emptyDir: {} }] }),
        },
      },
      ...(storage
        ? {
            volumeClaimTemplates: [
              {
                apiVersion: 'v1',
                kind: 'PersistentVolumeClaim',
                metadata: { name: 'data' },
                spec: {
                  accessModes: ['ReadWriteOnce'],
                  resources: { requests: { storage: storage.size } },
                  ...(storage.class ? { storageClassName: storage.class } : {}),
                },
              },
            ],
          }
        : {}),
    },
  };
  return [service, statefulSet];
}

/**
 * Every object, in the order the reconciler applies them (dependencies first). With an external
 * listener the StatefulSet needs every broker's external address (`external`, read from the
 * Services this list creates); while one is unknown the StatefulSet is left out, so existing pods
 * keep running as they are and no pod starts with an address it cannot advertise.
 */
export function desiredObjects(
  cluster: KafkaCluster,
  external: Map<number, ExternalAddress> | null = null,
): KubeObject[] {
  const plan = brokerConfigPlan(cluster);
  const withBrokers = !cluster.spec.listeners.external || external !== null;
  const out: KubeObject[] = [
    ...buildEtcdObjects(cluster),
    buildServiceAccount(cluster),
    buildConfigMap(cluster, plan),
    buildHeadlessService(cluster),
    buildBootstrapService(cluster),
    ...buildExternalServices(cluster),
    ...(withBrokers ? [buildStatefulSet(cluster, plan, external ?? new Map())] : []),
    buildPodDisruptionBudget(cluster),
  ];
  const sm = buildServiceMonitor(cluster);
  if (sm) out.push(sm);
  return out;
}

export function brokerLabelSelector(cluster: KafkaCluster): string {
  return selectorString(brokerSelector(cluster));
}

export { brokerHost };
