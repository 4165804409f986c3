/**
 * ReplicaManager, in process, on a MetadataTable over the embedded metadata store and real logs in a
 * temp dir (no broker process, no sockets). Broker 1 is the one under test and leads partition t-0
 * with replicas [1, 2]; broker 2 is simulated through the real fetch path (Fetch with replicaId 2).
 * ISR changes go through an AlterPartition function that applies the controller's own rule
 * (onAlterPartition) and writes the result to the store, as the controller does.
 *
 * Covered: acks=all completing when the follower fetches, its timeout (REQUEST_TIMED_OUT),
 * NOT_ENOUGH_REPLICAS before the append and NOT_ENOUGH_REPLICAS_AFTER_APPEND, consumers woken when
 * the high watermark moves, fetch errors, ISR shrink and expand through AlterPartition, topic
 * deletion answering waiters, and the ordered shutdown.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BrokerConfig } from '../../src/common/broker-config.js';
import { EmbeddedMetadataStore } from '../../src/controller/embedded-store.js';
import { MetadataTable } from '../../src/controller/metadata-table.js';
import {
  onAlterPartition,
  type AlterPartitionRequest,
} from '../../src/controller/partition-state-machine.js';
import {
  encodeBrokerRegistration,
  type PartitionState,
  type TopicRecord,
} from '../../src/controller/records.js';
import {
  ReplicaManager,
  type FetchParams,
  type ProducePartitionResult,
} from '../../src/broker/replica-manager.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { Fixture, RecordingMetrics, batch, nextOffsetAfter, silentLog } from './helpers.js';

const ROOT = '/sluice';
let fx: Fixture;
let store: EmbeddedMetadataStore;
let table: MetadataTable;
let rm: ReplicaManager | null;
let metrics: RecordingMetrics;
const alterCalls: AlterPartitionRequest[] = [];

async function write(key: string, value: unknown | null): Promise<void> {
  const r = await store.txn(
    [],
    [value === null ? { type: 'delete', key } : { type: 'put', key, value: JSON.stringify(value) }],
  );
  await table.waitForRevision(r.revision);
}

async function register(id: number): Promise<void> {
  const r = await store.txn(
    [],
    [
      {
        type: 'put',
        key: table.keys.broker(id),
        value: encodeBrokerRegistration(
          {
            nodeId: id,
            endpoints: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 1, securityProtocol: 'PLAINTEXT' }],
            rack: null,
            incarnationId: `i${id}`,
          },
          'PLAINTEXT',
        ),
      },
    ],
  );
  await table.waitForRevision(r.revision);
}

async function createTopic(name: string, replicas: number[][], configs: Record<string, string> = {}) {
  const record: TopicRecord = { name, topicId: randomUUID(), replicas, configs };
  await write(table.keys.topic(name), record);
  for (const [i, r] of replicas.entries())
    await write(table.keys.partition(name, i), { leader: r[0]!, leaderEpoch: 0, isr: r, partitionEpoch: 0 });
}

function setState(topic: string, index: number, s: PartitionState): Promise<void> {
  return write(table.keys.partition(topic, index), s);
}

/** The controller's side of AlterPartition: its rule, then a write to the store. */
async function alterPartition(req: AlterPartitionRequest) {
  alterCalls.push(req);
  const replicas = table.topics.get(req.topic)!.replicas[req.partition]!;
  const state = table.partitionState(req.topic, req.partition)!;
  const r = onAlterPartition(
    replicas,
    state,
    {
      leaderId: req.brokerId,
      leaderEpoch: req.leaderEpoch,
      partitionEpoch: req.partitionEpoch,
      newIsr: req.newIsr,
    },
    new Set(table.brokers.keys()),
  );
  if ('error' in r) return { error: r.error, message: r.message };
  await setState(req.topic, req.partition, r.state);
  return { error: 'NONE', message: '', state: r.state };
}

function start(props: Record<string, string> = {}): ReplicaManager {
  metrics = new RecordingMetrics();
  rm = new ReplicaManager({
    nodeId: 1,
    config: new BrokerConfig({
      'node.id': '1',
      'log.dirs': join(fx.dir, 'logs'),
      listeners: 'PLAINTEXT://127.0.0.1:0',
      ...props,
    }),
    table,
    log: silentLog,
    alterPartition,
    metrics,
  });
  rm.start();
  return rm;
}

function fetchParams(
  replicaId: number,
  fetchOffset: bigint,
  o: Partial<FetchParams> = {},
  epoch = -1,
): FetchParams {
  return {
    replicaId,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    partitions: [
      {
        topic: 't',
        partition: 0,
        fetchOffset,
        partitionMaxBytes: 1 << 20,
        currentLeaderEpoch: epoch,
        lastFetchedEpoch: -1,
      },
    ],
    ...o,
  };
}

async function followerFetch(fetchOffset: bigint) {
  const [r] = await rm!.fetchMessages(fetchParams(2, fetchOffset));
  return r!;
}

function produce(acks: number, n: number, timeoutMs = 30_000): Promise<ProducePartitionResult> {
  return rm!
    .appendRecords(acks, timeoutMs, [{ topic: 't', partition: 0, records: batch(n) }])
    .then((m) => m.get('t-0')!);
}

