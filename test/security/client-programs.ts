/**
 * The real clients the security tests drive, each with TLS/SASL settings: the Java client (Kafka
 * 4.4.0's kafka-clients, a single-file program), confluent-kafka-python and kcat (librdkafka), and
 * kafkajs. Each returns what the client printed; the tests assert on that.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { REPO_ROOT } from '../helpers/broker-process.js';
import { run, runPython, type RunResult } from '../helpers/clients.js';
import { ensureKafkaTools } from '../helpers/kafka-tools.js';

// ---- Java ----

/** Kafka client properties → a temp file; runs SecureClient.java with Kafka 4.4.0's jars. */
export async function javaClient(args: string[], props: Record<string, string>): Promise<RunResult> {
  const lib = await ensureKafkaTools();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-java-props-'));
  try {
    const file = join(dir, 'client.properties');
    writeFileSync(
      file,
      Object.entries(props)
        .map(([k, v]) => `${k}=${v.replace(/\\/g, '\\\\')}`)
        .join('\n'),
    );
    return await run(
      'java',
      [
        '-cp',
        `${lib}/*`,
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=error',
        '-Xmx256m',
        '-XX:+UseSerialGC',
        join(REPO_ROOT, 'test/security/java/SecureClient.java'),
        args[0]!,
        file,
        ...args.slice(1),
      ],
      { timeoutMs: 180_000 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- confluent-kafka-python ----

const PYTHON = String.raw`
import json, sys, time, base64
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

conf = json.loads(sys.argv[1])
mode = sys.argv[2]
errors = []
conf['error_cb'] = lambda e: errors.append(str(e))
token = conf.pop('oauth_token', None)
if token is not None:
    # The token goes to the broker as given; librdkafka only needs a future expiry to send it.
    conf['oauth_cb'] = lambda _cfg: (token, time.time() + 3600)

if mode == 'connect':
    a = AdminClient(conf)
    if token is not None:
        a.poll(1)  # runs oauth_cb
    try:
        md = a.list_topics(timeout=5)
        print('brokers', len(md.brokers))
    except Exception as e:
        print('error', e)
    a.poll(1)  # serves error_cb
    for e in errors:
        print('error_cb', e)
    sys.exit(0)

topic, count = sys.argv[3], int(sys.argv[4])
p = Producer(dict(conf, acks='all'))
acked = []
for i in range(count):
    p.produce(topic, key=b'k%d' % i, value=b'py-%d' % i, on_delivery=lambda err, msg: acked.append(err))
p.flush(60)
if len(acked) != count or any(acked):
    print('produce failed', acked, errors)
    sys.exit(1)
print('produced', count)
c = Consumer(dict(conf, **{'group.id': 'sec-py-' + topic, 'auto.offset.reset': 'earliest', 'enable.auto.commit': False}))
md = c.list_topics(topic, timeout=30)
c.assign([TopicPartition(topic, p, 0) for p in md.topics[topic].partitions])
vals = []
deadline = time.time() + 60
while len(vals) < count and time.time() < deadline:
    m = c.poll(0.5)
    if m is not None and not m.error():
        vals.append(m.value().decode())
c.close()
print('consumed', len(vals), ','.join(sorted(vals)))
`;

export function pythonClient(conf: Record<string, string>, args: string[]): Promise<RunResult> {
  return runPython(PYTHON, [JSON.stringify(conf), ...args], 180_000);
}

// ---- kcat ----

export function kcat(args: string[], conf: Record<string, string>, input?: string): Promise<RunResult> {
  const x = Object.entries(conf).flatMap(([k, v]) => ['-X', `${k}=${v}`]);
  return run('kcat', [...x, ...args], { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
}

// ---- kafkajs ----

export function kafkajsClient(brokers: string, extra: Partial<kafkajs.KafkaConfig>): kafkajs.Kafka {
  return new kafkajs.Kafka({
    brokers: [brokers],
    clientId: 'sluice-security-test',
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100 },
    connectionTimeout: 10_000,
    ...extra,
  });
}

/** Produce `count` records with acks=all and read them back; returns the values read, sorted. */
export async function kafkajsRoundtrip(k: kafkajs.Kafka, topic: string, count: number): Promise<string[]> {
  const producer = k.producer();
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `js-${i}` })),
    });
  } finally {
    await producer.disconnect();
  }
  const consumer = k.consumer({ groupId: `sec-js-${topic}` });
  await consumer.connect();
  const values: string[] = [];
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`only ${values.length} of ${count} records read`)), 60_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          values.push(message.value!.toString());
          if (values.length >= count) {
            clearTimeout(t);
            resolve();
          }
          return Promise.resolve();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return values.sort();
}

export const pem = (path: string): string => readFileSync(path, 'utf8');
