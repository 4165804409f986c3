/**
 * Log compaction, Sluice next to Apache Kafka 4.4.0 (the kafka_2.13 4.4.0 jars of
 * test/clients/kafka-4.4/pom.xml, KRaft combined mode, kafka-server-start.sh's JVM flags), one after
 * the other on the same machine, each with its defaults except log.cleaner.backoff.ms=100:
 *
 * 1. a compacted topic (1 partition, segment.bytes 1 GiB) gets 1,000,000 records of 1 KiB values
 *    over 10,000 keys (100 values per key, ~1.05 GB), all in one segment;
 * 2. 5 s later, produce latency is probed on another topic with the broker idle: one 1 KiB record
 *    every 5 ms (acks=1, one request in flight; latency counted from the scheduled send, so a stall
 *    is counted in full), for 10 s;
 * 3. segment.ms is set to 1 s (IncrementalAlterConfigs) and one record rolls the segment: the 1 GB
 *    segment becomes cleanable and the cleaner starts within its 100 ms backoff;
 * 4. the same probe runs from the roll until the cleaner's checkpoint (cleaner-offset-checkpoint, the
 *    same file in both) reaches the new active segment. Cleaning throughput = dirty bytes / that time.
 *
 * Reported per broker: cleaning MB/s (1 MB = 10^6 bytes), seconds, records and bytes left in the
 * partition's files (both write Kafka's format, read the same way), peak RSS while cleaning, produce
 * p50/p99 idle and while cleaning. Runs alone (`npm run bench -- compaction`): it is long and writes
 * ~2 GB per broker.
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResult } from '../main.js';
import { ApiKeys } from '../../src/protocol/messages/index.js';
import { buildRecordBatch } from '../../src/protocol/records/build.js';
import { readBatchHeader } from '../../src/protocol/records/batch-header.js';
import { scanRecordBatches } from '../../src/protocol/records/batch.js';
import { ensureKafkaTools } from '../../test/helpers/kafka-tools.js';
import {
  KAFKA_BROKER_JVM,
  brokerKinds,
  handle,
  kafkaClusterId,
  startSluice,
  waitForLine,
  type Broker,
  type BrokerKind,
} from '../lib/brokers.js';
import { attempt, pair, QUICK, withFailures } from '../lib/compare.js';
import { javaBin } from '../lib/java.js';
import { RssSampler, freePort, runToEnd, sleep, spawnTracked, tempDir } from '../lib/proc.js';
import { KafkaClient } from '../../src/client/index.js';
import { createTopic } from '../lib/wire.js';

export const name = 'compaction';
export const description =
  'log cleaner: 1,000,000 records / 10,000 keys (1 KiB), cleaning MB/s, records left, peak RSS, produce p99 while cleaning; vs Kafka 4.4.0';
export const needsBuild = true;
export const inAll = false;

const KAFKA = 'Kafka 4.4.0';
const RECORDS = QUICK ? 100_000 : 1_000_000;
const KEYS = 10_000;
const VALUE_BYTES = 1000;
const PER_BATCH = 500;
const TOPIC = 'compact-bench';
const PROBE_TOPIC = 'probe';
const PROBE_EVERY_MS = 5;
const IDLE_PROBE_S = QUICK ? 4 : 10;
const CLEANER = { 'log.cleaner.backoff.ms': '100' };

/**
 * Kafka 4.4.0 in KRaft combined mode (config/server.properties as shipped, loopback, temp dirs), with
 * `extra` broker settings (also used by the transactions scenario).
 */
/**
 * `extraListeners`: more `NAME://127.0.0.1:port` listeners (named as their security protocol, e.g.
 * SSL), added to `listeners` and `advertised.listeners` (the tls scenario).
 */
