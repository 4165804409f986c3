/**
 * Admin writes forwarded over the real gRPC control plane (loopback), in process on the embedded
 * store: a broker's ForwardingTopicAdmin / ForwardingConfigAdmin → ControlPlaneClient → the active
 * controller's ControlPlaneServer → Controller → TopicFrontend. What the handlers see must be what a
 * single node's frontends give: the same Kafka error names and messages, and the write already in
 * the broker's own view when the call returns.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LocalConfigAdmin,
  LocalTopicAdmin,
  type BrokerConfigAdmin,
  type TopicAdmin,
} from '../../src/controller/admin-writes.js';
import { ConfigFrontend } from '../../src/controller/config-frontend.js';
import { EmbeddedMetadataStore } from '../../src/controller/embedded-store.js';
import { ControlPlaneClient } from '../../src/controller/grpc/control-plane-client.js';
import { callUnary, controlPlaneChannel } from '../../src/controller/grpc/methods.js';
import { ForwardingConfigAdmin, ForwardingTopicAdmin } from '../../src/controller/grpc/forwarding-admin.js';
import { TopicFrontend, TopicOperationError } from '../../src/controller/topic-frontend.js';
import { controllerEpochFence } from '../../src/controller/write-fence.js';
import { ControllerNode, waitActive, waitFor } from './harness.js';

const ROOT = '/sluice/test';
const DEFAULTS = { numPartitions: 2, replicationFactor: 2 };
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-control-plane-'));
  const store = new EmbeddedMetadataStore(join(dir, '__metadata.json'));
  cleanups.push(
    () => rmSync(dir, { recursive: true, force: true }),
    () => store.close(),
  );
  const ctl = await ControllerNode.start({ id: 9, store, root: ROOT, controlPlane: true });
  cleanups.push(() => ctl.close());
  await waitActive(ctl);
  const broker = await ControllerNode.start({ id: 1, store, root: ROOT, controller: false });
  const other = await ControllerNode.start({ id: 2, store, root: ROOT, controller: false });
  cleanups.push(
    () => broker.close(),
    () => other.close(),
  );
  await waitFor('the controller to see both brokers', () =>
    ctl.table.brokers.has(1) && ctl.table.brokers.has(2) ? true : undefined,
  );
  await broker.table.waitForRevision(ctl.table.revision);
  const client = new ControlPlaneClient(broker.table, 'PLAINTEXT');
  cleanups.push(() => client.close());
  return {
    store,
    ctl,
    broker,
    client,
    topics: new ForwardingTopicAdmin(client, broker.table),
    configs: new ForwardingConfigAdmin(client, broker.table),
    // What a single node would answer from the same view (validation happens before any write).
    local: {
      topics: new LocalTopicAdmin(
        new TopicFrontend(
          store,
          broker.table,
          controllerEpochFence(broker.table, () => -1),
        ),
      ),
      configs: new LocalConfigAdmin(
        new ConfigFrontend(
          store,
          broker.table,
          controllerEpochFence(broker.table, () => -1),
        ),
      ),
    },
  };
}

/** The error a promise rejects with, as { errorName, message }, or 'ok'. */
async function outcome(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'ok',
    (err: unknown) =>
      err instanceof TopicOperationError ? { errorName: err.errorName, message: err.message } : err,
  );
}

