/**
 * Capture what real clients put on the wire, and what Sluice answers.
 *
 *   node --import tsx tools/capture-fixtures.ts [--out test/fixtures/protocol]
 *
 * Starts a RecordingProxy on 127.0.0.1, a real Sluice broker advertising the proxy's address (so every
 * connection, not only the bootstrap one, goes through it), and runs a fixed session of client steps:
 * kcat (librdkafka) metadata, produce (no codec, gzip), consume (read_committed, read_uncommitted),
 * then kafkajs admin (create topic, metadata) and producer (no codec, gzip). Each step says what the
 * client was asked to send, so test/protocol/client-fixtures.test.ts can check the decoded requests
 * against it. As a script, it writes a chosen set of exchanges to test/fixtures/protocol/*.json
 * (hex frames without the size prefix), which the fixture test decodes and re-encodes without any
 * client installed. The bytes differ from run to run (timestamps, ports, CRCs); refresh them freely.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import {
  apiByKey,
  decodeRequest,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../src/protocol/messages/index.js';
import { BrokerProcess, REPO_ROOT } from '../test/helpers/broker-process.js';
import { run } from '../test/helpers/clients.js';
import { type RecordedExchange, RecordingProxy } from '../test/helpers/recording-proxy.js';

export const KCAT = '/usr/bin/kcat';
export const KCAT_CLIENT_ID = 'sluice-fixtures-kcat';
export const KAFKAJS_CLIENT_ID = 'sluice-fixtures-kafkajs';

export interface SentMessage {
  key: string;
  value: string;
  headers: [string, string][];
}

export type StepName =
  | 'kcat-metadata'
  | 'kcat-produce-none'
  | 'kcat-produce-gzip'
  | 'kcat-consume-committed'
  | 'kcat-consume-uncommitted'
  | 'kafkajs-admin'
  | 'kafkajs-produce';

/** One client step and what its requests should carry. */
export interface StepSpec {
  name: StepName;
  client: 'kcat' | 'kafkajs';
  clientId: string;
  topic?: string;
  partition?: number;
  /** Produce: acks and codec (0 none, 1 gzip) asked for, and the messages sent. */
  acks?: number;
  codec?: 0 | 1;
  timeoutMs?: number;
  messages?: SentMessage[];
  /** Fetch: what the consumer was configured with. */
  isolationLevel?: 0 | 1;
  maxWaitMs?: number;
  minBytes?: number;
  maxBytes?: number;
  partitionMaxBytes?: number;
}

export interface StepResult extends StepSpec {
  /** Exit code and output of a kcat run (kafkajs steps: 0 and ''). */
  code: number | null;
  stdout: string;
  stderr: string;
  exchanges: RecordedExchange[];
}

export interface CapturedSession {
  kcatVersion: string | null;
  kafkajsVersion: string;
  steps: StepResult[];
  proxyErrors: Error[];
  /** Connections whose responses did not all match a request. */
  unmatchedResponses: number;
  /** The port clients were told the broker is at (the proxy). */
  proxyPort: number;
}

const msgs = (tag: string, n: number, headers: [string, string][]): SentMessage[] =>
  Array.from({ length: n }, (_, i) => ({
    key: `${tag}-key-${i}`,
    value: `${tag} value ${i} ` + 'x'.repeat(60 + i * 7),
    headers,
  }));

const KCAT_HEADERS: [string, string][] = [
  ['trace', 'abc123'],
  ['h2', 'second header'],
];

