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

export const JAVA_CLIENT_VERSION = '3.9.1';
const JAVA_LIB_DIR = join(homedir(), '.cache', 'sluice', `java-clients-${JAVA_CLIENT_VERSION}`);

/** Make sure the Java client jars are in ~/.cache/sluice (Maven Central, once per version). */
export async function ensureJavaClient(): Promise<string> {
  if (existsSync(JAVA_LIB_DIR) && readdirSync(JAVA_LIB_DIR).some((f) => f.startsWith('kafka-clients-')))
    return JAVA_LIB_DIR;
  const r = await run(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      join(REPO_ROOT, 'test/clients/java/pom.xml'),
      'dependency:copy-dependencies',
      `-DoutputDirectory=${JAVA_LIB_DIR}`,
    ],
    {
      timeoutMs: 300_000,
    },
  );
  if (r.code !== 0) throw new Error(`fetching the Java client failed:\n${r.stdout}\n${r.stderr}`);
  return JAVA_LIB_DIR;
}

/** Run a single-file Java program from test/clients/java (java launches .java sources directly). */
export async function runJava(file: string, args: string[], timeoutMs = 180_000): Promise<RunResult> {
  const lib = await ensureJavaClient();
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
