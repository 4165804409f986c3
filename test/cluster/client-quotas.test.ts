/**
 * Client quotas in cluster mode (etcd): a quota set through one broker (not the controller, so the
 * AlterClientQuotas is forwarded to the active controller) reaches every broker through the store's
 * watch and is enforced on another broker: a Java producer writing to a partition led by broker B
 * is throttled there, and broker B's quota metrics show it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeys } from '../../src/protocol/messages/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { ensureJavaClient, runJava, type RunResult } from '../helpers/clients.js';
import { ensureKafkaTools, runKafkaTool } from '../helpers/kafka-tools.js';

const show = (r: RunResult): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe('client quotas across a cluster', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  const clients: RawClient[] = [];

  beforeAll(async () => {
    [cluster] = await Promise.all([
      new TestCluster({ brokers: 2 }).start(),
      ensureKafkaTools(),
      ensureJavaClient(),
    ]);
  }, 300_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.cleanup();
  });

  it('a quota set through broker A is stored by the controller and enforced on broker B', async () => {
    const controller = await cluster.controller();
    const a = controller === 1 ? 2 : 1; // not the controller: its write is forwarded
    const b = controller; // the other broker
    let r = await runKafkaTool('kafka-configs', [
      '--bootstrap-server',
      cluster.broker(a).bootstrap,
      '--alter',
      '--add-config',
      'producer_byte_rate=262144',
      '--entity-type',
      'clients',
      '--entity-name',
      'quota-cluster',
    ]);
    expect(r.code, show(r)).toBe(0);

    // Broker B has it (through its watch), as DescribeClientQuotas on B shows.
    const onB = await RawClient.connect(cluster.broker(b).port);
    clients.push(onB);
    let described: unknown = null;
    for (let i = 0; i < 100; i++) {
      const d = await onB.request(ApiKeys.DescribeClientQuotas, 1, {
        components: [{ entityType: 'client-id', matchType: 0, match: 'quota-cluster' }],
        strict: true,
      });
      described = d.entries;
      if (d.entries && d.entries.length > 0) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(described).toEqual([
      {
        entity: [{ entityType: 'client-id', entityName: 'quota-cluster' }],
        values: [{ key: 'producer_byte_rate', value: 262144 }],
      },
    ]);

    // A topic whose only partition is led by B.
    const created = await onB.request(ApiKeys.CreateTopics, 7, {
      topics: [
        {
          name: 'quota-on-b',
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 0, brokerIds: [b] }],
          configs: [],
        },
      ],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    expect(created.topics[0]!.errorCode).toBe(ErrorCode.NONE);
    await cluster.waitFullyReplicated('quota-on-b', 1, 1);

    r = await runJava(
      'QuotaLoad.java',
      ['produce', cluster.broker(a).bootstrap, 'quota-on-b', 'quota-cluster', '8', '0'],
      120_000,
    );
    expect(r.code, show(r)).toBe(0);
    const m = /result rate=(\d+) throttleAvg=([\d.E]+) throttleMax=([\d.E]+)/.exec(r.stdout);
    expect(m, show(r)).not.toBeNull();
    const rate = Number(m![1]);
    const throttleMax = Number(m![3]);
    console.log(
      `cluster: producer_byte_rate=256 KiB/s set via broker ${a}, enforced on broker ${b}: ${(rate / 1024).toFixed(0)} KiB/s over 8 s, throttle max ${throttleMax} ms`,
    );
    expect(throttleMax).toBeGreaterThan(0);
    // 8 s is within the first burst a new sensor allows (10 windows' worth): at most ~2.5 MiB.
    expect(rate).toBeLessThan(2 * 262144);
    expect(
      await cluster.metric(b, 'kafka_server_produce_throttle_time_max'),
      'broker B throttled the producer',
    ).toBeGreaterThan(0);
    expect(await cluster.metric(a, 'kafka_server_produce_throttle_time_max')).toBe(0);
  });
});
