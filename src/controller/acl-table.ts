/**
 * AclTable: every broker's view of the ACLs in the metadata store, one key per ACL under
 * `<root>/acls/<id>` (written only by the controller's AclFrontend). Its WatchedPrefix does the
 * one range read, the ordered watch and the revision tracking; each applied change is an `acl` event (the broker's
 * authorizer keeps its index from them), so every broker enforces a new ACL as soon as its watch
 * delivers the write (etcd: milliseconds; the forwarding broker waits for it before answering).
 *
 * A watch that cannot go on (etcd compacted the revision it had to resume from) is replaced by the
 * WatchedPrefix: it reads every ACL again and applies the difference as ordinary events (so as
 * `acl` events), then watches on.
 */
import { EventEmitter } from 'node:events';
import { type AclBinding, fromStored } from '../broker/security/acl.js';
import { logger } from '../common/logger.js';
import type { MetadataStore } from './metadata-store.js';
import { WatchedPrefix } from './watched-prefix.js';

export interface AclTableEvents {
  /** One ACL added (binding) or removed (null). */
  acl: [id: string, binding: AclBinding | null];
}

/** The key prefix of the ACLs of a cluster root. */
export const aclPrefix = (root: string): string => `${root}/acls/`;

export class AclTable extends EventEmitter<AclTableEvents> {
  readonly prefix: string;
  readonly #log = logger('acl-table');
  readonly #acls = new Map<string, AclBinding>();
  readonly #mirror: WatchedPrefix;

  constructor(store: MetadataStore, root: string) {
    super();
    this.prefix = aclPrefix(root);
    this.#mirror = new WatchedPrefix({
      store,
      prefix: this.prefix,
      name: 'acl-table',
      apply: (e) => {
        const id = e.key.slice(this.prefix.length);
        if (e.type === 'put') this.#put(id, e.value!);
        else this.#delete(id);
      },
    });
  }

  get revision(): number {
    return this.#mirror.revision;
  }

  get size(): number {
    return this.#acls.size;
  }

  entries(): IterableIterator<[string, AclBinding]> {
    return this.#acls.entries();
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
}
