/**
 * Sluice's partition files read by Apache Kafka 4.4.0's own DumpLogSegments (the class behind
 * `kafka-dump-log.sh`), on a real broker process with small segments (log.segment.bytes 16 KiB,
 * log.index.interval.bytes 1 KiB) produced to by confluent-kafka-python (librdkafka): batches with
 * every codec, timestamps out of order inside and across batches, idempotent and plain producers.
 *
 *  (a) `--verify-index-only` and `--index-sanity-check` on the .index and .timeindex of every
 *      segment, rolled and active, while the broker runs, after a clean restart (before and after new
 *      appends) and after a SIGKILL restart: no mismatch, exit 0; and `--print-data-log` over every
 *      .log shows exactly the records that were acknowledged (offset, timestamp, key, value, codec).
 *      One result is Kafka's and not a mismatch: a running broker's active .timeindex is preallocated
 *      (zeros after its entries), and Kafka's TimeIndex.sanityCheck reads the last slot of the file,
 *      so `--index-sanity-check` on it fails exactly as it does on a running Kafka 4.4 broker's active
 *      segment ("the last timestamp is 0 which is less than the first timestamp"); the test expects
 *      that, and the check to pass once the segment is trimmed (rolled or closed).
 *  (b) the producer snapshot written at clean shutdown, read by DumpLogSegments: one entry per
 *      idempotent producer with the id, epoch, sequences, last offset and timestamp of its last batch
 *      as DumpLogSegments reads them from the log itself.
 *  (c) a JSON snapshot of the format Sluice wrote before is migrated when the partition loads, and
 *      retried batches are still deduplicated after restarts (raw Produce requests, exact sequences).
 */
import { existsSync, readFileSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeys } from '../../src/protocol/messages/index.js';
import { buildRecordBatch } from '../../src/protocol/records/build.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { run, SYSTEM_PYTHON } from '../helpers/clients.js';
import { ensureKafkaTools, runKafkaTool } from '../helpers/kafka-tools.js';
import { RawClient } from '../helpers/raw-client.js';

const TOPIC = 'dump-log';
const INDEX_INTERVAL = 1024;

/** Produces batches k in [from, to): one produce request (one batch) each; prints what was acked. */
const PRODUCE = String.raw`
import sys, json
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
bs, topic, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if start == 0:
    admin = AdminClient({'bootstrap.servers': bs})
    for t, f in admin.create_topics([NewTopic(topic, 1, 1)]).items():
        f.result()
codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd']
producers = {}
acks, errors = [], []
base = 1700000000000
for k in range(start, end):
    key = (k % 5, k % 2 == 0)
    if key not in producers:
        producers[key] = Producer({'bootstrap.servers': bs, 'compression.type': codecs[k % 5],
                                   'enable.idempotence': k % 2 == 0, 'linger.ms': 10000,
                                   'batch.num.messages': 100000})
    p = producers[key]
    for i in range(20 + (k * 7) % 26):
        # Out of order: jumps back and forth across batches, and inside each batch.
        ts = base + ((k * 37) % 11) * 60000 + ((i * 13) % 17) * 1000 - (5000 if i % 4 == 0 else 0)
        k_, v = 'k%d-%d' % (k, i), 'v%d-%d-%s' % (k, i, 'abcdefghij'[k % 10] * (30 + (i * 17) % 90))
        def cb(err, m, k_=k_, v=v, ts=ts):
            if err: errors.append(str(err))
            else: acks.append({'offset': m.offset(), 'key': k_, 'value': v, 'ts': ts})
        p.produce(topic, partition=0, key=k_, value=v, timestamp=ts, on_delivery=cb)
    p.flush(30)
for p in producers.values(): p.flush(30)
print(json.dumps({'acks': acks, 'errors': errors}))
`;

interface Acked {
  offset: number;
  key: string;
  value: string;
  ts: number;
}