/** The fixed session. kcat headers apply to every message of a run (-H), so all share them. */
export function sessionSpecs(): StepSpec[] {
  return [
    { name: 'kcat-metadata', client: 'kcat', clientId: KCAT_CLIENT_ID },
    {
      name: 'kcat-produce-none',
      client: 'kcat',
      clientId: KCAT_CLIENT_ID,
      topic: 'fx-kcat-none',
      partition: 0,
      acks: -1,
      codec: 0,
      timeoutMs: 7000,
      messages: msgs('rdk-none', 5, KCAT_HEADERS),
    },
    {
      name: 'kcat-produce-gzip',
      client: 'kcat',
      clientId: KCAT_CLIENT_ID,
      topic: 'fx-kcat-gzip',
      partition: 0,
      acks: 1,
      codec: 1,
      timeoutMs: 8000,
      messages: msgs('rdk-gzip', 4, KCAT_HEADERS),
    },
    {
      name: 'kcat-consume-committed',
      client: 'kcat',
      clientId: KCAT_CLIENT_ID,
      topic: 'fx-kcat-none',
      partition: 0,
      isolationLevel: 1,
      maxWaitMs: 300,
      minBytes: 1,
      maxBytes: 4_000_000,
      partitionMaxBytes: 200_000,
    },
    {
      name: 'kcat-consume-uncommitted',
      client: 'kcat',
      clientId: KCAT_CLIENT_ID,
      topic: 'fx-kcat-gzip',
      partition: 0,
      isolationLevel: 0,
      maxWaitMs: 200,
      minBytes: 1,
      maxBytes: 3_000_000,
      partitionMaxBytes: 300_000,
    },
    { name: 'kafkajs-admin', client: 'kafkajs', clientId: KAFKAJS_CLIENT_ID, topic: 'fx-kafkajs' },
    {
      name: 'kafkajs-produce',
      client: 'kafkajs',
      clientId: KAFKAJS_CLIENT_ID,
      topic: 'fx-kafkajs',
      // Two sends: partition 0 acks=-1 no codec, partition 1 acks=1 gzip; `acks`/`codec` describe the first.
      partition: 0,
      acks: -1,
      codec: 0,
      timeoutMs: 9000,
      messages: msgs('kjs', 4, [
        ['h-a', 'alpha'],
        ['h-b', 'beta'],
      ]),
    },
  ];
}

/** The kafkajs second send (partition 1, acks 1, gzip). */
export const KAFKAJS_GZIP = {
  partition: 1,
  acks: 1,
  codec: 1 as const,
  timeoutMs: 9000,
  messages: msgs('kjs-gzip', 3, [['only', 'one']]),
};

export function kafkajsVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('kafkajs/package.json') as { version: string }).version;
}

export async function kcatVersion(): Promise<string | null> {
  const r = await run(KCAT, ['-V'], { timeoutMs: 10_000 });
  const m = /Version (\S+) .*librdkafka (\S+)/.exec(r.stdout + r.stderr);
  return m ? `kcat ${m[1]} (librdkafka ${m[2]})` : null;
}

async function runKcat(
  proxy: string,
  spec: StepSpec,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base = ['-b', proxy, '-X', `client.id=${spec.clientId}`, '-X', 'api.version.request=true'];
  const timeoutMs = 30_000;
  switch (spec.name) {
    case 'kcat-metadata':
      return run(KCAT, [...base, '-L'], { timeoutMs });
    case 'kcat-produce-none':
    case 'kcat-produce-gzip': {
      const args = [
        ...base,
        '-P',
        '-t',
        spec.topic!,
        '-p',
        String(spec.partition),
        '-z',
        spec.codec === 1 ? 'gzip' : 'none',
        '-K',
        '\t',
        '-X',
        `acks=${spec.acks}`,
        '-X',
        `request.timeout.ms=${spec.timeoutMs}`,
        '-X',
        'linger.ms=100',
      ];
      for (const [k, v] of spec.messages![0]!.headers) args.push('-H', `${k}=${v}`);
      const input = spec.messages!.map((m) => `${m.key}\t${m.value}\n`).join('');
      return run(KCAT, args, { input, timeoutMs });
    }
    case 'kcat-consume-committed':
    case 'kcat-consume-uncommitted':
      return run(
        KCAT,
        [
          ...base,
          '-C',
          '-t',
          spec.topic!,
          '-p',
          String(spec.partition),
          '-o',
          'beginning',
          '-e',
          '-f',
          '%k\t%s\t%h\n',
          '-X',
          `isolation.level=${spec.isolationLevel === 1 ? 'read_committed' : 'read_uncommitted'}`,
          '-X',
          `fetch.wait.max.ms=${spec.maxWaitMs}`,
          '-X',
          `fetch.min.bytes=${spec.minBytes}`,
          '-X',
          `fetch.max.bytes=${spec.maxBytes}`,
          '-X',
          `fetch.message.max.bytes=${spec.partitionMaxBytes}`,
        ],
        { timeoutMs },
      );
    default:
      throw new Error(`not a kcat step: ${spec.name}`);
  }
}

const kjsHeaders = (h: [string, string][]): Record<string, string> => Object.fromEntries(h);

