/**
 * The Java client (kafka-clients 3.9.1) against a single broker, through test/clients/java/ClientCompat.java:
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
import { ensureJavaClient, runJava } from '../helpers/clients.js';
import { metricSum } from './metrics.js';
import { expectExactlyOnce, parseAcks, parseRecords } from './java-output.js';

const N = 20_000;

describe('Java client 3.9.1', { timeout: 180_000 }, () => {
  let broker: BrokerProcess;

  beforeAll(async () => {
    await ensureJavaClient();
    broker = await new BrokerProcess({ overrides: { 'num.partitions': '3' } }).start();
  }, 300_000);

  afterAll(async () => {
    await broker?.cleanup();
  });

  it('admin calls', async () => {
    const r = await runJava('ClientCompat.java', ['admin', broker.bootstrap, 'java-admin'], 150_000);
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
    );
    expect(p.code, `${p.stderr}\n${broker.logs.slice(-10).join('\n')}`).toBe(0);
    const { acks, errors } = parseAcks(p.stdout);
    expect(errors).toEqual([]);
    const c = await runJava(
      'ClientCompat.java',
      ['consume', broker.bootstrap, 'java-data', String(N)],
      150_000,
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
    const r = await runJava('ClientCompat.java', ['edge', broker.bootstrap, 'java-edge'], 150_000);
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
});
