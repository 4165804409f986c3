/**
 * The MetadataStore interface on etcd (cluster mode), through the etcd3 client. Compare-and-set
 * transactions map one to one onto etcd's Txn; watches deliver events grouped by revision, in order,
 * exactly as the embedded store does, so everything above this layer is shared.
 */
import { Etcd3, type IOptions, type Watcher as EtcdWatcher } from 'etcd3';
import type { Compare, KeyValue, Lease, MetadataStore, Op, WatchEvent, Watcher } from './metadata-store.js';
import { MetadataStoreError } from './metadata-store.js';

type RpcCompare = {
  key: Buffer;
  target: 'Version' | 'Create' | 'Mod' | 'Value';
  result: 'Equal' | 'Greater' | 'Less' | 'NotEqual';
  create_revision?: string;
  mod_revision?: string;
  value?: Buffer;
};

/** etcd's range_end for "every key with this prefix": the prefix with its last byte incremented. */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i]! += 1;
      return end;
    }
  }
  return Buffer.from([0]);
}

function toKv(kv: { key: Buffer; value: Buffer; mod_revision: string; create_revision: string }): KeyValue {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    modRevision: Number(kv.mod_revision),
    createRevision: Number(kv.create_revision),
  };
}

export class EtcdMetadataStore implements MetadataStore {
  readonly client: Etcd3;
  /** etcd3 keeps a lease alive even after client.close(); released explicitly on close. */
  readonly #leases = new Set<{ release(): void }>();

  constructor(endpoints: string[], options: Partial<IOptions> = {}) {
    this.client = new Etcd3({ hosts: endpoints, dialTimeout: 5000, ...options });
  }

  async get(key: string): Promise<KeyValue | null> {
    const res = await this.#call(() => this.client.kv.range({ key: Buffer.from(key) }));
    const kv = res.kvs[0];
    return kv ? toKv(kv) : null;
  }

  async range(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    const res = await this.#call(() =>
      this.client.kv.range({
        key: Buffer.from(prefix),
        range_end: prefixEnd(prefix),
        sort_target: 'Key',
        sort_order: 'Ascend',
      }),
    );
    return { kvs: res.kvs.map(toKv), revision: Number(res.header.revision) };
  }

  async txn(compares: Compare[], ops: Op[]): Promise<{ succeeded: boolean; revision: number }> {
    const compare: RpcCompare[] = compares.map((c) => {
      const key = Buffer.from(c.key);
      switch (c.target) {
        case 'exists':
          return { key, target: 'Create', result: c.value ? 'Greater' : 'Equal', create_revision: '0' };
        case 'value':
          return { key, target: 'Value', result: 'Equal', value: Buffer.from(c.value) };
        case 'createRevision':
          return { key, target: 'Create', result: 'Equal', create_revision: String(c.value) };
        case 'modRevision':
          return {
            key,
            target: 'Mod',
            result: c.op === '=' ? 'Equal' : c.op === '<' ? 'Less' : 'Greater',
            mod_revision: String(c.value),
          };
      }
    });
    const success = ops.map((op) => {
      switch (op.type) {
        case 'put':
          return {
            request_put: {
              key: Buffer.from(op.key),
              value: Buffer.from(op.value),
              ...(op.lease ? { lease: op.lease } : {}),
            },
          };
        case 'delete':
          return { request_delete_range: { key: Buffer.from(op.key) } };
        case 'deletePrefix':
          return { request_delete_range: { key: Buffer.from(op.prefix), range_end: prefixEnd(op.prefix) } };
      }
    });
    const res = await this.#call(() => this.client.kv.txn({ compare, success, failure: [] }));
    return { succeeded: res.succeeded, revision: Number(res.header.revision) };
  }

  async watch(
    prefix: string,
    afterRevision: number,
    onEvents: (events: WatchEvent[]) => void,
    onError?: (err: Error) => void,
  ): Promise<Watcher> {
    const w: EtcdWatcher = await this.#call(() =>
      this.client
        .watch()
        .prefix(prefix)
        .startRevision(String(afterRevision + 1))
        .create(),
    );
    w.on('data', (res) => {
      // One response may carry several revisions; deliver each revision's events as one batch.
      let batch: WatchEvent[] = [];
      for (const e of res.events) {
        const kv = e.kv;
        const ev: WatchEvent = {
          type: e.type === 'Delete' ? 'delete' : 'put',
          key: kv.key.toString(),
          modRevision: Number(kv.mod_revision),
          ...(e.type === 'Delete' ? {} : { value: kv.value.toString() }),
        };
        if (batch.length > 0 && batch[0]!.modRevision !== ev.modRevision) {
          onEvents(batch);
          batch = [];
        }
        batch.push(ev);
      }
      if (batch.length > 0) onEvents(batch);
    });
    // etcd cancelled the watch (its start revision was compacted): there is nothing to cancel, and
    // etcd3's cancel() of such a watcher would wait for a reconnection that never comes.
    let cancelled = false;
    w.on('error', (err) => {
      cancelled = true;
      onError?.(err);
    });
    return { close: async () => (cancelled ? undefined : w.cancel()) };
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    const lease = this.client.lease(ttlSeconds, { autoKeepAlive: true });
    this.#leases.add(lease);
    const id = await this.#call(() => lease.grant());
    return {
      id,
      onLost: (handler) => void lease.on('lost', handler),
      revoke: async () => {
        await lease.revoke().catch(() => {});
      },
    };
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new MetadataStoreError(
        `etcd request failed: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }

  async close(): Promise<void> {
    for (const l of this.#leases) l.release();
    this.#leases.clear();
    this.client.close();
  }
}
