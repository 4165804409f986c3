/**
 * MetadataTable: every broker's in-memory view of cluster metadata, built from one range read and an
 * ordered watch of the store. Readers (Metadata requests, the ReplicaManager) read it synchronously;
 * listeners hear about each applied change in revision order. It never writes: writes go through
 * the controller (its TopicFrontend, ConfigFrontend and partition-state writes).
 *
 * A watch that cannot go on (etcd compacted the revision it had to resume from, after a long cut
 * from etcd) is replaced: the table reads everything again, applies the difference as ordinary
 * events (deletes for keys that are gone, puts for keys changed since its revision), and watches on
 * from the new read. Listeners cannot tell a resync from a burst of changes.
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
  #stopped = false;
  #resyncing = false;
  /** How many times the watch was replaced after an error (for tests and logs). */
  resyncs = 0;

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
    this.#watcher = await this.#watch(revision);
  }

  #watch(afterRevision: number): Promise<Watcher> {
    return this.#store.watch(
      `${this.keys.root}/`,
      afterRevision,
      (events) => this.#onEvents(events),
      (err) => this.#onWatchError(err),
    );
  }

  #onWatchError(err: Error): void {
    if (this.#stopped || this.#resyncing) return;
    this.#log.warn({ err, revision: this.#revision }, 'metadata watch failed; reading everything again');
    this.#resyncing = true;
    void this.#resync(250);
  }

  /** Replace a failed watch: read everything, apply the difference, watch on. Retries until stopped. */
  async #resync(delayMs: number): Promise<void> {
    const old = this.#watcher;
    this.#watcher = null;
    await old?.close().catch(() => {});
    while (!this.#stopped) {
      try {
        const { kvs, revision } = await this.#store.range(`${this.keys.root}/`);
        if (this.#isStopped()) return;
        this.#applySnapshot(kvs, revision);
        const watcher = await this.#watch(revision);
        if (this.#isStopped()) {
          await watcher.close();
          return;
        }
        this.#watcher = watcher;
        this.resyncs++;
        this.#resyncing = false;
        return;
      } catch (err) {
        this.#log.warn({ err }, 'metadata resync failed; retrying');
        await new Promise((r) => setTimeout(r, delayMs));
        delayMs = Math.min(delayMs * 2, 5000);
      }
    }
  }

  /** Read through a call so that checks after an await are not taken for the one before it. */
  #isStopped(): boolean {
    return this.#stopped;
  }

  /** Apply a full read as the events that turn the current view into it. */
  #applySnapshot(kvs: KeyValue[], revision: number): void {
    const applied = this.#revision;
    const present = new Set(kvs.map((kv) => kv.key));
    const events: WatchEvent[] = [];
    for (const key of this.#keysHeld())
      if (!present.has(key)) events.push({ type: 'delete', key, modRevision: revision });
    if (events.length > 0) this.#onEvents(events);
    // Keys changed after what this table had applied; each keeps its create revision (the
    // controller epoch is the controller key's).
    for (const kv of kvs) {
      if (kv.modRevision <= applied) continue;
      this.#apply(
        { type: 'put', key: kv.key, value: kv.value, modRevision: kv.modRevision },
        kv.createRevision,
      );
    }
    this.#advance(revision);
  }

  /** Every key this table holds a value for. */
  #keysHeld(): string[] {
    const k = this.keys;
    const out: string[] = [];
    if (this.clusterId !== null) out.push(k.cluster);
    if (this.controller !== null) out.push(k.controller);
    for (const id of this.brokers.keys()) out.push(k.broker(id));
    for (const name of this.topics.keys()) out.push(k.topic(name));
    for (const [topic, m] of this.partitions)
      for (const index of m.keys()) out.push(k.partition(topic, index));
    for (const id of this.brokerConfigs.keys()) out.push(k.brokerConfig(id));
    return out;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
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
    this.#advance(events[events.length - 1]!.modRevision);
  }

  #advance(rev: number): void {
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