async function produce(bootstrap: string, from: number, to: number): Promise<Acked[]> {
  const r = await run(SYSTEM_PYTHON, ['-c', PRODUCE, bootstrap, TOPIC, String(from), String(to)], {
    timeoutMs: 120_000,
  });
  expect(r.code, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { acks: Acked[]; errors: string[] };
  expect(out.errors).toEqual([]);
  return out.acks;
}

const pad = (base: bigint | number): string => base.toString().padStart(20, '0');

function segmentBases(dir: string): bigint[] {
  return readdirSync(dir)
    .filter((f) => /^\d{20}\.log$/.test(f))
    .map((f) => BigInt(f.slice(0, 20)))
    .sort((a, b) => (a < b ? -1 : 1));
}

/** Entries before the first unused slot of an index file (entry 0 all zeros: none). */
function entriesOnDisk(file: string, entrySize: number, relAt: number): number {
  const b = readFileSync(file);
  let n = 0;
  while ((n + 1) * entrySize <= b.length) {
    const e = b.subarray(n * entrySize, (n + 1) * entrySize);
    if (n === 0 ? e.every((x) => x === 0) : e.readInt32BE(relAt) === 0) break;
    n++;
  }
  return n;
}

/** Poll until `cond` holds (generous: the machine may be loaded). */
async function waitFor(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const INDEX_PROBLEMS =
  /Mismatches in|timestamp mismatch|out of order timestamp|indexed offsets are not found|Exception/;

/**
 * DumpLogSegments over every segment of `dir`. `activeLive`: the active segment's indexes are
 * preallocated (a running broker that has appended to it), so Kafka's time index sanity check on it
 * fails as it does on Kafka's own files; every other check must pass.
 */
async function checkIndexes(dir: string, activeLive: boolean): Promise<void> {
  const bases = segmentBases(dir);
  expect(bases.length).toBeGreaterThanOrEqual(4); // several rolled segments and the active one
  const active = bases[bases.length - 1]!;
  const idx = bases.map((b) => join(dir, `${pad(b)}.index`));
  const tidx = bases.map((b) => join(dir, `${pad(b)}.timeindex`));
  const indexMax = 10 * 1024 * 1024;
  const activeIdx = join(dir, `${pad(active)}.index`);
  const activeTidx = join(dir, `${pad(active)}.timeindex`);
  if (activeLive) {
    expect(statSync(activeIdx).size).toBe(indexMax);
    expect(statSync(activeTidx).size).toBe(indexMax - (indexMax % 12));
  }
  // Rolled segments: trimmed to their entries, each with entries (16 KiB segments, 1 KiB interval).
  for (const b of bases.slice(0, -1)) {
    const i = join(dir, `${pad(b)}.index`);
    const t = join(dir, `${pad(b)}.timeindex`);
    expect(statSync(i).size).toBe(entriesOnDisk(i, 8, 0) * 8);
    expect(statSync(t).size).toBe(entriesOnDisk(t, 12, 8) * 12);
    expect(entriesOnDisk(i, 8, 0)).toBeGreaterThan(0);
  }

  const verify = await runKafkaTool('kafka-dump-log', [
    '--verify-index-only',
    '--files',
    [...idx, ...tidx].join(','),
  ]);
  expect(verify.code, verify.stderr).toBe(0);
  expect(verify.stderr).not.toMatch(INDEX_PROBLEMS);
  expect(verify.stdout.match(/^Dumping /gm)?.length).toBe(2 * bases.length);

  const sane = activeLive ? [...idx, ...tidx.slice(0, -1)] : [...idx, ...tidx];
  const sanity = await runKafkaTool('kafka-dump-log', ['--index-sanity-check', '--files', sane.join(',')]);
  expect(sanity.code, sanity.stderr).toBe(0);
  expect(sanity.stderr).not.toMatch(INDEX_PROBLEMS);
  for (const f of sane) expect(sanity.stdout).toContain(`${f} passed sanity check.`);

  if (activeLive) {
    const live = await runKafkaTool('kafka-dump-log', ['--index-sanity-check', '--files', activeTidx]);
    expect(live.code).toBe(1);
    expect(live.stderr).toMatch(
      /Corrupt time index found.*the last timestamp is 0 which is less than the first timestamp/,
    );
  }
}

interface DumpedRecord {
  offset: number;
  ts: number;
  key: string;
  value: string;
}
interface DumpedBatch {
  baseOffset: bigint;
  lastOffset: bigint;
  baseSequence: number;
  lastSequence: number;
  producerId: bigint;
  producerEpoch: number;
  maxTimestamp: bigint;
  codec: string;
}

/** `--print-data-log` over every .log of `dir`, parsed. */
async function dumpLogs(dir: string): Promise<{ records: DumpedRecord[]; batches: DumpedBatch[] }> {
  const logs = segmentBases(dir).map((b) => join(dir, `${pad(b)}.log`));
  const r = await runKafkaTool('kafka-dump-log', ['--print-data-log', '--files', logs.join(',')], {
    timeoutMs: 180_000,
  });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).not.toMatch(/Exception/);
  // DumpLogSegments starts each file's offset check at -1, so a segment not based at 0 is always
  // reported as "-1 is followed by <its base offset>"; any other pair would be a real gap.
  const gaps = [...r.stderr.matchAll(/Non-consecutive offsets in \S*\/(\d{20})\.log\n((?: {2}.*\n?)*)/g)];
  for (const [, base, pairs] of gaps) expect(pairs!.trim()).toBe(`-1 is followed by ${BigInt(base!)}`);
  expect(r.stderr.replace(/Non-consecutive offsets in .*\n(?: {2}.*\n?)*/g, '')).toBe('');
  expect(r.stdout).not.toMatch(/invalid bytes at the end/);
  const records: DumpedRecord[] = [];
  const batches: DumpedBatch[] = [];
  for (const line of r.stdout.split('\n')) {
    const b =
      /^baseOffset: (\d+) lastOffset: (\d+) count: \d+ baseSequence: (-?\d+) lastSequence: (-?\d+) producerId: (-?\d+) producerEpoch: (-?\d+) .* CreateTime: (\d+) size: \d+ magic: 2 compresscodec: (\w+) crc: \d+ isvalid: true$/.exec(
        line,
      );
    if (b) {
      batches.push({
        baseOffset: BigInt(b[1]!),
        lastOffset: BigInt(b[2]!),
        baseSequence: Number(b[3]),
        lastSequence: Number(b[4]),
        producerId: BigInt(b[5]!),
        producerEpoch: Number(b[6]),
        maxTimestamp: BigInt(b[7]!),
        codec: b[8]!,
      });
      continue;
    }
    const m =
      /^\| offset: (\d+) CreateTime: (\d+) keySize: \d+ valueSize: \d+ sequence: -?\d+ headerKeys: \[\] key: (\S+) payload: (\S+)$/.exec(
        line,
      );
    if (m) records.push({ offset: Number(m[1]), ts: Number(m[2]), key: m[3]!, value: m[4]! });
    else if (line.startsWith('|')) throw new Error(`unparsed record line: ${line}`);
  }
  return { records, batches };
}

async function checkData(dir: string, acked: Acked[]): Promise<DumpedBatch[]> {
  const { records, batches } = await dumpLogs(dir);
  const want = [...acked].sort((a, b) => a.offset - b.offset).map((a) => ({ ...a }));
  expect(records.map((r) => ({ offset: r.offset, key: r.key, value: r.value, ts: r.ts }))).toEqual(
    want.map((a) => ({ offset: a.offset, key: a.key, value: a.value, ts: a.ts })),
  );
  expect(new Set(batches.map((b) => b.codec))).toEqual(new Set(['none', 'gzip', 'snappy', 'lz4', 'zstd']));
  return batches;
}

describe('kafka-dump-log (Kafka 4.4.0 DumpLogSegments) on Sluice files', { timeout: 900_000 }, () => {
  let broker: BrokerProcess;
  let partDir: string;
  const acked: Acked[] = [];
  let k = 0;

  /** Produce batches until the active segment holds more than two index intervals (so it has entries). */
  async function produceRound(batches: number): Promise<void> {
    acked.push(...(await produce(broker.bootstrap, k, k + batches)));
    k += batches;
    for (let extra = 0; extra < 20; extra++) {
      const bases = segmentBases(partDir);
      const active = bases[bases.length - 1]!;
      if (statSync(join(partDir, `${pad(active)}.log`)).size > 3 * INDEX_INTERVAL) return;
      acked.push(...(await produce(broker.bootstrap, k, k + 1)));
      k += 1;
    }
    throw new Error('the active segment never grew past three index intervals');
  }

  /** The pending index entries reach the active segment's files within the flush-check interval. */
  async function waitForActiveEntries(): Promise<void> {
    const bases = segmentBases(partDir);
    const active = join(partDir, pad(bases[bases.length - 1]!));
    await waitFor(
      'index entries of the active segment on disk',
      () => entriesOnDisk(`${active}.index`, 8, 0) > 0 && entriesOnDisk(`${active}.timeindex`, 12, 8) > 0,
    );
  }

  beforeAll(async () => {
    await ensureKafkaTools();
    broker = await new BrokerProcess({
      overrides: {
        'num.partitions': '1',
        'log.segment.bytes': '16384',
        'log.index.interval.bytes': String(INDEX_INTERVAL),
      },
    }).start();
    partDir = join(broker.dataDir, `${TOPIC}-0`);
  });

  afterAll(async () => {
    await broker?.cleanup();
  });

  it('verifies every index while the broker runs, and the data log shows what was acknowledged', async () => {
    await produceRound(60);
    await waitForActiveEntries();
    await checkIndexes(partDir, true);
    await checkData(partDir, acked);
  });

  it('reads the producer snapshot written at clean shutdown', async () => {
    expect(await broker.stop()).toBe(0);
    const batches = await checkData(partDir, acked);
    const end = BigInt(Math.max(...acked.map((a) => a.offset)) + 1);
    const snapshot = join(partDir, `${pad(end)}.snapshot`);
    expect(existsSync(snapshot)).toBe(true);
    const r = await runKafkaTool('kafka-dump-log', ['--files', snapshot]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    // What the log says each idempotent producer last wrote, read by DumpLogSegments from the .log.
    const last = new Map<bigint, DumpedBatch>();
    for (const b of batches) if (b.producerId >= 0n) last.set(b.producerId, b);
    // Five idempotent producers in the first run (one per codec), one more per top-up run.
    expect(last.size).toBeGreaterThanOrEqual(5);
    const expected = [...last.values()]
      .map(
        (b) =>
          `producerId: ${b.producerId} producerEpoch: ${b.producerEpoch} coordinatorEpoch: -1 ` +
          `currentTxnFirstOffset: OptionalLong.empty lastTimestamp: ${b.maxTimestamp} ` +
          `firstSequence: ${b.baseSequence} lastSequence: ${b.lastSequence} lastOffset: ${b.lastOffset} ` +
          `offsetDelta: ${b.lastOffset - b.baseOffset} timestamp: ${b.maxTimestamp}`,
      )
      .sort();
    const dumped = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('producerId: '))
      .map((l) => l.trim())
      .sort();
    expect(dumped).toEqual(expected);
  });

  it('verifies every index after a clean restart, before and after new appends', async () => {
    await broker.start();
    // Nothing appended yet: the active segment's files are as the clean shutdown left them, trimmed.
    const bases = segmentBases(partDir);
    const activeIdx = join(partDir, `${pad(bases[bases.length - 1]!)}.index`);
    expect(statSync(activeIdx).size).toBe(entriesOnDisk(activeIdx, 8, 0) * 8);
    await checkIndexes(partDir, false);
    // Appends reopen the active segment (preallocated again) or roll to new ones.
    await produceRound(12);
    await waitForActiveEntries();
    await checkIndexes(partDir, true);
    await checkData(partDir, acked);
  });

  it('verifies every index after a SIGKILL and restart', async () => {
    await produceRound(6);
    await broker.kill();
    await broker.start();
    await checkIndexes(partDir, false);
    await checkData(partDir, acked);
    await produceRound(6);
    await waitForActiveEntries();
    await checkIndexes(partDir, true);
    await checkData(partDir, acked);
  });
});

describe('producer snapshot of the earlier JSON format', { timeout: 300_000 }, () => {
  let broker: BrokerProcess;
  afterAll(async () => {
    await broker?.cleanup();
  });

  it('is migrated on load, and retried batches are deduplicated after restarts', async () => {
    broker = await new BrokerProcess({ overrides: { 'num.partitions': '1' } }).start();
    const topic = 'json-snapshot';
    let c = await RawClient.connect(broker.port);
    const created = await c.request(ApiKeys.CreateTopics, 4, {
      topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    expect(created.topics[0]!.errorCode).toBe(0);
    const init = await c.request(ApiKeys.InitProducerId, 1, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
    });
    expect(init.errorCode).toBe(0);
    const { producerId, producerEpoch } = init;
    const batch = (seq: number, count: number): Buffer =>
      buildRecordBatch(
        Array.from({ length: count }, (_, i) => ({ key: `k${seq + i}`, value: `v${seq + i}` })),
        { producerId, producerEpoch, baseSequence: seq },
      );
    const send = async (seq: number, count: number) => {
      const res = await c.request(ApiKeys.Produce, 7, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 30_000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records: batch(seq, count) }] }],
      });
      const p = res.responses[0]!.partitionResponses[0]!;
      return { errorCode: p.errorCode, baseOffset: p.baseOffset };
    };
    expect(await send(0, 5)).toEqual({ errorCode: 0, baseOffset: 0n });
    expect(await send(5, 3)).toEqual({ errorCode: 0, baseOffset: 5n });
    c.close();
    expect(await broker.stop()).toBe(0);

    // Replace the snapshot the shutdown wrote with the same state in the earlier JSON format (both
    // batches retained, as that format kept up to five).
    const dir = join(broker.dataDir, `${topic}-0`);
    for (const f of readdirSync(dir)) if (f.endsWith('.snapshot')) unlinkSync(join(dir, f));
    const file = join(dir, `${pad(8)}.snapshot`);
    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        offset: '8',
        producers: [
          {
            producerId: producerId.toString(),
            epoch: producerEpoch,
            lastTimestamp: Date.now(),
            batches: [
              { firstSeq: 0, lastSeq: 4, firstOffset: '0', lastOffset: '4', timestamp: '1' },
              { firstSeq: 5, lastSeq: 7, firstOffset: '5', lastOffset: '7', timestamp: '2' },
            ],
          },
        ],
      }),
    );

    await broker.start();
    // Loading the partition rewrites the snapshot in Kafka's format, which Kafka's tool reads.
    await waitFor('the JSON snapshot rewritten', () => readFileSync(file).readInt16BE(0) === 1);
    const dumped = await runKafkaTool('kafka-dump-log', ['--files', file]);
    expect(dumped.code, dumped.stderr).toBe(0);
    expect(dumped.stdout).toContain(
      `producerId: ${producerId} producerEpoch: ${producerEpoch} coordinatorEpoch: -1 currentTxnFirstOffset: OptionalLong.empty lastTimestamp: 2 firstSequence: 5 lastSequence: 7 lastOffset: 7 offsetDelta: 2 timestamp: 2`,
    );
    c = await RawClient.connect(broker.port);
    // Retries of both batches (the older one is known only from the JSON file) are duplicates with
    // their original offsets; nothing is appended twice.
    expect(await send(0, 5)).toEqual({ errorCode: 0, baseOffset: 0n });
    expect(await send(5, 3)).toEqual({ errorCode: 0, baseOffset: 5n });
    expect(await send(8, 2)).toEqual({ errorCode: 0, baseOffset: 8n });
    expect((await send(20, 1)).errorCode).toBe(45); // OUT_OF_ORDER_SEQUENCE_NUMBER
    c.close();

    // And once more across a restart, now from the Kafka-format snapshot.
    expect(await broker.stop()).toBe(0);
    await broker.start();
    c = await RawClient.connect(broker.port);
    expect(await send(8, 2)).toEqual({ errorCode: 0, baseOffset: 8n });
    expect(await send(10, 1)).toEqual({ errorCode: 0, baseOffset: 10n });
    c.close();
  });
});