export async function startKafka44(
  extra: Record<string, string> = {},
  extraListeners: string[] = [],
): Promise<Broker> {
  const lib = await ensureKafkaTools();
  const cp = join(lib, '*');
  const dir = tempDir('kafka44-bench-broker-');
  const port = await freePort();
  const cport = await freePort();
  const props = [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${cport}`,
    `listeners=${[`PLAINTEXT://127.0.0.1:${port}`, `CONTROLLER://127.0.0.1:${cport}`, ...extraListeners].join(',')}`,
    `advertised.listeners=${[`PLAINTEXT://127.0.0.1:${port}`, ...extraListeners].join(',')}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL',
    'num.network.threads=3',
    'num.io.threads=8',
    `log.dirs=${join(dir, 'data')}`,
    'num.partitions=1',
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    ...Object.entries(extra).map(([k, v]) => `${k}=${v}`),
  ];
  const propsFile = join(dir, 'server.properties');
  writeFileSync(propsFile, props.join('\n') + '\n');
  // The jars bind slf4j to slf4j-simple: warnings only, and the line that says the server is up.
  const logFlags = [
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    '-Dorg.slf4j.simpleLogger.log.kafka.server=info',
  ];
  await runToEnd(javaBin(), [
    '-Xmx256M',
    ...logFlags,
    '-cp',
    cp,
    'kafka.tools.StorageTool',
    'format',
    '-t',
    kafkaClusterId(),
    '-c',
    propsFile,
  ]);
  const spawnedAt = Date.now();
  const child = spawnTracked(
    javaBin(),
    [...KAFKA_BROKER_JVM, ...logFlags, '-cp', cp, 'kafka.Kafka', propsFile],
    {
      cwd: dir,
    },
  );
  await waitForLine(child, 'kafka 4.4.0 broker', (l) => l.includes('Kafka Server started'), 120_000, []);
  return handle('kafka', child, port, spawnedAt, dir);
}

