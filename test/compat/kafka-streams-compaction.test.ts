/**
 * Kafka Streams 4.4.0 on a compacted changelog: a real Streams app (test/clients/kafka-streams-4.4/
 * WordCount.java, an in-memory count store, record cache off so each update is a changelog record)
 * counts words; Streams creates the changelog with cleanup.policy=compact and Sluice's cleaner
 * compacts it. Then the broker restarts, more words arrive, and the app starts again from nothing
 * (an in-memory store restores its whole changelog): the restore reads exactly the records left in
 * the compacted changelog — one per word below the cleaner checkpoint, far fewer than were written —
 * and every count is right.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeRecordBatch, scanRecordBatches } from '../../src/protocol/records/batch.js';
import { ApiKeys } from '../../src/protocol/messages/index.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { runKafkaApp } from '../helpers/kafka-apps.js';
import { type KV, createTopic, produce, waitFor, withClient } from '../broker/compaction-helpers.js';

const APP = 'wordcount';
const CHANGELOG = `${APP}-counts-changelog`;
const WORDS = 100;

function cleanerCheckpoint(dataDir: string, topic: string): bigint | null {
  try {
    for (const l of readFileSync(join(dataDir, 'cleaner-offset-checkpoint'), 'utf8').split('\n').slice(2)) {
      const [t, p, o] = l.split(' ');
      if (t === topic && p === '0') return BigInt(o!);
    }
  } catch {
    /* not written yet */
  }
  return null;
}

function segments(dataDir: string, topic: string): string[] {
  return readdirSync(join(dataDir, `${topic}-0`))
    .filter((f) => /^\d{20}\.log$/.test(f))
    .sort();
}

/** The changelog's records in the broker's files: offset and key. */
async function changelogRecords(dataDir: string): Promise<{ offset: bigint; key: string }[]> {
  const out: { offset: bigint; key: string }[] = [];
  for (const f of segments(dataDir, CHANGELOG)) {
    const buf = readFileSync(join(dataDir, `${CHANGELOG}-0`, f));
    for (const s of scanRecordBatches(buf).batches) {
      const b = await decodeRecordBatch(buf, s.position);
      for (const r of b.records) out.push({ offset: r.offset, key: r.key!.toString() });
    }
  }
  return out;
}

async function runWordCount(
  bootstrap: string,
  expectedTotal: number,
): Promise<{
  restored: number;
  counts: Map<string, number>;
}> {
  const stateDir = mkdtempSync(join(tmpdir(), 'sluice-streams-'));
  try {
    const r = await runKafkaApp('WordCount.java', [bootstrap, APP, stateDir, String(expectedTotal)], 240_000);
    if (r.code !== 0) throw new Error(`WordCount failed (${r.code}):\n${r.stdout}\n${r.stderr.slice(-4000)}`);
    let restored = -1;
    const counts = new Map<string, number>();
    for (const line of r.stdout.split('\n')) {
      const f = line.split(' ');
      if (f[0] === 'restored') restored = Number(f[1]);
      if (f[0] === 'count') counts.set(f[1]!, Number(f[2]));
    }
    return { restored, counts };
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function produceWords(port: number, total: number, seed: number, expected: Map<string, number>) {
  await withClient(port, async (c) => {
    for (let b = 0; b < total / 100; b++) {
      const recs: KV[] = [];
      for (let i = 0; i < 100; i++) {
        const word = `w${(b * 31 + i * 17 + seed) % WORDS}`;
        recs.push({ key: word, value: word });
        expected.set(word, (expected.get(word) ?? 0) + 1);
      }
      await produce(c, 'words', recs);
    }
  });
}

describe('Kafka Streams 4.4.0 changelog on a compacted topic', { timeout: 600_000 }, () => {
  let broker: BrokerProcess | undefined;
  afterAll(async () => {
    await broker?.cleanup();
  });

  it('restores only the compacted changelog after a broker and app restart, with the right counts', async () => {
    broker = new BrokerProcess({
      overrides: {
        'log.cleaner.backoff.ms': '200',
        'offsets.topic.num.partitions': '1',
        'offsets.topic.replication.factor': '1',
        'group.initial.rebalance.delay.ms': '0',
      },
    });
    await broker.start();
    await createTopic(broker.port, 'words', {});
    const expected = new Map<string, number>();
    const first = 6000;
    await produceWords(broker.port, first, 0, expected);

    const run1 = await runWordCount(broker.bootstrap, first);
    expect(run1.counts).toEqual(expected);

    // Streams created its changelog compacted.
    const policy = await withClient(broker.port, async (c) => {
      const res = await c.request(ApiKeys.DescribeConfigs, 1, {
        resources: [{ resourceType: 2, resourceName: CHANGELOG, configurationKeys: ['cleanup.policy'] }],
        includeSynonyms: false,
      });
      return res.results[0]!.configs.find((e) => e.name === 'cleanup.policy')?.value;
    });
    expect(policy).toBe('compact');

    // The cleaner compacts the changelog up to its active segment.
    const dataDir = broker.dataDir;
    await waitFor(
      'the cleaner to reach the changelog active segment',
      () => {
        const cp = cleanerCheckpoint(dataDir, CHANGELOG);
        const segs = segments(dataDir, CHANGELOG);
        return cp !== null && cp >= BigInt(segs[segs.length - 1]!.slice(0, 20));
      },
      120_000,
    );
    const records = await changelogRecords(dataDir);
    const cp = cleanerCheckpoint(dataDir, CHANGELOG)!;
    const below = records.filter((r) => r.offset < cp);
    expect(new Set(below.map((r) => r.key)).size, 'each word once below the checkpoint').toBe(below.length);
    expect(records[records.length - 1]!.offset + 1n).toBe(BigInt(first));
    expect(records.length).toBeLessThan(first / 5);

    // The broker restarts, more words come, and the app starts again with no local state.
    await broker.stop();
    await broker.start();
    const more = 2000;
    await produceWords(broker.port, more, 7, expected);
    const run2 = await runWordCount(broker.bootstrap, first + more);
    expect(run2.restored, 'the restore read what the compacted changelog holds').toBe(records.length);
    expect(run2.counts).toEqual(expected);
    console.log(
      `changelog: ${first} records written, ${records.length} left after cleaning; restore read ${run2.restored}`,
    );
  });
});
