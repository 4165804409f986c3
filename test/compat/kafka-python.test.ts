/**
 * kafka-python 2.0.2 (Debian's) against a single broker, without consumer groups (group_id=None,
 * assign() and seek): produce uncompressed and gzip (the only codec Debian's package can use), read
 * every message back at its acknowledged offset with identical bytes, seek into the middle, and the
 * offset lookups (beginning/end/for-times). Admin: create with configs, describe configs (values
 * and sources, Long.MAX_VALUE defaults printed as Kafka prints them), AlterConfigs' replace-all
 * semantics, describe cluster and topics, create partitions, delete.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.js';
import { runPython } from '../helpers/clients.js';

const N = 2000;

const PRODUCE_CONSUME = String.raw`
import sys, json, base64, time
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
bs, topic, codec, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
admin = KafkaAdminClient(bootstrap_servers=bs)
admin.create_topics([NewTopic(topic, 3, 1)])
admin.close()
p = KafkaProducer(bootstrap_servers=bs, acks='all', compression_type=None if codec == 'none' else codec, linger_ms=10)
t0 = int(time.time() * 1000) - 100000
futures = []
for i in range(n):
    value = ('value-%d-' % i).encode() + bytes([(i * 7 + j) % 256 for j in range(40)])
    futures.append(p.send(topic, key=b'key-%d' % (i % 37), value=value, headers=[('i', str(i).encode())], timestamp_ms=t0 + i))
p.flush(30)
acks = []
for f in futures:
    md = f.get(timeout=30)
    acks.append([md.partition, md.offset])
p.close()
c = KafkaConsumer(bootstrap_servers=bs, group_id=None, enable_auto_commit=False, auto_offset_reset='earliest', consumer_timeout_ms=3000)
tps = [TopicPartition(topic, i) for i in range(3)]
c.assign(tps)
c.seek_to_beginning()
records = []
for m in c:
    records.append([m.partition, m.offset, base64.b64encode(m.key).decode(), base64.b64encode(m.value).decode(), [[k, v.decode()] for k, v in m.headers], m.timestamp - t0])
    if len(records) >= n + 10: break
beginning = c.beginning_offsets(tps)
end = c.end_offsets(tps)
# Seek into the middle of partition 0 and read one record.
c.assign([tps[0]])
mid = end[tps[0]] // 2
c.seek(tps[0], mid)
first_after_seek = None
for m in c:
    first_after_seek = m.offset
    break
# Offset for a timestamp: message i has timestamp t0 + i.
times = c.offsets_for_times({tps[0]: t0 + n // 2})
c.close()
print(json.dumps({'acks': acks, 'records': records, 'beginning': [beginning[tp] for tp in tps], 'end': [end[tp] for tp in tps],
  'mid': mid, 'first_after_seek': first_after_seek,
  'for_time': [times[tps[0]].offset, times[tps[0]].timestamp - t0] if times[tps[0]] else None}))
`;

const ADMIN = String.raw`
import sys, json
from kafka.admin import KafkaAdminClient, NewTopic, NewPartitions, ConfigResource, ConfigResourceType
from kafka.errors import KafkaError
bs, topic = sys.argv[1], sys.argv[2]
a = KafkaAdminClient(bootstrap_servers=bs)
out = {}
def codes(resp):
    return [[t[0], t[1]] for t in resp.topic_errors] if hasattr(resp, 'topic_errors') else [[t[0], t[1]] for t in resp.topic_error_codes]
out['create'] = codes(a.create_topics([NewTopic(topic, 2, 1, topic_configs={'retention.ms': '5000000', 'max.message.bytes': '300000'})]))
try:
    a.create_topics([NewTopic(topic, 2, 1)])
    out['create_again'] = 'ok'
except KafkaError as e:
    out['create_again'] = type(e).__name__
def describe(keys):
    r = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])[0].resources[0]
    entries = {e[0]: [e[1], e[3]] for e in r[4]}
    return [r[0]] + [[k] + entries[k] for k in keys]
keys = ['retention.ms', 'max.message.bytes', 'retention.bytes', 'flush.ms', 'flush.messages', 'message.timestamp.before.max.ms', 'cleanup.policy']
out['describe'] = describe(keys)
# AlterConfigs replaces the whole set of overrides: retention.ms and max.message.bytes go back to defaults.
r = a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={'retention.bytes': '1048576'})])
out['alter'] = [[x[0], x[3]] for x in r.resources]
out['describe_after_alter'] = describe(keys)
cl = a.describe_cluster()
out['cluster'] = {'brokers': [[b['node_id'], b['host'], b['port']] for b in cl['brokers']], 'controller': cl['controller_id'], 'has_id': bool(cl['cluster_id'])}
td = a.describe_topics([topic])
out['topics'] = [[t['topic'], t['error_code'], sorted([p['partition'], p['leader'], p['replicas'], p['isr']] for p in t['partitions'])] for t in td]
out['create_partitions'] = codes(a.create_partitions({topic: NewPartitions(4)}))
td = a.describe_topics([topic])
out['partitions_after'] = sorted(p['partition'] for p in td[0]['partitions'])
out['listed'] = topic in a.list_topics()
out['delete'] = codes(a.delete_topics([topic], timeout_ms=15000))
out['listed_after_delete'] = topic in a.list_topics()
a.close()
print(json.dumps(out))
`;

type Out = {
  acks: [number, number][];
  records: [number, number, string, string, [string, string][], number][];
  beginning: number[];
  end: number[];
  mid: number;
  first_after_seek: number | null;
  for_time: [number, number] | null;
};

describe('kafka-python', { timeout: 180_000 }, () => {
  let broker: BrokerProcess;

  beforeAll(async () => {
    broker = await new BrokerProcess().start();
  });

  afterAll(async () => {
    await broker?.cleanup();
  });

  const results = new Map<string, Out>();

  for (const codec of ['none', 'gzip']) {
    it(`produces (${codec}) and reads every message back with assign() and seek`, async () => {
      const r = await runPython(PRODUCE_CONSUME, [broker.bootstrap, `kp-${codec}`, codec, String(N)], 90_000);
      expect(r.code, `${r.stderr}\n${broker.logs.slice(-10).join('\n')}`).toBe(0);
      const out = JSON.parse(r.stdout) as Out;
      expect(out.acks).toHaveLength(N);
      expect(out.records).toHaveLength(N);
      const byPos = new Map(out.records.map((x) => [`${x[0]}/${x[1]}`, x]));
      for (let i = 0; i < N; i++) {
        const [p, o] = out.acks[i]!;
        const rec = byPos.get(`${p}/${o}`);
        expect(rec, `message ${i} at ${p}/${o}`).toBeDefined();
        const value = Buffer.concat([
          Buffer.from(`value-${i}-`),
          Buffer.from(Array.from({ length: 40 }, (_, j) => (i * 7 + j) % 256)),
        ]);
        expect(Buffer.from(rec![2], 'base64').toString()).toBe(`key-${i % 37}`);
        expect(Buffer.from(rec![3], 'base64').equals(value), `value of ${i}`).toBe(true);
        expect(rec![4]).toEqual([['i', String(i)]]);
        expect(rec![5]).toBe(i);
      }
      // Dense offsets per partition, beginning 0, end = count.
      const counts = [0, 1, 2].map((p) => out.records.filter((x) => x[0] === p).length);
      for (let p = 0; p < 3; p++) {
        expect(out.records.filter((x) => x[0] === p).map((x) => x[1])).toEqual(
          Array.from({ length: counts[p]! }, (_, j) => j),
        );
      }
      expect(out.beginning).toEqual([0, 0, 0]);
      expect(out.end).toEqual(counts);
      expect(out.first_after_seek).toBe(out.mid);
      results.set(codec, out);
    });
  }

  // offsets_for_times answers with the first record at or after the timestamp, even inside a
  // compressed batch (Kafka iterates the batch's records).
  const timeLookup = (codec: string) => () => {
    const out = results.get(codec);
    expect(out, 'the produce test ran').toBeDefined();
    const firstAtOrAfter = out!.records
      .filter((x) => x[0] === 0 && x[5] >= N / 2)
      .sort((x, y) => x[1] - y[1])[0]!;
    expect(out!.for_time).toEqual([firstAtOrAfter[1], firstAtOrAfter[5]]);
  };
  it('offsets_for_times finds the exact record (none)', timeLookup('none'));
  it('offsets_for_times finds the exact record inside a gzip batch', timeLookup('gzip'));

  it('admin: create, describe and alter configs, describe cluster and topics, create partitions, delete', async () => {
    const r = await runPython(ADMIN, [broker.bootstrap, 'kp-admin'], 60_000);
    expect(r.code, `${r.stderr}\n${broker.logs.slice(-10).join('\n')}`).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    const LONG_MAX = '9223372036854775807';
    expect(out).toEqual({
      create: [['kp-admin', 0]],
      create_again: 'TopicAlreadyExistsError',
      // [error code, [name, value, source]...]; sources: 1 topic override, 5 default.
      describe: [
        0,
        ['retention.ms', '5000000', 1],
        ['max.message.bytes', '300000', 1],
        ['retention.bytes', '-1', 5],
        ['flush.ms', LONG_MAX, 5],
        ['flush.messages', LONG_MAX, 5],
        ['message.timestamp.before.max.ms', LONG_MAX, 5],
        ['cleanup.policy', 'delete', 5],
      ],
      alter: [[0, 'kp-admin']],
      describe_after_alter: [
        0,
        ['retention.ms', '604800000', 5],
        ['max.message.bytes', '1048588', 5],
        ['retention.bytes', '1048576', 1],
        ['flush.ms', LONG_MAX, 5],
        ['flush.messages', LONG_MAX, 5],
        ['message.timestamp.before.max.ms', LONG_MAX, 5],
        ['cleanup.policy', 'delete', 5],
      ],
      cluster: { brokers: [[1, '127.0.0.1', broker.port]], controller: 1, has_id: true },
      topics: [
        [
          'kp-admin',
          0,
          [
            [0, 1, [1], [1]],
            [1, 1, [1], [1]],
          ],
        ],
      ],
      create_partitions: [['kp-admin', 0]],
      partitions_after: [0, 1, 2, 3],
      listed: true,
      delete: [['kp-admin', 0]],
      listed_after_delete: false,
    });
  });
});
