/**
 * Compaction in a 3-broker cluster (real etcd, real broker processes): every replica runs its own
 * log cleaner on what it replicated, as Kafka's followers do. Checked on each broker's own files (its
 * partition directory read with our batch decoder, like kafka-dump-log would): each compacted its
 * log below its own cleaner checkpoint, and all three hold the same key → (offset, value) table, the
 * model's. Then each follower in turn is made the only live replica, so it leads, and a real client
 * (librdkafka, confluent-kafka-python) consumes the partition from it: offsets increase, every
 * record is the one written at its offset, the key → value map is the model's.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeRecordBatch, scanRecordBatches } from '../../src/protocol/records/batch.js';
import { TestCluster } from '../helpers/cluster.js';
import { runPython } from '../helpers/clients.js';
import { type KV, offsetsIncrease, produce, toMap, withClient } from '../broker/compaction-helpers.js';

const TOPIC = 'compacted-replicated';

interface FileRecord {
  offset: bigint;
  key: string | null;
  value: string | null;
}

/** Every record in a broker's partition directory: its .log files in order, decoded. */
async function readPartitionFiles(dataDir: string): Promise<FileRecord[]> {
  const dir = join(dataDir, `${TOPIC}-0`);
  const logs = readdirSync(dir)
    .filter((f) => /^\d{20}\.log$/.test(f))
    .sort();
  const out: FileRecord[] = [];
  for (const f of logs) {
    const buf = readFileSync(join(dir, f));
    const { batches } = scanRecordBatches(buf);
    for (const s of batches) {
      const b = await decodeRecordBatch(buf, s.position);
      for (const r of b.records)
        out.push({
          offset: r.offset,
          key: r.key === null ? null : r.key.toString(),
          value: r.value === null ? null : r.value.toString(),
        });
    }
  }
  return out;
}

function cleanerCheckpoint(dataDir: string): bigint | null {
  try {
    const lines = readFileSync(join(dataDir, 'cleaner-offset-checkpoint'), 'utf8').split('\n');
    for (const l of lines.slice(2)) {
      const [t, p, o] = l.split(' ');
      if (t === TOPIC && p === '0') return BigInt(o!);
    }
  } catch {
    /* not written yet */
  }
  return null;
}

/** The base offset of a broker's active (last) segment. */
function activeBase(dataDir: string): bigint {
  const logs = readdirSync(join(dataDir, `${TOPIC}-0`))
    .filter((f) => /^\d{20}\.log$/.test(f))
    .sort();
  return BigInt(logs[logs.length - 1]!.slice(0, 20));
}

/** librdkafka reads the partition from the beginning to its end: "offset key value" lines. */
const CONSUMER = String.raw`
import sys
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
bs, topic = sys.argv[1], sys.argv[2]
c = Consumer({'bootstrap.servers': bs, 'group.id': 'unused-assign-only', 'enable.auto.commit': False,
              'enable.partition.eof': True, 'fetch.wait.max.ms': 100})
lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
out = []
while True:
    m = c.poll(30)
    if m is None: raise Exception('no message or EOF within 30 s')
    if m.error():
        if m.error().code() == -191: break
        raise Exception(str(m.error()))
    v = m.value()
    out.append('rec %d %s %s' % (m.offset(), m.key().decode(), '-' if v is None else v.decode()))
out.append('end %d' % hi)
c.close()
print('\n'.join(out))
`;

async function consumeWithLibrdkafka(bootstrap: string): Promise<{ records: FileRecord[]; end: bigint }> {
  const r = await runPython(CONSUMER, [bootstrap, TOPIC], 180_000);
  if (r.code !== 0) throw new Error(`consumer failed (${r.code}): ${r.stderr.slice(-3000)}`);
  const records: FileRecord[] = [];
  let end = -1n;
  for (const line of r.stdout.split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'rec')
      records.push({ offset: BigInt(f[1]!), key: f[2]!, value: f[3] === '-' ? null : f[3]! });
    else if (f[0] === 'end') end = BigInt(f[1]!);
  }
  return { records, end };
}

