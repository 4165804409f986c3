/**
 * WatchedPrefix, the one owner of "mirror a store prefix in memory", and the SCRAM, client quota and
 * features tables built on it. On the embedded store: the initial read and each transaction are
 * applied as one batch in revision order, only keys under the prefix, and waitForRevision resolves
 * once a revision is applied. On a real etcd behind a proxy, cut while changes are made and the
 * history compacted: the failed watch is replaced by the difference of a new read (only what
 * changed, as events, in one batch), a re-read that fails is retried until it succeeds, the tables
 * end with every change made meanwhile, and a value kept all along is never missing from them in
 * between.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ScramCredential, ScramMechanismName } from '../../src/common/scram-credential.js';
import {
  ClientQuotaTable,
  clientQuotaKey,
  type StoredClientQuota,
} from '../../src/controller/client-quota-table.js';
import { EmbeddedMetadataStore } from '../../src/controller/embedded-store.js';
import { EtcdMetadataStore } from '../../src/controller/etcd-store.js';
import { FeaturesTable } from '../../src/controller/features-table.js';
import {
  type KeyValue,
  MetadataStoreError,
  type MetadataStore,
  type WatchEvent,
  type Watcher,
} from '../../src/controller/metadata-store.js';
import { encodeCredential, ScramCredentialTable, scramKey } from '../../src/controller/scram-table.js';
import { WatchedPrefix } from '../../src/controller/watched-prefix.js';
import { EtcdProcess } from '../helpers/etcd.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from './harness.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const SHA256: ScramMechanismName = 'SCRAM-SHA-256';
const credential = (iterations: number): ScramCredential => ({
  salt: randomBytes(16),
  storedKey: randomBytes(32),
  serverKey: randomBytes(32),
  iterations,
});
const quota = (user: string, rate: number): StoredClientQuota => ({
  entity: { user },
  quotas: { producer_byte_rate: rate },
});

async function put(store: MetadataStore, key: string, value: string): Promise<number> {
  return (await store.txn([], [{ type: 'put', key, value }])).revision;
}
async function del(store: MetadataStore, key: string): Promise<number> {
  return (await store.txn([], [{ type: 'delete', key }])).revision;
}

/** A mirror that records what it applies: `put key=value@create`, `delete key`, `batch rev`. */
function recordingMirror(store: MetadataStore, prefix: string) {
  const seen: string[] = [];
  const mirror = new WatchedPrefix({
    store,
    prefix,
    name: 'test-mirror',
    apply: (e, createRevision) =>
      seen.push(
        e.type === 'put'
          ? `put ${e.key}=${e.value}${createRevision === undefined ? '' : `@${createRevision}`}`
          : `delete ${e.key}`,
      ),
    afterBatch: (revision) => seen.push(`batch ${revision}`),
  });
  cleanups.push(() => mirror.stop());
  return { mirror, seen };
}

