/**
 * The leader side of the replication throttle (Kafka's ReplicaManager.shouldLeaderThrottle), in
 * process on the embedded metadata store and real logs: a follower out of the ISR fetching a
 * throttled partition gets no records while the leader's quota is exceeded, one in the ISR does, and
 * consumers never are; the bytes sent are recorded.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BrokerConfig } from '../../../src/common/broker-config.js';
import { EmbeddedMetadataStore } from '../../../src/controller/embedded-store.js';
import { MetadataTable } from '../../../src/controller/metadata-table.js';
import { encodeBrokerRegistration, type TopicRecord } from '../../../src/controller/records.js';
import { ReplicaManager, type FetchParams } from '../../../src/broker/replica-manager.js';
import { ReplicationQuotaManager } from '../../../src/broker/replication/replication-quota.js';
import { Fixture, batch, nextOffsetAfter, silentLog } from '../helpers.js';

let fx: Fixture;
let store: EmbeddedMetadataStore;
let table: MetadataTable;
let rm: ReplicaManager | null = null;

async function put(key: string, value: unknown): Promise<void> {
  const r = await store.txn(
    [],
    [{ type: 'put', key, value: typeof value === 'string' ? value : JSON.stringify(value) }],
  );
  await table.waitForRevision(r.revision);
}

beforeEach(async () => {
  fx = new Fixture();
  store = new EmbeddedMetadataStore(join(fx.dir, '__metadata.json'));
  table = new MetadataTable(store, '/sluice');
  await table.start();
  for (const id of [1, 2])
    await put(
      table.keys.broker(id),
      encodeBrokerRegistration(
        {
          nodeId: id,
          endpoints: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 1, securityProtocol: 'PLAINTEXT' }],
          rack: null,
          incarnationId: `i${id}`,
        },
        'PLAINTEXT',
      ),
    );
});

afterEach(async () => {
  await rm?.shutdown();
  rm = null;
  await table.stop();
  await store.close();
  fx.cleanup();
});

const fetch = (replicaId: number, fetchOffset: bigint): FetchParams => ({
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
      currentLeaderEpoch: -1,
      lastFetchedEpoch: -1,
    },
  ],
});

describe('leader replication throttle', () => {
  it('answers an out-of-sync throttled follower with no records while the quota is exceeded', async () => {
    const record: TopicRecord = {
      name: 't',
      topicId: '7d1c5f0e-3b2a-4c1d-9e8f-0a1b2c3d4e5f',
      replicas: [[1, 2]],
      configs: { 'leader.replication.throttled.replicas': '0:1' },
    };
    await put(table.keys.topic('t'), record);
    // Broker 2 is a replica but not in the ISR (it is being added, say).
    await put(table.keys.partition('t', 0), { leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch: 0 });
    const config = new BrokerConfig({
      'node.id': '1',
      'log.dirs': join(fx.dir, 'logs'),
      listeners: 'PLAINTEXT://127.0.0.1:0',
      'leader.replication.throttled.rate': '100',
    });
    const quota = (type: 'LeaderReplication' | 'FollowerReplication') =>
      new ReplicationQuotaManager({
        type,
        brokerId: 1,
        config,
        topicConfigs: (t) => table.topics.get(t)?.configs,
        windowSamples: 11,
        windowSeconds: 1,
      });
    const leader = quota('LeaderReplication');
    rm = new ReplicaManager({
      nodeId: 1,
      config,
      table,
      log: silentLog,
      replicationQuotas: { leader, follower: quota('FollowerReplication') },
    });
    rm.start();
    for (let i = 0; i < 3; i++)
      await rm.appendRecords(1, 1000, [{ topic: 't', partition: 0, records: batch(2) }]);

    // The first fetch fits the (empty) rate: records, and their bytes are recorded.
    const [first] = await rm.fetchMessages(fetch(2, 0n));
    expect(first!.records!.length).toBeGreaterThan(100);
    expect(leader.isQuotaExceeded()).toBe(true);
    // Now over 100 B/s: broker 2, out of the ISR, gets nothing; a consumer still reads.
    const [held] = await rm.fetchMessages(fetch(2, 2n));
    expect(held!.records!.length).toBe(0);
    expect(held!.highWatermark).toBeGreaterThanOrEqual(0n);
    const [consumer] = await rm.fetchMessages(fetch(-1, 0n));
    expect(nextOffsetAfter(consumer!.records)).toBe(6n);

    // In the ISR, the same replica is not held back (its bytes still count).
    await put(table.keys.partition('t', 0), { leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 1 });
    const [inSync] = await rm.fetchMessages(fetch(2, 2n));
    expect(nextOffsetAfter(inSync!.records)).toBe(6n);

    // Without the topic's throttled replicas, nothing is throttled.
    await put(table.keys.partition('t', 0), { leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch: 2 });
    await put(table.keys.topic('t'), { ...record, configs: {} });
    const [free] = await rm.fetchMessages(fetch(2, 2n));
    expect(nextOffsetAfter(free!.records)).toBe(6n);
  });
});
