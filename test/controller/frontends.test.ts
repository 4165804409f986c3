/**
 * TopicFrontend and ConfigFrontend on the real embedded store (the single node's metadata file):
 * what they refuse and with which Kafka error name and message, what they write, and that every
 * write carries the fence given at construction (a single node's own controller key).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigFrontend } from '../../src/controller/config-frontend.js';
import { EmbeddedMetadataStore } from '../../src/controller/embedded-store.js';
import { MetadataTable } from '../../src/controller/metadata-table.js';
import { encodeBrokerRegistration, type PartitionState } from '../../src/controller/records.js';
import {
  TopicFrontend,
  TopicOperationError,
  type CreateTopicRequest,
} from '../../src/controller/topic-frontend.js';
import { claimSingleNodeController } from '../../src/controller/write-fence.js';
import { snapshot } from './harness.js';

const ROOT = '/sluice';
const DEFAULTS = { numPartitions: 3, replicationFactor: 1 };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A single node's metadata: a store in a temp dir, brokers registered, the node's own fence. */
async function singleNode(brokers: { id: number; rack?: string }[] = [{ id: 1 }]) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-frontend-'));
  const path = join(dir, '__metadata.json');
  const store = new EmbeddedMetadataStore(path);
  cleanups.push(
    () => rmSync(dir, { recursive: true, force: true }),
    () => store.close(),
  );
  const table = new MetadataTable(store, ROOT);
  await table.start();
  cleanups.push(() => table.stop());
  for (const b of brokers) {
    const r = await store.txn(
      [],
      [
        {
          type: 'put',
          key: table.keys.broker(b.id),
          value: encodeBrokerRegistration(
            {
              nodeId: b.id,
              endpoints: [{ name: 'PLAINTEXT', host: 'h', port: 9092, securityProtocol: 'PLAINTEXT' }],
              rack: b.rack ?? null,
              incarnationId: 'x',
            },
            'PLAINTEXT',
          ),
        },
      ],
    );
    await table.waitForRevision(r.revision);
  }
  const fence = await claimSingleNodeController(store, table, 1);
  return {
    path,
    store,
    table,
    topics: new TopicFrontend(store, table, fence),
    configs: new ConfigFrontend(store, table, fence),
  };
}

async function failure(
  p: Promise<unknown> | (() => unknown),
): Promise<{ errorName: string; message: string } | 'ok'> {
  try {
    await (typeof p === 'function' ? p() : p);
    return 'ok';
  } catch (err) {
    if (err instanceof TopicOperationError) return { errorName: err.errorName, message: err.message };
    throw err;
  }
}

