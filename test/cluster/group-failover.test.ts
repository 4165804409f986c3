/**
 * Consumer groups across a coordinator failover: __consumer_offsets is replicated like any topic
 * (RF 3 here), so when the broker coordinating a group is SIGKILLed, the new leader of the group's
 * offsets partition loads the group and its committed offsets, and a kafkajs group consumer keeps
 * consuming: every message produced before and after the failover is consumed, and commits made
 * after it are readable.
 */
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForGroup } from '../../src/broker/group/group-metadata-manager.js';
import { TestCluster } from '../helpers/cluster.js';

const { Kafka, logLevel } = kafkajs;
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const TOPIC = 'group-topic';
const GROUP = 'failover-group';
const OFFSETS_PARTITIONS = 6; // offsets.topic.num.partitions in FAST_CLUSTER_OVERRIDES

describe('consumer group coordinator failover', { timeout: 240_000 }, () => {
  let cluster: TestCluster;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    cluster = await new TestCluster().start();
  }, 120_000);

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await cluster?.cleanup();
  }, 60_000);

  it('a kafkajs group keeps consuming when its coordinator is killed', async () => {
    const kafka = new Kafka({
      brokers: cluster.bootstrap.split(','),
      clientId: 'group-failover',
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      requestTimeout: 10_000,
      retry: { retries: 20, initialRetryTime: 200, maxRetryTime: 1000 },
    });
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.createTopics({
      topics: [
        {
          topic: TOPIC,
          numPartitions: 3,
          replicationFactor: 3,
          configEntries: [{ name: 'min.insync.replicas', value: '2' }],
        },
      ],
      waitForLeaders: true,
    });
    await cluster.waitFullyReplicated(TOPIC, 3, 3);

    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const produce = async (from: number, to: number) => {
      for (let i = from; i < to; i += 50) {
        await producer.send({
          topic: TOPIC,
          acks: -1,
          messages: Array.from({ length: Math.min(50, to - i) }, (_, j) => ({
            key: `k${i + j}`,
            value: `m-${i + j}`,
          })),
        });
      }
    };
    await produce(0, 300);

    const consumed = new Set<string>();
    const consumer = kafka.consumer({
      groupId: GROUP,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: 500,
      retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 1000 },
    });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      autoCommitInterval: 500,
      eachMessage: async ({ message }) => void consumed.add(message.value!.toString()),
    });
    await cluster.waitFor('the first 300 consumed', () => (consumed.size >= 300 ? true : undefined), 90_000);

    const offsetsPartition = partitionForGroup(GROUP, OFFSETS_PARTITIONS);
    await cluster.waitFullyReplicated('__consumer_offsets', OFFSETS_PARTITIONS, 3);
    const coordinator = (await cluster.partitionStates('__consumer_offsets')).get(offsetsPartition)!.leader;
    // Let a commit of everything so far reach the replicas.
    await new Promise((r) => setTimeout(r, 1500));

    const t0 = Date.now();
    await cluster.broker(coordinator).kill();
    const newCoordinator = await cluster.waitFor('a new leader for the group partition', async () => {
      const s = (await cluster.partitionStates('__consumer_offsets')).get(offsetsPartition)!;
      return s.leader >= 0 && s.leader !== coordinator ? s.leader : undefined;
    });
    await produce(300, 600);
    await cluster.waitFor(
      'all 600 consumed after the failover',
      () => (consumed.size >= 600 ? true : undefined),
      120_000,
    );
    const failoverMs = Date.now() - t0;
    for (let i = 0; i < 600; i++) expect(consumed.has(`m-${i}`)).toBe(true);

    // Commits reach the new coordinator: the group's committed offsets catch up with the log end.
    const ends = await admin.fetchTopicOffsets(TOPIC);
    await cluster.waitFor(
      'committed offsets at the log end',
      async () => {
        const committed = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
        const parts = committed[0]!.partitions;
        return ends.every((e) => parts.find((q) => q.partition === e.partition)?.offset === e.offset)
          ? true
          : undefined;
      },
      60_000,
    );
    console.log(
      'group failover figures',
      JSON.stringify({ coordinator, newCoordinator, failoverMs, consumed: consumed.size }),
    );
    await cluster.broker(coordinator).start();
  });
});
