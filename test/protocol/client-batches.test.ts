/**
 * RecordBatches written by real clients decode to the records that were sent: librdkafka (through
 * Debian's python3-confluent-kafka) with every codec, kafkajs with none and gzip (the only codecs it
 * ships). Each client produces to a CaptureBroker on 127.0.0.1, which keeps the raw batch bytes.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CompressionType, RECORDS_OFFSET } from '../../src/protocol/records/batch-header.js';
import { isXerialSnappy } from '../../src/protocol/records/compression.js';
import { decodeRecordBatches } from '../../src/protocol/records/batch.js';
import type { Record } from '../../src/protocol/records/record.js';
import { validateRecordBatchForAppend } from '../../src/protocol/records/validate.js';
import { CaptureBroker } from '../helpers/capture-broker.js';

const PYTHON = '/usr/bin/python3';
const SNAPPY_XERIAL_FROM_LIBRDKAFKA = false;
const N = 25;

interface Sent {
  key: string | null;
  value: string;
  headers: [string, string][];
}

/** The messages every client sends: a null key, binary-ish and compressible values, headers. */
function messages(tag: string): Sent[] {
  return Array.from({ length: N }, (_, i) => ({
    key: i === 3 ? null : `key-${tag}-${i}`,
    value: i % 5 === 0 ? `${tag} value ${i} `.repeat(200) : `v${i}-é-\u2603`,
    headers:
      i % 2 === 0
        ? [
            ['h-one', `hv${i}`],
            ['h-two', 'x'],
          ]
        : [],
  }));
}

function plain(r: Record): Sent {
  return {
    key: r.key === null ? null : r.key.toString('utf8'),
    value: r.value!.toString('utf8'),
    headers: r.headers.map(
      (h) => [h.key, h.value === null ? '' : h.value.toString('utf8')] as [string, string],
    ),
  };
}

async function decodeCaptured(broker: CaptureBroker, expectCodec: CompressionType): Promise<Sent[]> {
  const out: Sent[] = [];
  for (const p of broker.produced) {
    const v = await validateRecordBatchForAppend(p.records);
    expect(v.ok, v.ok ? '' : v.error.message).toBe(true);
    const { batches, partial } = await decodeRecordBatches(p.records);
    expect(partial).toBeNull();
    for (const b of batches) {
      // librdkafka sends a batch uncompressed when compressing would not make it smaller (a batch
      // that happens to hold only short values); a batch holding a long repetitive value must be
      // compressed with the codec asked for.
      const hasLongValue = b.records.some((r) => (r.value?.length ?? 0) > 1000);
      if (hasLongValue || expectCodec === CompressionType.None) {
        expect(b.compression).toBe(expectCodec);
      } else {
        expect([expectCodec, CompressionType.None]).toContain(b.compression);
      }
      out.push(...b.records.map(plain));
    }
  }
  return out;
}

const PRODUCER_PY = `
import json, sys
from confluent_kafka import Producer
bootstrap, codec = sys.argv[1], sys.argv[2]
msgs = json.loads(sys.stdin.read())
p = Producer({'bootstrap.servers': bootstrap, 'compression.type': codec, 'linger.ms': 200,
              'api.version.request': True, 'socket.timeout.ms': 10000, 'message.timeout.ms': 20000})
errors = []
def cb(err, msg):
    if err is not None: errors.append(str(err))
for m in msgs:
    p.produce('capture', key=None if m['key'] is None else m['key'].encode(), value=m['value'].encode(),
              headers=[(k, v.encode()) for k, v in m['headers']], on_delivery=cb)
left = p.flush(20)
print(json.dumps({'left': left, 'errors': errors}))
`;

function runPython(
  args: string[],
  input: string,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, ['-c', PRODUCER_PY, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

const hasConfluent =
  existsSync(PYTHON) &&
  (await new Promise<boolean>((resolve) => {
    const c = spawn(PYTHON, ['-c', 'import confluent_kafka'], { stdio: 'ignore' });
    c.on('close', (code) => resolve(code === 0));
    c.on('error', () => resolve(false));
  }));

let broker: CaptureBroker;
beforeEach(async () => {
  broker = await CaptureBroker.start();
});
afterEach(async () => {
  await broker.close();
});

const LIBRDKAFKA_CODECS: [string, CompressionType][] = [
  ['none', CompressionType.None],
  ['gzip', CompressionType.Gzip],
  ['snappy', CompressionType.Snappy],
  ['lz4', CompressionType.Lz4],
  ['zstd', CompressionType.Zstd],
];

describe.skipIf(!hasConfluent)('librdkafka (confluent-kafka-python) batches', () => {
  it.each(LIBRDKAFKA_CODECS)('%s', async (codec, type) => {
    const sent = messages(`rdk-${codec}`);
    const r = await runPython([broker.bootstrap, codec], JSON.stringify(sent), 40_000);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ left: 0, errors: [] });
    expect(broker.produced.length).toBeGreaterThan(0);
    expect(broker.produced.every((p) => p.topic === 'capture' && p.records[16] === 2)).toBe(true);
    expect(await decodeCaptured(broker, type)).toEqual(sent);
    if (type === CompressionType.Snappy) {
      // librdkafka writes one raw snappy block for magic 2 (no xerial framing); we read both.
      expect(broker.produced.map((p) => isXerialSnappy(p.records.subarray(RECORDS_OFFSET)))).toEqual(
        broker.produced.map(() => SNAPPY_XERIAL_FROM_LIBRDKAFKA),
      );
    }
  });
});

describe('kafkajs batches', () => {
  it.each([
    ['none', CompressionTypes.None, CompressionType.None],
    ['gzip', CompressionTypes.GZIP, CompressionType.Gzip],
  ] as const)('%s', async (codec, kjsType, type) => {
    const sent = messages(`kjs-${codec}`);
    const kafka = new Kafka({
      clientId: 'capture-test',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 1 },
    });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({
        topic: 'capture',
        compression: kjsType,
        messages: sent.map((m) => ({
          key: m.key,
          value: m.value,
          headers: Object.fromEntries(m.headers),
        })),
      });
    } finally {
      await producer.disconnect();
    }
    expect(await decodeCaptured(broker, type)).toEqual(sent);
  });
});