/** Resolves to 'pending' when `p` has not settled by the next turns of the event loop. */
async function pending<T>(p: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), 50))]);
}

beforeEach(async () => {
  fx = new Fixture();
  store = new EmbeddedMetadataStore(join(fx.dir, '__metadata.json'));
  table = new MetadataTable(store, ROOT);
  await table.start();
  await register(1);
  await register(2);
  alterCalls.length = 0;
  rm = null;
});

afterEach(async () => {
  await rm?.shutdown();
  await table.stop();
  await store.close();
  fx.cleanup();
});

describe('produce', () => {
  it('acks=all waits in the purgatory until the follower has the batch', async () => {
    await createTopic('t', [[1, 2]], { 'min.insync.replicas': '2' });
    start();
    const p = produce(-1, 3);
    expect(await pending(p)).toBe('pending');
    expect(rm!.producePurgatory.size).toBe(1);
    // The follower fetches from 0: it gets the batch, but has not got it yet as far as the HW goes.
    const r1 = await followerFetch(0n);
    expect(nextOffsetAfter(r1.records)).toBe(3n);
    expect(await pending(p)).toBe('pending');
    await followerFetch(3n); // its log end is now 3: the HW passes the batch
    expect(await p).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n });
    expect(rm!.producePurgatory.size).toBe(0);
    expect(rm!.getPartition('t', 0)!.highWatermark).toBe(3n);
    expect(metrics.messagesInTotal).toBe(3);
  });

  it('acks=all times out with REQUEST_TIMED_OUT when the follower does not fetch', async () => {
    await createTopic('t', [[1, 2]]);
    start();
    const r = await produce(-1, 1, 200);
    expect(r.errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT);
    // The data is written nonetheless (as in Kafka); acks=1 did not wait.
    expect((await produce(1, 1)).baseOffset).toBe(1n);
  });

  it('NOT_ENOUGH_REPLICAS before the append when the ISR is below min.insync.replicas', async () => {
    await createTopic('t', [[1, 2]], { 'min.insync.replicas': '2' });
    await setState('t', 0, { leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch: 1 });
    start();
    const r = await produce(-1, 2);
    expect(r.errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
    expect(r.baseOffset).toBe(-1n);
    expect(rm!.getPartition('t', 0)!.logEndOffset).toBe(0n);
    expect((await produce(1, 2)).errorCode).toBe(ErrorCode.NONE);
    // The broker default applies when the topic has no override.
    await createTopic('u', [[1, 2]]);
    await setState('u', 0, { leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch: 1 });
    const u = await rm!.appendRecords(-1, 1000, [{ topic: 'u', partition: 0, records: batch(1) }]);
    expect(u.get('u-0')!.errorCode).toBe(ErrorCode.NONE);
  });

  it('NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrinks below min.insync.replicas while waiting', async () => {
    await createTopic('t', [[1, 2]], { 'min.insync.replicas': '2' });
    start();
    const p = produce(-1, 1);
    expect(await pending(p)).toBe('pending');
    // The controller takes 2 out of the ISR: the leader alone moves the HW past the batch.
    await setState('t', 0, { leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch: 1 });
    const r = await p;
    expect(r.errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    expect(rm!.getPartition('t', 0)!.highWatermark).toBe(1n);
  });

  it('answers unknown partitions and partitions led elsewhere without appending', async () => {
    await createTopic('t', [[1, 2]]);
    start();
    const res = await rm!.appendRecords(1, 1000, [
      { topic: 'nope', partition: 0, records: batch(1) },
      { topic: 't', partition: 1, records: batch(1) },
      { topic: 't', partition: 0, records: null },
    ]);
    expect(res.get('nope-0')!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(res.get('t-1')!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(res.get('t-0')!.errorCode).toBe(ErrorCode.INVALID_RECORD);
    await setState('t', 0, { leader: 2, leaderEpoch: 1, isr: [2, 1], partitionEpoch: 1 });
    expect((await produce(1, 1)).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    await rm!.shutdown(); // stops the fetcher this broker started towards broker 2
  });
});

describe('fetch', () => {
  it('a waiting consumer is woken when the high watermark moves, not when the leader appends', async () => {
    await createTopic('t', [[1, 2]]);
    start();
    const consumer = rm!.fetchMessages(fetchParams(-1, 0n, { maxWaitMs: 30_000 }));
    expect(await pending(consumer)).toBe('pending');
    expect(rm!.fetchPurgatory.size).toBe(1);
    await produce(1, 4);
    expect(await pending(consumer)).toBe('pending'); // HW still 0
    await followerFetch(0n);
    await followerFetch(4n);
    const woken = await Promise.race([
      consumer,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000)),
    ]);
    expect(woken).not.toBe('timeout');
    const [r] = woken as Awaited<typeof consumer>;
    expect(r).toMatchObject({ errorCode: ErrorCode.NONE, highWatermark: 4n });
    expect(nextOffsetAfter(r!.records)).toBe(4n);
    expect(metrics.bytesOutTotal).toBe(r!.records!.length);
  });

  it('a waiting follower is woken by an append', async () => {
    await createTopic('t', [[1, 2]]);
    start();
    const follower = rm!.fetchMessages(fetchParams(2, 0n, { maxWaitMs: 30_000 }));
    expect(await pending(follower)).toBe('pending');
    await produce(1, 2);
    const [r] = await follower;
    expect(nextOffsetAfter(r!.records)).toBe(2n);
  });

  it('answers errors per partition: unknown, fenced epochs without offsets, out of range with them', async () => {
    await createTopic('t', [[1, 2]]);
    await setState('t', 0, { leader: 1, leaderEpoch: 3, isr: [1], partitionEpoch: 1 });
    start();
    await produce(1, 2);
    const [unknown] = await rm!.fetchMessages({
      ...fetchParams(-1, 0n),
      partitions: [
        { topic: 'x', partition: 0, fetchOffset: 0n, partitionMaxBytes: 100, currentLeaderEpoch: -1 },
      ],
    });
    expect(unknown).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, highWatermark: -1n });
    const [fenced] = await rm!.fetchMessages(fetchParams(-1, 0n, {}, 2));
    expect(fenced).toMatchObject({
      errorCode: ErrorCode.FENCED_LEADER_EPOCH,
      highWatermark: -1n,
      records: null,
    });
    const [ahead] = await rm!.fetchMessages(fetchParams(-1, 0n, {}, 4));
    expect(ahead).toMatchObject({ errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH });
    const [oor] = await rm!.fetchMessages(fetchParams(-1, 9n, { maxWaitMs: 10_000 }, 3));
    expect(oor).toMatchObject({
      errorCode: ErrorCode.OFFSET_OUT_OF_RANGE,
      highWatermark: 2n,
      logStartOffset: 0n,
    });
    const [ok] = await rm!.fetchMessages(fetchParams(-1, 0n, {}, 3));
    expect(nextOffsetAfter(ok!.records)).toBe(2n);
  });

  it('a waiting fetch is answered when its topic is deleted, and the log goes', async () => {
    await createTopic('t', [[1, 2]]);
    start();
    const dir = rm!.getPartition('t', 0)!.dir;
    expect(existsSync(dir)).toBe(true);
    const consumer = rm!.fetchMessages(fetchParams(-1, 0n, { maxWaitMs: 30_000 }));
    expect(await pending(consumer)).toBe('pending');
    await write(table.keys.topic('t'), null);
    const [r] = await consumer;
    expect(r!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(rm!.getPartition('t', 0)).toBeUndefined();
  });
});

