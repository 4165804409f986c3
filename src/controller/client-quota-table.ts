/**
 * ClientQuotaTable: every broker's in-memory view of the client quotas in the metadata store (Kafka's
 * ClientQuotasImage), built from one range read and an ordered watch of its prefix (its
 * WatchedPrefix), so a quota written through any broker is enforced by every broker within the
 * watch's delay. A failed watch is replaced by applying the difference of a new read, so requests
 * are never let through unthrottled for want of quotas meanwhile.
 *
 *   <root>/client-quotas/<entity key, URI-encoded>   {"entity":{"user":"alice","client-id":null},
 *                                                      "quotas":{"producer_byte_rate":1048576}}
 *
 * One key per entity, holding all its quota values (a key with no values is deleted). Reads are
 * synchronous (the quota managers look quotas up per request). It never writes (ClientQuotaFrontend
 * does).
 */
import { EventEmitter } from 'node:events';
import type { MetadataStore, WatchEvent } from './metadata-store.js';
import { WatchedPrefix } from './watched-prefix.js';
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
  readonly #root: string;
  readonly #log = logger('client-quota-table');
  /** store key → the entity's quotas */
  readonly #byKey = new Map<string, StoredClientQuota>();
  /** entityKey → the entity's quotas (what the quota managers read) */
  readonly #byEntity = new Map<string, StoredClientQuota>();
  /** Bumped on every change, so readers can cache what they derive from the quotas. */
  #version = 0;
  readonly #mirror: WatchedPrefix;

  constructor(store: MetadataStore, root: string) {
    super();
    this.#root = root;
    this.#mirror = new WatchedPrefix({
      store,
      prefix: clientQuotaPrefix(root),
      name: 'client-quota-table',
      apply: (e) => this.#apply(e),
      afterBatch: () => this.emit('change'),
    });
  }

  get root(): string {
    return this.#root;
  }

  start(): Promise<void> {
    return this.#mirror.start();
  }

  stop(): Promise<void> {
    return this.#mirror.stop();
  }

  /** Resolves once the table has applied everything up to `revision` (read-your-writes). */
  waitForRevision(revision: number): Promise<void> {
    return this.#mirror.waitForRevision(revision);
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
