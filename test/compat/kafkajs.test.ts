/**
 * kafkajs 2.2.4 against a single broker. Its consumer needs consumer groups (not built yet), so what
 * it produces is read back with kcat and checked message by message (offsets acknowledged to
 * kafkajs, key, value, headers). Admin: createTopics, fetchTopicMetadata, describeConfigs,
 * alterConfigs, createPartitions, fetchTopicOffsets(+ByTimestamp), deleteTopicRecords,
 * describeCluster, deleteTopics, with the errors kafkajs surfaces for bad requests.
 */
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.js';
import { run } from '../helpers/clients.js';

const { Kafka, CompressionTypes, ConfigResourceTypes, logLevel } = kafkajs;
type Admin = ReturnType<InstanceType<typeof Kafka>['admin']>;
type Producer = ReturnType<InstanceType<typeof Kafka>['producer']>;

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

interface Read {
  partition: number;
  offset: number;
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** Everything in a topic, via kcat (-C -e), in the order each partition holds it. */
async function readAll(bootstrap: string, topic: string): Promise<Read[]> {
  const r = await run('kcat', ['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-J'], {
    timeoutMs: 60_000,
  });
  if (r.code !== 0) throw new Error(`kcat failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = JSON.parse(line) as {
        partition: number;
        offset: number;
        key: string;
        payload: string;
        headers?: string[];
      };
      const headers: Record<string, string> = {};
      for (let i = 0; m.headers && i < m.headers.length; i += 2) headers[m.headers[i]!] = m.headers[i + 1]!;
      return { partition: m.partition, offset: m.offset, key: m.key, value: m.payload, headers };
    });
}

describe('kafkajs', { timeout: 180_000 }, () => {
  let broker: BrokerProcess;
  let kafka: InstanceType<typeof Kafka>;
  let admin: Admin;
  let producer: Producer;

  beforeAll(async () => {
    broker = await new BrokerProcess().start();
    kafka = new Kafka({
      brokers: [broker.bootstrap],
      clientId: 'compat-kafkajs',
      logLevel: logLevel.NOTHING,
      retry: { retries: 3 },
    });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect().catch(() => {});
    await admin?.disconnect().catch(() => {});
    await broker?.cleanup();
  });

  for (const [name, compression] of [
    ['none', CompressionTypes.None],
    ['gzip', CompressionTypes.GZIP],
  ] as const) {
    for (const acks of [-1, 1]) {
      it(`produces with compression ${name}, acks=${acks}; every message is stored at its acknowledged offset`, async () => {
        const topic = `kj-${name}-${acks === -1 ? 'all' : 'one'}`;
        expect(
          await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true }),
        ).toBe(true);
        const expected: { key: string; value: string; i: number }[] = [];
        const acked = new Map<string, number>(); // "partition/offset" -> message index
        for (let round = 0; round < 10; round++) {
          const msgs = Array.from({ length: 100 }, (_, j) => {
            const i = round * 100 + j;
            return { key: `key-${i % 17}`, value: `value-${i}-${'z'.repeat(i % 61)}`, i };
          });
          expected.push(...msgs);
          const res = await producer.send({
            topic,
            acks,
            compression,
            messages: msgs.map((m) => ({ key: m.key, value: m.value, headers: { i: String(m.i) } })),
          });
          // One response entry per partition: base offset of that partition's batch.
          for (const r of res) expect(r.errorCode).toBe(0);
          for (const r of res) acked.set(`${r.partition}/${r.baseOffset}`, round);
        }
        const read = await readAll(broker.bootstrap, topic);
        expect(read).toHaveLength(expected.length);
        // Each message exactly once, unchanged, and per partition in send order with dense offsets.
        const seen = new Set<number>();
        const next = new Map<number, number>();
        const lastIndex = new Map<number, number>();
        for (const r of read) {
          const i = Number(r.headers.i);
          const m = expected[i];
          expect(m, JSON.stringify(r)).toBeDefined();
          expect([r.key, r.value]).toEqual([m!.key, m!.value]);
          expect(seen.has(i)).toBe(false);
          seen.add(i);
          expect(r.offset).toBe(next.get(r.partition) ?? 0);
          next.set(r.partition, r.offset + 1);
          expect(i).toBeGreaterThan(lastIndex.get(r.partition) ?? -1);
          lastIndex.set(r.partition, i);
        }
        // Every base offset kafkajs was told is the offset of the first message of that round in that partition.
        for (const [pos, round] of acked) {
          const [p, o] = pos.split('/').map(Number) as [number, number];
          const first = read.find((r) => r.partition === p && r.offset === o);
          expect(first, pos).toBeDefined();
          expect(Math.floor(Number(first!.headers.i) / 100)).toBe(round);
          const before = read.find((r) => r.partition === p && r.offset === o - 1);
          if (before) expect(Math.floor(Number(before.headers.i) / 100)).toBeLessThan(round);
        }
        // fetchTopicOffsets agrees with what is there.
        const offsets = await admin.fetchTopicOffsets(topic);
        expect(
          offsets.sort((a, b) => a.partition - b.partition).map((o) => [o.partition, o.low, o.high]),
        ).toEqual([0, 1, 2].map((p) => [p, '0', String(next.get(p) ?? 0)]));
      });
    }
  }

  it('idempotent producer (kafkajs "experimental"): sequences accepted, every message stored once', async () => {
    const topic = 'kj-idempotent';
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    const idem = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await idem.connect();
    try {
      const bases: [number, string][] = [];
      for (let round = 0; round < 5; round++) {
        const res = await idem.send({
          topic,
          acks: -1,
          compression: CompressionTypes.GZIP,
          messages: Array.from({ length: 40 }, (_, j) => ({
            partition: j % 2,
            key: `k${j}`,
            value: `r${round}-m${j}`,
            headers: { i: String(round * 40 + j) },
          })),
        });
        for (const r of res) bases.push([r.partition, r.baseOffset!]);
      }
      // Each round's batch per partition starts where the previous ended.
      expect(bases.filter(([p]) => p === 0).map(([, o]) => o)).toEqual(['0', '20', '40', '60', '80']);
      expect(bases.filter(([p]) => p === 1).map(([, o]) => o)).toEqual(['0', '20', '40', '60', '80']);
    } finally {
      await idem.disconnect();
    }
    const read = await readAll(broker.bootstrap, topic);
    expect(read.map((r) => Number(r.headers.i)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 200 }, (_, i) => i),
    );
    for (const r of read) {
      const i = Number(r.headers.i);
      expect([r.partition, r.key, r.value]).toEqual([
        i % 2,
        `k${i % 40}`,
        `r${Math.floor(i / 40)}-m${i % 40}`,
      ]);
    }
  });

  it('admin: create, metadata, describe/alter configs, partitions, offsets, delete records, delete', async () => {
    const topic = 'kj-admin';
    expect(
      await admin.createTopics({
        topics: [
          {
            topic,
            numPartitions: 2,
            replicationFactor: 1,
            configEntries: [
              { name: 'retention.ms', value: '7777777' },
              { name: 'cleanup.policy', value: 'compact' },
            ],
          },
        ],
        waitForLeaders: true,
      }),
    ).toBe(true);
    // Creating it again: createTopics resolves false (kafkajs treats TOPIC_ALREADY_EXISTS as "not created").
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] })).toBe(false);
    await expect(
      admin.createTopics({
        topics: [
          { topic: 'kj-bad', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: 'soon' }] },
        ],
      }),
    ).rejects.toMatchObject({
      errors: [expect.objectContaining({ type: 'INVALID_CONFIG' })],
    });
    // validateOnly creates nothing (waitForLeaders would look the topic up, and it must not exist).
    expect(
      await admin.createTopics({
        validateOnly: true,
        waitForLeaders: false,
        topics: [{ topic: 'kj-validate-only', numPartitions: 1 }],
      }),
    ).toBe(true);
    expect(await admin.listTopics()).not.toContain('kj-validate-only');

    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(md.topics).toEqual([
      {
        name: topic,
        partitions: [
          { partitionErrorCode: 0, partitionId: 0, leader: 1, replicas: [1], isr: [1], offlineReplicas: [] },
          { partitionErrorCode: 0, partitionId: 1, leader: 1, replicas: [1], isr: [1], offlineReplicas: [] },
        ],
      },
    ]);

    const describeTopic = async (names: string[]) => {
      const d = await admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: names }],
        includeSynonyms: false,
      });
      expect(d.resources[0]!.errorCode).toBe(0);
      return Object.fromEntries(
        d.resources[0]!.configEntries.map((e) => [
          e.configName,
          [e.configValue, e.configSource, e.isDefault],
        ]),
      );
    };
    expect(await describeTopic(['retention.ms', 'cleanup.policy', 'segment.bytes'])).toEqual({
      'retention.ms': ['7777777', 1, false],
      'cleanup.policy': ['compact', 1, false],
      'segment.bytes': ['1073741824', 5, true],
    });
    // AlterConfigs replaces all overrides: retention.ms returns to its default.
    const alt = await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [
            { name: 'cleanup.policy', value: 'delete' },
            { name: 'segment.bytes', value: '1048576' },
          ],
        },
      ],
    });
    expect(
      (alt as { resources: { resourceName: string; errorCode: number }[] }).resources.map((r) => [
        r.resourceName,
        r.errorCode,
      ]),
    ).toEqual([[topic, 0]]);
    expect(await describeTopic(['retention.ms', 'cleanup.policy', 'segment.bytes'])).toEqual({
      'retention.ms': ['604800000', 5, true],
      'cleanup.policy': ['delete', 1, false],
      'segment.bytes': ['1048576', 1, false],
    });
    await expect(
      admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: topic,
            configEntries: [{ name: 'segment.bytes', value: '-5' }],
          },
        ],
      }),
    ).rejects.toMatchObject({
      type: 'INVALID_CONFIG',
    });
    const brokerCfg = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configNames: ['num.partitions'] }],
      includeSynonyms: false,
    });
    expect(brokerCfg.resources[0]!.configEntries.map((e) => [e.configName, e.configValue])).toEqual([
      ['num.partitions', '1'],
    ]);

    await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] });
    expect(
      (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.map(
        (p) => p.partitionId,
      ).sort(),
    ).toEqual([0, 1, 2, 3]);
    await expect(admin.createPartitions({ topicPartitions: [{ topic, count: 2 }] })).rejects.toMatchObject({
      type: 'INVALID_PARTITIONS',
    });

    // 20 messages to partition 0 with timestamps 1000 ms apart, then offsets, by timestamp, delete records.
    const t0 = Date.now() - 60_000;
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: 20 }, (_, i) => ({
        partition: 0,
        value: `m${i}`,
        timestamp: String(t0 + i * 1000),
      })),
    });
    const offsets = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition);
    expect(offsets.map((o) => [o.partition, o.low, o.high, o.offset])).toEqual([
      [0, '0', '20', '20'],
      [1, '0', '0', '0'],
      [2, '0', '0', '0'],
      [3, '0', '0', '0'],
    ]);
    const byTs = await admin.fetchTopicOffsetsByTimestamp(topic, t0 + 7500);
    expect(byTs.find((o) => o.partition === 0)!.offset).toBe('8');
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '5' }] });
    expect((await admin.fetchTopicOffsets(topic)).find((o) => o.partition === 0)).toMatchObject({
      low: '5',
      high: '20',
    });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '-1' }] });
    expect((await admin.fetchTopicOffsets(topic)).find((o) => o.partition === 0)).toMatchObject({
      low: '20',
      high: '20',
    });
    await expect(
      admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '50' }] }),
    ).rejects.toThrow();
    const read = await readAll(broker.bootstrap, topic);
    expect(read).toEqual([]);

    const cluster = await admin.describeCluster();
    expect(cluster.brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port: broker.port }]);
    expect(cluster.controller).toBe(1);
    expect(cluster.clusterId).toMatch(/.+/);

    await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
    expect(await admin.listTopics()).not.toContain(topic);
    // UNKNOWN_TOPIC_OR_PARTITION is retriable for kafkajs: it retries, then gives up with it as the cause.
    await expect(admin.deleteTopics({ topics: ['kj-never-existed'] })).rejects.toMatchObject({
      cause: { type: 'UNKNOWN_TOPIC_OR_PARTITION' },
    });
  });
});
