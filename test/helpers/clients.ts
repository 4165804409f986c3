/**
 * Running the real client programs the tests use: Debian's kcat and /usr/bin/python3 (with Debian's
 * confluent-kafka and kafka-python), and the Java client from Maven Central.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './broker-process.js';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a program to completion with optional stdin; never rejects (tests assert on code/output). */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => err.push(Buffer.from(String(e))));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Run a Python script (source text) with Debian's python3, passing args; stdout is its result. */
export function runPython(source: string, args: string[] = [], timeoutMs = 120_000): Promise<RunResult> {
  return run(SYSTEM_PYTHON, ['-c', source, ...args], { timeoutMs });
}

/**
 * The Java client versions the compatibility tests run: 3.9.1 (the last 3.x; it still sends older
 * API versions, e.g. ListOffsets v8, and has no KIP-848 or KIP-890 code paths) and 4.4.0. Both run
 * the same programs in test/clients/java; each version's jars (kafka-clients and its runtime
 * dependencies only, as an application would have them) come from test/clients/java/pom.xml with
 * -Dkafka.version and are cached in ~/.cache/sluice/java-clients-<version>.
 */
export const JAVA_CLIENT_VERSIONS = ['3.9.1', '4.4.0'] as const;
export type JavaClientVersion = (typeof JAVA_CLIENT_VERSIONS)[number];
/** The version that tests which are not about client versions use. */
export const JAVA_CLIENT_VERSION: JavaClientVersion = '3.9.1';

function javaLibDir(version: JavaClientVersion): string {
  return join(homedir(), '.cache', 'sluice', `java-clients-${version}`);
}

/** Make sure the Java client jars are in ~/.cache/sluice (Maven Central, once per version). */
export async function ensureJavaClient(version: JavaClientVersion = JAVA_CLIENT_VERSION): Promise<string> {
  const dir = javaLibDir(version);
  if (existsSync(dir) && readdirSync(dir).includes(`kafka-clients-${version}.jar`)) return dir;
  const r = await run(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      join(REPO_ROOT, 'test/clients/java/pom.xml'),
      'dependency:copy-dependencies',
      `-Dkafka.version=${version}`,
      `-DoutputDirectory=${dir}`,
    ],
    {
      timeoutMs: 300_000,
    },
  );
  if (r.code !== 0) throw new Error(`fetching Java client ${version} failed:\n${r.stdout}\n${r.stderr}`);
  return dir;
}

/**
 * Run a single-file Java program from test/clients/java (java launches .java sources directly)
 * against one version of kafka-clients.
 */
export async function runJava(
  file: string,
  args: string[],
  timeoutMs = 180_000,
  version: JavaClientVersion = JAVA_CLIENT_VERSION,
): Promise<RunResult> {
  const lib = await ensureJavaClient(version);
  return run(
    'java',
    [
      '-cp',
      `${lib}/*`,
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      join(REPO_ROOT, 'test/clients/java', file),
      ...args,
    ],
    { timeoutMs },
  );
}

export function execOk(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} failed: ${stderr}`, { cause: err })) : resolve(stdout),
    ),
  );
}
