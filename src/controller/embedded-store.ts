/**
 * The embedded metadata store for a single node: the MetadataStore interface in memory, persisted to
 * one JSON file with write-to-temp, fsync, rename after every transaction (metadata changes are rare:
 * topic creation, config changes). Watches are delivered asynchronously (queueMicrotask) in revision
 * order, as etcd delivers them, so code written against it does not depend on synchronous callbacks.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Compare, KeyValue, Lease, MetadataStore, Op, WatchEvent, Watcher } from './metadata-store.js';
import { MetadataStoreError } from './metadata-store.js';

interface Persisted {
  /** 1; anything else is a file this code does not know. */
  version: number;
  revision: number;
  kvs: KeyValue[];
}

interface WatchEntry {
  prefix: string;
  onEvents: (events: WatchEvent[]) => void;
}

export class EmbeddedMetadataStore implements MetadataStore {
  readonly #path: string | null;
  readonly #kvs = new Map<string, KeyValue>();
  #revision = 0;
  readonly #watchers = new Set<WatchEntry>();
  /** Recent events kept so a watch can start from a revision slightly in the past. */
  readonly #history: WatchEvent[] = [];
  #closed = false;
  readonly #leases = new Map<string, Set<string>>();
  #nextLease = 0;

  /** `path` null keeps everything in memory (tests of pure logic). */
  constructor(path: string | null) {
    this.#path = path;
    if (path) this.#load(path);
  }

  #load(path: string): void {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new MetadataStoreError(`cannot read metadata file ${path}`, { cause: err });
    }
    let data: Persisted;
    try {
      data = JSON.parse(text) as Persisted;
    } catch (err) {
      throw new MetadataStoreError(`metadata file ${path} is not valid JSON`, { cause: err });
    }
    if (data.version !== 1)
      throw new MetadataStoreError(`metadata file ${path} has unknown version ${data.version}`);
    this.#revision = data.revision;
    for (const kv of data.kvs) this.#kvs.set(kv.key, kv);
  }

  #persist(): void {
    if (!this.#path) return;
    const data: Persisted = { version: 1, revision: this.#revision, kvs: [...this.#kvs.values()] };
    mkdirSync(dirname(this.#path), { recursive: true });
    const tmp = `${this.#path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(data));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.#path);
  }

  #check(): void {
    if (this.#closed) throw new MetadataStoreError('metadata store is closed');
  }

  async get(key: string): Promise<KeyValue | null> {
    this.#check();
    return this.#kvs.get(key) ?? null;
  }

  async range(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    this.#check();
    const kvs = [...this.#kvs.values()]
      .filter((kv) => kv.key.startsWith(prefix))
      .sort((a, b) => (a.key < b.key ? -1 : 1));
    return { kvs, revision: this.#revision };
  }

  #holds(c: Compare): boolean {
    const kv = this.#kvs.get(c.key);
    switch (c.target) {
      case 'exists':
        return (kv !== undefined) === c.value;
      case 'value':
        return kv !== undefined && kv.value === c.value;
      case 'createRevision':
        return (kv?.createRevision ?? 0) === c.value;
      case 'modRevision': {
        const rev = kv?.modRevision ?? 0;
        return c.op === '=' ? rev === c.value : c.op === '<' ? rev < c.value : rev > c.value;
      }
    }
  }

  async txn(compares: Compare[], ops: Op[]): Promise<{ succeeded: boolean; revision: number }> {
    this.#check();
    if (!compares.every((c) => this.#holds(c))) return { succeeded: false, revision: this.#revision };
    if (ops.length === 0) return { succeeded: true, revision: this.#revision };
    const rev = this.#revision + 1;
    const events: WatchEvent[] = [];
    for (const op of ops) {
      if (op.type === 'put') {
        const prev = this.#kvs.get(op.key);
        this.#kvs.set(op.key, {
          key: op.key,
          value: op.value,
          modRevision: rev,
          createRevision: prev?.createRevision ?? rev,
        });
        if (op.lease) this.#leases.get(op.lease)?.add(op.key);
        events.push({ type: 'put', key: op.key, value: op.value, modRevision: rev });
      } else {
        const keys =
          op.type === 'delete' ? [op.key] : [...this.#kvs.keys()].filter((k) => k.startsWith(op.prefix));
        for (const k of keys) {
          if (this.#kvs.delete(k)) events.push({ type: 'delete', key: k, modRevision: rev });
        }
      }
    }
    if (events.length === 0) return { succeeded: true, revision: this.#revision };
    this.#revision = rev;
    this.#persist();
    this.#history.push(...events);
    if (this.#history.length > 10_000) this.#history.splice(0, this.#history.length - 10_000);
    for (const w of this.#watchers) this.#deliver(w, events);
    return { succeeded: true, revision: rev };
  }

  #deliver(w: WatchEntry, events: WatchEvent[]): void {
    const mine = events.filter((e) => e.key.startsWith(w.prefix));
    if (mine.length > 0) queueMicrotask(() => this.#watchers.has(w) && w.onEvents(mine));
  }

  async watch(
    prefix: string,
    afterRevision: number,
    onEvents: (events: WatchEvent[]) => void,
  ): Promise<Watcher> {
    this.#check();
    const w: WatchEntry = { prefix, onEvents };
    // History starts at the first change this process made; older revisions (before a restart) are gone.
    const oldest = this.#history[0]?.modRevision ?? this.#revision + 1;
    if (afterRevision < this.#revision && oldest > afterRevision + 1) {
      throw new MetadataStoreError(
        `watch from revision ${afterRevision} is compacted (oldest kept: ${oldest})`,
      );
    }
    const missed = this.#history.filter((e) => e.modRevision > afterRevision);
    this.#watchers.add(w);
    // Replay what happened after afterRevision, grouped by revision, before live events.
    const byRev = new Map<number, WatchEvent[]>();
    for (const e of missed)
      (byRev.get(e.modRevision) ?? byRev.set(e.modRevision, []).get(e.modRevision)!).push(e);
    for (const evs of byRev.values()) this.#deliver(w, evs);
    return { close: async () => void this.#watchers.delete(w) };
  }

  /**
   * Leases in one process never expire on their own (the process holding them is the store); revoke
   * deletes the keys put under them, as etcd does. Leases are not persisted: after a restart their
   * keys are plain keys again, rewritten by whoever owns them.
   */
  async grantLease(_ttlSeconds: number): Promise<Lease> {
    this.#check();
    const id = String(++this.#nextLease);
    this.#leases.set(id, new Set());
    return {
      id,
      onLost: () => {},
      revoke: async () => {
        const keys = this.#leases.get(id);
        this.#leases.delete(id);
        if (keys && keys.size > 0 && !this.#closed)
          await this.txn(
            [],
            [...keys].map((key) => ({ type: 'delete' as const, key })),
          );
      },
    };
  }

  get revision(): number {
    return this.#revision;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#watchers.clear();
  }
}
