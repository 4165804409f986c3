/**
 * A Kafka client (kafkajs) for the e2e suite, run inside the node's network namespace with the
 * cluster's DNS (in-node.sh), where the brokers' advertised pod names resolve. One JSON object per
 * output line.
 *
 *   kafka-probe.ts produce  --bootstrap B --topic T [--count N] [--prefix P]
 *       acks=all; without --count it sends until SIGTERM, one message at a time, and retries a
 *       message until it is acknowledged: {"ack":"P-17","partition":3,"offset":"5"} per message,
 *       {"error":"...","value":"P-18"} per failed attempt.
 *   kafka-probe.ts isr      --bootstrap B --topic T [--interval-ms 500] [--once]
 *       {"t":…,"partitions":[{"partition":0,"leader":1,"replicas":[1,2,0],"isr":[1,2,0]}…]}
 *   kafka-probe.ts configs  --bootstrap B --topic T          {"configs":{"retention.ms":"…",…}}
 *   kafka-probe.ts alter    --bootstrap B --topic T --set k=v   (a change behind the operator's back)
 */
import { parseArgs } from 'node:util';
import kafkajs from 'kafkajs';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    bootstrap: { type: 'string' },
    topic: { type: 'string' },
    count: { type: 'string' },
    prefix: { type: 'string', default: 'm' },
    'interval-ms': { type: 'string', default: '500' },
    once: { type: 'boolean', default: false },
    set: { type: 'string', multiple: true },
  },
});
const mode = positionals[0];
const topic = values.topic!;
const kafka = new Kafka({
  clientId: 'sluice-e2e-probe',
  brokers: [values.bootstrap!],
  logLevel: logLevel.NOTHING,
  retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
  connectionTimeout: 5000,
  requestTimeout: 15000,
});
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let stopping = false;
process.on('SIGTERM', () => (stopping = true));
process.on('SIGINT', () => (stopping = true));

if (mode === 'produce') {
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  const count = values.count ? Number(values.count) : Infinity;
  for (let i = 0; i < count && !stopping;) {
    const value = `${values.prefix}-${i}`;
    try {
      const [r] = await producer.send({ topic, acks: -1, timeout: 10000, messages: [{ key: value, value }] });
      out({ ack: value, partition: r?.partition, offset: r?.baseOffset });
      i++;
    } catch (err) {
      out({ error: err instanceof Error ? err.message : String(err), value });
      await sleep(200);
    }
  }
  await producer.disconnect();
} else if (mode === 'isr') {
  const admin = kafka.admin();
  await admin.connect();
  do {
    try {
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      const t = md.topics[0]!;
      out({
        t: Date.now(),
        partitions: t.partitions
          .map((p) => ({ partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr }))
          .sort((a, b) => a.partition - b.partition),
      });
    } catch (err) {
      out({ t: Date.now(), error: err instanceof Error ? err.message : String(err) });
    }
    if (!values.once) await sleep(Number(values['interval-ms']));
  } while (!values.once && !stopping);
  await admin.disconnect();
} else if (mode === 'configs') {
  const admin = kafka.admin();
  await admin.connect();
  const r = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
  });
  const configs: Record<string, string> = {};
  for (const e of r.resources[0]?.configEntries ?? [])
    if (!e.isDefault) configs[e.configName] = e.configValue;
  out({ configs });
  await admin.disconnect();
} else if (mode === 'alter') {
  const admin = kafka.admin();
  await admin.connect();
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: ConfigResourceTypes.TOPIC,
        name: topic,
        configEntries: (values.set ?? []).map((kv) => {
          const i = kv.indexOf('=');
          return { name: kv.slice(0, i), value: kv.slice(i + 1) };
        }),
      },
    ],
  });
  out({ altered: values.set });
  await admin.disconnect();
} else {
  console.error('usage: kafka-probe.ts produce|isr|configs|alter --bootstrap B --topic T ...');
  process.exit(2);
}
process.exit(0);
