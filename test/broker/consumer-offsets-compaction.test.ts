/**
 * `__consumer_offsets` is a compacted topic and the log cleaner cleans it: a real broker, a real
 * client (librdkafka through confluent-kafka-python) committing the offsets of the same two groups
 * and four partitions thousands of times. Checked on the broker's own files (decoded with Kafka's
 * record layouts): the topic was created with cleanup.policy=compact, the partition's bytes shrink
 * to a fraction, below the cleaner checkpoint every (group, topic, partition) key is there once with
 * its latest offset. After a restart of the broker, the same client reads every committed offset
 * back as last committed.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeRecordBatch, scanRecordBatches } from '../../src/protocol/records/batch.js';
import { decodeGroupRecordKey, decodeOffsetCommitValue } from '../../src/broker/group/group-records.js';
import { ApiKeys } from '../../src/protocol/messages/index.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { runPython } from '../helpers/clients.js';
import { createTopic, waitFor, withClient } from './compaction-helpers.js';

const TOPIC = 'orders';
const GROUPS = ['billing', 'shipping'];
const PARTITIONS = 4;
const ROUNDS = 1500;
const OFFSETS_DIR = '__consumer_offsets-0';

/** The offset a group commits for a partition in a round (the last round's is the one to keep). */
const committedAt = (round: number, group: number, partition: number): number =>
  round * 100 + group * 10 + partition + 1;

/** Commits ROUNDS times, synchronously, the offsets of all partitions for one group (assign-only). */
const COMMITTER = String.raw`
import sys
from confluent_kafka import Consumer, TopicPartition
bs, topic, group, gi, rounds, parts = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
c = Consumer({'bootstrap.servers': bs, 'group.id': group, 'enable.auto.commit': False})
for r in range(rounds):
    res = c.commit(offsets=[TopicPartition(topic, p, r * 100 + gi * 10 + p + 1) for p in range(parts)], asynchronous=False)
    for tp in res:
        if tp.error: raise Exception('commit %d: %s' % (r, tp.error))
c.close()
print('ok')
`;

/** Prints "group partition offset" for every partition's committed offset of each group. */
const READER = String.raw`
import sys
from confluent_kafka import Consumer, TopicPartition
bs, topic, parts = sys.argv[1], sys.argv[2], int(sys.argv[3])
for group in sys.argv[4:]:
    c = Consumer({'bootstrap.servers': bs, 'group.id': group, 'enable.auto.commit': False})
    for tp in c.committed([TopicPartition(topic, p) for p in range(parts)], timeout=30):
        if tp.error: raise Exception(str(tp.error))
        print(group, tp.partition, tp.offset)
    c.close()
`;

interface OffsetRecord {
  offset: bigint;
  key: string;
  committed: bigint | null;
}

/** Every record of the __consumer_offsets partition's .log files, keys and values decoded. */
async function readOffsetsPartition(dataDir: string): Promise<{ records: OffsetRecord[]; bytes: number }> {
  const dir = join(dataDir, OFFSETS_DIR);
  const logs = readdirSync(dir)
    .filter((f) => /^\d{20}\.log$/.test(f))
    .sort();
  const records: OffsetRecord[] = [];
  let bytes = 0;
  for (const f of logs) {
    const buf = readFileSync(join(dir, f));
    bytes += buf.length;
    for (const s of scanRecordBatches(buf).batches) {
      const b = await decodeRecordBatch(buf, s.position);
      for (const r of b.records) {
        const k = decodeGroupRecordKey(r.key!);
        const key = k.kind === 'offset' ? `${k.group}/${k.topic}/${k.partition}` : `group:${k.group}`;
        const committed =
          k.kind === 'offset' && r.value !== null ? decodeOffsetCommitValue(r.value).offset : null;
        records.push({ offset: r.offset, key, committed });
      }
    }
  }
  return { records, bytes };
}

function cleanerCheckpoint(dataDir: string): bigint | null {
  try {
    for (const l of readFileSync(join(dataDir, 'cleaner-offset-checkpoint'), 'utf8').split('\n').slice(2)) {
      const [t, p, o] = l.split(' ');
      if (t === '__consumer_offsets' && p === '0') return BigInt(o!);
    }
  } catch {
    /* not written yet */
  }
  return null;
}

function activeBase(dataDir: string): bigint {
  const logs = readdirSync(join(dataDir, OFFSETS_DIR))
    .filter((f) => /^\d{20}\.log$/.test(f))
    .sort();
  return BigInt(logs[logs.length - 1]!.slice(0, 20));
}

