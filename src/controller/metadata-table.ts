/**
 * MetadataTable: every broker's in-memory view of cluster metadata, built from one range read and an
 * ordered watch of the store. Readers (Metadata requests, the ReplicaManager) read it synchronously;
 * listeners hear about each applied change in revision order. It never writes: writes go through
 * the frontends (TopicFrontend) or the controller.
 */
import { EventEmitter } from 'node:events';
import type { KeyValue, MetadataStore, WatchEvent, Watcher } from './metadata-store.js';
import {
  type BrokerRegistration,
  type ControllerRecord,
  decodeBrokerRegistration,
  MetadataKeys,
  type PartitionState,
  type TopicRecord,
} from './records.js';
import { logger } from '../common/logger.js';

export interface MetadataTableEvents {
  topic: [name: string, record: TopicRecord | null];
  partition: [topic: string, index: number, state: PartitionState | null];
  broker: [id: number, registration: BrokerRegistration | null];
  controller: [controller: { nodeId: number; epoch: number } | null];
  brokerConfig: [id: number | 'default', configs: Record<string, string> | null];
  /** After each batch of events (one store transaction) is applied. */
  revision: [revision: number];
}

export class MetadataTable extends EventEmitter<MetadataTableEvents> {
  readonly keys: MetadataKeys;
  readonly #store: MetadataStore;
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
  #revision = 0;
  #watcher: Watcher | null = null;
  #waiters: { revision: number; resolve: () => void }[] = [];

  constructor(store: MetadataStore, root: string) {
    super();
    this.#store = store;
    this.keys = new MetadataKeys(root);
  }

  get revision(): number {
    return this.#revision;
  }

  async start(): Promise<void> {
    const { kvs, revision } = await this.#store.range(`${this.keys.root}/`);
    for (const kv of kvs)
      this.#apply(
        { type: 'put', key: kv.key, value: kv.value, modRevision: kv.modRevision },
        kv.createRevision,
      );
    this.#revision = revision;
    this.#watcher = await this.#store.watch(`${this.keys.root}/`, revision, (events) =>
      this.#onEvents(events),
    );
  }

  async stop(): Promise<void> {
    await this.#watcher?.close();
    this.#watcher = null;
  }

  /** Resolves once the table has applied everything up to `revision` (read-your-writes after a txn). */
  waitForRevision(revision: number): Promise<void> {
    if (this.#revision >= revision) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ revision, resolve }));
  }

  #onEvents(events: WatchEvent[]): void {
    for (const e of events) this.#apply(e);
    const rev = events[events.length - 1]!.modRevision;
    if (rev > this.#revision) this.#revision = rev;
    this.emit('revision', this.#revision);
    const ready = this.#waiters.filter((w) => w.revision <= this.#revision);
    this.#waiters = this.#waiters.filter((w) => w.revision > this.#revision);
    for (const w of ready) w.resolve();
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