describe('WatchedPrefix on the embedded store', () => {
  it('applies one read of its prefix, then each transaction as one batch in revision order', async () => {
    const store = new EmbeddedMetadataStore(null);
    const a = await put(store, '/p/a', '1');
    await put(store, '/q/x', 'not ours');
    await put(store, '/pz', 'not ours either');
    const b = await put(store, '/p/b', '2');
    const { mirror, seen } = recordingMirror(store, '/p/');
    await mirror.start();
    expect(seen.splice(0)).toEqual([`put /p/a=1@${a}`, `put /p/b=2@${b}`, `batch ${b}`]);
    expect(mirror.revision).toBe(store.revision);

    const t1 = await store.txn(
      [],
      [
        { type: 'put', key: '/p/c', value: '3' },
        { type: 'delete', key: '/p/a' },
        { type: 'put', key: '/q/y', value: 'not ours' },
      ],
    );
    const t2 = await put(store, '/p/b', '22');
    await mirror.waitForRevision(t2);
    expect(mirror.revision).toBe(t2);
    expect(seen.splice(0)).toEqual([
      'put /p/c=3',
      'delete /p/a',
      `batch ${t1.revision}`,
      'put /p/b=22',
      `batch ${t2}`,
    ]);
    // A revision already applied resolves at once; a later one once it is applied.
    await mirror.waitForRevision(t1.revision);
    const pending = mirror.waitForRevision(t2 + 1);
    await put(store, '/p/d', '4');
    await pending;

    await mirror.stop();
    seen.length = 0;
    await put(store, '/p/e', '5');
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([]);
    expect(mirror.replacements).toBe(0);
  });

  it('feeds the SCRAM and client quota tables: read-your-writes, deletes, a change event per batch', async () => {
    const store = new EmbeddedMetadataStore(null);
    const root = '/sluice/e';
    await put(store, scramKey(root, SHA256, 'alice'), encodeCredential(credential(4096)));
    await put(store, clientQuotaKey(root, { user: 'alice' }), JSON.stringify(quota('alice', 1000)));
    const scram = new ScramCredentialTable(store, root);
    const quotas = new ClientQuotaTable(store, root);
    let changes = 0;
    quotas.on('change', () => changes++);
    await scram.start();
    await quotas.start();
    cleanups.push(
      () => scram.stop(),
      () => quotas.stop(),
    );
    expect(scram.get('alice', SHA256)?.iterations).toBe(4096);
    expect(quotas.get({ user: 'alice' })).toEqual({ producer_byte_rate: 1000 });
    expect(changes).toBe(1);

    await scram.waitForRevision(
      await put(store, scramKey(root, SHA256, 'bob/x'), encodeCredential(credential(8192))),
    );
    expect([...scram.users()].map(([u, m]) => [u, Object.fromEntries(m)])).toEqual([
      ['alice', { [SHA256]: 4096 }],
      ['bob/x', { [SHA256]: 8192 }],
    ]);
    await scram.waitForRevision(await del(store, scramKey(root, SHA256, 'alice')));
    expect(scram.get('alice', SHA256)).toBeUndefined();

    const v = quotas.version;
    await quotas.waitForRevision(await del(store, clientQuotaKey(root, { user: 'alice' })));
    expect(quotas.get({ user: 'alice' })).toEqual({});
    expect(quotas.quotas.size).toBe(0);
    expect(quotas.version).toBeGreaterThan(v);
    expect(changes).toBe(2);
  });
});

/**
 * The real etcd store, except that after a watch fails the next `failRanges` range reads fail as an
 * unreachable etcd's would: what a replacement meets when etcd is still flapping.
 */
class FlakyRangeStore implements MetadataStore {
  readonly #inner: MetadataStore;
  failRanges = 0;
  failedRanges = 0;
  watchErrors = 0;

  constructor(inner: MetadataStore) {
    this.#inner = inner;
  }

  get: MetadataStore['get'] = (key) => this.#inner.get(key);
  txn: MetadataStore['txn'] = (compares, ops) => this.#inner.txn(compares, ops);
  grantLease: MetadataStore['grantLease'] = (ttl) => this.#inner.grantLease(ttl);
  close: MetadataStore['close'] = () => this.#inner.close();

  async range(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    if (this.failRanges > 0) {
      this.failRanges--;
      this.failedRanges++;
      throw new MetadataStoreError('etcd request failed: injected after a watch failure');
    }
    return this.#inner.range(prefix);
  }

  watch(
    prefix: string,
    afterRevision: number,
    onEvents: (events: WatchEvent[]) => void,
    onError?: (err: Error) => void,
  ): Promise<Watcher> {
    return this.#inner.watch(prefix, afterRevision, onEvents, (err) => {
      this.watchErrors++;
      onError?.(err);
    });
  }
}

