/**
 * Apache Kafka's jars and perf tools. `mvn dependency:copy-dependencies` with bench/kafka/pom.xml
 * copies the broker, kafka-tools and their dependencies into ~/.cache/sluice/kafka-<version>/ once;
 * bench/kafka/BenchClient.java is compiled against them (cached by content hash). The tools run with
 * the JVM settings of Kafka's own scripts (kafka-producer-perf-test.sh: -Xmx512M).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR } from './paths.js';
import { onLines, runToEnd, spawnTracked, sleep } from './proc.js';

const POM = join(BENCH_DIR, 'kafka/pom.xml');
export const KAFKA_VERSION = /<kafka\.version>([^<]+)</.exec(readFileSync(POM, 'utf8'))![1]!;
const CACHE = join(homedir(), '.cache/sluice');
export const KAFKA_JARS = join(CACHE, `kafka-${KAFKA_VERSION}`);

export function javaBin(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin/java') : 'java';
}

let jarsReady: Promise<string> | null = null;

/** The classpath of Kafka's jars, fetching them with Maven the first time. */
export function kafkaClasspath(): Promise<string> {
  jarsReady ??= (async () => {
    if (!existsSync(join(KAFKA_JARS, `kafka_2.13-${KAFKA_VERSION}.jar`))) {
      console.log(`  fetching Apache Kafka ${KAFKA_VERSION} jars with Maven into ${KAFKA_JARS} ...`);
      const tmp = `${KAFKA_JARS}.partial`;
      rmSync(tmp, { recursive: true, force: true });
      await runToEnd(
        'mvn',
        [
          '-q',
          '-B',
          '-f',
          POM,
          'dependency:copy-dependencies',
          `-DoutputDirectory=${tmp}`,
          '-DincludeScope=runtime',
        ],
        { timeoutMs: 900_000 },
      );
      rmSync(KAFKA_JARS, { recursive: true, force: true });
      renameSync(tmp, KAFKA_JARS);
    }
    return join(KAFKA_JARS, '*');
  })();
  return jarsReady;
}

let clientReady: Promise<string> | null = null;

/** Classpath with BenchClient compiled (javac, once per source version). */
export function benchClientClasspath(): Promise<string> {
  clientReady ??= (async () => {
    const cp = await kafkaClasspath();
    const src = join(BENCH_DIR, 'kafka/BenchClient.java');
    const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 12);
    const out = join(CACHE, `bench-client-${KAFKA_VERSION}-${hash}`);
    if (!existsSync(join(out, 'BenchClient.class'))) {
      mkdirSync(out, { recursive: true });
      await runToEnd('javac', ['-nowarn', '-cp', cp, '-d', out, src], { timeoutMs: 180_000 });
    }
    return `${out}:${cp}`;
  })();
  return clientReady;
}

/** JVM settings of Kafka's tool scripts (kafka-run-class.sh performance options, -Xmx512M). */
const TOOL_JVM = [
  '-Xmx512M',
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-XX:MaxInlineLevel=15',
  '-Djava.awt.headless=true',
  '-Dlog4j.configuration=file:/dev/null',
  '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
];

export async function runTool(mainClass: string, args: string[], timeoutMs = 180_000): Promise<string> {
  const cp = mainClass === 'BenchClient' ? await benchClientClasspath() : await kafkaClasspath();
  const { stdout } = await runToEnd(javaBin(), [...TOOL_JVM, '-cp', cp, mainClass, ...args], { timeoutMs });
  return stdout;
}

/** One 5-second report line of ProducerPerformance. */
export interface PerfWindow {
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
}

