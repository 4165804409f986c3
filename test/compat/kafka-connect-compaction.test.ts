/**
 * Kafka Connect 4.4.0 in distributed mode on compacted internal topics: a real worker
 * (ConnectDistributed) keeps its connector configs, source offsets and statuses in connect-configs /
 * connect-offsets / connect-status, created compacted with small segments so Sluice's cleaner
 * compacts them while the worker runs. A source connector (CounterSource: writes 0, 1, 2, … and
 * commits the last number as its offset) runs; its config is rewritten 15 times. Then the cleaner
 * compacts the three topics (checked on the broker's files: each key once below the cleaner
 * checkpoint, far fewer records than written), the worker stops, the broker restarts, and a new
 * worker starts from the compacted topics: it has the connector with its last config, runs it, and
 * the task continues right after the offset it committed before the restart.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeRecordBatch, scanRecordBatches } from '../../src/protocol/records/batch.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { freePort } from '../helpers/etcd.js';
import { ConnectWorker, compileCounterSource } from '../helpers/kafka-apps.js';
import { createTopic, fetchAll, waitFor } from '../broker/compaction-helpers.js';

const INTERNAL = ['connect-configs', 'connect-offsets', 'connect-status'];
const OUT = 'counted';
const CONFIG_VERSIONS = 15;

interface FileRecord {
  offset: bigint;
  key: string;
  value: string | null;
}

function segments(dataDir: string, topic: string): string[] {
  return readdirSync(join(dataDir, `${topic}-0`))
    .filter((f) => /^\d{20}\.log$/.test(f))
    .sort();
}

async function topicRecords(dataDir: string, topic: string): Promise<FileRecord[]> {
  const out: FileRecord[] = [];
  for (const f of segments(dataDir, topic)) {
    const buf = readFileSync(join(dataDir, `${topic}-0`, f));
    for (const s of scanRecordBatches(buf).batches) {
      const b = await decodeRecordBatch(buf, s.position);
      for (const r of b.records)
        out.push({
          offset: r.offset,
          key: r.key === null ? '' : r.key.toString(),
          value: r.value === null ? null : r.value.toString(),
        });
    }
  }
  return out;
}

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

/** The position the task last committed, from connect-offsets' latest record of its key. */
function committedPosition(records: FileRecord[]): number {
  let pos = -1;
  for (const r of records)
    if (r.key.includes('"counter"') && r.value !== null)
      pos = (JSON.parse(r.value) as { position: number }).position;
  return pos;
}

