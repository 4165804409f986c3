/**
 * The metadata documents kept in the store and their keys. The layout (also in docs/metadata.md):
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

export interface BrokerRegistration {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
  /** Incarnation: changes on each start, so a restarted broker is told apart from the old one. */
  incarnationId: string;
  /** The gRPC control-plane port (cluster mode), 0 when none. */
  controlPort?: number;
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