describe('TopicFrontend: CreateTopics validation', () => {
  it('refuses bad requests with Kafka error names and messages, and writes nothing', async () => {
    const n = await singleNode([{ id: 1 }, { id: 2 }]);
    await n.topics.create({ name: 'my_topic', numPartitions: 1, replicationFactor: 1 }, DEFAULTS);
    const before = await snapshot(n.store, ROOT);
    const req = (r: Partial<CreateTopicRequest>): CreateTopicRequest => ({
      name: 'x',
      numPartitions: 1,
      replicationFactor: 1,
      ...r,
    });
    const cases: [CreateTopicRequest, string, string][] = [
      [req({ name: '' }), 'INVALID_TOPIC_EXCEPTION', "Topic name is illegal, it can't be empty"],
      [req({ name: '..' }), 'INVALID_TOPIC_EXCEPTION', 'Topic name cannot be "." or ".."'],
      [
        req({ name: 'a b' }),
        'INVALID_TOPIC_EXCEPTION',
        `Topic name "a b" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`,
      ],
      [
        req({ name: 'x'.repeat(250) }),
        'INVALID_TOPIC_EXCEPTION',
        expect.stringContaining("can't be longer than 249") as string,
      ],
      [
        req({ name: '__consumer_offsets' }),
        'INVALID_REQUEST',
        'Creation of internal topic __consumer_offsets is prohibited.',
      ],
      [req({ name: 'my_topic' }), 'TOPIC_ALREADY_EXISTS', "Topic 'my_topic' already exists."],
      [
        req({ name: 'my.topic' }),
        'INVALID_TOPIC_EXCEPTION',
        "Topic 'my.topic' collides with existing topic: my_topic",
      ],
      [
        req({ numPartitions: 0 }),
        'INVALID_PARTITIONS',
        'Number of partitions was set to an invalid non-positive value.',
      ],
      [
        req({ replicationFactor: 0 }),
        'INVALID_REPLICATION_FACTOR',
        'Replication factor must be larger than 0, or -1 to use the default value.',
      ],
      [
        req({ replicationFactor: 3 }),
        'INVALID_REPLICATION_FACTOR',
        'Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 2 broker(s) are registered.',
      ],
      [
        req({ assignment: [[1]] }),
        'INVALID_REQUEST',
        'A manual partition assignment was specified, but replication factor was not set to -1.',
      ],
      [
        req({ numPartitions: -1, replicationFactor: -1, assignment: [[1, 2], [1]] }),
        'INVALID_REPLICA_ASSIGNMENT',
        'The manual partition assignment includes a partition with 1 replica(s), but this is not consistent with previous partitions, which have 2 replica(s).',
      ],
      [
        req({ numPartitions: -1, replicationFactor: -1, assignment: [[2, 2]] }),
        'INVALID_REPLICA_ASSIGNMENT',
        'The manual partition assignment includes the broker 2 more than once.',
      ],
      [
        req({ numPartitions: -1, replicationFactor: -1, assignment: [[1, 5]] }),
        'INVALID_REPLICA_ASSIGNMENT',
        'The manual partition assignment includes broker 5, but no such broker is registered.',
      ],
      [
        req({ configs: { 'retention.ms': 'soon' } }),
        'INVALID_CONFIG',
        'Invalid value soon for configuration retention.ms: Not a number of type LONG',
      ],
      [
        req({ configs: { 'no.such.config': '1' } }),
        'INVALID_CONFIG',
        expect.stringContaining('no.such.config') as string,
      ],
    ];
    for (const [r, errorName, message] of cases) {
      expect(await failure(n.topics.create(r, DEFAULTS)), JSON.stringify(r).slice(0, 80)).toEqual({
        errorName,
        message,
      });
      // validateOnly (plan) gives the same answer without writing.
      expect(await failure(() => n.topics.plan(r, DEFAULTS))).toEqual({ errorName, message });
    }
    expect(await snapshot(n.store, ROOT)).toEqual(before);
  });

  it('creates the topic and its partitions in one write, leaders first in each replica list', async () => {
    const n = await singleNode([{ id: 1 }, { id: 2 }, { id: 3 }]);
    const { record, revision } = await n.topics.create(
      { name: 't', numPartitions: -1, replicationFactor: 2, configs: { 'cleanup.policy': 'compact' } },
      DEFAULTS,
    );
    expect(record.replicas).toEqual([
      [1, 2],
      [2, 3],
      [3, 1],
    ]);
    expect(record.configs).toEqual({ 'cleanup.policy': 'compact' });
    expect(record.topicId).toMatch(/^[0-9a-f-]{36}$/);
    // One transaction: the topic and every partition state share its revision.
    const { kvs } = await n.store.range(`${ROOT}/`);
    const written = kvs.filter((kv) => kv.key.includes('/t'));
    expect(written.map((kv) => kv.key.slice(ROOT.length))).toEqual([
      '/partitions/t/0',
      '/partitions/t/1',
      '/partitions/t/2',
      '/topics/t',
    ]);
    expect(new Set(written.map((kv) => kv.modRevision))).toEqual(new Set([revision]));
    expect(JSON.parse(written[1]!.value)).toEqual({
      leader: 2,
      leaderEpoch: 0,
      isr: [2, 3],
      partitionEpoch: 0,
    });
    expect(n.table.topics.get('t')).toEqual(record); // applied before create returns
    // The internal topic, when the broker itself asks.
    const offsets = await n.topics.create(
      { name: '__consumer_offsets', numPartitions: 2, replicationFactor: 1 },
      DEFAULTS,
      true,
    );
    expect(offsets.record.replicas).toHaveLength(2);
  });

  it('assigns replicas across racks when every broker has one', async () => {
    const n = await singleNode([
      { id: 1, rack: 'a' },
      { id: 2, rack: 'a' },
      { id: 3, rack: 'b' },
    ]);
    const { record } = await n.topics.create({ name: 't', numPartitions: 3, replicationFactor: 2 }, DEFAULTS);
    const rack = (id: number) => (id === 3 ? 'b' : 'a');
    for (const r of record.replicas) expect(new Set(r.map(rack)).size).toBe(2);
  });
});

