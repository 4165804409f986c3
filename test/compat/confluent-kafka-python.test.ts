/**
 * confluent-kafka-python (Debian's, on librdkafka 2.0.2) against a single broker:
 *  - produce and consume with each codec (none, gzip, snappy, lz4, zstd): every acknowledged message
 *    is read back at the offset it was acknowledged with, key, value bytes and headers identical;
 *    compressed topics take less disk than the uncompressed one (the batches really are compressed);
 *  - admin: create a topic with configs, describe its configs (values and sources), alter configs,
 *    create partitions, delete the topic; and the error codes for bad requests (duplicate topic,
 *    invalid config, replication factor above the broker count, bad name, zero partitions, replica
 *    assignment naming an unknown broker, shrinking, unknown topic).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.js';
import { run, SYSTEM_PYTHON } from '../helpers/clients.js';
import { advertisedApis } from './api-versions.js';

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const N = 3000;

/** Deterministic message i: compressible value with a few pseudo-random (incl. non-UTF-8) bytes. */
function message(i: number): { key: Buffer; value: Buffer; header: string } {
  const noise = Buffer.alloc(8);
  let x = (i * 2654435761) >>> 0;
  for (let j = 0; j < 8; j++) {
    x = (x * 1103515245 + 12345) >>> 0;
    noise[j] = x >>> 24;
  }
  return {
    key: Buffer.from(`key-${i % 50}`),
    value: Buffer.concat([Buffer.from(`value-${i}-${'abcdefgh'.repeat(16)}`), noise]),
    header: `h${i}`,
  };
}

const PRODUCE_CONSUME = String.raw`
import sys, json, base64
from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic
bs, topic, codec = sys.argv[1], sys.argv[2], sys.argv[3]
msgs = json.load(sys.stdin)
a = AdminClient({'bootstrap.servers': bs})
for t, f in a.create_topics([NewTopic(topic, 3, 1)]).items():
    f.result()
p = Producer({'bootstrap.servers': bs, 'compression.type': codec, 'enable.idempotence': True, 'linger.ms': 20})
acks, errors = {}, []
def report(i):
    def cb(err, m):
        if err: errors.append('%d %s' % (i, err))
        else: acks[i] = [m.partition(), m.offset()]
    return cb
for i, m in enumerate(msgs):
    p.produce(topic, key=base64.b64decode(m['key']), value=base64.b64decode(m['value']), headers=[('i', m['header'].encode())], on_delivery=report(i))
    p.poll(0)
left = p.flush(30)
c = Consumer({'bootstrap.servers': bs, 'group.id': 'unused-assign-only', 'enable.auto.commit': False, 'enable.partition.eof': True})
c.assign([TopicPartition(topic, i, OFFSET_BEGINNING) for i in range(3)])
records, eof = [], set()
while len(eof) < 3:
    m = c.poll(10)
    if m is None: break
    if m.error():
        if m.error().code() == -191: eof.add(m.partition()); continue  # _PARTITION_EOF
        errors.append('consume %s' % m.error()); break
    eof.discard(m.partition())
    records.append([m.partition(), m.offset(), base64.b64encode(m.key()).decode(), base64.b64encode(m.value()).decode(), [[k, v.decode()] for k, v in (m.headers() or [])]])
c.close()
print(json.dumps({'unflushed': left, 'acks': acks, 'errors': errors, 'records': records}))
`;

