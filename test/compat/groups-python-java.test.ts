/**
 * kafka-python and the Java consumer in groups against a real broker: kafka-python's group consumer
 * with commits and its admin client (list/describe groups, committed offsets), and the Java 3.9
 * consumer with subscribe() and commitSync().
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { runJava, runPython } from '../helpers/clients.js';

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

  it('Java consumer: subscribe() and commitSync() read the topic and the commits are what the broker returns', async () => {
    const r = await runJava(
      'GroupConsumer.java',
      [broker.bootstrap, 'java-group', 'java-topic', '900'],
      120_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      count: number;
      distinct: number;
      committed: Record<string, number>;
      generation: number;
    };
    console.log('java consumer:', JSON.stringify(out));
    expect(out).toMatchObject({ count: 900, distinct: 900, committed: { '0': 300, '1': 300, '2': 300 } });
    expect(out.generation).toBeGreaterThanOrEqual(1);
    // The same offsets through another client, and the group is Empty after the Java consumer left.
    const admin = kafka.admin();
    await admin.connect();
    const offs = await admin.fetchOffsets({ groupId: 'java-group', topics: ['java-topic'] });
    const described = (await admin.describeGroups(['java-group'])).groups[0]!;
    await admin.disconnect();
    expect(offs[0]!.partitions.map((p) => Number(p.offset))).toEqual([300, 300, 300]);
    expect(described.state).toBe('Empty');
  }, 150_000);
});