describe('Kafka Connect 4.4.0 distributed worker on compacted internal topics', { timeout: 600_000 }, () => {
  let broker: BrokerProcess | undefined;
  let worker: ConnectWorker | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-connect-'));
  afterAll(async () => {
    if (worker?.child && process.env.SLUICE_CONNECT_LOGS) console.log(worker.logs.join('\n'));
    await worker?.stop(5000);
    await broker?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps connector config, offsets and status through compaction and a broker restart', async () => {
    broker = new BrokerProcess({
      overrides: {
        'log.cleaner.backoff.ms': '200',
        'offsets.topic.num.partitions': '1',
        'offsets.topic.replication.factor': '1',
        'group.initial.rebalance.delay.ms': '0',
      },
    });
    await broker.start();
    for (const t of INTERNAL)
      await createTopic(broker.port, t, {
        'cleanup.policy': 'compact',
        'segment.bytes': '4096',
        'min.cleanable.dirty.ratio': '0.01',
      });
    await createTopic(broker.port, OUT, {});

    const classes = join(dir, 'classes');
    await compileCounterSource(classes);
    const restPort = await freePort();
    const props = join(dir, 'worker.properties');
    writeFileSync(
      props,
      [
        `bootstrap.servers=${broker.bootstrap}`,
        'group.id=sluice-connect',
        'key.converter=org.apache.kafka.connect.json.JsonConverter',
        'value.converter=org.apache.kafka.connect.json.JsonConverter',
        'key.converter.schemas.enable=false',
        'value.converter.schemas.enable=false',
        'config.storage.topic=connect-configs',
        'offset.storage.topic=connect-offsets',
        'status.storage.topic=connect-status',
        'config.storage.replication.factor=1',
        'offset.storage.replication.factor=1',
        'status.storage.replication.factor=1',
        'offset.flush.interval.ms=100',
        `listeners=http://127.0.0.1:${restPort}`,
        '',
      ].join('\n'),
    );
    worker = new ConnectWorker(props, classes, restPort);
    await worker.start();

    const config = (v: number) => ({
      'connector.class': 'dev.sluice.test.CounterSource$Connector',
      'tasks.max': '1',
      topic: OUT,
      version: String(v),
    });
    for (let v = 1; v <= CONFIG_VERSIONS; v++) {
      const r = await worker.rest('PUT', '/connectors/counter/config', config(v));
      expect([200, 201], JSON.stringify(r.body)).toContain(r.status);
      await new Promise((res) => setTimeout(res, 300));
    }
    const running = async () => {
      const r = await worker!.rest('GET', '/connectors/counter/status');
      const s = r.body as { connector?: { state: string }; tasks?: { state: string }[] };
      return s.connector?.state === 'RUNNING' && s.tasks?.[0]?.state === 'RUNNING';
    };
    await waitFor('the connector and its task running', running, 120_000);

    // Let the task write and commit offsets (every 100 ms) until the cleaner has cleaned each
    // internal topic up to its active segment at least once past 3,000 records written.
    const dataDir = broker.dataDir;
    await waitFor(
      'records written and the internal topics cleaned',
      async () => {
        const { highWatermark } = await fetchAll(broker!.port, OUT);
        if (highWatermark < 3000n) return false;
        for (const t of ['connect-configs', 'connect-offsets']) {
          const cp = cleanerCheckpoint(dataDir, t);
          const segs = segments(dataDir, t);
          if (segs.length < 2 || cp === null || cp < BigInt(segs[segs.length - 1]!.slice(0, 20)))
            return false;
        }
        return true;
      },
      180_000,
    );

    await worker.stop();
    // The worker's last records are in; the cleaner may run once more, but keys stay unique below it.
    const written = new Map<string, string>();
    for (const t of INTERNAL) {
      const recs = await topicRecords(dataDir, t);
      const cp = cleanerCheckpoint(dataDir, t) ?? 0n;
      const below = recs.filter((r) => r.offset < cp);
      expect(new Set(below.map((r) => r.key)).size, `${t}: each key once below the checkpoint`).toBe(
        below.length,
      );
      const total = recs.length ? Number(recs[recs.length - 1]!.offset + 1n) : 0;
      written.set(t, `${total} → ${recs.length} (${below.length} below the checkpoint ${cp})`);
      if (t !== 'connect-status') {
        // Cleaned at least once past its first segment: fewer records than offsets below the
        // checkpoint (what lies above it, in the active segment or written since, is not cleaned yet).
        expect(cp, `${t}: cleaned`).toBeGreaterThan(0n);
        expect(below.length, `${t}: compacted below the checkpoint`).toBeLessThan(Number(cp));
      }
    }
    const before = await topicRecords(dataDir, 'connect-offsets');
    const committed = committedPosition(before);
    expect(committed).toBeGreaterThan(0);
    const outBefore = await fetchAll(broker.port, OUT);
    const lastWritten = Number(outBefore.records[outBefore.records.length - 1]!.value);
    expect(committed).toBeLessThanOrEqual(lastWritten);

    // Broker restart, then a new worker reads its state back from the compacted topics.
    await broker.stop();
    await broker.start();
    worker = new ConnectWorker(props, classes, restPort);
    await worker.start();
    await waitFor('the connector running again', running, 120_000);
    const cfg = await worker.rest('GET', '/connectors/counter/config');
    expect((cfg.body as Record<string, string>).version).toBe(String(CONFIG_VERSIONS));
    await waitFor(
      'new records after the restart',
      async () => (await fetchAll(broker!.port, OUT)).highWatermark >= outBefore.highWatermark + 200n,
      120_000,
    );
    await worker.stop();
    const after = (await fetchAll(broker.port, OUT)).records.filter(
      (r) => r.offset >= outBefore.highWatermark,
    );
    // The task continued right after the offset it had committed (at-least-once: it may repeat
    // what it wrote after that commit, never restart from 0 or skip).
    expect(Number(after[0]!.value)).toBe(committed + 1);
    for (let i = 1; i < after.length; i++) expect(Number(after[i]!.value)).toBe(committed + 1 + i);
    console.log(
      `connect: records written → left in the files: ${INTERNAL.map((t) => `${t} ${written.get(t)}`).join(', ')}; ` +
        `committed position ${committed}, last written ${lastWritten}, resumed at ${after[0]!.value}`,
    );
  });
});
