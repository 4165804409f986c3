/**
 * AclTable: every broker's view of the ACLs in the metadata store, one key per ACL under
 * `<root>/acls/<id>` (written only by the controller's AclFrontend). Built like the MetadataTable:
 * one range read, then an ordered watch; each applied change is an `acl` event (the broker's
 * authorizer keeps its index from them), so every broker enforces a new ACL as soon as its watch
 * delivers the write (etcd: milliseconds; the forwarding broker waits for it before answering).
 *
 * A watch that cannot go on (etcd compacted the revision it had to resume from) is replaced: the
 * table reads everything again and applies the difference as ordinary events, then watches on.
 */
import { EventEmitter } from 'node:events';
import { type AclBinding, fromStored } from '../broker/security/acl.js';
import { logger } from '../common/logger.js';
import type { KeyValue, MetadataStore, WatchEvent, Watcher } from './metadata-store.js';

export interface AclTableEvents {
  /** One ACL added (binding) or removed (null). */
  acl: [id: string, binding: AclBinding | null];
}

/** The key prefix of the ACLs of a cluster root. */
export const aclPrefix = (root: string): string => `${root}/acls/`;

export class AclTable extends EventEmitter<AclTableEvents> {
  readonly prefix: string;
  readonly #store: MetadataStore;
  readonly #log = logger('acl-table');
  readonly #acls = new Map<string, AclBinding>();
  #revision = 0;
  #watcher: Watcher | null = null;
  #waiters: { revision: number; resolve: () => void }[] = [];
  #stopped = false;
  #resyncing = false;

  constructor(store: MetadataStore, root: string) {
    super();
    this.#store = store;
    this.prefix = aclPrefix(root);
  }

  get revision(): number {
    return this.#revision;
  }

  get size(): number {
    return this.#acls.size;
  }

  entries(): IterableIterator<[string, AclBinding]> {
    return this.#acls.entries();
  }

  async start(): Promise<void> {
    const { kvs, revision } = await this.#store.range(this.prefix);
    this.#applySnapshot(kvs, revision);
    this.#watcher = await this.#watch(revision);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#watcher?.close();
    this.#watcher = null;
  }

  /** Resolves once the table has applied everything up to `revision` (read-your-writes). */
  waitForRevision(revision: number): Promise<void> {
    if (this.#revision >= revision) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ revision, resolve }));
  }

  #watch(afterRevision: number): Promise<Watcher> {
    return this.#store.watch(
      this.prefix,
      afterRevision,
      (events) => this.#onEvents(events),
      (err) => this.#onWatchError(err),
    );
  }

  #onWatchError(err: Error): void {
    if (this.#stopped || this.#resyncing) return;
    this.#log.warn({ err, revision: this.#revision }, 'ACL watch failed; reading every ACL again');
    this.#resyncing = true;
    void this.#resync();
  }

  async #resync(): Promise<void> {
    const old = this.#watcher;
    this.#watcher = null;
    await old?.close().catch(() => {});
    let delayMs = 250;
    while (!this.#isStopped()) {
      try {
        const { kvs, revision } = await this.#store.range(this.prefix);
        if (this.#isStopped()) return;
        this.#applySnapshot(kvs, revision);
        const watcher = await this.#watch(revision);
        if (this.#isStopped()) {
          await watcher.close();
          return;
        }
        this.#watcher = watcher;
        this.#resyncing = false;
        return;
      } catch (err) {
        this.#log.warn({ err }, 'ACL resync failed; retrying');
        await new Promise((r) => setTimeout(r, delayMs));
        delayMs = Math.min(delayMs * 2, 5000);
      }
    }
  }

  #isStopped(): boolean {
    return this.#stopped;
  }

  /** A full read, applied as the events that turn the current view into it. */
  #applySnapshot(kvs: KeyValue[], revision: number): void {
    const present = new Set<string>();
    for (const kv of kvs) {
      const id = kv.key.slice(this.prefix.length);
      present.add(id);
      this.#put(id, kv.value);
    }
    for (const id of [...this.#acls.keys()]) if (!present.has(id)) this.#delete(id);
    this.#advance(revision);
  }

  #onEvents(events: WatchEvent[]): void {
    for (const e of events) {
      const id = e.key.slice(this.prefix.length);
      if (e.type === 'put') this.#put(id, e.value!);
      else this.#delete(id);
    }
    this.#advance(events[events.length - 1]!.modRevision);
  }

  #put(id: string, value: string): void {
    let binding: AclBinding | null = null;
    try {
      binding = fromStored(JSON.parse(value));
    } catch {
      binding = null;
    }
    if (!binding) {
      this.#log.error({ key: this.prefix + id }, 'ignoring a stored ACL that is not a valid binding');
      this.#delete(id);
      return;
    }
    const old = this.#acls.get(id);
    if (old && JSON.stringify(old) === JSON.stringify(binding)) return;
    this.#acls.set(id, binding);
    this.emit('acl', id, binding);
  }

  #delete(id: string): void {
    if (!this.#acls.delete(id)) return;
    this.emit('acl', id, null);
  }

  #advance(revision: number): void {
    if (revision > this.#revision) this.#revision = revision;
    const ready = this.#waiters.filter((w) => w.revision <= this.#revision);
    this.#waiters = this.#waiters.filter((w) => w.revision > this.#revision);
    for (const w of ready) w.resolve();
  }
}
