/**
 * The metadata store interface: a small, etcd-shaped key-value store with a global revision, compare-
 * and-set transactions and ordered watches. etcd implements it in cluster mode (etcd-store.ts); the
 * embedded store implements it for a single node, persisted to a file. Everything above this layer
 * (topic frontend, metadata table, controller) is written once against this interface, so the
 * single-node broker and the cluster behave the same.
 *
 * Keys are strings under a cluster prefix chosen by the caller; values are UTF-8 JSON documents.
 */

export interface KeyValue {
  key: string;
  value: string;
  /** Revision at which this key was last modified (etcd mod_revision). */
  modRevision: number;
  /** Revision at which the key was created (etcd create_revision). */
  createRevision: number;
}

export type Compare =
  | { key: string; target: 'modRevision'; op: '=' | '<' | '>'; value: number }
  | { key: string; target: 'createRevision'; op: '='; value: number }
  | { key: string; target: 'exists'; value: boolean }
  | { key: string; target: 'value'; op: '='; value: string };

/** A put may be bound to a lease: the key disappears when the lease ends (a dead broker's registration). */
export type Op =
  | { type: 'put'; key: string; value: string; lease?: string }
  | { type: 'delete'; key: string }
  | { type: 'deletePrefix'; prefix: string };

/**
 * A lease kept alive by the store client. When keep-alives stop reaching the store for its TTL (the
 * process died, was paused, or lost the network), the store deletes every key put under it and
 * `lost` fires here if this process is still running.
 */
export interface Lease {
  readonly id: string;
  onLost(handler: (err: Error) => void): void;
  revoke(): Promise<void>;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  key: string;
  /** Absent for delete. */
  value?: string;
  modRevision: number;
}

export interface Watcher {
  close(): Promise<void>;
}

export interface MetadataStore {
  get(key: string): Promise<KeyValue | null>;
  /** All keys starting with prefix, sorted by key, and the revision the read was made at. */
  range(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }>;
  /** Apply ops atomically iff every compare holds. Returns whether it applied and the new revision. */
  txn(compares: Compare[], ops: Op[]): Promise<{ succeeded: boolean; revision: number }>;
  /**
   * Call onEvents, in revision order, for every change under prefix after `afterRevision`. Events
   * of one transaction arrive in one call. onError hears of a watch that cannot go on (etcd
   * compacted the revision it needed): the caller re-reads with range() and watches again.
   */
  watch(
    prefix: string,
    afterRevision: number,
    onEvents: (events: WatchEvent[]) => void,
    onError?: (err: Error) => void,
  ): Promise<Watcher>;
  grantLease(ttlSeconds: number): Promise<Lease>;
  close(): Promise<void>;
}

export class MetadataStoreError extends Error {
  override readonly name = 'MetadataStoreError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
