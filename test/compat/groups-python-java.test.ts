/**
 * kafka-python and the Java consumer in groups against a real broker: kafka-python's group consumer
 * with commits and its admin client (list/describe groups, committed offsets), and the Java
 * consumer (kafka-clients 3.9.1 and 4.4.0) with subscribe() and commitSync(). kafka-clients 4.x
 * keeps the classic group protocol (JoinGroup/SyncGroup) as its default; KIP-848's protocol is
 * opt-in (group.protocol=consumer) and needs ConsumerGroupHeartbeat, which Sluice does not serve.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { JAVA_CLIENT_VERSIONS, runJava, runPython } from '../helpers/clients.js';

describe('kafka-python and Java consumer groups', () => {
  const broker = new BrokerProcess({
    overrides: {
      'group.initial.rebalance.delay.ms': '500',
      'offsets.topic.num.partitions': '5',
      'group.min.session.timeout.ms': '1000',
    },
  });
  let kafka: Kafka;

  beforeAll(async () => {
    await broker.start();
    kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'py-topic', numPartitions: 3 },
        { topic: 'java-topic', numPartitions: 3 },
      ],
    });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    for (const topic of ['py-topic', 'java-topic']) {
      await producer.send({
        topic,
        messages: Array.from({ length: 900 }, (_, i) => ({ partition: i % 3, value: String(i) })),
      });
    }
    await producer.disconnect();
  });

  afterAll(async () => {
    await broker.cleanup();
  });

  it('kafka-python: a group consumer reads and commits everything; its admin client describes the group and its offsets', async () => {
    const r = await runPython(
      `
import sys, json, time
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
b = sys.argv[1]
c = KafkaConsumer('py-topic', bootstrap_servers=b, group_id='py-group', auto_offset_reset='earliest',
                  enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=500, api_version_auto_timeout_ms=10000)
seen = set(); n = 0
end = time.time() + 60
while len(seen) < 900 and time.time() < end:
    for tp, msgs in c.poll(timeout_ms=200).items():
        for m in msgs:
            seen.add(m.value); n += 1
    c.commit()
admin = KafkaAdminClient(bootstrap_servers=b)
groups = admin.list_consumer_groups()
desc = admin.describe_consumer_groups(['py-group'])[0]
offs = admin.list_consumer_group_offsets('py-group')
out = {'distinct': len(seen), 'count': n, 'groups': sorted(g[0] for g in groups),
       'state': desc.state, 'protocol': desc.protocol, 'members': len(desc.members),
       'assigned': sorted(p for m in desc.members for t in m.member_assignment.assignment for p in t[1]),
       'offsets': {str(tp.partition): om.offset for tp, om in offs.items()}}
c.close()
admin.close()
print(json.dumps(out))
`,
      [broker.bootstrap],
      120_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(out).toMatchObject({
      distinct: 900,
      count: 900,
      state: 'Stable',
      protocol: 'range',
      members: 1,
      assigned: [0, 1, 2],
      offsets: { '0': 300, '1': 300, '2': 300 },
    });
    expect(out.groups).toContain('py-group');
  });

  it.each(JAVA_CLIENT_VERSIONS)(
    'Java consumer %s: subscribe() and commitSync() read the topic and the commits are what the broker returns',
    async (version) => {
      const group = `java-group-${version}`;
      const r = await runJava(
        'GroupConsumer.java',
        [broker.bootstrap, group, 'java-topic', '900'],
        120_000,
        version,
      );
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
        count: number;
        distinct: number;
        committed: Record<string, number>;
        generation: number;
      };
      console.log(`java ${version} consumer:`, JSON.stringify(out));
      expect(out).toMatchObject({ count: 900, distinct: 900, committed: { '0': 300, '1': 300, '2': 300 } });
      expect(out.generation).toBeGreaterThanOrEqual(1);
      // The same offsets through another client, and the group is Empty after the Java consumer
      // left; it ran the classic protocol (consumer protocol type, range assignor by default).
      const admin = kafka.admin();
      await admin.connect();
      const offs = await admin.fetchOffsets({ groupId: group, topics: ['java-topic'] });
      const described = (await admin.describeGroups([group])).groups[0]!;
      await admin.disconnect();
      expect(offs[0]!.partitions.map((p) => Number(p.offset))).toEqual([300, 300, 300]);
      expect(described).toMatchObject({ state: 'Empty', protocolType: 'consumer' });
    },
    150_000,
  );

  // KIP-848's consumer protocol is opt-in in kafka-clients 4.x. Sluice has no ConsumerGroupHeartbeat
  // (API 68; it does not advertise it), so the 4.4.0 consumer fails at once with the client's own
  // message, as it does against a Kafka 3.x cluster, rather than hanging. When Sluice implements
  // KIP-848, this test fails and becomes a test of the new protocol.
  it('Java consumer 4.4.0 with group.protocol=consumer: refused with UnsupportedVersionException', async () => {
    const r = await runJava(
      'GroupConsumer.java',
      [
        broker.bootstrap,
        'java-group-848',
        'java-topic',
        '900',
        'group.protocol=consumer;session.timeout.ms=;heartbeat.interval.ms=',
      ],
      120_000,
      '4.4.0',
    );
    expect(r.code, r.stderr).toBe(1);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({
      error: 'UnsupportedVersionException',
      message:
        'The cluster does not support the new CONSUMER group protocol. Set group.protocol=classic on the consumer configs to revert to the CLASSIC protocol until the cluster is upgraded.',
    });
  }, 150_000);
});