describe('ISR changes through AlterPartition', () => {
  it('shrinks a lagging follower out and takes it back once it caught up', async () => {
    await createTopic('t', [[1, 2]], { 'min.insync.replicas': '1' });
    start({ 'replica.lag.time.max.ms': '10000' });
    await produce(1, 3);
    // No fetch from 2 for longer than the lag time: the timer's check asks the controller.
    rm!.maybeShrinkIsr(Date.now() + 20_000);
    for (let i = 0; i < 250 && metrics.isrChanges.length < 1; i++)
      await new Promise((r) => setTimeout(r, 20));
    const p = rm!.getPartition('t', 0)!;
    expect(alterCalls.map((c) => c.newIsr)).toEqual([[1]]);
    expect(p.isr).toEqual([1]);
    expect(table.partitionState('t', 0)).toMatchObject({ isr: [1], partitionEpoch: 1 });
    expect(p.highWatermark).toBe(3n); // the leader alone is the ISR
    expect(metrics.isrChanges).toEqual(['shrink']);

    // 2 fetches up to the HW: proposed back, accepted.
    await followerFetch(0n);
    await followerFetch(3n);
    for (let i = 0; i < 250 && metrics.isrChanges.length < 2; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(alterCalls.map((c) => c.newIsr)).toEqual([[1], [1, 2]]);
    expect(p.isr).toEqual([1, 2]);
    expect(table.partitionState('t', 0)).toMatchObject({ isr: [1, 2], partitionEpoch: 2 });
    expect(metrics.isrChanges).toEqual(['shrink', 'expand']);
  });
});

describe('shutdown', () => {
  it('answers waiting produces, snapshots producer state, closes logs cleanly and stops following the table', async () => {
    await createTopic('t', [[1, 2]]);
    start();
    const p = produce(-1, 2);
    expect(await pending(p)).toBe('pending');
    const dir = rm!.getPartition('t', 0)!.dir;
    const logs = join(fx.dir, 'logs');
    await rm!.shutdown();
    expect((await p).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(existsSync(join(dir, '00000000000000000002.snapshot'))).toBe(true);
    expect(existsSync(join(logs, '.kafka_cleanshutdown'))).toBe(true);
    expect(rm!.getPartition('t', 0)!.isClosed).toBe(true);
    // A topic created afterwards gets no log here.
    await createTopic('late', [[1]]);
    expect(rm!.getPartition('late', 0)).toBeUndefined();
    expect(existsSync(join(logs, 'late-0'))).toBe(false);
    await rm!.shutdown(); // twice is harmless
  });
});
