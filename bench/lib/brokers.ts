/**
 * The two brokers under test, started the same way for every scenario: Sluice from the built dist/
 * (node, default heap), Apache Kafka 3.9 in KRaft combined mode (one process is broker and controller)
 * with the JVM settings of Kafka's own kafka-server-start.sh (-Xmx1G -Xms1G, G1). Both listen on free
 * loopback ports and write to temp dirs that are removed when the broker stops.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { KAFKA_VERSION, javaBin, kafkaClasspath, producerPerf } from './java.js';
import { createTopic, deleteTopic } from './wire.js';
import { REPO_ROOT } from './paths.js';
import {
  freePort,
  onLines,
  removeTempDir,
  runToEnd,
  sampleProc,
  spawnTracked,
  stopChild,
  tempDir,
  type ProcSample,
} from './proc.js';

export type BrokerKind = 'sluice' | 'kafka';

export interface Broker {
  kind: BrokerKind;
  port: number;
  bootstrap: string;
  pid: number;
  /** The broker's log dir (Sluice's --data-dir, Kafka's log.dirs) */
  dataDir: string;
  /** Date.now() when the broker process was spawned (after storage format, for Kafka) */
  spawnedAt: number;
  stats(): ProcSample;
  /**
   * SIGTERM, SIGKILL after `graceMs`, then remove the data dir. Default: SIGKILL at once — nothing is
   * measured after a broker stops, and a graceful Kafka shutdown with 10,000 partitions alone takes
   * longer than some measurements.
   */
  stop(graceMs?: number): Promise<void>;
}

export const LABEL: Record<BrokerKind, string> = { sluice: 'Sluice', kafka: `Kafka ${KAFKA_VERSION}` };

/** Which brokers to run: BENCH_BROKERS=sluice runs Sluice alone (no ratios), default both. */
export function brokerKinds(): BrokerKind[] {
  const env = process.env.BENCH_BROKERS;
  if (!env) return ['sluice', 'kafka'];
  return env.split(',').filter((k): k is BrokerKind => k === 'sluice' || k === 'kafka');
}

export function waitForLine(
  child: ChildProcess,
  what: string,
  match: (line: string) => boolean,
  timeoutMs: number,
  logs: string[],
): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`${what}: not ready after ${timeoutMs} ms\n${logs.slice(-30).join('\n')}`)),
      timeoutMs,
    );
    onLines(child, (line) => {
      logs.push(line);
      if (logs.length > 500) logs.shift();
      if (match(line)) {
        clearTimeout(t);
        resolve(line);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      reject(
        new Error(`${what} exited before it was ready (${code ?? signal}):\n${logs.slice(-30).join('\n')}`),
      );
    });
  });
}

export function handle(
  kind: BrokerKind,
  child: ChildProcess,
  port: number,
  spawnedAt: number,
  dir: string,
): Broker {
  const pid = child.pid!;
  let last: ProcSample = { cpuSeconds: 0, rssBytes: 0, peakRssBytes: 0, threads: 0 };
  return {
    kind,
    port,
    bootstrap: `127.0.0.1:${port}`,
    pid,
    dataDir: join(dir, 'data'),
    spawnedAt,
    stats() {
      last = sampleProc(pid) ?? last;
      return last;
    },
    async stop(graceMs = 0) {
      await stopChild(child, graceMs);
      removeTempDir(dir);
    },
  };
}

export interface SluiceOptions {
  /** Write a V8 CPU profile (node --cpu-prof) into this dir when the broker exits. */
  cpuProfDir?: string;
  overrides?: Record<string, string>;
  /** Listen on this port (default: any free one). */
  port?: number;
  /** More `sluice broker` arguments (cluster mode: --etcd, --cluster-id, --node-id). */
  extraArgs?: string[];
}