describe('log compaction in a 3-broker cluster', { timeout: 600_000 }, () => {
  const cluster = new TestCluster({
    overrides: { 'log.cleaner.backoff.ms': '100', 'log.cleaner.dedupe.buffer.size': String(8 << 20) },
  });
  afterAll(async () => {
    await cluster.cleanup();
  });

  it('every replica compacts itself to the same table, and reads from each follower are consistent', async () => {
    await cluster.start();
    const states = await cluster.createTopic(TOPIC, 1, 3, {
      'cleanup.policy': 'compact',
      'segment.bytes': '8192',
      'min.cleanable.dirty.ratio': '0.01',
      'delete.retention.ms': '3600000',
      'min.insync.replicas': '2',
    });
    const leader = states.get(0)!.leader;
    const written = new Map<bigint, KV>();
    await withClient(cluster.broker(leader).port, async (c) => {
      for (let b = 0; b < 60; b++) {
        const recs: KV[] = [];
        for (let i = 0; i < 25; i++) {
          const key = `key-${(b * 7 + i * 13) % 150}`;
          recs.push({ key, value: (b + i) % 11 === 0 ? null : `b${b}i${i}`.padEnd(60, '.') });
        }
        const base = await produce(c, TOPIC, recs);
        recs.forEach((r, i) => written.set(base + BigInt(i), r));
      }
    });
    const model = toMap([...written.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, r]) => r));

    // Each broker cleans what it has, up to its own active segment.
    for (const b of cluster.brokers) {
      await cluster.waitFor(`broker ${b.dataDir} cleaned up to its active segment`, () => {
        const cp = cleanerCheckpoint(b.dataDir);
        return cp !== null && cp >= activeBase(b.dataDir) ? true : undefined;
      });
    }
    const tables: Map<string, { offset: bigint; value: string }>[] = [];
    for (const b of cluster.brokers) {
      const recs = await readPartitionFiles(b.dataDir);
      expect(offsetsIncrease(recs)).toBe(true);
      for (const r of recs) expect({ key: r.key, value: r.value }).toEqual(written.get(r.offset));
      expect(toMap(recs)).toEqual(model);
      const cp = cleanerCheckpoint(b.dataDir)!;
      const below = recs.filter((r) => r.offset < cp);
      expect(new Set(below.map((r) => r.key)).size, 'each key once below the checkpoint').toBe(below.length);
      expect(recs.length).toBeLessThan(written.size);
      const table = new Map<string, { offset: bigint; value: string }>();
      for (const r of recs) {
        if (r.value === null) table.delete(r.key!);
        else table.set(r.key!, { offset: r.offset, value: r.value });
      }
      tables.push(table);
    }
    expect(tables[1]).toEqual(tables[0]);
    expect(tables[2]).toEqual(tables[0]);

    // Each follower, alone, leads and serves a consumer its own compacted log.
    const followers = [1, 2, 3].filter((id) => id !== leader);
    for (const f of followers) {
      const others = [1, 2, 3].filter((id) => id !== f);
      for (const o of others) await cluster.broker(o).stop();
      await cluster.waitFor(`broker ${f} leads`, async () => {
        const s = (await cluster.partitionStates(TOPIC)).get(0);
        return s?.leader === f ? true : undefined;
      });
      const { records, end } = await consumeWithLibrdkafka(cluster.broker(f).bootstrap);
      expect(end).toBe(BigInt([...written.keys()].length));
      expect(offsetsIncrease(records)).toBe(true);
      for (const r of records) expect({ key: r.key, value: r.value }).toEqual(written.get(r.offset));
      expect(toMap(records)).toEqual(model);
      expect(records.length).toBeLessThan(written.size);
      for (const o of others) await cluster.broker(o).start();
      await cluster.waitFullyReplicated(TOPIC, 1, 3);
    }
  });
});
