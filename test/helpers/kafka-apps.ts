/**
 * Apache Kafka Streams 4.4.0 and Kafka Connect 4.4.0 for the tests: Streams' jars come from Maven
 * Central (test/clients/kafka-streams-4.4/pom.xml, cached in ~/.cache/sluice/kafka-streams-4.4.0),
 * and the small Java apps of test/clients/kafka-streams-4.4 run as single-file sources (`java
 * File.java`) on that classpath. Connect's distributed worker runs on Kafka 4.4.0's jars of
 * test/clients/kafka-4.4 (connect-runtime with the log4j it needs), with the test's connector.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './broker-process.js';
import { run, type RunResult } from './clients.js';
import { ensureKafkaTools } from './kafka-tools.js';

export const KAFKA_APPS_VERSION = '4.4.0';
export const KAFKA_APPS_LIB = join(homedir(), '.cache', 'sluice', `kafka-streams-${KAFKA_APPS_VERSION}`);

/** Make sure Streams' jars are in ~/.cache/sluice (Maven Central, once per version). */
export async function ensureKafkaApps(): Promise<string> {
  if (existsSync(KAFKA_APPS_LIB) && readdirSync(KAFKA_APPS_LIB).some((f) => f.startsWith('kafka-streams-')))
    return KAFKA_APPS_LIB;
  const tmp = `${KAFKA_APPS_LIB}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const r = await run(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      join(REPO_ROOT, 'test/clients/kafka-streams-4.4/pom.xml'),
      'dependency:copy-dependencies',
      `-DoutputDirectory=${tmp}`,
      '-DincludeScope=runtime',
    ],
    { timeoutMs: 600_000 },
  );
  if (r.code !== 0) throw new Error(`fetching Kafka Streams ${KAFKA_APPS_VERSION} failed:\n${r.stderr}`);
  if (!existsSync(KAFKA_APPS_LIB)) renameSync(tmp, KAFKA_APPS_LIB);
  else rmSync(tmp, { recursive: true, force: true });
  return KAFKA_APPS_LIB;
}

/** Run a single-file Java app of test/clients/kafka-streams-4.4 with Kafka Streams on the classpath. */
export async function runKafkaApp(file: string, args: string[], timeoutMs = 180_000): Promise<RunResult> {
  const lib = await ensureKafkaApps();
  return run(
    'java',
    [
      '-cp',
      `${lib}/*`,
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      join(REPO_ROOT, 'test/clients/kafka-streams-4.4', file),
      ...args,
    ],
    { timeoutMs },
  );
}

/**
 * Compile test/clients/kafka-streams-4.4/connect/CounterSource.java into `outDir` (with the
 * ServiceLoader manifest Connect's plugin discovery reads) against Kafka 4.4.0's jars.
 */
export async function compileCounterSource(outDir: string): Promise<void> {
  const lib = await ensureKafkaTools();
  const r = await run(
    'javac',
    [
      '-nowarn',
      '-cp',
      `${lib}/*`,
      '-d',
      outDir,
      join(REPO_ROOT, 'test/clients/kafka-streams-4.4/connect/CounterSource.java'),
    ],
    { timeoutMs: 180_000 },
  );
  if (r.code !== 0) throw new Error(`javac CounterSource failed:\n${r.stderr}`);
  mkdirSync(join(outDir, 'META-INF/services'), { recursive: true });
  writeFileSync(
    join(outDir, 'META-INF/services/org.apache.kafka.connect.source.SourceConnector'),
    'dev.sluice.test.CounterSource$Connector\n',
  );
}

/** A Kafka Connect 4.4.0 distributed worker (ConnectDistributed, as connect-distributed.sh runs it). */
export class ConnectWorker {
  child: ChildProcess | null = null;
  readonly logs: string[] = [];

  constructor(
    readonly propsFile: string,
    readonly extraClasspath: string,
    readonly restPort: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.restPort}`;
  }

  /** Start and resolve once its REST API answers. */
  async start(timeoutMs = 120_000): Promise<void> {
    const lib = await ensureKafkaTools();
    const child = spawn(
      'java',
      [
        '-cp',
        `${lib}/*:${this.extraClasspath}`,
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
        'org.apache.kafka.connect.cli.ConnectDistributed',
        this.propsFile,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const keep = (d: Buffer) => {
      for (const l of d.toString().split('\n')) if (l) this.logs.push(l);
      if (this.logs.length > 500) this.logs.splice(0, this.logs.length - 500);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`Connect worker exited:\n${this.logs.slice(-40).join('\n')}`);
      try {
        const r = await fetch(`${this.url}/connectors`, { signal: AbortSignal.timeout(2000) });
        if (r.ok) return;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline)
        throw new Error(`Connect worker not ready in ${timeoutMs} ms:\n${this.logs.slice(-40).join('\n')}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** A REST call; returns the status and the parsed JSON body (or null). */
  async rest(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const r = await fetch(`${this.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await r.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    return { status: r.status, body: parsed };
  }

  /** SIGTERM (a clean stop commits the tasks' offsets), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(t);
    this.child = null;
  }
}
