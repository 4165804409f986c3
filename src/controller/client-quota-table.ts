/**
 * ClientQuotaTable: every broker's in-memory view of the client quotas in the metadata store (Kafka's
 * ClientQuotasImage), built from one range read and an ordered watch of its prefix, so a quota
 * written through any broker is enforced by every broker within the watch's delay.
 *
 *   <root>/client-quotas/<entity key, URI-encoded>   {"entity":{"user":"alice","client-id":null},
 *                                                      "quotas":{"producer_byte_rate":1048576}}
 *
 * One key per entity, holding all its quota values (a key with no values is deleted). Reads are
 * synchronous (the quota managers look quotas up per request). It never writes (ClientQuotaFrontend
 * does).
 */
import { EventEmitter } from 'node:events';
import type { MetadataStore, WatchEvent, Watcher } from './metadata-store.js';
import { logger } from '../common/logger.js';
import { entityKey, type ClientQuotaEntity, type ClientQuotaMap } from '../common/client-quota.js';

export interface StoredClientQuota {
  entity: ClientQuotaEntity;
  quotas: Record<string, number>;
}

export function clientQuotaPrefix(root: string): string {
  return `${root}/client-quotas/`;
}

export function clientQuotaKey(root: string, entity: ClientQuotaEntity): string {
  return `${clientQuotaPrefix(root)}${encodeURIComponent(entityKey(entity))}`;
}

export class ClientQuotaTable extends EventEmitter<{ change: [] }> {
  readonly #store: MetadataStore;
  readonly #root: string;
  readonly #log = logger('client-quota-table');
  /** store key → the entity's quotas */
  readonly #byKey = new Map<string, StoredClientQuota>();
  /** entityKey → the entity's quotas (what the quota managers read) */
  readonly #byEntity = new Map<string, StoredClientQuota>();
  #revision = 0;
  /** Bumped on every change, so readers can cache what they derive from the quotas. */
  #version = 0;
  #watcher: Watcher | null = null;
  #waiters: { revision: number; resolve: () => void }[] = [];
  #stopped = false;

  constructor(store: MetadataStore, root: string) {
    super();
    this.#store = store;
    this.#root = root;
  }

  get root(): string {
    return this.#root;
  }

  async start(): Promise<void> {
    const prefix = clientQuotaPrefix(this.#root);
    const { kvs, revision } = await this.#store.range(prefix);
    this.#byKey.clear();
    this.#byEntity.clear();
    for (const kv of kvs)
      this.#apply({ type: 'put', key: kv.key, value: kv.value, modRevision: kv.modRevision });
    this.#advance(revision);
    this.emit('change');
    this.#watcher = await this.#store.watch(
      prefix,
      revision,
      (events) => {
        for (const e of events) this.#apply(e);
        this.#advance(events[events.length - 1]!.modRevision);
        this.emit('change');
      },
      (err) => {
        // The watch cannot go on (its revision was compacted): read everything again.
        this.#log.warn({ err }, 'client quota watch failed; reloading');
        void this.#watcher?.close();
        if (!this.#stopped)
          this.start().catch((e: unknown) => this.#log.error({ err: e }, 'client quota reload failed'));
      },
    );
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#watcher?.close();
    this.#watcher = null;
  }

  #advance(revision: number): void {
    if (revision > this.#revision) this.#revision = revision;
    const ready = this.#waiters.filter((w) => w.revision <= this.#revision);
    this.#waiters = this.#waiters.filter((w) => w.revision > this.#revision);
    for (const w of ready) w.resolve();
  }

  /** Resolves once the table has applied everything up to `revision` (read-your-writes). */
  waitForRevision(revision: number): Promise<void> {
    if (this.#revision >= revision) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ revision, resolve }));
  }

  #apply(e: WatchEvent): void {
    this.#version++;
    const old = this.#byKey.get(e.key);
    if (old) this.#byEntity.delete(entityKey(old.entity));
    this.#byKey.delete(e.key);
    if (e.type === 'delete') return;
    try {
      const doc = JSON.parse(e.value!) as StoredClientQuota;
      this.#byKey.set(e.key, doc);
      this.#byEntity.set(entityKey(doc.entity), doc);
    } catch (err) {
      this.#log.error({ key: e.key, err }, 'ignoring a client quota that does not decode');
    }
  }

  /** Changes with every applied change (a cache key for what readers derive). */
  get version(): number {
    return this.#version;
  }

  /** entityKey → entity and quotas. */
  get quotas(): ClientQuotaMap {
    return this.#byEntity;
  }

  get(entity: ClientQuotaEntity): Record<string, number> {
    return { ...(this.#byEntity.get(entityKey(entity))?.quotas ?? {}) };
  }
}
