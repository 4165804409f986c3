/**
 * Partition reassignment and leader election through the Kafka admin APIs, on 4 real brokers:
 *  - AlterPartitionReassignments (kafkajs admin) moves a partition from [1, 2] to [3, 4]: the new
 *    replicas copy the log and join the ISR, the controller switches to them and elects a leader
 *    among them, ListPartitionReassignments becomes empty, every message acknowledged with acks=all
 *    before the move reads back from the new leader, and brokers 1 and 2 delete their replicas;
 *  - ElectLeaders (the Java Admin, as kafkajs has none): after the preferred leader was restarted
 *    and someone else leads, a preferred election gives it back its leadership; a second one answers
 *    ELECTION_NOT_NEEDED, unclean election of a led partition too, an unknown partition
 *    UNKNOWN_TOPIC_OR_PARTITION.
 */
import { existsSync, readdirSync } from 'node:fs';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { runJava } from '../helpers/clients.js';
import { consumeAll } from './clients.js';

const { Kafka, logLevel } = kafkajs;
const MOVING = 'moving';
const ELECT = 'elect';

describe('partition reassignment and leader election', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let kafka: InstanceType<typeof Kafka>;

  beforeAll(async () => {
    // No automatic preferred election: the ElectLeaders check must be the one that moves the leader.
    cluster = await new TestCluster({
      brokers: 4,
      overrides: { 'auto.leader.rebalance.enable': 'false' },
    }).start();
    kafka = new Kafka({
      brokers: cluster.bootstrap.split(','),
      clientId: 'reassignment-test',
      logLevel: logLevel.NOTHING,
    });
  }, 120_000);

  afterAll(async () => {
    await cluster?.cleanup();
  }, 60_000);

  it('moves a partition from [1, 2] to [3, 4] without losing an acknowledged message', async () => {
    const t0 = Date.now();
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [
          {
            topic: MOVING,
            replicaAssignment: [{ partition: 0, replicas: [1, 2] }],
            configEntries: [
              { name: 'min.insync.replicas', value: '2' },
              // Removed replicas' directories go soon after their deletion.
              { name: 'file.delete.delay.ms', value: '500' },
            ],
          },
        ],
        waitForLeaders: true,
      });
      await cluster.waitFullyReplicated(MOVING, 1, 2);

      const producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      const acked: string[] = [];
      for (let batch = 0; batch < 20; batch++) {
        const messages = Array.from({ length: 100 }, (_, i) => ({
          key: `k-${batch * 100 + i}`,
          value: `value-${batch * 100 + i}`,
        }));
        await producer.send({ topic: MOVING, acks: -1, messages });
        acked.push(...messages.map((m) => m.value));
      }

      await admin.alterPartitionReassignments({
        topics: [{ topic: MOVING, partitionAssignment: [{ partition: 0, replicas: [3, 4] }] }],
      });
      const done = await cluster.waitFor(
        'the reassignment to finish',
        async () => {
          const ongoing = await admin.listPartitionReassignments({});
          if (ongoing.topics.some((t) => t.partitions.length > 0)) return undefined;
          const meta = await admin.fetchTopicMetadata({ topics: [MOVING] });
          const p = meta.topics[0]!.partitions[0]!;
          if (JSON.stringify([...p.replicas].sort()) !== '[3,4]' || ![3, 4].includes(p.leader))
            return undefined;
          return p;
        },
        90_000,
        250,
      );
      // It went through the KIP-455 steps: the controller started it and finished it once 3 and 4 were in sync.
      const controllerLogs = cluster.brokers.flatMap((b) => b.logs);
      expect(
        controllerLogs.some((l) => l.includes('reassignment started') && l.includes(`"topic":"${MOVING}"`)),
      ).toBe(true);
      expect(
        controllerLogs.some((l) => l.includes('reassignment completed') && l.includes(`"topic":"${MOVING}"`)),
      ).toBe(true);
      const state = (await cluster.partitionStates(MOVING)).get(0)!;
      expect([3, 4]).toContain(state.leader);
      expect([...state.isr].sort()).toEqual([3, 4]);
      expect(state).not.toHaveProperty('addingReplicas');
      expect(state).not.toHaveProperty('removingReplicas');
      console.log(
        'reassignment figures',
        JSON.stringify({
          leader: done.leader,
          replicas: done.replicas,
          isr: state.isr,
          elapsedMs: Date.now() - t0,
        }),
      );

      // The new replicas take writes too.
      await producer.send({ topic: MOVING, acks: -1, messages: [{ key: 'after', value: 'value-after' }] });
      acked.push('value-after');
      await producer.disconnect();

      // Every acknowledged message reads back (consumers read from the leader, now 3 or 4).
      const consumed = await consumeAll(cluster.bootstrap, MOVING);
      const values = new Set(consumed.records.get(0)?.values() ?? []);
      expect(acked.filter((v) => !values.has(v))).toEqual([]);

      // Brokers 1 and 2 stopped hosting the partition and deleted it; 3 and 4 hold it.
      const hasReplica = (id: number) =>
        readdirSync(cluster.broker(id).dataDir).some(
          (n) => n === `${MOVING}-0` || n.startsWith(`${MOVING}-0.`),
        );
      await cluster.waitFor(
        'brokers 1 and 2 to delete their replicas',
        () => (!hasReplica(1) && !hasReplica(2) ? true : undefined),
        30_000,
      );
      for (const id of [1, 2])
        expect(
          cluster
            .broker(id)
            .logs.some((l) => l.includes('deleting the replica') && l.includes(`"topic":"${MOVING}"`)),
        ).toBe(true);
      expect(existsSync(`${cluster.broker(3).dataDir}/${MOVING}-0`)).toBe(true);
      expect(existsSync(`${cluster.broker(4).dataDir}/${MOVING}-0`)).toBe(true);

      // A target naming an unregistered broker is refused (INVALID_REPLICA_ASSIGNMENT).
      await expect(
        admin.alterPartitionReassignments({
          topics: [{ topic: MOVING, partitionAssignment: [{ partition: 0, replicas: [3, 9] }] }],
        }),
      ).rejects.toMatchObject({
        errors: [
          expect.objectContaining({ type: 'INVALID_REPLICA_ASSIGNMENT', topic: MOVING, partition: 0 }),
        ],
      });
    } finally {
      await admin.disconnect();
    }
  });

  it('ElectLeaders gives the leadership back to the preferred replica', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic: ELECT, replicaAssignment: [{ partition: 0, replicas: [2, 3] }] }],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
    await cluster.waitFullyReplicated(ELECT, 1, 2);
    expect((await cluster.partitionStates(ELECT)).get(0)!.leader).toBe(2);

    // Restart the preferred replica: controlled shutdown moves the leadership to 3, and it stays there.
    const b2 = cluster.broker(2);
    expect(await b2.stop()).toBe(0);
    await b2.start();
    await cluster.waitFullyReplicated(ELECT, 1, 2);
    expect((await cluster.partitionStates(ELECT)).get(0)!.leader).toBe(3);

    const elect = async (type: 'preferred' | 'unclean', partitions: string) => {
      const r = await runJava('ElectLeaders.java', [cluster.liveBootstrap(), type, partitions]);
      if (r.code !== 0) throw new Error(`ElectLeaders failed (${r.code}): ${r.stderr.slice(-3000)}`);
      return r.stdout
        .split('\n')
        .filter((l) => l.startsWith('result '))
        .map((l) => l.slice('result '.length));
    };
    const t0 = Date.now();
    expect(await elect('preferred', `${ELECT}:0`)).toEqual([`${ELECT} 0 NONE`]);
    const electMs = Date.now() - t0;
    const state = await cluster.waitFor('broker 2 to lead again', async () => {
      const s = (await cluster.partitionStates(ELECT)).get(0)!;
      return s.leader === 2 ? s : undefined;
    });
    expect([...state.isr].sort()).toEqual([2, 3]);
    expect(await elect('preferred', `${ELECT}:0`)).toEqual([`${ELECT} 0 ElectionNotNeededException`]);
    expect(await elect('unclean', `${ELECT}:0`)).toEqual([`${ELECT} 0 ElectionNotNeededException`]);
    expect(await elect('preferred', `${ELECT}:7`)).toEqual([`${ELECT} 7 UnknownTopicOrPartitionException`]);
    console.log('elect-leaders figures', JSON.stringify({ electMs }));
  });
});
