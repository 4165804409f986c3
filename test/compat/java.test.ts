/**
 * The Java client against a single broker, once per version in JAVA_CLIENT_VERSIONS (kafka-clients
 * 3.9.1 and 4.4.0, the same programs), through test/clients/java/ClientCompat.java:
 *  - admin: describeCluster, createTopics (with configs; again → TopicExistsException), describeTopics,
 *    describeConfigs (values and sources), incrementalAlterConfigs (SET/DELETE), broker configs,
 *    createPartitions, listOffsets (earliest/latest/for timestamp/max timestamp), deleteRecords,
 *    deleteTopics;
 *  - a producer with the client's defaults (acks=all, idempotence on) sending 20,000 keyed
 *    messages, and a consumer with assign() reading them all back: each acknowledged message at
 *    its offset, nothing else, dense offsets, end offsets equal to the counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.js';
import {
  ensureJavaClient,
  JAVA_CLIENT_VERSIONS,
  runJava,
  type JavaClientVersion,
} from '../helpers/clients.js';
import { advertisedApis } from './api-versions.js';
import { metricSum, servedVersions } from './metrics.js';
import { expectExactlyOnce, parseAcks, parseRecords } from './java-output.js';

const N = 20_000;

/**
 * The newest stable version of each API these programs send, per client version (each version's
 * org.apache.kafka.common.protocol.ApiKeys, latestVersion()). A client picks min(its newest, the
 * broker's newest) from ApiVersions; 4.4.0's newest are higher for Produce (13: topic ids), Fetch
 * (18), ListOffsets (11), Metadata (13), OffsetCommit/OffsetFetch (10), ApiVersions (5),
 * DescribeLogDirs (5), DescribeCluster (2), DescribeGroups (6) and DeleteGroups (3).
 */
const CLIENT_NEWEST: Record<string, { key: number } & Record<JavaClientVersion, number>> = {
  Produce: { key: 0, '3.9.1': 11, '4.4.0': 13 },
  Fetch: { key: 1, '3.9.1': 17, '4.4.0': 18 },
  ListOffsets: { key: 2, '3.9.1': 9, '4.4.0': 11 },
  Metadata: { key: 3, '3.9.1': 12, '4.4.0': 13 },
  OffsetCommit: { key: 8, '3.9.1': 9, '4.4.0': 10 },
  OffsetFetch: { key: 9, '3.9.1': 9, '4.4.0': 10 },
  FindCoordinator: { key: 10, '3.9.1': 6, '4.4.0': 6 },
  ApiVersions: { key: 18, '3.9.1': 4, '4.4.0': 5 },
  CreateTopics: { key: 19, '3.9.1': 7, '4.4.0': 7 },
  DeleteTopics: { key: 20, '3.9.1': 6, '4.4.0': 6 },
  DeleteRecords: { key: 21, '3.9.1': 2, '4.4.0': 2 },
  InitProducerId: { key: 22, '3.9.1': 5, '4.4.0': 5 },
  OffsetForLeaderEpoch: { key: 23, '3.9.1': 4, '4.4.0': 4 },
  DescribeGroups: { key: 15, '3.9.1': 5, '4.4.0': 6 },
  DescribeConfigs: { key: 32, '3.9.1': 4, '4.4.0': 4 },
  DescribeLogDirs: { key: 35, '3.9.1': 4, '4.4.0': 5 },
  CreatePartitions: { key: 37, '3.9.1': 3, '4.4.0': 3 },
  IncrementalAlterConfigs: { key: 44, '3.9.1': 1, '4.4.0': 1 },
  DescribeCluster: { key: 60, '3.9.1': 1, '4.4.0': 2 },
};