describe('TopicFrontend: CreatePartitions, DeleteTopics, AlterConfigs', () => {
  it('grows a topic, continuing its assignment, and refuses what Kafka refuses', async () => {
    const n = await singleNode([{ id: 1 }, { id: 2 }]);
    await n.topics.create({ name: 't', numPartitions: 2, replicationFactor: 2 }, DEFAULTS);
    const cases: [() => Promise<unknown>, string, string][] = [
      [
        () => n.topics.createPartitions('nope', 3, null, false),
        'UNKNOWN_TOPIC_OR_PARTITION',
        "The topic 'nope' does not exist.",
      ],
      [
        () => n.topics.createPartitions('t', 1, null, false),
        'INVALID_PARTITIONS',
        'The topic t currently has 2 partition(s); 1 would not be an increase.',
      ],
      [
        () => n.topics.createPartitions('t', 2, null, false),
        'INVALID_PARTITIONS',
        'Topic already has 2 partition(s).',
      ],
      [
        () => n.topics.createPartitions('t', 4, [[1, 2]], false),
        'INVALID_REPLICA_ASSIGNMENT',
        'Increasing the number of partitions by 2 but 1 assignments provided.',
      ],
      [
        () => n.topics.createPartitions('t', 3, [[1]], false),
        'INVALID_REPLICA_ASSIGNMENT',
        'The manual partition assignment includes a partition with 1 replica(s), but this is not consistent with previous partitions, which have 2 replica(s).',
      ],
      [
        () => n.topics.createPartitions('t', 3, [[1, 9]], false),
        'INVALID_REPLICA_ASSIGNMENT',
        'The manual partition assignment includes broker 9, but no such broker is registered.',
      ],
    ];
    for (const [op, errorName, message] of cases) expect(await failure(op())).toEqual({ errorName, message });

    expect(await n.topics.createPartitions('t', 4, null, true)).toBe(0); // validateOnly
    expect(n.table.topics.get('t')!.replicas).toHaveLength(2);
    await n.topics.createPartitions('t', 4, null, false);
    expect(n.table.topics.get('t')!.replicas).toEqual([
      [1, 2],
      [2, 1],
      [1, 2],
      [2, 1],
    ]);
    expect(n.table.partitionState('t', 3)).toEqual({
      leader: 2,
      leaderEpoch: 0,
      isr: [2, 1],
      partitionEpoch: 0,
    });
    await n.topics.createPartitions('t', 5, [[2, 1]], false);
    expect(n.table.topics.get('t')!.replicas[4]).toEqual([2, 1]);
  });

  it('deletes a topic with its partitions, and never an internal one', async () => {
    const n = await singleNode();
    await n.topics.create({ name: 't', numPartitions: 2, replicationFactor: 1 }, DEFAULTS);
    await n.topics.create(
      { name: '__consumer_offsets', numPartitions: 1, replicationFactor: 1 },
      DEFAULTS,
      true,
    );
    expect(await failure(n.topics.delete('nope'))).toEqual({
      errorName: 'UNKNOWN_TOPIC_OR_PARTITION',
      message: "Topic 'nope' does not exist.",
    });
    expect(await failure(n.topics.delete('__consumer_offsets'))).toEqual({
      errorName: 'TOPIC_DELETION_DISABLED',
      message: 'Internal topic __consumer_offsets cannot be deleted.',
    });
    await n.topics.delete('t');
    expect(n.table.topics.has('t')).toBe(false);
    expect((await n.store.range(`${ROOT}/partitions/t/`)).kvs).toEqual([]);
  });

  it('replaces topic configs after validating them', async () => {
    const n = await singleNode();
    await n.topics.create(
      { name: 't', numPartitions: 1, replicationFactor: 1, configs: { 'retention.ms': '1' } },
      DEFAULTS,
    );
    expect(await failure(n.topics.alterConfigs('t', { 'min.insync.replicas': '0' }, false))).toMatchObject({
      errorName: 'INVALID_CONFIG',
    });
    expect(await failure(n.topics.alterConfigs('nope', {}, false))).toEqual({
      errorName: 'UNKNOWN_TOPIC_OR_PARTITION',
      message: "Topic 'nope' does not exist.",
    });
    expect(await n.topics.alterConfigs('t', { 'segment.ms': '100' }, true)).toBe(0);
    expect(n.table.topics.get('t')!.configs).toEqual({ 'retention.ms': '1' });
    await n.topics.alterConfigs('t', { 'segment.ms': '100' }, false);
    expect(n.table.topics.get('t')!.configs).toEqual({ 'segment.ms': '100' });
  });
});