function logBytes(dataDir: string): number {
  const dir = join(dataDir, OFFSETS_DIR);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

async function readCommitted(bootstrap: string): Promise<Map<string, number>> {
  const r = await runPython(READER, [bootstrap, TOPIC, String(PARTITIONS), ...GROUPS], 120_000);
  if (r.code !== 0) throw new Error(`reader failed (${r.code}): ${r.stderr.slice(-3000)}`);
  const out = new Map<string, number>();
  for (const line of r.stdout.trim().split('\n')) {
    const [g, p, o] = line.split(' ');
    out.set(`${g}/${TOPIC}/${p}`, Number(o));
  }
  return out;
}

describe('__consumer_offsets is compacted and cleaned', { timeout: 600_000 }, () => {
  let broker: BrokerProcess | undefined;
  afterAll(async () => {
    await broker?.cleanup();
  });

  it('repeated commits of the same groups shrink to one record per key, read back after a restart', async () => {
    broker = new BrokerProcess({
      overrides: {
        'offsets.topic.num.partitions': '1',
        'offsets.topic.replication.factor': '1',
        'offsets.topic.segment.bytes': '16384',
        'log.cleaner.backoff.ms': '200',
        'group.initial.rebalance.delay.ms': '0',
      },
    });
    await broker.start();
    await createTopic(broker.port, TOPIC, {}, { partitions: PARTITIONS });

    // Two groups commit concurrently, ROUNDS times each.
    const results = await Promise.all(
      GROUPS.map((g, gi) =>
        runPython(
          COMMITTER,
          [broker!.bootstrap, TOPIC, g, String(gi), String(ROUNDS), String(PARTITIONS)],
          300_000,
        ),
      ),
    );
    for (const r of results) expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const expected = new Map<string, number>();
    GROUPS.forEach((g, gi) => {
      for (let p = 0; p < PARTITIONS; p++) expected.set(`${g}/${TOPIC}/${p}`, committedAt(ROUNDS - 1, gi, p));
    });

    // The broker created the topic compacted (DescribeConfigs, as kafka-configs --describe does).
    const policy = await withClient(broker.port, async (c) => {
      const res = await c.request(ApiKeys.DescribeConfigs, 1, {
        resources: [
          { resourceType: 2, resourceName: '__consumer_offsets', configurationKeys: ['cleanup.policy'] },
        ],
        includeSynonyms: false,
      });
      return res.results[0]!.configs.find((e) => e.name === 'cleanup.policy')?.value;
    });
    expect(policy).toBe('compact');

    // ROUNDS * groups * partitions commits were written: the uncleaned size is what they took.
    const writtenRecords = ROUNDS * GROUPS.length * PARTITIONS;
    await waitFor(
      'the cleaner to reach the active segment of __consumer_offsets-0',
      () => {
        const cp = cleanerCheckpoint(broker!.dataDir);
        return cp !== null && cp >= activeBase(broker!.dataDir);
      },
      180_000,
    );
    const { records, bytes } = await readOffsetsPartition(broker.dataDir);
    const cp = cleanerCheckpoint(broker.dataDir)!;
    const below = records.filter((r) => r.offset < cp);
    expect(new Set(below.map((r) => r.key)).size, 'each key once below the cleaner checkpoint').toBe(
      below.length,
    );
    // Everything left: at most one record per key below the checkpoint plus the active segment's.
    const activeRecords = records.filter((r) => r.offset >= activeBase(broker!.dataDir)).length;
    expect(records.length).toBeLessThanOrEqual(expected.size + activeRecords);
    expect(records.length).toBeLessThan(writtenRecords / 10);
    // The latest record of each key in the files is the last commit.
    const latest = new Map<string, bigint | null>();
    for (const r of records) latest.set(r.key, r.committed);
    for (const [k, v] of expected) expect(latest.get(k), k).toBe(BigInt(v));
    const highest = records[records.length - 1]!.offset;
    expect(highest + 1n).toBeGreaterThanOrEqual(BigInt(writtenRecords));
    // 16 KiB segments: the uncleaned log took tens of segments; a few remain.
    expect(bytes).toBe(logBytes(broker.dataDir));
    expect(bytes).toBeLessThan(4 * 16384);

    // Restart: the coordinator loads the compacted partition and serves the last commits.
    await broker.stop();
    await broker.start();
    const readBack = await readCommitted(broker.bootstrap);
    expect(readBack).toEqual(expected);
  });
});