describe.each(JAVA_CLIENT_VERSIONS)('Java client %s', { timeout: 180_000 }, (version) => {
  let broker: BrokerProcess;

  beforeAll(async () => {
    await ensureJavaClient(version);
    broker = await new BrokerProcess({ overrides: { 'num.partitions': '3' } }).start();
  }, 300_000);

  afterAll(async () => {
    await broker?.cleanup();
  });

  it('admin calls', async () => {
    const r = await runJava('ClientCompat.java', ['admin', broker.bootstrap, 'java-admin'], 150_000, version);
    expect(r.code, `${r.stdout}\n${r.stderr}\n${broker.logs.slice(-10).join('\n')}`).toBe(0);
    const out = new Map<string, string[]>();
    for (const line of r.stdout.split('\n').filter(Boolean)) {
      const i = line.indexOf('=');
      const k = line.slice(0, i);
      out.set(k, [...(out.get(k) ?? []), line.slice(i + 1)]);
    }
    const one = (k: string) => out.get(k)?.join('|');
    expect(one('cluster.id')).toMatch(/^\S+$/);
    expect(one('cluster.controller')).toBe('1');
    expect(one('cluster.node')).toBe(`1@127.0.0.1:${broker.port}`);
    expect(one('create.partitions')).toBe('2');
    expect(one('create.rf')).toBe('1');
    expect(one('create.topicId')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(one('create.topicId')).not.toBe('AAAAAAAAAAAAAAAAAAAAAA');
    expect(one('create.again')).toBe('TopicExistsException');
    expect(one('describe.name')).toBe('java-admin');
    expect(one('describe.topicId')).toBe(one('create.topicId'));
    expect(out.get('describe.partition')).toEqual([
      '0 leader=1 replicas=1 isr=1',
      '1 leader=1 replicas=1 isr=1',
    ]);
    expect(one('config.retention.ms')).toBe('3600000 DYNAMIC_TOPIC_CONFIG default=false');
    expect(one('config.cleanup.policy')).toBe('delete DYNAMIC_TOPIC_CONFIG default=false');
    expect(one('config.segment.bytes')).toBe('1073741824 DEFAULT_CONFIG default=true');
    expect(one('config.max.message.bytes')).toBe('1048588 DEFAULT_CONFIG default=true');
    expect(one('altered.retention.ms')).toBe('7200000 DYNAMIC_TOPIC_CONFIG');
    expect(one('altered.cleanup.policy')).toBe('delete DEFAULT_CONFIG');
    expect(one('altered.segment.bytes')).toBe('10485760 DYNAMIC_TOPIC_CONFIG');
    expect(one('broker.num.partitions')).toBe('3 STATIC_BROKER_CONFIG');
    expect(one('partitions.after')).toBe('4');
    // 10 records in partition 0, timestamps t0 + i*1000.
    // KIP-430: Kafka's AclEntry.supportedOperations per resource type, only when asked.
    expect(one('authops.cluster.unasked')).toBe('null');
    expect(one('authops.cluster')).toBe(
      'ALTER,ALTER_CONFIGS,CLUSTER_ACTION,CREATE,DESCRIBE,DESCRIBE_CONFIGS,IDEMPOTENT_WRITE',
    );
    expect(one('authops.topic.unasked')).toBe('null');
    expect(one('authops.topic')).toBe(
      'ALTER,ALTER_CONFIGS,CREATE,DELETE,DESCRIBE,DESCRIBE_CONFIGS,READ,WRITE',
    );
    expect(one('authops.group')).toBe(
      'DELETE,DESCRIBE,DESCRIBE_CONFIGS,ALTER_CONFIGS,READ'.split(',').sort().join(','),
    );
    expect(one('offsets.earliest')).toBe('0');
    expect(one('offsets.latest')).toBe('10');
    expect(one('offsets.forTimestamp')).toBe('5 ts=5000');
    expect(one('offsets.maxTimestamp')).toBe('9 ts=9000');
    expect(one('deleteRecords.low')).toBe('4');
    expect(one('offsets.earliest.after')).toBe('4');
    expect(one('deleted')).toBe('true');
    expect(one('describe.deleted')).toBe('UnknownTopicOrPartitionException');
  });

  it(`produces ${N} messages with the default producer (acks=all, idempotent) and reads them back with assign()`, async () => {
    const p = await runJava(
      'ClientCompat.java',
      ['produce', broker.bootstrap, 'java-data', String(N)],
      150_000,
      version,
    );
    expect(p.code, `${p.stderr}\n${broker.logs.slice(-10).join('\n')}`).toBe(0);
    const { acks, errors } = parseAcks(p.stdout);
    expect(errors).toEqual([]);
    const c = await runJava(
      'ClientCompat.java',
      ['consume', broker.bootstrap, 'java-data', String(N)],
      150_000,
      version,
    );
    expect(c.code, c.stderr).toBe(0);
    const read = parseRecords(c.stdout);
    expectExactlyOnce(N, acks, read);
    expect([...read.end.keys()].sort()).toEqual([0, 1, 2]);
    // The producer's idempotence was really on: it asked for a producer id.
    expect(
      await metricSum(broker.metricsPort, 'sluice_requests_total', { api: 'InitProducerId' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('error paths and less common calls', async () => {
    const r = await runJava('ClientCompat.java', ['edge', broker.bootstrap, 'java-edge'], 150_000, version);
    expect(r.code, `${r.stdout}\n${r.stderr}\n${broker.logs.slice(-10).join('\n')}`).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines).toEqual([
      // describeTopics(TopicCollection.ofTopicIds): Metadata by topic id.
      'describeById=java-edge 1',
      'describeUnknownId=UnknownTopicIdException',
      // 50 kB record, topic max.message.bytes=20000: MESSAGE_TOO_LARGE from the broker.
      'tooLarge=RecordTooLargeException',
      // 100 records each with gzip, snappy, lz4, zstd, read back in order with their offsets.
      'codecsReadBack=400 true',
      // seek past the end: OFFSET_OUT_OF_RANGE, auto.offset.reset=earliest.
      'afterOutOfRange=0',
      // after deleteRecords(150), a fetch at 0 is out of range and resets to the new log start.
      'afterDeleteRecords=150',
      'beginning=150 end=400',
      'readCommitted=250 end=400',
      'badConfig=InvalidConfigurationException',
      'append=delete,compact',
      // As a Kafka 4.4 broker answers: the synonym group of retention.ms starts at log.retention.ms,
      // which is unset, so the default of log.retention.hours is not listed (ConfigHelper.configSynonyms).
      'retention.synonyms=604800000 ',
      'describeMissing=UnknownTopicOrPartitionException',
      'topicAfterBrokerDefault=123456789 DYNAMIC_DEFAULT_BROKER_CONFIG',
      'logDirSize=true',
    ]);
  });

  // Against Kafka 4.4 the two clients send different versions; against Sluice they send what both
  // sides support: Sluice's newest for most APIs above (Sluice's maxima are below 3.9.1's for
  // Fetch, 12 < 17, and InitProducerId, 4 < 5), except Produce, where Sluice's 12 (KIP-890 part 2)
  // is above 3.9.1's 11 and below 4.4.0's 13.
  it('sent each API at the newest version both it and the broker support', async () => {
    const served = await servedVersions(broker.metricsPort);
    const advertised = await advertisedApis('127.0.0.1', broker.port);
    const sent: Record<string, number> = {};
    const expected: Record<string, number> = {};
    for (const [api, versions] of served) {
      const newest = CLIENT_NEWEST[api];
      expect(newest, `${api} is not in CLIENT_NEWEST`).toBeDefined();
      sent[api] = Math.max(...versions);
      expected[api] = Math.min(newest![version], advertised.get(newest!.key)!.max);
    }
    console.log(`Java ${version} sent:`, JSON.stringify(sent));
    expect(sent).toEqual(expected);
    expect(Object.keys(sent)).toEqual(
      expect.arrayContaining(['Produce', 'Fetch', 'ListOffsets', 'Metadata']),
    );
  });
});