describe('ConfigFrontend', () => {
  it('writes dynamic broker configs, removes them when empty, and refuses static ones and bad values, keeps unknown keys as Kafka does', async () => {
    const n = await singleNode();
    expect(await failure(n.configs.setBrokerConfigs(1, { 'log.dirs': '/x' }, false))).toEqual({
      errorName: 'INVALID_CONFIG',
      message: 'Cannot update these configs dynamically: [log.dirs]',
    });
    // An unknown broker key is stored, as Kafka 4.4 does (users paste whole property files).
    expect(await n.configs.setBrokerConfigs(1, { 'no.such': '1' }, false)).toBeGreaterThan(0);
    await n.configs.setBrokerConfigs(1, {}, false);
    expect(
      await failure(n.configs.setBrokerConfigs('default', { 'log.retention.ms': 'x' }, false)),
    ).toMatchObject({
      errorName: 'INVALID_CONFIG',
    });
    expect(await n.configs.setBrokerConfigs(1, { 'log.retention.ms': '5' }, true)).toBe(0);
    expect(n.configs.current(1)).toEqual({});
    await n.configs.setBrokerConfigs(1, { 'log.retention.ms': '5' }, false);
    await n.configs.setBrokerConfigs('default', { 'log.retention.ms': '7' }, false);
    expect(n.configs.current(1)).toEqual({ 'log.retention.ms': '5' });
    expect(n.configs.current('default')).toEqual({ 'log.retention.ms': '7' });
    await n.configs.setBrokerConfigs(1, {}, false);
    expect(await n.store.get(`${ROOT}/configs/brokers/1`)).toBeNull();
  });
});

describe("a single node's fence", () => {
  it('claims the controller key again at each start; a frontend of an earlier claim can no longer write', async () => {
    const n = await singleNode();
    await n.topics.create({ name: 't', numPartitions: 1, replicationFactor: 1 }, DEFAULTS);
    const first = n.table.controller!;
    expect(first.nodeId).toBe(1);

    // Claimed again (as a restart does): the old epoch is gone.
    const fence = await claimSingleNodeController(n.store, n.table, 1);
    expect(n.table.controller!.epoch).toBeGreaterThan(first.epoch);
    const before = await snapshot(n.store, ROOT);
    const writes: (() => Promise<unknown>)[] = [
      () => n.topics.create({ name: 'u', numPartitions: 1, replicationFactor: 1 }, DEFAULTS),
      () => n.topics.createPartitions('t', 2, null, false),
      () => n.topics.alterConfigs('t', { 'retention.ms': '5' }, false),
      () => n.topics.delete('t'),
      () => n.configs.setBrokerConfigs('default', { 'log.retention.ms': '5' }, false),
    ];
    for (const w of writes)
      expect(await failure(w())).toEqual({
        errorName: 'NOT_CONTROLLER',
        message: 'This broker is no longer the controller.',
      });
    expect(await snapshot(n.store, ROOT)).toEqual(before);

    // The new claim's frontend writes.
    const topics = new TopicFrontend(n.store, n.table, fence);
    await topics.createPartitions('t', 2, null, false);
    expect(n.table.topics.get('t')!.replicas).toHaveLength(2);
    // The state survives reopening the file.
    const reopened = new EmbeddedMetadataStore(n.path);
    const kv = await reopened.get(`${ROOT}/partitions/t/1`);
    expect(JSON.parse(kv!.value) as PartitionState).toMatchObject({ leader: 1, isr: [1] });
    await reopened.close();
  });
});
