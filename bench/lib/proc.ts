/**
 * Process plumbing for the side-by-side benchmarks: every child process and temp dir the bench makes
 * is registered here and removed on exit (also on Ctrl-C), free loopback ports, and RSS / CPU seconds
 * read straight from /proc/<pid>/stat and /proc/<pid>/status (the same numbers for a JVM and for node).
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

function killEverything(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  children.clear();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

process.on('exit', killEverything);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killEverything();
    process.exit(130);
  });
}

/** Kill `child` when the bench exits, however it exits; remove `dir` then too, if given. */
export function track(child: ChildProcess, dir?: string): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (dir) tempDirs.add(dir);
  return child;
}

/** spawn() whose child is killed when the bench exits, however it exits. */
export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  return track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts }));
}

export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

export function removeTempDir(d: string): void {
  rmSync(d, { recursive: true, force: true });
  tempDirs.delete(d);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

/** Calls `onLine` for every line the child writes to stdout and stderr. */
export function onLines(
  child: ChildProcess,
  onLine: (line: string, stream: 'stdout' | 'stderr') => void,
): void {
  for (const stream of ['stdout', 'stderr'] as const) {
    let buf = '';
    child[stream]?.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i), stream);
        buf = buf.slice(i + 1);
      }
    });
  }
}

/** Runs a command to completion, collecting output; rejects on a non-zero exit or after `timeoutMs`. */
export function runToEnd(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; cwd?: string; onLine?: (line: string) => void } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(cmd, args, { cwd: opts.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    if (opts.onLine) onLines(child, (l) => opts.onLine!(l));
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${cmd} ${args.slice(-4).join(' ')}: timed out after ${opts.timeoutMs} ms\n${stderr.slice(-2000)}`,
        ),
      );
    }, opts.timeoutMs ?? 300_000);
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${cmd} exited with ${code ?? signal}:\n${(stderr || stdout).slice(-3000)}`));
    });
  });
}

/** A free TCP port on 127.0.0.1 (bind :0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

let clkTck = 0;
function ticksPerSecond(): number {
  if (clkTck === 0) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

export interface ProcSample {
  /** user + system CPU seconds since the process started */
  cpuSeconds: number;
  rssBytes: number;
  /** peak RSS (VmHWM) */
  peakRssBytes: number;
  threads: number;
}

export function sampleProc(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(f[11]);
    const stime = Number(f[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
      return m ? Number(m[1]) * 1024 : 0;
    };
    const threads = /^Threads:\s+(\d+)/m.exec(status);
    return {
      cpuSeconds: (utime + stime) / ticksPerSecond(),
      rssBytes: kb('VmRSS'),
      peakRssBytes: kb('VmHWM'),
      threads: threads ? Number(threads[1]) : 0,
    };
  } catch {
    return null;
  }
}

/** Samples a process every `everyMs` and keeps the peak RSS seen (VmHWM never goes down, this does). */
export class RssSampler {
  peakRss = 0;
  readonly #timer: NodeJS.Timeout;
  constructor(
    readonly pid: number,
    everyMs = 200,
  ) {
    const tick = () => {
      const s = sampleProc(pid);
      if (s && s.rssBytes > this.peakRss) this.peakRss = s.rssBytes;
    };
    tick();
    this.#timer = setInterval(tick, everyMs);
  }
  stop(): number {
    clearInterval(this.#timer);
    const s = sampleProc(this.pid);
    if (s && s.rssBytes > this.peakRss) this.peakRss = s.rssBytes;
    return this.peakRss;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
