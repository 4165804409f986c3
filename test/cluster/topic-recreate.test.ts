/**
 * A topic deleted and re-created under the same name while one of its replicas' brokers is down.
 * The broker comes back with the old topic's log on disk; Kafka tells it apart by the topic id in
 * the partition's partition.metadata (a "stray" log) and so must Sluice: the old records never show
 * up in the new topic, whichever broker leads it.
 *
 * A broker that is not the controller (the victim) is SIGKILLed with a long session timeout, so it is
 * still registered when the new topic is assigned to it (first: the preferred leader), then restarted.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { consumeAll } from './clients.js';

const TOPIC = 'recreated';

describe('topic deleted and re-created while a replica is down', { timeout: 300_000 }, () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await new TestCluster({ overrides: { 'broker.session.timeout.ms': '60000' } }).start();
  }, 120_000);

  afterAll(async () => {
    await cluster?.cleanup();
  }, 60_000);

  const kafka = () =>
    new kafkajs.Kafka({
      brokers: cluster.liveBootstrap().split(','),
      clientId: 'topic-recreate',
      logLevel: kafkajs.logLevel.NOTHING,
      retry: { retries: 20, initialRetryTime: 200 },
    });

  const produce = async (prefix: string, n: number) => {
    const p = kafka().producer();
    await p.connect();
    try {
      await p.send({
        topic: TOPIC,
        acks: -1,
        messages: Array.from({ length: n }, (_, i) => ({ partition: 0, value: `${prefix}-${i}` })),
      });
    } finally {
      await p.disconnect();
    }
  };

  const topicIdOnDisk = (brokerId: number): string =>
    /topic_id: (\S+)/.exec(
      readFileSync(join(cluster.broker(brokerId).dataDir, `${TOPIC}-0`, 'partition.metadata'), 'utf8'),
    )![1]!;

  it('the restarted broker drops the old log and serves only the new topic', async () => {
    // Not the controller: a SIGKILLed controller would keep its key for the whole session timeout.
    const controller = await cluster.controller();
    const victim = [3, 2, 1].find((id) => id !== controller)!;
    const replicas = [victim, ...[1, 2, 3].filter((id) => id !== victim)];
    const admin = kafka().admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic: TOPIC, replicaAssignment: [{ partition: 0, replicas }] }],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
    await cluster.waitFullyReplicated(TOPIC, 1, 3);
    await produce('old', 50);
    // partition.metadata names the topic id as Kafka prints it (URL-safe base64, 22 characters).
    expect(topicIdOnDisk(victim)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    await cluster.broker(victim).kill();

    const admin2 = kafka().admin();
    await admin2.connect();
    try {
      await admin2.deleteTopics({ topics: [TOPIC] });
      await cluster.waitFor(
        'the topic gone',
        async () => ((await admin2.listTopics()).includes(TOPIC) ? undefined : true),
        30_000,
      );
      await admin2.createTopics({
        topics: [{ topic: TOPIC, replicaAssignment: [{ partition: 0, replicas }] }],
      });
    } finally {
      await admin2.disconnect();
    }
    const oldId = topicIdOnDisk(victim); // the victim is down: its disk still has the old topic's log

    await cluster.broker(victim).start();
    await cluster.waitFullyReplicated(TOPIC, 1, 3);
    await cluster.waitFor(
      'the restarted broker leading the new topic',
      async () => ((await cluster.partitionStates(TOPIC)).get(0)?.leader === victim ? true : undefined),
      60_000,
    );
    expect(topicIdOnDisk(victim)).not.toBe(oldId);
    expect(topicIdOnDisk(victim)).toBe(topicIdOnDisk(replicas[1]!));

    await produce('new', 5);
    const consumed = await consumeAll(cluster.liveBootstrap(), TOPIC);
    expect(consumed.ends.get(0)).toBe(5);
    expect([...(consumed.records.get(0) ?? new Map<number, string>())]).toEqual(
      Array.from({ length: 5 }, (_, i) => [i, `new-${i}`]),
    );
  });
});