/** The partition's live segment files (not Kafka's .deleted ones waiting for file.delete.delay.ms). */
function segmentFiles(b: Broker, topic: string): string[] {
  const dir = join(b.dataDir, `${topic}-0`);
  return readdirSync(dir)
    .filter((f) => /^\d{20}\.log$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

function partitionBytes(b: Broker, topic: string): number {
  return segmentFiles(b, topic).reduce((n, f) => n + statSync(f).size, 0);
}

/** Records in the partition's files (batch headers' record counts). */
function partitionRecords(b: Broker, topic: string): number {
  let n = 0;
  for (const f of segmentFiles(b, topic)) {
    const buf = readFileSync(f);
    for (const s of scanRecordBatches(buf).batches) n += readBatchHeader(buf, s.position).recordCount;
  }
  return n;
}

function cleanerCheckpoint(b: Broker, topic: string): bigint {
  try {
    const lines = readFileSync(join(b.dataDir, 'cleaner-offset-checkpoint'), 'utf8').split('\n');
    for (const l of lines.slice(2)) {
      const [t, p, o] = l.split(' ');
      if (t === topic && p === '0') return BigInt(o!);
    }
  } catch {
    /* not written yet */
  }
  return -1n;
}

/** One broker on loopback through the project's Kafka client (patient: the broker may be busy cleaning). */
function connect(port: number): KafkaClient {
  return new KafkaClient({
    bootstrap: [{ host: '127.0.0.1', port }],
    clientId: 'sluice-bench',
    connectTimeoutMs: 120_000,
    requestTimeoutMs: 120_000,
    clientSoftwareName: 'sluice-bench',
  });
}

async function produce(c: KafkaClient, topic: string, batch: Buffer, acks = 1): Promise<bigint> {
  const res = await c.request(ApiKeys.Produce, 7, {
    transactionalId: null,
    acks,
    timeoutMs: 60_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
  });
  const p = res.responses[0]!.partitionResponses[0]!;
  if (p.errorCode !== 0) throw new Error(`produce to ${topic}: error ${p.errorCode}`);
  return p.baseOffset;
}

/** 1,000,000 keyed records, PER_BATCH per request, 4 requests in flight. */
async function fill(b: Broker): Promise<void> {
  const c = connect(b.port);
  const value = Buffer.alloc(VALUE_BYTES, 0x61);
  try {
    const batches = RECORDS / PER_BATCH;
    let next = 0;
    const worker = async () => {
      while (next < batches) {
        const i = next++;
        const recs = Array.from({ length: PER_BATCH }, (_, j) => ({
          key: `key-${String((i * PER_BATCH + j) % KEYS).padStart(5, '0')}`,
          value,
        }));
        await produce(c, TOPIC, buildRecordBatch(recs));
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  } finally {
    c.close();
  }
}

/** Produce latency probe: one 1 KiB record every PROBE_EVERY_MS until `until()` says stop. */
async function probe(b: Broker, until: () => boolean, minMs: number): Promise<number[]> {
  const c = connect(b.port);
  const lat: number[] = [];
  const value = Buffer.alloc(1024, 0x62);
  const t0 = performance.now();
  try {
    for (let i = 0; ; i++) {
      const due = t0 + i * PROBE_EVERY_MS;
      const now = performance.now();
      if (now - t0 >= minMs && until()) break;
      if (due > now) await sleep(due - now);
      await produce(c, PROBE_TOPIC, buildRecordBatch([{ key: 'p', value }]));
      lat.push(performance.now() - due);
    }
  } finally {
    c.close();
  }
  return lat;
}

function pct(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

interface Figures {
  dirtyBytes: number;
  cleanSeconds: number;
  mbPerSec: number;
  recordsLeft: number;
  bytesLeft: number;
  peakRssMiB: number;
  rssBeforeMiB: number;
  idleP50: number;
  idleP99: number;
  cleaningP50: number;
  cleaningP99: number;
  probes: number;
}

async function measure(b: Broker): Promise<Figures> {
  await createTopic(b.port, TOPIC, 1, { 'cleanup.policy': 'compact', 'segment.bytes': String(1 << 30) });
  await createTopic(b.port, PROBE_TOPIC, 1);
  const tf = performance.now();
  await fill(b);
  console.log(`  ${b.kind}: ${RECORDS} records written in ${((performance.now() - tf) / 1000).toFixed(1)} s`);
  const dirtyBytes = partitionBytes(b, TOPIC);
  await sleep(5000); // let the page cache write-back of the fill settle before the idle probe
  const idle = await probe(b, () => true, IDLE_PROBE_S * 1000);

  // Roll the 1 GB segment: segment.ms 1 s, then one more record.
  const c = connect(b.port);
  try {
    const res = await c.request(ApiKeys.IncrementalAlterConfigs, 1, {
      resources: [
        {
          resourceType: 2,
          resourceName: TOPIC,
          configs: [{ name: 'segment.ms', configOperation: 0, value: '1000' }],
        },
      ],
      validateOnly: false,
    });
    const r = res.responses[0]!;
    if (r.errorCode !== 0) throw new Error(`IncrementalAlterConfigs: error ${r.errorCode}`);
    await sleep(1500);
    await produce(c, TOPIC, buildRecordBatch([{ key: 'roll', value: Buffer.from('roll') }]));
  } finally {
    c.close();
  }
  const rollAt = performance.now();
  const files = segmentFiles(b, TOPIC);
  if (files.length < 2) throw new Error(`the segment did not roll: ${files.join(', ')}`);
  const activeBase = BigInt(files[files.length - 1]!.slice(-24, -4));

  const rssBefore = b.stats().rssBytes;
  const rss = new RssSampler(b.pid, 100);
  let cleanedAt = 0;
  const poll = setInterval(() => {
    if (!cleanedAt && cleanerCheckpoint(b, TOPIC) >= activeBase) cleanedAt = performance.now();
  }, 20);
  const deadline = rollAt + 600_000;
  let cleaning: number[];
  try {
    cleaning = await probe(b, () => cleanedAt > 0 || performance.now() > deadline, 2000);
  } finally {
    clearInterval(poll);
  }
  const peakRss = rss.stop();
  if (!cleanedAt) throw new Error('the cleaner did not reach the active segment within 10 minutes');
  const cleanSeconds = (cleanedAt - rollAt) / 1000;
  // Only the probes sent before the checkpoint moved count as "while cleaning".
  const during = cleaning.slice(0, Math.max(1, Math.floor((cleanedAt - rollAt) / PROBE_EVERY_MS)));
  return {
    dirtyBytes,
    cleanSeconds,
    mbPerSec: dirtyBytes / 1e6 / cleanSeconds,
    recordsLeft: partitionRecords(b, TOPIC),
    bytesLeft: partitionBytes(b, TOPIC),
    peakRssMiB: peakRss / 2 ** 20,
    rssBeforeMiB: rssBefore / 2 ** 20,
    idleP50: pct(idle, 0.5),
    idleP99: pct(idle, 0.99),
    cleaningP50: pct(during, 0.5),
    cleaningP99: pct(during, 0.99),
    probes: during.length,
  };
}

export async function run(): Promise<BenchResult[]> {
  const failures: string[] = [];
  const figs: Partial<Record<BrokerKind, Figures>> = {};
  for (const kind of brokerKinds()) {
    const b = await attempt(
      `${kind} start`,
      () => (kind === 'sluice' ? startSluice({ overrides: CLEANER }) : startKafka44(CLEANER)),
      failures,
    );
    if (!b) continue;
    try {
      const f = await attempt(`${kind} compaction`, () => measure(b), failures);
      if (f) {
        figs[kind] = f;
        console.log(`  ${kind}: ${JSON.stringify(f)}`);
      }
    } finally {
      await b.stop();
    }
  }
  const of = (k: keyof Figures) => ({
    ...(figs.sluice ? { sluice: figs.sluice[k] } : {}),
    ...(figs.kafka ? { kafka: figs.kafka[k] } : {}),
  });
  const S = name;
  const rows = [
    pair(S, 'cleaning throughput (1 GB dirty segment)', 'MB/s', of('mbPerSec'), {
      better: 'higher',
      chart: 'throughput',
      note: 'dirty bytes / time from the roll to the cleaner checkpoint reaching the active segment',
    }),
    pair(S, 'cleaning time', 's', of('cleanSeconds'), { better: 'lower' }),
    pair(S, `records left of ${RECORDS} (${KEYS} keys)`, 'records', of('recordsLeft'), { better: 'lower' }),
    pair(S, 'bytes left', 'MB', { ...of('bytesLeft') }, { better: 'lower' }),
    pair(S, 'peak RSS while cleaning', 'MiB', of('peakRssMiB'), {
      better: 'lower',
      note: 'whole broker process; Sluice offset map = log.cleaner.dedupe.buffer.size (128 MiB)',
    }),
    pair(S, 'produce p50 idle', 'ms', of('idleP50'), { better: 'lower' }),
    pair(S, 'produce p99 idle', 'ms', of('idleP99'), { better: 'lower', chart: 'latency' }),
    pair(S, 'produce p50 while cleaning', 'ms', of('cleaningP50'), { better: 'lower' }),
    pair(S, 'produce p99 while cleaning', 'ms', of('cleaningP99'), {
      better: 'lower',
      chart: 'latency',
      note: `1 KiB, acks=1, one every ${PROBE_EVERY_MS} ms from the scheduled send time, other topic`,
    }),
  ];
  for (const r of rows) {
    if (r.metric === 'bytes left') {
      r.value /= 1e6;
      if (r.reference !== undefined) r.reference /= 1e6;
    }
    if (r.reference !== undefined) r.referenceName = KAFKA;
  }
  return withFailures(rows, failures, S);
}
