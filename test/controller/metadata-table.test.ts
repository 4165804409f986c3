/**
 * MetadataTable: the view every broker reads. On the embedded store: it is built from a range read
 * (the controller epoch is the key's create revision), applies each transaction's events in
 * revision order, resolves waitForRevision only once a revision is applied, and forgets what is
 * deleted (topics with their partitions and ids). On a real etcd behind a proxy: its watch goes on
 * after a cut without losing an event, and when etcd has compacted the revisions it needed meanwhile,
 * it reads everything again and turns the difference into events.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedMetadataStore } from '../../src/controller/embedded-store.js';
import { EtcdMetadataStore } from '../../src/controller/etcd-store.js';
import type { MetadataStore } from '../../src/controller/metadata-store.js';
import { MetadataTable } from '../../src/controller/metadata-table.js';
import { MetadataKeys, type PartitionState, type TopicRecord } from '../../src/controller/records.js';
import { EtcdProcess } from '../helpers/etcd.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from './harness.js';

const ROOT = '/sluice/t';
const k = new MetadataKeys(ROOT);
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function topic(name: string, partitions: number, topicId = `id-${name}`): TopicRecord {
  return { name, topicId, replicas: Array.from({ length: partitions }, () => [1]), configs: {} };
}
const state = (leader: number, partitionEpoch = 0): PartitionState => ({
  leader,
  leaderEpoch: 0,
  isr: [leader],
  partitionEpoch,
});

/** Create a topic the way the frontend does: the record and its partitions in one transaction. */
async function createTopic(store: MetadataStore, t: TopicRecord): Promise<number> {
  const res = await store.txn(
    [],
    [
      { type: 'put', key: k.topic(t.name), value: JSON.stringify(t) },
      ...t.replicas.map((_, i) => ({
        type: 'put' as const,
        key: k.partition(t.name, i),
        value: JSON.stringify(state(1)),
      })),
    ],
  );
  return res.revision;
}

async function deleteTopic(store: MetadataStore, name: string): Promise<number> {
  const res = await store.txn(
    [],
    [
      { type: 'delete', key: k.topic(name) },
      { type: 'deletePrefix', prefix: k.partitionsOf(name) },
    ],
  );
  return res.revision;
}

async function startTable(store: MetadataStore): Promise<MetadataTable> {
  const table = new MetadataTable(store, ROOT);
  await table.start();
  cleanups.push(() => table.stop());
  return table;
}

/** The table's content, for comparing two views. */
function view(t: MetadataTable) {
  return {
    controller: t.controller,
    brokers: [...t.brokers.keys()].sort(),
    topics: Object.fromEntries([...t.topics].sort()),
    ids: [...t.topicsById.keys()].sort(),
    partitions: Object.fromEntries([...t.partitions].map(([n, m]) => [n, Object.fromEntries(m)])),
    brokerConfigs: Object.fromEntries(t.brokerConfigs),
  };
}

describe('MetadataTable on the embedded store', () => {
  it('starts from a range read: every kind of key, and the controller epoch is the key create revision', async () => {
    const store = new EmbeddedMetadataStore(null);
    const ctl = await store.txn(
      [],
      [{ type: 'put', key: k.controller, value: JSON.stringify({ nodeId: 3 }) }],
    );
    await store.txn([], [{ type: 'put', key: k.cluster, value: JSON.stringify({ clusterId: 'abc' }) }]);
    await store.txn(
      [],
      [
        {
          type: 'put',
          key: k.broker(3),
          value: JSON.stringify({ nodeId: 3, host: 'h', port: 9092, rack: 'r1' }),
        },
      ],
    );
    await createTopic(store, topic('a', 2));
    await store.txn([], [{ type: 'put', key: k.brokerConfig('default'), value: '{"log.retention.ms":"5"}' }]);
    await store.txn([], [{ type: 'put', key: `${ROOT}/partitions/a/7`, value: 'not json' }]); // ignored
    await store.txn([], [{ type: 'put', key: `${ROOT}/other/x`, value: '{}' }]); // not ours

    const t = await startTable(store);
    expect(t.clusterId).toBe('abc');
    expect(t.controller).toEqual({ nodeId: 3, epoch: ctl.revision });
    // A registration written before named listeners reads as one endpoint that serves every name.
    expect(t.brokers.get(3)).toMatchObject({
      nodeId: 3,
      rack: 'r1',
      endpoints: [{ name: '', host: 'h', port: 9092 }],
    });
    expect(t.topics.get('a')).toEqual(topic('a', 2));
    expect(t.topicsById.get('id-a')!.name).toBe('a');
    expect(t.partitionState('a', 0)).toEqual(state(1));
    expect(t.partitionState('a', 1)).toEqual(state(1));
    expect(t.partitions.get('a')!.size).toBe(2); // the value that is not JSON is left out
    expect(t.brokerConfigs.get('default')).toEqual({ 'log.retention.ms': '5' });
    expect(t.revision).toBe(store.revision);
  });

  it('applies each transaction in revision order, and waitForRevision resolves once it is applied', async () => {
    const store = new EmbeddedMetadataStore(null);
    const t = await startTable(store);
    const seen: string[] = [];
    t.on('topic', (name, r) => seen.push(`topic ${name} ${r ? 'put' : 'delete'}`));
    t.on('partition', (name, i, s) =>
      seen.push(`partition ${name}-${i} ${s ? `leader ${s.leader}` : 'delete'}`),
    );
    t.on('revision', (rev) => seen.push(`revision ${rev}`));

    const r1 = await createTopic(store, topic('a', 2));
    await t.waitForRevision(r1);
    expect(t.topics.has('a')).toBe(true);
    const r2 = (
      await store.txn([], [{ type: 'put', key: k.partition('a', 1), value: JSON.stringify(state(2, 1)) }])
    ).revision;
    const r3 = await deleteTopic(store, 'a');
    await t.waitForRevision(r3);
    expect(seen).toEqual([
      'topic a put',
      'partition a-0 leader 1',
      'partition a-1 leader 1',
      `revision ${r1}`,
      'partition a-1 leader 2',
      `revision ${r2}`,
      'topic a delete',
      'partition a-0 delete',
      'partition a-1 delete',
      `revision ${r3}`,
    ]);
    // Deleted means gone: the topic, its id and its partitions.
    expect(view(t)).toMatchObject({ topics: {}, ids: [], partitions: {} });
    // A revision already applied resolves at once.
    await t.waitForRevision(r1);
  });

  it('forgets the id of a topic replaced under the same name, and follows the controller key', async () => {
    const store = new EmbeddedMetadataStore(null);
    const t = await startTable(store);
    await createTopic(store, topic('a', 1, 'first'));
    await t.waitForRevision(await deleteTopic(store, 'a'));
    await t.waitForRevision(await createTopic(store, topic('a', 1, 'second')));
    expect([...t.topicsById.keys()]).toEqual(['second']);

    const controllers: unknown[] = [];
    t.on('controller', (c) => controllers.push(c));
    const c1 = await store.txn([], [{ type: 'put', key: k.controller, value: '{"nodeId":1}' }]);
    const gone = await store.txn([], [{ type: 'delete', key: k.controller }]);
    const c2 = await store.txn([], [{ type: 'put', key: k.controller, value: '{"nodeId":2}' }]);
    await t.waitForRevision(c2.revision);
    expect(gone.succeeded).toBe(true);
    expect(controllers).toEqual([{ nodeId: 1, epoch: c1.revision }, null, { nodeId: 2, epoch: c2.revision }]);
  });
});