async function runKafkajs(proxy: string, spec: StepSpec): Promise<void> {
  const kafka = new Kafka({
    clientId: spec.clientId,
    brokers: [proxy],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100 },
  });
  if (spec.name === 'kafkajs-admin') {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic: spec.topic!, numPartitions: 2, replicationFactor: 1 }],
        waitForLeaders: true,
      });
      await admin.fetchTopicMetadata({ topics: [spec.topic!] });
    } finally {
      await admin.disconnect();
    }
    return;
  }
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({
      topic: spec.topic!,
      acks: spec.acks!,
      timeout: spec.timeoutMs!,
      compression: CompressionTypes.None,
      messages: spec.messages!.map((m) => ({
        key: m.key,
        value: m.value,
        headers: kjsHeaders(m.headers),
        partition: spec.partition!,
      })),
    });
    await producer.send({
      topic: spec.topic!,
      acks: KAFKAJS_GZIP.acks,
      timeout: KAFKAJS_GZIP.timeoutMs,
      compression: CompressionTypes.GZIP,
      messages: KAFKAJS_GZIP.messages.map((m) => ({
        key: m.key,
        value: m.value,
        headers: kjsHeaders(m.headers),
        partition: KAFKAJS_GZIP.partition,
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

/** Wait until every request of the step that will get an answer has one (kcat may exit mid-fetch). */
async function settle(proxy: RecordingProxy): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const open = proxy.connections.filter((c) => !c.closed && c.exchanges.some((e) => e.response === null));
    if (open.length === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Run the whole session against a fresh broker. `include` limits it to some clients (the test skips
 * kcat when it is not installed).
 */
export async function captureSession(
  include: { kcat: boolean; kafkajs: boolean } = { kcat: true, kafkajs: true },
): Promise<CapturedSession> {
  const proxy = await RecordingProxy.listen();
  const broker = new BrokerProcess({ extraArgs: ['--advertise', proxy.address] });
  const steps: StepResult[] = [];
  try {
    await broker.start();
    proxy.setUpstream(broker.port);
    for (const spec of sessionSpecs()) {
      if (!include[spec.client]) continue;
      proxy.label = spec.name;
      let out = { code: 0 as number | null, stdout: '', stderr: '' };
      if (spec.client === 'kcat') out = await runKcat(proxy.address, spec);
      else await runKafkajs(proxy.address, spec);
      await settle(proxy);
      steps.push({ ...spec, ...out, exchanges: proxy.exchanges.filter((e) => e.label === spec.name) });
    }
    return {
      kcatVersion: include.kcat ? await kcatVersion() : null,
      kafkajsVersion: kafkajsVersion(),
      steps,
      proxyErrors: [...proxy.errors],
      unmatchedResponses: proxy.connections.reduce((n, c) => n + c.unmatched.length, 0),
      proxyPort: proxy.port,
    };
  } finally {
    await proxy.close();
    await broker.cleanup();
  }
}

/** A committed fixture: one request frame and the broker's response, hex, without size prefixes. */
export interface ProtocolFixture {
  description: string;
  client: string;
  clientVersion: string;
  clientId: string;
  apiKey: number;
  apiName: string;
  apiVersion: number;
  requestHeaderVersion: number;
  responseHeaderVersion: number;
  correlationId: number;
  request: string;
  response: string | null;
  responseFrom: string;
}

/**
 * Which exchanges become fixtures: file name = `${base}-v${version}${suffix}.json`; the step; the api
 * key; which of that step's exchanges of the key; a description.
 */
type Pick = (e: RecordedExchange[]) => RecordedExchange | undefined;
const first: Pick = (e) => e[0];
/** The fetch whose response carried records (the later ones are empty long polls). */
const withRecords: Pick = (e) => e.find((x) => (x.response?.length ?? 0) > 200);
/** Metadata requests by what they ask for: null = all topics, [] = brokers only, else named topics. */
const metadataTopics = (x: RecordedExchange): 'all' | 'none' | 'named' => {
  const d = decodeRequest(x.request);
  if (d.apiKey !== 3) throw new Error('not a Metadata request');
  return d.body.topics === null ? 'all' : d.body.topics.length === 0 ? 'none' : 'named';
};
const FIXTURES: [string, string, StepName | StepName[], number, Pick, string][] = [
  [
    'kcat-api-versions',
    '',
    'kcat-metadata',
    18,
    first,
    'librdkafka ApiVersions v3: flexible, client software name/version',
  ],
  [
    'kcat-metadata',
    '',
    'kcat-metadata',
    3,
    (e) => e.find((x) => metadataTopics(x) === 'all'),
    'kcat -L: Metadata for all topics (null array)',
  ],
  [
    'kcat-metadata',
    '-brokers',
    ['kcat-metadata', 'kcat-produce-none', 'kcat-produce-gzip', 'kcat-consume-committed'],
    3,
    (e) => e.find((x) => metadataTopics(x) === 'none'),
    'librdkafka on connect: Metadata for brokers only (empty array)',
  ],
  [
    'kcat-produce',
    '-none',
    'kcat-produce-none',
    0,
    first,
    'kcat -P -z none, acks=all, keyed records with headers',
  ],
  ['kcat-produce', '-gzip', 'kcat-produce-gzip', 0, first, 'kcat -P -z gzip, acks=1'],
  ['kcat-list-offsets', '', 'kcat-consume-committed', 2, first, 'kcat -C -o beginning: earliest offset'],
  [
    'kcat-fetch',
    '-none',
    'kcat-consume-committed',
    1,
    withRecords,
    'kcat -C, read_committed: the fetch that returned the records',
  ],
  [
    'kcat-fetch',
    '-gzip',
    'kcat-consume-uncommitted',
    1,
    withRecords,
    'kcat -C, read_uncommitted: a gzip batch',
  ],
  ['kafkajs-api-versions', '', 'kafkajs-admin', 18, first, 'kafkajs ApiVersions (it tries v2 first)'],
  ['kafkajs-create-topics', '', 'kafkajs-admin', 19, first, 'kafkajs admin.createTopics'],
  [
    'kafkajs-metadata',
    '',
    'kafkajs-admin',
    3,
    (e) => e.find((x) => metadataTopics(x) === 'named'),
    'kafkajs admin: Metadata for one topic',
  ],
  ['kafkajs-produce', '-none', 'kafkajs-produce', 0, first, 'kafkajs producer.send, no codec, acks=-1'],
  ['kafkajs-produce', '-gzip', 'kafkajs-produce', 0, (e) => e[1], 'kafkajs producer.send, gzip, acks=1'],
];

export function selectFixtures(session: CapturedSession): Map<string, ProtocolFixture> {
  const out = new Map<string, ProtocolFixture>();
  for (const [base, suffix, stepNames, apiKey, pick, description] of FIXTURES) {
    // The first of the steps (that ran) with a matching exchange.
    const found = [stepNames]
      .flat()
      .map((n) => session.steps.find((s) => s.name === n))
      .filter((s) => s !== undefined)
      .map((step) => ({ step, ex: pick(step.exchanges.filter((e) => e.apiKey === apiKey)) }));
    if (found.length === 0) continue;
    const hit = found.find((f) => f.ex !== undefined);
    if (hit === undefined) throw new Error(`no ${base}${suffix} exchange in ${String(stepNames)}`);
    const { step, ex } = hit as { step: StepResult; ex: RecordedExchange };
    const name = `${base}-v${ex.apiVersion}${suffix}`;
    out.set(name, {
      description,
      client: step.client,
      clientVersion:
        step.client === 'kcat' ? (session.kcatVersion ?? 'kcat') : `kafkajs ${session.kafkajsVersion}`,
      clientId: step.clientId,
      apiKey,
      apiName: apiByKey(apiKey)!.name,
      apiVersion: ex.apiVersion,
      requestHeaderVersion: requestHeaderVersion(apiKey, ex.apiVersion),
      responseHeaderVersion: responseHeaderVersion(apiKey, ex.apiVersion),
      correlationId: ex.correlationId,
      request: ex.request.toString('hex'),
      response: ex.response === null ? null : ex.response.toString('hex'),
      responseFrom: 'sluice (this repository)',
    });
  }
  return out;
}

async function main(args: string[]): Promise<number> {
  const i = args.indexOf('--out');
  const outDir = resolve(i >= 0 ? args[i + 1]! : join(REPO_ROOT, 'test/fixtures/protocol'));
  const session = await captureSession();
  for (const s of session.steps) {
    if (s.code !== 0) throw new Error(`step ${s.name} failed (${s.code}):\n${s.stderr}`);
  }
  if (session.proxyErrors.length > 0)
    throw new Error(`proxy errors: ${session.proxyErrors.map((e) => e.message).join('; ')}`);
  const fixtures = selectFixtures(session);
  mkdirSync(outDir, { recursive: true });
  for (const f of readdirSync(outDir)) if (f.endsWith('.json')) rmSync(join(outDir, f));
  for (const [name, fx] of fixtures)
    writeFileSync(join(outDir, `${name}.json`), JSON.stringify(fx, null, 2) + '\n');
  console.log(`wrote ${fixtures.size} fixtures to ${outDir}`);
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