describe('admin writes forwarded to the controller over gRPC', () => {
  it('creates a topic on the controller and has it in the broker view when the call returns', async () => {
    const s = await setup();
    const record = await s.topics.create(
      { name: 'orders', numPartitions: 3, replicationFactor: 2, configs: { 'retention.ms': '1000' } },
      DEFAULTS,
    );
    // Read-your-writes: no waiting here.
    expect(s.broker.table.topics.get('orders')).toEqual(record);
    expect(record.replicas).toHaveLength(3);
    expect(record.replicas.every((r) => r.length === 2)).toBe(true);
    expect(record.configs).toEqual({ 'retention.ms': '1000' });
    expect(s.broker.table.partitionState('orders', 2)).toMatchObject({ leaderEpoch: 0, partitionEpoch: 0 });
    // The broker's defaults travel with the request.
    const byDefault = await s.topics.create(
      { name: 'dflt', numPartitions: -1, replicationFactor: -1 },
      DEFAULTS,
    );
    expect(byDefault.replicas.map((r) => r.length)).toEqual([2, 2]);

    await s.topics.createPartitions('orders', 5, null, false);
    expect(s.broker.table.topics.get('orders')!.replicas).toHaveLength(5);
    await s.topics.createPartitions('orders', 7, null, true); // validateOnly writes nothing
    expect(s.broker.table.topics.get('orders')!.replicas).toHaveLength(5);
    await s.topics.createPartitions('orders', 6, [[2, 1]], false);
    expect(s.broker.table.topics.get('orders')!.replicas[5]).toEqual([2, 1]);

    await s.topics.alterConfigs('orders', { 'cleanup.policy': 'compact' }, false);
    expect(s.broker.table.topics.get('orders')!.configs).toEqual({ 'cleanup.policy': 'compact' });

    await s.topics.delete('orders');
    expect(s.broker.table.topics.has('orders')).toBe(false);
    expect(s.broker.table.partitions.has('orders')).toBe(false);

    await s.configs.setBrokerConfigs('default', { 'log.retention.ms': '5000' }, false);
    await s.configs.setBrokerConfigs(2, { 'log.retention.ms': '7000' }, false);
    expect(s.configs.current('default')).toEqual({ 'log.retention.ms': '5000' });
    expect(s.broker.table.brokerConfigs.get(2)).toEqual({ 'log.retention.ms': '7000' });
    await s.configs.setBrokerConfigs(2, {}, false);
    expect(s.broker.table.brokerConfigs.has(2)).toBe(false);
  });

  it('answers every validation failure with the error name and message a single node gives', async () => {
    const s = await setup();
    await s.topics.create({ name: 'my_topic', numPartitions: 1, replicationFactor: 1 }, DEFAULTS);
    const cases: [string, (a: { topics: TopicAdmin; configs: BrokerConfigAdmin }) => Promise<unknown>][] = [
      [
        'bad config',
        (a) =>
          a.topics.create(
            { name: 'x', numPartitions: 1, replicationFactor: 1, configs: { 'cleanup.policy': 'shred' } },
            DEFAULTS,
          ),
      ],
      [
        'unknown config',
        (a) =>
          a.topics.create(
            { name: 'x', numPartitions: 1, replicationFactor: 1, configs: { 'no.such': '1' } },
            DEFAULTS,
          ),
      ],
      [
        'null config',
        (a) =>
          a.topics.create(
            { name: 'x', numPartitions: 1, replicationFactor: 1, configs: { 'segment.ms': null } },
            DEFAULTS,
          ),
      ],
      [
        'exists',
        (a) => a.topics.create({ name: 'my_topic', numPartitions: 1, replicationFactor: 1 }, DEFAULTS),
      ],
      [
        'collides',
        (a) => a.topics.create({ name: 'my.topic', numPartitions: 1, replicationFactor: 1 }, DEFAULTS),
      ],
      ['bad name', (a) => a.topics.create({ name: 'a/b', numPartitions: 1, replicationFactor: 1 }, DEFAULTS)],
      [
        'internal',
        (a) =>
          a.topics.create({ name: '__consumer_offsets', numPartitions: 1, replicationFactor: 1 }, DEFAULTS),
      ],
      ['rf too big', (a) => a.topics.create({ name: 'x', numPartitions: 1, replicationFactor: 9 }, DEFAULTS)],
      [
        'no partitions',
        (a) => a.topics.create({ name: 'x', numPartitions: 0, replicationFactor: 1 }, DEFAULTS),
      ],
      [
        'unknown broker',
        (a) =>
          a.topics.create(
            { name: 'x', numPartitions: -1, replicationFactor: -1, assignment: [[1, 7]] },
            DEFAULTS,
          ),
      ],
      ['delete unknown', (a) => a.topics.delete('nope')],
      ['shrink partitions', (a) => a.topics.createPartitions('my_topic', 1, null, false)],
      ['partitions of unknown', (a) => a.topics.createPartitions('nope', 3, null, false)],
      ['bad topic config', (a) => a.topics.alterConfigs('my_topic', { 'retention.ms': 'soon' }, false)],
      ['alter unknown topic', (a) => a.topics.alterConfigs('nope', {}, false)],
      ['read-only broker config', (a) => a.configs.setBrokerConfigs(1, { 'broker.id': '3' }, false)],
      // (An unknown broker key is accepted and stored, as Kafka 4.4 does; a bad value of a known one is not.)
      [
        'bad broker config value',
        (a) => a.configs.setBrokerConfigs('default', { 'log.retention.ms': 'soon' }, false),
      ],
    ];
    for (const [name, op] of cases) {
      const local = await outcome(op(s.local));
      expect(local, name).toMatchObject({ errorName: expect.any(String) as string });
      expect(await outcome(op(s)), name).toEqual(local);
    }
    expect(
      await outcome(
        s.topics.create(
          { name: 'x', numPartitions: 1, replicationFactor: 1, configs: { 'cleanup.policy': 'shred' } },
          DEFAULTS,
        ),
      ),
    ).toEqual({
      errorName: 'INVALID_CONFIG',
      message: 'Invalid value shred for configuration cleanup.policy: String must be one of: compact, delete',
    });
    // Nothing was written by any of them.
    expect([...s.ctl.table.topics.keys()]).toEqual(['my_topic']);
  });

  it('lets the broker create an internal topic, and answers REQUEST_TIMED_OUT when no controller answers', async () => {
    const s = await setup();
    const offsets = await s.topics.create(
      {
        name: '__consumer_offsets',
        numPartitions: 3,
        replicationFactor: 1,
        configs: { 'cleanup.policy': 'compact' },
      },
      DEFAULTS,
      true,
    );
    expect(s.broker.table.topics.get('__consumer_offsets')).toEqual(offsets);

    await s.ctl.kill();
    await waitFor('the controller key to go', () => (s.broker.table.controller === null ? true : undefined));
    const lonely = new ForwardingTopicAdmin(s.client, s.broker.table, { timeoutMs: 500 });
    const r = await outcome(
      lonely.create({ name: 'late', numPartitions: 1, replicationFactor: 1 }, DEFAULTS),
    );
    expect(r).toMatchObject({ errorName: 'REQUEST_TIMED_OUT' });
  });

  it('carries AlterPartition typed both ways: a refusal comes back with the current state', async () => {
    const s = await setup();
    await s.topics.create(
      { name: 't', numPartitions: -1, replicationFactor: -1, assignment: [[1, 2]] },
      DEFAULTS,
    );
    const stale = await s.client.call('alterPartition', {
      brokerId: 1,
      topic: 't',
      partition: 0,
      leaderEpoch: 4,
      partitionEpoch: 0,
      newIsr: [1],
    });
    expect(stale).toMatchObject({
      error: 'FENCED_LEADER_EPOCH',
      state: { leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 0 },
      controllerId: 9,
    });
    const ok = await s.client.call('alterPartition', {
      brokerId: 1,
      topic: 't',
      partition: 0,
      leaderEpoch: 0,
      partitionEpoch: 0,
      newIsr: [1],
    });
    expect(ok).toMatchObject({ error: 'NONE', state: { isr: [1], partitionEpoch: 1 } });
    const health = await s.client.call('describeClusterHealth', {});
    expect(health).toMatchObject({
      error: 'NONE',
      controllerId: 9,
      partitions: 1,
      underReplicatedPartitions: 1,
    });
  });

  it('serves the other Controller and Admin methods to a typed client', async () => {
    const s = await setup();
    await s.topics.create(
      {
        name: 't',
        numPartitions: -1,
        replicationFactor: -1,
        assignment: [
          [1, 2],
          [2, 1],
        ],
      },
      DEFAULTS,
    );
    await s.topics.create(
      { name: 'solo', numPartitions: -1, replicationFactor: -1, assignment: [[1]] },
      DEFAULTS,
    );

    expect(await s.client.call('safeToRestart', { brokerId: 1 })).toMatchObject({
      error: 'NONE',
      safe: false,
      reasons: ['solo-0: ISR [1] would fall below min.insync.replicas=1'],
    });
    const drained = await s.client.call('drainBroker', { brokerId: 1 });
    expect(drained).toMatchObject({
      error: 'NONE',
      message: '1 partition(s) have no other in-sync replica',
      remainingPartitions: ['solo-0'],
    });
    expect(s.ctl.table.partitionState('t', 0)).toMatchObject({ leader: 2, isr: [2] });
    const shutdown = await s.client.call('controlledShutdown', { brokerId: 2 });
    expect(shutdown).toMatchObject({ error: 'NONE', remainingPartitions: ['t-0', 't-1'] });

    const elect = await s.client.call('electLeaders', {
      electionType: 0,
      allPartitions: false,
      topicPartitions: [{ topic: 't', partitions: [0, 7] }],
    });
    expect(elect.results.map((r) => [r.partition, r.error])).toEqual([
      [0, 'PREFERRED_LEADER_NOT_AVAILABLE'],
      [7, 'UNKNOWN_TOPIC_OR_PARTITION'],
    ]);

    const moved = await s.client.call('alterPartitionReassignments', {
      reassignments: [{ topic: 'solo', partition: 0, cancel: false, replicas: [2] }],
    });
    expect(moved.results).toEqual([{ topic: 'solo', partition: 0, error: 'NONE', message: '' }]);
    const listed = await s.client.call('listPartitionReassignments', {
      allPartitions: true,
      topicPartitions: [],
    });
    expect(listed.reassignments).toEqual([
      { topic: 'solo', partition: 0, replicas: [2, 1], addingReplicas: [2], removingReplicas: [1] },
    ]);
    const cancelled = await s.client.call('alterPartitionReassignments', {
      reassignments: [{ topic: 'solo', partition: 0, cancel: true }],
    });
    expect(cancelled.results[0]!.error).toBe('NONE');
    const none = await s.client.call('listPartitionReassignments', {
      allPartitions: false,
      topicPartitions: [{ topic: 'solo', partitions: [0] }],
    });
    expect(none.reassignments).toEqual([]);
  });

  it('answers a write the store failed with UNKNOWN_SERVER_ERROR at once, without sending it again', async () => {
    const s = await setup();
    await s.store.close(); // every store call fails from now on
    const started = Date.now();
    expect(
      await outcome(s.topics.create({ name: 'x', numPartitions: 1, replicationFactor: 1 }, DEFAULTS)),
    ).toEqual({
      errorName: 'UNKNOWN_SERVER_ERROR',
      message: 'metadata store is closed',
    });
    expect(Date.now() - started).toBeLessThan(5000); // not retried until the 30 s timeout
  });

  it('a broker that is not the controller answers NOT_CONTROLLER with the controller id', async () => {
    const s = await setup();
    const standby = await ControllerNode.start({ id: 8, store: s.store, root: ROOT, controlPlane: true });
    cleanups.push(() => standby.close());
    await waitFor('the standby to see the controller', () =>
      standby.table.controller?.nodeId === 9 ? true : undefined,
    );
    const port = standby.table.brokers.get(8)!.controlPort!;
    const channel = controlPlaneChannel(`127.0.0.1:${port}`);
    cleanups.push(() => channel.close());
    for (const answer of [
      await callUnary(channel, 'describeClusterHealth', {}, Date.now() + 5000),
      await callUnary(channel, 'safeToRestart', { brokerId: 1 }, Date.now() + 5000),
      await callUnary(
        channel,
        'createTopic',
        { name: 'x', numPartitions: 1, replicationFactor: 1 },
        Date.now() + 5000,
      ),
      await callUnary(channel, 'alterPartition', { brokerId: 1, topic: 'x', newIsr: [1] }, Date.now() + 5000),
    ])
      expect(answer).toMatchObject({ error: 'NOT_CONTROLLER', controllerId: 9 });
  });
});

