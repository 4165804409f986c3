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
      ['unknown broker config', (a) => a.configs.setBrokerConfigs('default', { 'no.such': '3' }, false)],
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
      message: 'Invalid value shred for configuration cleanup.policy: String must be one of: delete, compact',
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
});
