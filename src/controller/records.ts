/**
 * The metadata documents kept in the store and their keys. The layout (also in docs/architecture.md):
 *
 *   <root>/cluster                      {"clusterId"}
 *   <root>/controller                   ControllerRecord, under the active controller's lease
 *   <root>/brokers/<nodeId>             BrokerRegistration (bound to a lease in cluster mode)
 *   <root>/topics/<name>                TopicRecord: id, replica assignment, config overrides
 *   <root>/partitions/<name>/<index>    PartitionState: leader, leader epoch, ISR, partition epoch
 *   <root>/configs/brokers/<id|default> dynamic broker config overrides
 *
 * Partition state is a key of its own because it changes often (ISR, leader) and is written by the
 * controller alone, while the topic record changes only on admin operations.
 */

/** One advertised listener of a broker (Kafka's BrokerEndpoint). */
export interface BrokerEndpoint {
  /** The listener name, upper case (INTERNAL, EXTERNAL, PLAINTEXT …). */
  name: string;
  host: string;
  port: number;
  securityProtocol: string;
}

export interface BrokerRegistration {
  nodeId: number;
  /** Every listener this broker serves, by name, as advertised. */
  endpoints: BrokerEndpoint[];
  rack: string | null;
  /** Incarnation: changes on each start, so a restarted broker is told apart from the old one. */
  incarnationId: string;
  /**
   * The gRPC control-plane port (cluster mode), 0 when none. Reached on the host of the broker's
   * inter-broker listener.
   */
  controlPort?: number;
}

/**
 * The stored document. `host` and `port` repeat the inter-broker endpoint: brokers from before named
 * listeners read only those, so a rolling upgrade keeps working in both directions.
 */
export interface BrokerRegistrationDoc extends BrokerRegistration {
  host: string;
  port: number;
}

/** The name given to the one endpoint of a registration written before named listeners. */
export const LEGACY_LISTENER = '';

export function encodeBrokerRegistration(r: BrokerRegistration, interBrokerListener: string): string {
  const ib = r.endpoints.find((e) => e.name === interBrokerListener) ?? r.endpoints[0]!;
  const doc: BrokerRegistrationDoc = { ...r, host: ib.host, port: ib.port };
  return JSON.stringify(doc);
}

/**
 * A registration as read from the store. One written before named listeners ({host, port} only)
 * becomes a single endpoint named LEGACY_LISTENER, which endpointFor() matches for any listener
 * name: that broker served one listener, and every client and broker used it.
 */
export function decodeBrokerRegistration(doc: unknown): BrokerRegistration {
  const d = doc as Partial<BrokerRegistrationDoc>;
  const endpoints =
    Array.isArray(d.endpoints) && d.endpoints.length > 0
      ? d.endpoints
      : [{ name: LEGACY_LISTENER, host: d.host ?? '', port: d.port ?? -1, securityProtocol: 'PLAINTEXT' }];
  return {
    nodeId: d.nodeId!,
    endpoints,
    rack: d.rack ?? null,
    incarnationId: d.incarnationId ?? '',
    ...(d.controlPort !== undefined ? { controlPort: d.controlPort } : {}),
  };
}

/** The broker's endpoint for a listener name, undefined when it has no such listener. */
export function endpointFor(r: BrokerRegistration, listener: string): BrokerEndpoint | undefined {
  return r.endpoints.find((e) => e.name === listener || e.name === LEGACY_LISTENER);
}

/** The active controller. Its key's create revision is the controller epoch. */
export interface ControllerRecord {
  nodeId: number;
}

export interface TopicRecord {
  name: string;
  topicId: string;
  /** replicas[partition] = broker ids, preferred leader first. */
  replicas: number[][];
  configs: Record<string, string>;
}

export interface PartitionState {
  leader: number;
  leaderEpoch: number;
  isr: number[];
  /** Bumped on every change of this document (Kafka's partition epoch), fences stale AlterPartition. */
  partitionEpoch: number;
  /**
   * A reassignment in progress (KIP-455): replicas being added (fetching, not yet all in the ISR)
   * and being removed once they are. The topic record's replicas are then the union of the original
   * and the target. Absent (older documents too) when no reassignment is in progress.
   */
  addingReplicas?: number[];
  removingReplicas?: number[];
}

export const NO_LEADER = -1;

export class MetadataKeys {
  constructor(readonly root: string) {}

  get cluster(): string {
    return `${this.root}/cluster`;
  }
  get controller(): string {
    return `${this.root}/controller`;
  }
  get brokersPrefix(): string {
    return `${this.root}/brokers/`;
  }
  broker(id: number): string {
    return `${this.root}/brokers/${id}`;
  }
  get topicsPrefix(): string {
    return `${this.root}/topics/`;
  }
  topic(name: string): string {
    return `${this.root}/topics/${name}`;
  }
  get partitionsPrefix(): string {
    return `${this.root}/partitions/`;
  }
  partitionsOf(topic: string): string {
    return `${this.root}/partitions/${topic}/`;
  }
  partition(topic: string, index: number): string {
    return `${this.root}/partitions/${topic}/${index}`;
  }
  get brokerConfigsPrefix(): string {
    return `${this.root}/configs/brokers/`;
  }
  brokerConfig(id: number | 'default'): string {
    return `${this.root}/configs/brokers/${id}`;
  }

  /** Classify a key under root; undefined for keys this layer does not own. */
  parse(
    key: string,
  ):
    | { kind: 'cluster' }
    | { kind: 'controller' }
    | { kind: 'broker'; id: number }
    | { kind: 'topic'; name: string }
    | { kind: 'partition'; topic: string; index: number }
    | { kind: 'brokerConfig'; id: number | 'default' }
    | undefined {
    if (!key.startsWith(`${this.root}/`)) return undefined;
    const rest = key.slice(this.root.length + 1).split('/');
    switch (rest[0]) {
      case 'cluster':
        return rest.length === 1 ? { kind: 'cluster' } : undefined;
      case 'controller':
        return rest.length === 1 ? { kind: 'controller' } : undefined;
      case 'brokers':
        return rest.length === 2 ? { kind: 'broker', id: Number(rest[1]) } : undefined;
      case 'topics':
        return rest.length === 2 ? { kind: 'topic', name: rest[1]! } : undefined;
      case 'partitions':
        return rest.length === 3 ? { kind: 'partition', topic: rest[1]!, index: Number(rest[2]) } : undefined;
      case 'configs':
        if (rest[1] === 'brokers' && rest.length === 3) {
          return { kind: 'brokerConfig', id: rest[2] === 'default' ? 'default' : Number(rest[2]) };
        }
        return undefined;
      default:
        return undefined;
    }
  }
}