describe('single-node admin writes', () => {
  it('LocalTopicAdmin and LocalConfigAdmin write through the frontends and hide the revisions', async () => {
    const s = await setup();
    const fence = controllerEpochFence(s.ctl.table, () => s.ctl.c.epoch);
    const topics = new LocalTopicAdmin(new TopicFrontend(s.store, s.ctl.table, fence));
    const configs = new LocalConfigAdmin(new ConfigFrontend(s.store, s.ctl.table, fence));
    expect(
      topics.plan({ name: 'p', numPartitions: 2, replicationFactor: 1 }, DEFAULTS).replicas,
    ).toHaveLength(2);
    const r = await topics.create({ name: 'p', numPartitions: 2, replicationFactor: 1 }, DEFAULTS);
    expect(s.ctl.table.topics.get('p')).toEqual(r);
    await topics.createPartitions('p', 3, null, false);
    await topics.alterConfigs('p', { 'retention.ms': '9' }, false);
    expect(s.ctl.table.topics.get('p')).toMatchObject({ configs: { 'retention.ms': '9' } });
    expect(s.ctl.table.topics.get('p')!.replicas).toHaveLength(3);
    await topics.delete('p');
    expect(s.ctl.table.topics.has('p')).toBe(false);
    await configs.setBrokerConfigs(1, { 'log.retention.ms': '3' }, false);
    expect(configs.current(1)).toEqual({ 'log.retention.ms': '3' });
  });
});