export async function startSluice(opts: SluiceOptions = {}): Promise<Broker> {
  const dir = tempDir('sluice-bench-broker-');
  const nodeArgs = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
  const args = [
    ...nodeArgs,
    join(REPO_ROOT, 'dist/src/cli/main.js'),
    'broker',
    // `listeners` in the overrides (several listeners) replaces --listen.
    ...(opts.overrides?.listeners ? [] : ['--listen', `127.0.0.1:${opts.port ?? 0}`]),
    '--data-dir',
    join(dir, 'data'),
    '--log-level',
    'info',
  ];
  args.push(...(opts.extraArgs ?? []));
  for (const [k, v] of Object.entries(opts.overrides ?? {})) args.push('--override', `${k}=${v}`);
  const spawnedAt = Date.now();
  const child = spawnTracked(process.execPath, args, { cwd: dir });
  const logs: string[] = [];
  const line = await waitForLine(child, 'sluice broker', (l) => l.includes('"broker started"'), 60_000, logs);
  const port = (JSON.parse(line) as { port: number }).port;
  return handle('sluice', child, port, spawnedAt, dir);
}

/** Kafka's JVM flags from bin/kafka-run-class.sh and bin/kafka-server-start.sh. */
export const KAFKA_BROKER_JVM = [
  '-Xmx1G',
  '-Xms1G',
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-XX:MaxInlineLevel=15',
  '-Djava.awt.headless=true',
];

export interface KafkaStart {
  broker: Broker;
  /** seconds spent in `kafka-storage format` (a separate step before the first start) */
  formatSeconds: number;
}

/**
 * A KRaft cluster id: 16 random bytes, base64url, like `kafka-storage random-uuid` — which never
 * starts one with '-' (the storage tool's argument parser would read it as an option).
 */
export function kafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export interface KafkaNodeOptions {
  nodeId?: number;
  port?: number;
  controllerPort?: number;
  /** `controller.quorum.voters` (default: this node alone) */
  voters?: string;
  /** KRaft cluster id shared by every node (default: a new one) */
  clusterId?: string;
  /** replication factor of Kafka's internal topics (default 1) */
  internalTopicsRf?: number;
}

/**
 * config/kraft/server.properties as shipped (KRaft combined mode: broker and controller in one
 * process), with loopback ports and a temp log dir.
 */