const ADMIN = String.raw`
import sys, json
from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions, ConfigResource
bs, topic = sys.argv[1], sys.argv[2]
a = AdminClient({'bootstrap.servers': bs})
out = {}
def err(f):
    try:
        f.result(); return None
    except Exception as e:
        return e.args[0].name()
fs = a.create_topics([NewTopic(topic, 2, 1, config={'retention.ms': '86400000', 'cleanup.policy': 'compact', 'max.message.bytes': '200000'})], request_timeout=15)
out['create'] = err(fs[topic])
out['create_again'] = err(a.create_topics([NewTopic(topic, 2, 1)])[topic])
out['create_bad_config'] = err(a.create_topics([NewTopic(topic + '-bad', 1, 1, config={'cleanup.policy': 'nonsense'})])[topic + '-bad'])
out['create_validate_only'] = err(a.create_topics([NewTopic(topic + '-vo', 1, 1)], validate_only=True)[topic + '-vo'])
md = a.list_topics(timeout=10)
out['partitions'] = sorted(md.topics[topic].partitions.keys())
out['leaders'] = [md.topics[topic].partitions[p].leader for p in sorted(md.topics[topic].partitions)]
out['validate_only_created'] = (topic + '-vo') in md.topics
out['bad_created'] = (topic + '-bad') in md.topics
res = ConfigResource('topic', topic)
cfg = a.describe_configs([res])[res].result()
out['configs'] = {k: [cfg[k].value, cfg[k].source, cfg[k].is_default, cfg[k].is_read_only] for k in ['retention.ms', 'cleanup.policy', 'max.message.bytes', 'segment.bytes', 'compression.type', 'min.insync.replicas']}
bres = ConfigResource('broker', '1')
bcfg = a.describe_configs([bres])[bres].result()
out['broker_configs'] = {k: [bcfg[k].value, bcfg[k].source] for k in ['num.partitions', 'log.retention.hours', 'broker.id'] if k in bcfg}
out['create_partitions'] = err(a.create_partitions([NewPartitions(topic, 5)])[topic])
out['shrink_partitions'] = err(a.create_partitions([NewPartitions(topic, 3)])[topic])
md = a.list_topics(topic, timeout=10)
out['partitions_after'] = sorted(md.topics[topic].partitions.keys())
out['create_rf3'] = err(a.create_topics([NewTopic(topic + '-rf3', 1, 3)])[topic + '-rf3'])
out['create_bad_name'] = err(a.create_topics([NewTopic('bad name!', 1, 1)])['bad name!'])
out['create_zero_partitions'] = err(a.create_topics([NewTopic(topic + '-zero', 0, 1)])[topic + '-zero'])
out['create_assigned'] = err(a.create_topics([NewTopic(topic + '-asg', 2, replica_assignment=[[1], [1]])])[topic + '-asg'])
out['create_assigned_unknown_broker'] = err(a.create_topics([NewTopic(topic + '-asg2', 1, replica_assignment=[[2]])])[topic + '-asg2'])
out['create_partitions_assigned'] = err(a.create_partitions([NewPartitions(topic + '-asg', 3, replica_assignment=[[1]])])[topic + '-asg'])
out['create_partitions_unknown'] = err(a.create_partitions([NewPartitions(topic + '-nope', 3)])[topic + '-nope'])
out['asg_partitions'] = sorted(a.list_topics(topic + '-asg', timeout=10).topics[topic + '-asg'].partitions.keys())
ares = ConfigResource('topic', topic, set_config={'retention.ms': '1000'})
out['alter_configs'] = err(a.alter_configs([ares])[ares])
cfg = a.describe_configs([res])[res].result()
out['after_alter'] = {k: [cfg[k].value, cfg[k].source] for k in ['retention.ms', 'cleanup.policy']}
out['delete'] = err(a.delete_topics([topic], operation_timeout=15)[topic])
out['delete_again'] = err(a.delete_topics([topic])[topic])
md = a.list_topics(timeout=10)
out['exists_after_delete'] = topic in md.topics
print(json.dumps(out))
`;

function logBytes(dataDir: string, topic: string): number {
  let total = 0;
  for (const d of readdirSync(dataDir)) {
    if (!/^(.*)-(\d+)$/.test(d) || d.replace(/-\d+$/, '') !== topic) continue;
    for (const f of readdirSync(join(dataDir, d)))
      if (f.endsWith('.log')) total += statSync(join(dataDir, d, f)).size;
  }
  return total;
}

