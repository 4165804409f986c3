/**
 * The brokers' named listeners (Kafka's listeners / advertised.listeners), from spec.listeners:
 *
 *   INTERNAL  every broker, bound on 0.0.0.0:<internal.port>, advertised as the pod's stable DNS
 *             name through the headless Service; also the inter-broker listener.
 *   EXTERNAL  with spec.listeners.external: bound on 0.0.0.0:<externalContainerPort>, reached through
 *             the per-broker Service, advertised as that Service's address from outside:
 *               LoadBalancer  status.loadBalancer.ingress[0] (ip, else hostname) : external.port
 *               NodePort      the address of the node the pod runs on (downward API status.hostIP)
 *                             : the Service's node port
 *
 * The static keys (listeners, listener.security.protocol.map, inter.broker.listener.name) go in
 * server.properties. advertised.listeners differs per pod and, for EXTERNAL, is known only once the
 * Services are provisioned, so the broker's start command composes it (brokerCommand): the operator
 * reads the per-broker Services and passes their addresses in the pod template
 * (SLUICE_EXTERNAL_ADVERTISED, "id=host:port …", ":port" meaning the node's address). A changed
 * address changes the template, so the brokers roll through the restart gate like any static
 * change. Until every broker's address is known the StatefulSet is left as it is. Pure: no I/O.
 */
import type { KafkaCluster, ListenerStatus } from '../types.js';
import { PORTS, internalBootstrap, names } from './names.js';

export const INTERNAL = 'INTERNAL';
export const EXTERNAL = 'EXTERNAL';
export const EXTERNAL_ADVERTISED_ENV = 'SLUICE_EXTERNAL_ADVERTISED';

/** The container port of the EXTERNAL listener (the Services' targetPort). */
export function externalContainerPort(cluster: KafkaCluster): number {
  return cluster.spec.listeners.internal.port === PORTS.external ? PORTS.external + 1 : PORTS.external;
}

/** The listener keys of server.properties (operator-owned; users cannot set them). */
export function listenerBrokerConfig(cluster: KafkaCluster): Record<string, string> {
  const ext = cluster.spec.listeners.external;
  const listeners = [`${INTERNAL}://0.0.0.0:${cluster.spec.listeners.internal.port}`];
  const map = [`${INTERNAL}:PLAINTEXT`];
  if (ext) {
    listeners.push(`${EXTERNAL}://0.0.0.0:${externalContainerPort(cluster)}`);
    map.push(`${EXTERNAL}:PLAINTEXT`);
  }
  return {
    listeners: listeners.join(','),
    'listener.security.protocol.map': map.join(','),
    'inter.broker.listener.name': INTERNAL,
  };
}

/** The parts of a Service this module reads. */
export interface ServiceView {
  metadata: { name: string };
  spec?: { ports?: { name?: string; port?: number; nodePort?: number }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

/** host null: the address of the node the broker pod runs on (NodePort). */
export interface ExternalAddress {
  host: string | null;
  port: number;
}

/** What a Service offers outside the cluster; undefined while it is not provisioned yet. */
function serviceAddress(cluster: KafkaCluster, svc: ServiceView | undefined): ExternalAddress | undefined {
  const ext = cluster.spec.listeners.external;
  if (!ext || !svc) return undefined;
  if (ext.type === 'LoadBalancer') {
    const ingress = svc.status?.loadBalancer?.ingress?.[0];
    const host = ingress?.ip || ingress?.hostname;
    return host ? { host, port: ext.port } : undefined;
  }
  const nodePort = svc.spec?.ports?.find((p) => p.name === 'kafka-external')?.nodePort;
  return nodePort ? { host: null, port: nodePort } : undefined;
}

/**
 * Each broker's EXTERNAL advertised address from the per-broker Services; null without an external
 * listener. `missing` lists brokers whose Service has no address yet.
 */
export function externalAddresses(
  cluster: KafkaCluster,
  services: ServiceView[],
): { addresses: Map<number, ExternalAddress>; missing: number[] } | null {
  if (!cluster.spec.listeners.external) return null;
  const byName = new Map(services.map((s) => [s.metadata.name, s]));
  const addresses = new Map<number, ExternalAddress>();
  const missing: number[] = [];
  for (let id = 0; id < cluster.spec.replicas; id++) {
    const a = serviceAddress(cluster, byName.get(names.externalBrokerService(cluster.metadata.name, id)));
    if (a) addresses.set(id, a);
    else missing.push(id);
  }
  return { addresses, missing };
}

/** The SLUICE_EXTERNAL_ADVERTISED value: "0=host:port 1=:31001 …" (":port" = the node's address). */
export function externalAdvertisedEnv(addresses: Map<number, ExternalAddress>): string {
  const hostPart = (h: string) => (h.includes(':') ? `[${h}]` : h);
  return [...addresses]
    .sort(([a], [b]) => a - b)
    .map(([id, a]) => `${id}=${a.host === null ? '' : hostPart(a.host)}:${a.port}`)
    .join(' ');
}

/**
 * status.listeners: the bootstrap address a client uses per listener. internal: the bootstrap
 * Service's DNS name. external (once known): LoadBalancer, the external bootstrap Service's
 * ingress; NodePort, the broker pods' node addresses with that Service's node port.
 */
export function listenerStatus(
  cluster: KafkaCluster,
  services: ServiceView[],
  nodeAddresses: string[],
): ListenerStatus[] {
  const out: ListenerStatus[] = [
    { name: 'internal', type: 'ClusterIP', bootstrapServers: internalBootstrap(cluster) },
  ];
  const ext = cluster.spec.listeners.external;
  if (!ext) return out;
  const svc = services.find((s) => s.metadata.name === names.externalBootstrapService(cluster.metadata.name));
  const a = serviceAddress(cluster, svc);
  if (!a) return out;
  const hosts = a.host !== null ? [a.host] : [...new Set(nodeAddresses)].sort();
  if (hosts.length === 0) return out;
  out.push({
    name: 'external',
    type: ext.type,
    bootstrapServers: hosts.map((h) => `${h.includes(':') ? `[${h}]` : h}:${a.port}`).join(','),
  });
  return out;
}