function kafkaProps(
  nodeId: number,
  port: number,
  controllerPort: number,
  voters: string,
  dataDir: string,
  internalRf: number,
): string[] {
  return [
    'process.roles=broker,controller',
    `node.id=${nodeId}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'inter.broker.listener.name=PLAINTEXT',
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
    'num.network.threads=3',
    'num.io.threads=8',
    'socket.send.buffer.bytes=102400',
    'socket.receive.buffer.bytes=102400',
    'socket.request.max.bytes=104857600',
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    'num.recovery.threads.per.data.dir=1',
    `offsets.topic.replication.factor=${internalRf}`,
    `transaction.state.log.replication.factor=${internalRf}`,
    `transaction.state.log.min.isr=${Math.min(2, internalRf)}`,
    'log.retention.hours=168',
    'log.segment.bytes=1073741824',
    'log.retention.check.interval.ms=300000',
  ];
}

export async function startKafka(opts: KafkaNodeOptions = {}): Promise<KafkaStart> {
  const cp = await kafkaClasspath();
  const dir = tempDir('kafka-bench-broker-');
  const nodeId = opts.nodeId ?? 1;
  const port = opts.port ?? (await freePort());
  const controllerPort = opts.controllerPort ?? (await freePort());
  const voters = opts.voters ?? `${nodeId}@127.0.0.1:${controllerPort}`;
  const props = kafkaProps(
    nodeId,
    port,
    controllerPort,
    voters,
    join(dir, 'data'),
    opts.internalTopicsRf ?? 1,
  );
  const propsFile = join(dir, 'server.properties');
  writeFileSync(propsFile, props.join('\n') + '\n');
  // Quiet logging, except the line that says the server is up.
  const log4j = join(dir, 'log4j.properties');
  writeFileSync(
    log4j,
    [
      'log4j.rootLogger=WARN, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka.server.KafkaRaftServer=INFO',
      'log4j.logger.kafka.Kafka=INFO',
      '',
    ].join('\n'),
  );
  const jvm = [
    ...KAFKA_BROKER_JVM,
    `-Dlog4j.configuration=file:${log4j}`,
    `-Dkafka.logs.dir=${join(dir, 'logs')}`,
    '-cp',
    cp,
  ];
  const clusterId = opts.clusterId ?? kafkaClusterId();
  const t0 = performance.now();
  await runToEnd(javaBin(), [
    '-Xmx256M',
    `-Dlog4j.configuration=file:${log4j}`,
    '-cp',
    cp,
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId,
    '-c',
    propsFile,
  ]);
  const formatSeconds = (performance.now() - t0) / 1000;
  const spawnedAt = Date.now();
  const child = spawnTracked(javaBin(), [...jvm, 'kafka.Kafka', propsFile], { cwd: dir });
  await waitForLine(child, `kafka broker ${nodeId}`, (l) => l.includes('Kafka Server started'), 120_000, []);
  return { broker: handle('kafka', child, port, spawnedAt, dir), formatSeconds };
}

export async function startBroker(kind: BrokerKind): Promise<Broker> {
  return kind === 'sluice' ? startSluice() : (await startKafka()).broker;
}

/**
 * Warm-up: ~6 s of ProducerPerformance (1 KiB, acks=1) on a scratch topic, so neither broker is
 * measured while its JIT (C2 for the JVM, TurboFan for node) is still compiling the hot paths.
 */
export async function warmUp(b: Broker): Promise<void> {
  await createTopic(b.port, 'warm-up', 4);
  await producerPerf({
    bootstrap: b.bootstrap,
    topic: 'warm-up',
    recordSize: 1024,
    acks: '1',
    producers: 1,
    warmup: 1,
    measure: 0,
  });
  await deleteTopic(b.port, 'warm-up');
}

/**
 * In a run of several scenarios, the single-node scenarios that use `withBrokers` share one warmed-up
 * Sluice and one Kafka (main.ts runs them back to back, then stops the pair before the scenarios that
 * start brokers of their own). It saves a JVM start, a storage format and two warm-ups per scenario —
 * minutes of an `all` run. Each scenario still works on fresh topics, and the peak-RSS figure is reset
 * when a scenario takes the pair over.
 */
let shared: Map<BrokerKind, Broker> | null = null;

export function shareBrokersAcrossScenarios(): void {
  shared ??= new Map();
}

export async function stopSharedBrokers(): Promise<void> {
  if (!shared) return;
  const brokers = [...shared.values()];
  shared = null;
  await Promise.all(brokers.map((b) => b.stop()));
}

/** Resets the kernel's peak-RSS counter (VmHWM) of `pid` (`5` to /proc/PID/clear_refs). */
function resetPeakRss(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Not permitted here: the peak then spans the scenarios run before.
  }
}

/** Starts (and warms up) the brokers of `kinds`, runs `fn`, and stops them (unless shared). */
export async function withBrokers<T>(kinds: BrokerKind[], fn: (brokers: Broker[]) => Promise<T>): Promise<T> {
  if (shared) {
    const pool = shared;
    const brokers: Broker[] = [];
    for (const k of kinds) {
      let b = pool.get(k);
      if (!b) {
        b = await startBroker(k);
        pool.set(k, b);
        await warmUp(b);
      }
      resetPeakRss(b.pid);
      brokers.push(b);
    }
    return fn(brokers);
  }
  const brokers: Broker[] = [];
  try {
    for (const k of kinds) brokers.push(await startBroker(k));
    for (const b of brokers) await warmUp(b);
    return await fn(brokers);
  } finally {
    await Promise.all(brokers.map((b) => b.stop()));
  }
}