describe('confluent-kafka-python', { timeout: 180_000 }, () => {
  let broker: BrokerProcess;

  beforeAll(async () => {
    broker = await new BrokerProcess({ overrides: { 'num.partitions': '1' } }).start();
  });

  afterAll(async () => {
    await broker?.cleanup();
  });

  const sizes = new Map<string, number>();

  for (const codec of CODECS) {
    it(`produces and consumes with compression ${codec}`, async () => {
      const topic = `ckp-${codec}`;
      const msgs = Array.from({ length: N }, (_, i) => message(i));
      const input = JSON.stringify(
        msgs.map((m) => ({
          key: m.key.toString('base64'),
          value: m.value.toString('base64'),
          header: m.header,
        })),
      );
      const r = await run(SYSTEM_PYTHON, ['-c', PRODUCE_CONSUME, broker.bootstrap, topic, codec], {
        input,
        timeoutMs: 90_000,
      });
      expect(r.code, `${r.stderr}\n${broker.logs.slice(-10).join('\n')}`).toBe(0);
      const out = JSON.parse(r.stdout) as {
        unflushed: number;
        acks: Record<string, [number, number]>;
        errors: string[];
        records: [number, number, string, string, [string, string][]][];
      };
      expect(out.errors).toEqual([]);
      expect(out.unflushed).toBe(0);
      expect(Object.keys(out.acks)).toHaveLength(N);

      // Every acknowledged message is read back at its acknowledged offset, byte for byte.
      expect(out.records).toHaveLength(N);
      const byPosition = new Map(out.records.map((rec) => [`${rec[0]}/${rec[1]}`, rec]));
      for (let i = 0; i < N; i++) {
        const [p, o] = out.acks[String(i)]!;
        const rec = byPosition.get(`${p}/${o}`);
        expect(rec, `message ${i} acked at ${p}/${o} not read back`).toBeDefined();
        expect(Buffer.from(rec![2], 'base64').equals(msgs[i]!.key), `key of ${i}`).toBe(true);
        expect(Buffer.from(rec![3], 'base64').equals(msgs[i]!.value), `value of ${i}`).toBe(true);
        expect(rec![4]).toEqual([['i', msgs[i]!.header]]);
      }
      // Offsets are dense from 0 in each partition.
      for (let p = 0; p < 3; p++) {
        const offs = out.records.filter((rec) => rec[0] === p).map((rec) => rec[1]);
        expect(offs).toEqual(offs.map((_, j) => j));
      }
      sizes.set(codec, logBytes(broker.dataDir, topic));
    });
  }

  it('stores the compressed topics in fewer bytes than the uncompressed one', async () => {
    const none = sizes.get('none');
    expect(none).toBeGreaterThan(N * 100);
    // librdkafka 2.0 enables LZ4 only when the broker advertises FindCoordinator v0 (its feature map
    // dates LZ4 support by that API); without it, lz4 silently falls back to no compression. So until
    // the group coordinator lands, lz4 is only checked for content (above), not for size.
    const apis = await advertisedApis('127.0.0.1', broker.port);
    const lz4Enabled = (apis.get(10)?.min ?? 1) === 0;
    for (const codec of CODECS.slice(1)) {
      if (codec === 'lz4' && !lz4Enabled) continue;
      expect(sizes.get(codec), `${codec}: ${JSON.stringify([...sizes])}`).toBeLessThan(none! / 2);
    }
  });

  it('admin: create with configs, describe configs, create partitions, delete', async () => {
    const r = await run(SYSTEM_PYTHON, ['-c', ADMIN, broker.bootstrap, 'ckp-admin'], { timeoutMs: 60_000 });
    expect(r.code, `${r.stderr}\n${broker.logs.slice(-10).join('\n')}`).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    // ConfigSource: 1 DYNAMIC_TOPIC_CONFIG, 4 STATIC_BROKER_CONFIG, 5 DEFAULT_CONFIG.
    expect(out).toEqual({
      create: null,
      create_again: 'TOPIC_ALREADY_EXISTS',
      create_bad_config: 'INVALID_CONFIG',
      create_validate_only: null,
      partitions: [0, 1],
      leaders: [1, 1],
      validate_only_created: false,
      bad_created: false,
      configs: {
        'retention.ms': ['86400000', 1, false, false],
        'cleanup.policy': ['compact', 1, false, false],
        'max.message.bytes': ['200000', 1, false, false],
        'segment.bytes': ['1073741824', 5, true, false],
        'compression.type': ['producer', 5, true, false],
        'min.insync.replicas': ['1', 5, true, false],
      },
      broker_configs: {
        'num.partitions': ['1', 4],
        'log.retention.hours': ['168', 5],
        'broker.id': ['1', 4],
      },
      create_partitions: null,
      shrink_partitions: 'INVALID_PARTITIONS',
      partitions_after: [0, 1, 2, 3, 4],
      create_rf3: 'INVALID_REPLICATION_FACTOR',
      create_bad_name: 'TOPIC_EXCEPTION',
      create_zero_partitions: 'INVALID_PARTITIONS',
      create_assigned: null,
      create_assigned_unknown_broker: 'INVALID_REPLICA_ASSIGNMENT',
      create_partitions_assigned: null,
      create_partitions_unknown: 'UNKNOWN_TOPIC_OR_PART',
      asg_partitions: [0, 1, 2],
      alter_configs: null,
      // AlterConfigs replaces every override: cleanup.policy=compact is gone.
      after_alter: { 'retention.ms': ['1000', 1], 'cleanup.policy': ['delete', 5] },
      delete: null,
      delete_again: 'UNKNOWN_TOPIC_OR_PART',
      exists_after_delete: false,
    });
  });
});