describe('on etcd, when the watch fails because etcd compacted what it missed', () => {
  let etcd: EtcdProcess;
  beforeAll(async () => {
    etcd = await new EtcdProcess().start();
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  /** A store reaching etcd through a proxy (to cut) that fails `failRanges` reads after a watch error. */
  async function setup(root: string) {
    const proxy = await new TcpProxy('127.0.0.1', etcd.clientPort).listen();
    const behind = new FlakyRangeStore(new EtcdMetadataStore([proxy.endpoint]));
    const writer = new EtcdMetadataStore([etcd.endpoint]);
    cleanups.push(
      () => proxy.close(),
      () => behind.close(),
      () => writer.close(),
    );
    await writer.txn([], [{ type: 'deletePrefix', prefix: `${root}/` }]);
    /** Cut the proxy, make the changes, compact etcd's history past them, restore. */
    const whileCut = async (changes: () => Promise<unknown>) => {
      proxy.cut();
      await changes();
      const { revision } = await writer.range(`${root}/`);
      await writer.client.kv.compact({ revision: String(revision), physical: true });
      proxy.restore();
    };
    return { behind, writer, whileCut };
  }

  /** Samples `check` every millisecond until stopped; returns how many samples there were and failed. */
  function sample(check: () => boolean) {
    const counts = { samples: 0, failed: 0 };
    const timer = setInterval(() => {
      counts.samples++;
      if (!check()) counts.failed++;
    }, 1);
    cleanups.push(() => clearInterval(timer));
    return { counts, stop: () => clearInterval(timer) };
  }

  it('WatchedPrefix applies only the difference of a new read, as events in one batch, and watches on', async () => {
    const root = '/sluice/wp-raw';
    const p = `${root}/x/`;
    const { behind, writer, whileCut } = await setup(root);
    await put(writer, `${p}kept`, 'k');
    await put(writer, `${p}gone`, 'g');
    await put(writer, `${p}changed`, 'c1');
    const { mirror, seen } = recordingMirror(behind, p);
    await mirror.start();
    seen.length = 0;

    let created = 0;
    await whileCut(async () => {
      await del(writer, `${p}gone`);
      await put(writer, `${p}changed`, 'c2');
      created = await put(writer, `${p}new`, 'n');
    });
    await waitFor('the watch to be replaced', () => (mirror.replacements > 0 ? true : undefined), 30_000);
    expect(behind.watchErrors).toBe(1);
    const { revision } = await writer.range(`${root}/`);
    // Deletes first, then puts in key order; `kept` is not touched; one batch at the read's revision.
    expect(seen.splice(0)).toEqual([
      `delete ${p}gone`,
      expect.stringMatching(new RegExp(`^put ${p}changed=c2@\\d+$`)),
      `put ${p}new=n@${created}`,
      `batch ${revision}`,
    ]);
    expect(mirror.revision).toBe(revision);

    const later = await put(writer, `${p}later`, 'l');
    await mirror.waitForRevision(later);
    expect(seen).toEqual([`put ${p}later=l`, `batch ${later}`]);
    expect(mirror.replacements).toBe(1);
  });

  it('ScramCredentialTable ends with every change made meanwhile, retries failed re-reads, and never loses a kept user', async () => {
    const root = '/sluice/wp-scram';
    const { behind, writer, whileCut } = await setup(root);
    await put(writer, scramKey(root, SHA256, 'kept'), encodeCredential(credential(4096)));
    await put(writer, scramKey(root, SHA256, 'gone'), encodeCredential(credential(4096)));
    await put(writer, scramKey(root, SHA256, 'changed'), encodeCredential(credential(4096)));
    const table = new ScramCredentialTable(behind, root);
    await table.start();
    cleanups.push(() => table.stop());
    expect([...table.users().keys()].sort()).toEqual(['changed', 'gone', 'kept']);

    const sampler = sample(() => table.get('kept', SHA256)?.iterations === 4096);
    // The first two reads after the watch fails fail too (etcd still unreachable, say).
    behind.failRanges = 2;
    await whileCut(async () => {
      await del(writer, scramKey(root, SHA256, 'gone'));
      await put(writer, scramKey(root, SHA256, 'changed'), encodeCredential(credential(8192)));
      await put(writer, scramKey(root, 'SCRAM-SHA-512', 'new'), encodeCredential(credential(4096)));
    });
    await waitFor(
      'the table to have the changes made while it was cut off',
      () =>
        table.get('gone', SHA256) === undefined &&
        table.get('changed', SHA256)?.iterations === 8192 &&
        table.get('new', 'SCRAM-SHA-512') !== undefined
          ? true
          : undefined,
      30_000,
    );
    sampler.stop();
    expect(behind.watchErrors).toBe(1);
    expect(behind.failedRanges).toBe(2);
    expect(sampler.counts.samples).toBeGreaterThan(0);
    expect(sampler.counts.failed).toBe(0);
    expect([...table.users()].map(([u, m]) => [u, Object.fromEntries(m)]).sort()).toEqual([
      ['changed', { [SHA256]: 8192 }],
      ['kept', { [SHA256]: 4096 }],
      ['new', { 'SCRAM-SHA-512': 4096 }],
    ]);

    // And it watches on.
    const later = await put(writer, scramKey(root, SHA256, 'later'), encodeCredential(credential(4096)));
    await table.waitForRevision(later);
    expect(table.get('later', SHA256)).toBeDefined();
  });

  it('ClientQuotaTable ends with every change made meanwhile, and every change event sees the kept quota', async () => {
    const root = '/sluice/wp-quota';
    const { behind, writer, whileCut } = await setup(root);
    const key = (user: string) => clientQuotaKey(root, { user });
    await put(writer, key('kept'), JSON.stringify(quota('kept', 1000)));
    await put(writer, key('gone'), JSON.stringify(quota('gone', 1000)));
    await put(writer, key('changed'), JSON.stringify(quota('changed', 1000)));
    const table = new ClientQuotaTable(behind, root);
    const keptAtChange: number[] = [];
    table.on('change', () => keptAtChange.push(table.get({ user: 'kept' }).producer_byte_rate ?? -1));
    await table.start();
    cleanups.push(() => table.stop());
    expect(table.quotas.size).toBe(3);

    const sampler = sample(() => table.get({ user: 'kept' }).producer_byte_rate === 1000);
    behind.failRanges = 1;
    await whileCut(async () => {
      await del(writer, key('gone'));
      await put(writer, key('changed'), JSON.stringify(quota('changed', 2000)));
      await put(writer, key('new'), JSON.stringify(quota('new', 3000)));
    });
    await waitFor(
      'the table to have the changes made while it was cut off',
      () => (table.get({ user: 'new' }).producer_byte_rate === 3000 ? true : undefined),
      30_000,
    );
    sampler.stop();
    expect(behind.watchErrors).toBe(1);
    expect(behind.failedRanges).toBe(1);
    expect(sampler.counts.failed).toBe(0);
    expect(Object.fromEntries([...table.quotas.values()].map((q) => [q.entity.user, q.quotas]))).toEqual({
      kept: { producer_byte_rate: 1000 },
      changed: { producer_byte_rate: 2000 },
      new: { producer_byte_rate: 3000 },
    });
    // One change event for the start, one for the replacement's difference.
    expect(keptAtChange).toEqual([1000, 1000]);

    const later = await put(writer, key('later'), JSON.stringify(quota('later', 4000)));
    await table.waitForRevision(later);
    expect(table.get({ user: 'later' })).toEqual({ producer_byte_rate: 4000 });
    expect(keptAtChange).toEqual([1000, 1000, 1000]);
  });

  it('FeaturesTable ends with the levels written meanwhile (it had no replacement for a failed watch before)', async () => {
    const root = '/sluice/wp-features';
    const { behind, writer, whileCut } = await setup(root);
    const table = new FeaturesTable(behind, root);
    await table.start();
    cleanups.push(() => table.stop());
    await table.bootstrap();
    const before = table.epoch;
    expect(before).toBeGreaterThan(0);

    let written = 0;
    await whileCut(async () => {
      // Two writes: etcd keeps the compaction revision itself, so the one in between is what is lost.
      await put(writer, table.key, JSON.stringify({ levels: { 'metadata.version': 6 } }));
      written = await put(
        writer,
        table.key,
        JSON.stringify({ levels: { 'metadata.version': 7, 'x.version': 2 } }),
      );
    });
    await waitFor(
      'the table to have the levels written while it was cut off',
      () => (table.epoch === written ? true : undefined),
      30_000,
    );
    expect(behind.watchErrors).toBe(1);
    expect(table.levels).toEqual({ 'metadata.version': 7, 'x.version': 2 });
    // A compare-and-set through the table still works after the replacement (it waits for its own write).
    expect(await table.update(written, { 'metadata.version': 8 })).toBe(true);
    expect(table.levels).toEqual({ 'metadata.version': 8 });
  });
});
