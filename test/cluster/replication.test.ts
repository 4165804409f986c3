/**
 * Replication basics on a 3-broker cluster (real etcd, real broker processes):
 *  - a topic with RF 3 gets every message on every replica; acks=all completes; the ISR stays full;
 *    the followers' logs equal the leader's, byte for byte in size;
 *  - with only one replica alive, acks=all produce fails with NOT_ENOUGH_REPLICAS (min.insync=2)
 *    and succeeds again once a second replica is back; nothing acknowledged is lost;
 *  - OffsetForLeaderEpoch answers on the leader.
 */
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { checkDurability, consumeAll, ContinuousProducer } from './clients.js';

const { Kafka, logLevel } = kafkajs;
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

describe('replication', { timeout: 240_000 }, () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await new TestCluster().start();
  }, 120_000);

  afterAll(async () => {
    await cluster?.cleanup();
  }, 60_000);

  it('replicates every partition to every replica; acks=all completes; min.insync.replicas is enforced', async () => {
    await cluster.createTopic('rep', 6, 3, { 'min.insync.replicas': '2' });

    // 1. acks=all with a full ISR.
    const p1 = new ContinuousProducer(cluster.bootstrap, 'rep', { count: 3000, idempotent: true });
    const r1 = await p1.finish();
    expect(r1.errors.size).toBe(0);
    expect(r1.acked.size).toBe(3000);
    // Every replica has the same log end for each partition (sizes equal on all three brokers).
    await cluster.waitFor('followers caught up', async () => {
      const sizes = await Promise.all([1, 2, 3].map((id) => cluster.metricsOf(id)));
      const per = sizes.map((t) =>
        [...t.matchAll(/^sluice_log_size_bytes\{topic="rep",partition="(\d+)"[^}]*\} (\d+)/gm)]
          .map((m) => `${m[1]}=${m[2]}`)
          .sort()
          .join(','),
      );
      return per[0] && per[0] === per[1] && per[1] === per[2] && per[0].split(',').length === 6
        ? true
        : undefined;
    });
    const states = await cluster.partitionStates('rep');
    for (const s of states.values()) expect(s.isr.length).toBe(3);
    // Metrics: one active controller, nothing under-replicated, fetchers per leader broker.
    const controllers = await Promise.all(
      [1, 2, 3].map((id) => cluster.metric(id, 'sluice_active_controller')),
    );
    expect(controllers.reduce((a, b) => a + b, 0)).toBe(1);
    for (const id of [1, 2, 3]) {
      expect(await cluster.metric(id, 'sluice_under_replicated_partitions')).toBe(0);
      expect(await cluster.metricsOf(id)).toMatch(/^sluice_replica_fetcher_max_lag\{source_broker="\d"/m);
      expect(await cluster.metric(id, 'sluice_replication_bytes_in_total')).toBeGreaterThan(0);
    }

    // OffsetForLeaderEpoch on the leader of partition 0: its epoch ends at its log end.
    const s0 = states.get(0)!;
    const raw = await RawClient.connect(cluster.broker(s0.leader).port);
    try {
      const res = await raw.request(23, 3, {
        replicaId: -1,
        topics: [
          {
            topic: 'rep',
            partitions: [{ partition: 0, currentLeaderEpoch: s0.leaderEpoch, leaderEpoch: s0.leaderEpoch }],
          },
        ],
      });
      const e = res.topics[0]!.partitions[0]!;
      expect(e.errorCode).toBe(0);
      expect(e.leaderEpoch).toBe(s0.leaderEpoch);
      expect(Number(e.endOffset)).toBe([...r1.acked.values()].filter((a) => a.partition === 0).length);
      const ahead = await raw.request(23, 3, {
        replicaId: -1,
        topics: [
          {
            topic: 'rep',
            partitions: [{ partition: 0, currentLeaderEpoch: s0.leaderEpoch + 1, leaderEpoch: 0 }],
          },
        ],
      });
      expect(ahead.topics[0]!.partitions[0]!.errorCode).toBe(75); // UNKNOWN_LEADER_EPOCH: the caller is ahead
    } finally {
      raw.close();
    }

    // 2. Only one replica alive: acks=all fails with NOT_ENOUGH_REPLICAS.
    const controller = await cluster.controller();
    const survivor = controller; // keep the controller alive so elections are immediate
    const others = [1, 2, 3].filter((id) => id !== survivor);
    await Promise.all(others.map((id) => cluster.broker(id).kill()));
    await cluster.waitFor('ISR down to the survivor', async () => {
      const s = await cluster.partitionStates('rep');
      return [...s.values()].every(
        (st) => st.leader === survivor && st.isr.length === 1 && st.isr[0] === survivor,
      )
        ? true
        : undefined;
    });
    expect(await cluster.metric(survivor, 'sluice_under_replicated_partitions')).toBe(6);
    expect(await cluster.metric(survivor, 'sluice_leader_elections')).toBeGreaterThan(0);
    const k1 = new Kafka({
      brokers: [cluster.broker(survivor).bootstrap],
      clientId: 'min-isr',
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    const prod = k1.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await prod.connect();
    const err = await prod
      .send({ topic: 'rep', acks: -1, messages: [{ partition: 0, value: 'not-enough' }] })
      .then(
        () => null,
        (e: unknown) => e as { type?: string; message?: string; cause?: { type?: string } },
      );
    expect(err).not.toBeNull();
    // kafkajs wraps the partition error; its type (or its cause's) is the Kafka error name.
    expect([err!.type, err!.cause?.type, err!.message].join(' ')).toMatch(
      /NOT_ENOUGH_REPLICAS|fewer in-sync replicas than required/,
    );
    // acks=1 still works with one replica.
    await prod.send({ topic: 'rep', acks: 1, messages: [{ partition: 1, value: 'acks-1' }] });

    // 3. A second replica back: acks=all works again (after it rejoins the ISR).
    await cluster.broker(others[0]!).start();
    await cluster.waitFor(
      'a second replica back in every ISR',
      async () => {
        const s = await cluster.partitionStates('rep');
        return [...s.values()].every((st) => st.isr.length >= 2) ? true : undefined;
      },
      90_000,
    );
    const r2 = await prod.send({
      topic: 'rep',
      acks: -1,
      messages: [{ partition: 0, value: 'enough-again' }],
    });
    expect(r2[0]!.errorCode).toBe(0);
    await prod.disconnect();
    await cluster.broker(others[1]!).start();
    await cluster.waitFullyReplicated('rep', 6, 3);

    // Nothing acknowledged was lost.
    const consumed = await consumeAll(cluster.bootstrap, 'rep');
    const check = checkDurability(r1, consumed);
    expect(check.problems).toEqual([]);
    expect(check.duplicates).toBe(0);
    const values = [...consumed.records.values()].flatMap((m) => [...m.values()]);
    expect(values).toContain('enough-again');
    expect(values).toContain('acks-1');
    expect(values).not.toContain('not-enough');
  });
});