const WINDOW_RE =
  /^(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency\.$/;

export interface ProducerPerfResult {
  /** sum over producers of their measured windows */
  recordsPerSec: number;
  mbPerSec: number;
  /** mean over producers of the measured windows' average send-to-ack latency */
  avgLatencyMs: number;
  /** all records acknowledged in all windows (warm-up included) */
  totalRecords: number;
  seconds: number;
}

/**
 * Runs `producers` copies of Kafka's ProducerPerformance (unthrottled, more records than it can send)
 * against `bootstrap` and reads their 5-second reports: the first `warmup` windows are dropped, the
 * next `measure` windows are averaged, then the producers are killed. (Stopping on reports rather than
 * a record count keeps every run the same length whatever the broker's speed.)
 */
export async function producerPerf(opts: {
  bootstrap: string;
  topic: string;
  recordSize: number;
  acks: string;
  producers: number;
  warmup?: number;
  measure?: number;
  extraProps?: string[];
}): Promise<ProducerPerfResult> {
  const cp = await kafkaClasspath();
  const warmup = opts.warmup ?? 1;
  const measure = opts.measure ?? 1;
  const want = warmup + measure;
  const t0 = performance.now();
  const runs = Array.from({ length: opts.producers }, (_, i) => {
    const windows: PerfWindow[] = [];
    const errors: string[] = [];
    const child = spawnTracked(javaBin(), [
      ...TOOL_JVM,
      '-cp',
      cp,
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      opts.topic,
      '--num-records',
      '1000000000',
      '--record-size',
      String(opts.recordSize),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${opts.bootstrap}`,
      `acks=${opts.acks}`,
      `client.id=perf-producer-${i}`,
      ...(opts.extraProps ?? []),
    ]);
    const done = new Promise<PerfWindow[]>((resolve, reject) => {
      onLines(child, (line, stream) => {
        const m = WINDOW_RE.exec(line.trim());
        if (m) {
          windows.push({
            records: Number(m[1]),
            recordsPerSec: Number(m[2]),
            mbPerSec: Number(m[3]),
            avgLatencyMs: Number(m[4]),
            maxLatencyMs: Number(m[5]),
          });
          if (windows.length >= want) resolve(windows);
        } else if (stream === 'stderr' || /error|exception/i.test(line)) {
          errors.push(line);
        }
      });
      child.once('exit', (code) => {
        if (windows.length >= want) resolve(windows);
        else
          reject(
            new Error(
              `ProducerPerformance exited (${code}) after ${windows.length} reports:\n${errors.slice(-15).join('\n')}`,
            ),
          );
      });
    });
    return { child, done };
  });
  // A broker that stalls gets no reports: give up after a generous bound.
  const timeout = sleep((want * 5 + 60) * 1000).then(() => {
    throw new Error('ProducerPerformance: no reports in time');
  });
  try {
    const all = await Promise.race([Promise.all(runs.map((r) => r.done)), timeout]);
    const seconds = (performance.now() - t0) / 1000;
    const measured = all.map((ws) => ws.slice(warmup, want));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return {
      recordsPerSec: measured.reduce((a, ws) => a + mean(ws.map((w) => w.recordsPerSec)), 0),
      mbPerSec: measured.reduce((a, ws) => a + mean(ws.map((w) => w.mbPerSec)), 0),
      avgLatencyMs: mean(measured.map((ws) => mean(ws.map((w) => w.avgLatencyMs)))),
      totalRecords: all.reduce((a, ws) => a + ws.reduce((b, w) => b + w.records, 0), 0),
      seconds,
    };
  } finally {
    for (const r of runs) r.child.kill('SIGKILL');
    await Promise.all(
      runs.map((r) =>
        r.child.exitCode === null && r.child.signalCode === null
          ? new Promise((res) => r.child.once('exit', res))
          : Promise.resolve(),
      ),
    );
  }
}

export interface ConsumeResult {
  records: number;
  bytes: number;
  seconds: number;
  totalSeconds: number;
}

export async function benchConsume(
  bootstrap: string,
  topic: string,
  records: number,
  timeoutS = 120,
): Promise<ConsumeResult> {
  const out = await runTool(
    'BenchClient',
    ['consume', bootstrap, topic, String(records), String(timeoutS)],
    (timeoutS + 60) * 1000,
  );
  return JSON.parse(out.trim().split('\n').pop()!) as ConsumeResult;
}

export interface LatencyResult {
  sent: number;
  received: number;
  errors: number;
  samples: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

export async function benchLatency(opts: {
  bootstrap: string;
  topic: string;
  rate: number;
  seconds: number;
  warmupSeconds: number;
  size: number;
  acks: string;
}): Promise<LatencyResult> {
  const out = await runTool(
    'BenchClient',
    [
      'latency',
      opts.bootstrap,
      opts.topic,
      String(opts.rate),
      String(opts.seconds),
      String(opts.warmupSeconds),
      String(opts.size),
      opts.acks,
    ],
    (opts.seconds + 90) * 1000,
  );
  return JSON.parse(out.trim().split('\n').pop()!) as LatencyResult;
}

/** Kafka's EndToEndLatency: one record at a time, send → consume round trip; ms percentiles. */
export async function kafkaEndToEnd(
  bootstrap: string,
  topic: string,
  records: number,
  acks: string,
  size: number,
): Promise<{ avgMs: number; p50: number; p99: number; p999: number }> {
  const out = await runTool(
    'org.apache.kafka.tools.EndToEndLatency',
    [bootstrap, topic, String(records), acks, String(size)],
    180_000,
  );
  const avg = /Avg latency: ([\d.]+) ms/.exec(out);
  const p = /Percentiles: 50th = ([\d.]+), 99th = ([\d.]+), 99.9th = ([\d.]+)/.exec(out);
  if (!avg || !p) throw new Error(`EndToEndLatency: unexpected output:\n${out.slice(-1000)}`);
  return { avgMs: Number(avg[1]), p50: Number(p[1]), p99: Number(p[2]), p999: Number(p[3]) };
}

/** Progress lines, printed when BENCH_VERBOSE is set. */
export function verbose(msg: string): void {
  if (process.env.BENCH_VERBOSE) console.log(`    ${msg}`);
}

/** ProducerPerformance sending exactly `records` records (acks=1), to fill a topic; waits for it to end. */
export async function produceFixed(
  bootstrap: string,
  topic: string,
  records: number,
  recordSize: number,
): Promise<void> {
  await runTool(
    'org.apache.kafka.tools.ProducerPerformance',
    [
      '--topic',
      topic,
      '--num-records',
      String(records),
      '--record-size',
      String(recordSize),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${bootstrap}`,
      'acks=1',
      'batch.size=65536',
      'linger.ms=5',
    ],
    600_000,
  );
}
