/**
 * MetadataTable: every broker's in-memory view of cluster metadata, built from one range read and an
 * ordered watch of the store (the WatchedPrefix it owns does the reading, watching and revision
 * tracking; this file turns each key's change into the maps and events below). Readers (Metadata
 * requests, the ReplicaManager) read it synchronously; listeners hear about each applied change in
 * revision order. It never writes: writes go through the controller (its TopicFrontend,
 * ConfigFrontend and partition-state writes).
 *
 * A watch that cannot go on (etcd compacted the revision it had to resume from, after a long cut
 * from etcd) is replaced by WatchedPrefix: it reads everything again, applies the difference as
 * ordinary events (deletes for keys that are gone, puts for keys changed since), and watches on from
 * the new read. Listeners cannot tell a resync from a burst of changes.
 */
import { EventEmitter } from 'node:events';
import type { KeyValue, MetadataStore, WatchEvent } from './metadata-store.js';
import {
  type BrokerRegistration,
  type ControllerRecord,
  decodeBrokerRegistration,
  MetadataKeys,
  type PartitionState,
  type TopicRecord,
} from './records.js';
import { logger } from '../common/logger.js';
import { WatchedPrefix } from './watched-prefix.js';

export interface MetadataTableEvents {
  topic: [name: string, record: TopicRecord | null];
  partition: [topic: string, index: number, state: PartitionState | null];
  broker: [id: number, registration: BrokerRegistration | null];
  controller: [controller: { nodeId: number; epoch: number } | null];
  brokerConfig: [id: number | 'default', configs: Record<string, string> | null];
  /** After each batch of events (one store transaction, the initial read, a resync's difference) is applied. */
  revision: [revision: number];
}

export class MetadataTable extends EventEmitter<MetadataTableEvents> {
  readonly keys: MetadataKeys;
  readonly #log = logger('metadata-table');
  clusterId: string | null = null;
  /** The active controller and its epoch (its key's create revision), null while there is none. */
  controller: { nodeId: number; epoch: number } | null = null;
  readonly topics = new Map<string, TopicRecord>();
  readonly topicsById = new Map<string, TopicRecord>();
  /** topic → partition index → state */
  readonly partitions = new Map<string, Map<number, PartitionState>>();
  readonly brokers = new Map<number, BrokerRegistration>();
  readonly brokerConfigs = new Map<number | 'default', Record<string, string>>();
  readonly #mirror: WatchedPrefix;

  constructor(store: MetadataStore, root: string) {
    super();
    this.keys = new MetadataKeys(root);
    this.#mirror = new WatchedPrefix({
      store,
      prefix: `${root}/`,
      name: 'metadata-table',
      apply: (e, createRevision) => this.#apply(e, createRevision),
      afterBatch: (revision) => this.emit('revision', revision),
    });
  }

  get revision(): number {
    return this.#mirror.revision;
  }

  /** How many times the watch was replaced after an error (for tests and logs). */
  get resyncs(): number {
    return this.#mirror.replacements;
  }

  start(): Promise<void> {
    return this.#mirror.start();
  }

  stop(): Promise<void> {
    return this.#mirror.stop();
  }

  /** Resolves once the table has applied everything up to `revision` (read-your-writes after a txn). */
  waitForRevision(revision: number): Promise<void> {
    return this.#mirror.waitForRevision(revision);
  }

  /** createRevision is known on the initial range read; for watch puts of a new key it equals modRevision. */
  #apply(e: WatchEvent, createRevision?: number): void {
    const k = this.keys.parse(e.key);
    if (!k) return;
    let doc: unknown = null;
    if (e.type === 'put') {
      try {
        doc = JSON.parse(e.value!);
      } catch (err) {
        this.#log.error({ key: e.key, err }, 'ignoring metadata value that is not JSON');
        return;
      }
    }
    switch (k.kind) {
      case 'cluster':
        this.clusterId = doc ? (doc as { clusterId: string }).clusterId : null;
        break;
      case 'controller': {
        // The controller key is only ever created (under a lease) or deleted, never updated, so a
        // put seen on the watch is a creation and its revision is the new controller epoch.
        const c = doc as ControllerRecord | null;
        this.controller = c ? { nodeId: c.nodeId, epoch: createRevision ?? e.modRevision } : null;
        this.emit('controller', this.controller);
        break;
      }
      case 'broker': {
        const reg = doc ? decodeBrokerRegistration(doc) : null;
        if (reg) this.brokers.set(k.id, reg);
        else this.brokers.delete(k.id);
        this.emit('broker', k.id, reg);
        break;
      }
      case 'topic': {
        const old = this.topics.get(k.name);
        if (old) this.topicsById.delete(old.topicId);
        if (doc) {
          const t = doc as TopicRecord;
          this.topics.set(k.name, t);
          this.topicsById.set(t.topicId, t);
        } else {
          this.topics.delete(k.name);
        }
        this.emit('topic', k.name, doc as TopicRecord | null);
        break;
      }
      case 'partition': {
        let m = this.partitions.get(k.topic);
        if (doc) {
          if (!m) this.partitions.set(k.topic, (m = new Map()));
          m.set(k.index, doc as PartitionState);
        } else if (m) {
          m.delete(k.index);
          if (m.size === 0) this.partitions.delete(k.topic);
        }
        this.emit('partition', k.topic, k.index, doc as PartitionState | null);
        break;
      }
      case 'brokerConfig':
        if (doc) this.brokerConfigs.set(k.id, doc as Record<string, string>);
        else this.brokerConfigs.delete(k.id);
        this.emit('brokerConfig', k.id, doc as Record<string, string> | null);
        break;
    }
  }

  partitionState(topic: string, index: number): PartitionState | undefined {
    return this.partitions.get(topic)?.get(index);
  }

  /** For code that wants the raw documents (admin tools, debugging). */
  static parseKv<T>(kv: KeyValue): T {
    return JSON.parse(kv.value) as T;
  }
}