describe('MetadataTable on etcd, cut off for a while', () => {
  let etcd: EtcdProcess;
  beforeAll(async () => {
    etcd = await new EtcdProcess().start();
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  async function setup() {
    const proxy = await new TcpProxy('127.0.0.1', etcd.clientPort).listen();
    // The broker's store reaches etcd through the proxy; the writer's directly.
    const behind = new EtcdMetadataStore([proxy.endpoint]);
    const writer = new EtcdMetadataStore([etcd.endpoint]);
    cleanups.push(
      () => proxy.close(),
      () => behind.close(),
      () => writer.close(),
    );
    // Each test gets its own root, so a range is of this test's keys only.
    await writer.txn([], [{ type: 'deletePrefix', prefix: `${ROOT}/` }]);
    const t = await startTable(behind);
    return { proxy, writer, t };
  }

  it('hears every change made while it was cut off, in order, when the connection comes back', async () => {
    const { proxy, writer, t } = await setup();
    await t.waitForRevision(await createTopic(writer, topic('a', 1)));
    const seen: string[] = [];
    t.on('partition', (name, i, s) => seen.push(`${name}-${i}:${s?.leader ?? 'deleted'}`));

    proxy.cut();
    await writer.txn([], [{ type: 'put', key: k.partition('a', 0), value: JSON.stringify(state(2, 1)) }]);
    await writer.txn([], [{ type: 'put', key: k.partition('a', 0), value: JSON.stringify(state(3, 2)) }]);
    const last = await deleteTopic(writer, 'a');
    await new Promise((r) => setTimeout(r, 500));
    expect(t.partitionState('a', 0)).toEqual(state(1)); // still the old view
    proxy.restore();

    await t.waitForRevision(last);
    expect(seen).toEqual(['a-0:2', 'a-0:3', 'a-0:deleted']);
    expect(t.resyncs).toBe(0);
  });

  it('reads everything again when etcd compacted the revisions it missed, and emits the difference', async () => {
    const { proxy, writer, t } = await setup();
    await createTopic(writer, topic('kept', 1));
    await createTopic(writer, topic('gone', 2));
    await t.waitForRevision(await createTopic(writer, topic('changed', 1)));
    const events: string[] = [];
    t.on('topic', (name, r) => events.push(`topic ${name} ${r ? 'put' : 'delete'}`));
    t.on('partition', (name, i, s) =>
      events.push(`partition ${name}-${i} ${s ? `leader ${s.leader}` : 'delete'}`),
    );

    proxy.cut();
    await deleteTopic(writer, 'gone');
    await writer.txn(
      [],
      [{ type: 'put', key: k.partition('changed', 0), value: JSON.stringify(state(2, 1)) }],
    );
    await createTopic(writer, topic('new', 1));
    const { revision } = await writer.range(`${ROOT}/`);
    // etcd forgets the history the table would resume from.
    await writer.client.kv.compact({ revision: String(revision), physical: true });
    proxy.restore();

    await waitFor('the table to resync', () => (t.resyncs > 0 ? true : undefined), 30_000);
    // The same view as a table that starts now.
    const fresh = await startTable(writer);
    expect(view(t)).toEqual(view(fresh));
    expect(t.topics.has('gone')).toBe(false);
    expect(t.partitionState('changed', 0)).toEqual(state(2, 1));
    expect(events.sort()).toEqual(
      [
        'topic gone delete',
        'partition gone-0 delete',
        'partition gone-1 delete',
        'partition changed-0 leader 2',
        'topic new put',
        'partition new-0 leader 1',
      ].sort(),
    );

    // And it watches on from there.
    const after = await createTopic(writer, topic('later', 1));
    await t.waitForRevision(after);
    expect(t.topics.has('later')).toBe(true);
  });
});
