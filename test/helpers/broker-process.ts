/**
 * Starts a real `sluice broker` process for tests, on 127.0.0.1 with a free port (--listen :0; the
 * broker logs the port it bound), a temp data dir, and its own metrics port. `stop()` sends SIGTERM
 * and waits; `kill()` sends SIGKILL. Every process and temp dir is cleaned up by `cleanup()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface BrokerProcessOptions {
  dataDir?: string;
  nodeId?: number;
  overrides?: Record<string, string>;
  extraArgs?: string[];
  /** How long start() waits for the broker to be ready before killing it (default 60 s). */
  startTimeoutMs?: number;
  /** Fixed port (for restarts keeping the same address); default: a free one. */
  port?: number;
  /**
   * Named listeners instead of --listen (`listeners` and friends, see listener-config.ts); `port`
   * is then the first listener's bound port. Ports given as 0 are not kept across restarts.
   */
  listeners?: Record<string, string>;
  /** trace/debug/info only: readiness (and the bound port) is read from the info-level 'broker started' line. */
  logLevel?: 'trace' | 'debug' | 'info';
  /** Extra environment variables for the broker process (test hooks such as SLUICE_TEST_*). */
  env?: Record<string, string>;
}

export class BrokerProcess {
  readonly dataDir: string;
  readonly ownsDataDir: boolean;
  child: ChildProcess | null = null;
  port = 0;
  /** Every listener's bound port, by name (from the 'broker started' line). */
  listenerPorts: Record<string, number> = {};
  metricsPort = 0;
  readonly logs: string[] = [];
  readonly #opts: BrokerProcessOptions;

  constructor(opts: BrokerProcessOptions = {}) {
    this.#opts = opts;
    this.ownsDataDir = !opts.dataDir;
    this.dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'sluice-broker-'));
  }

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Change the environment of the next start (e.g. to arm or disarm a crash hook). */
  setEnv(env: Record<string, string> | undefined): void {
    if (env) this.#opts.env = env;
    else delete this.#opts.env;
  }

  /** Start and resolve once the broker logs that it is serving. */
  async start(): Promise<this> {
    const args = [
      '--import',
      'tsx',
      join(REPO_ROOT, 'src/cli/main.ts'),
      'broker',
      ...(this.#opts.listeners ? [] : ['--listen', `127.0.0.1:${this.#opts.port ?? this.port}`]),
      '--metrics-listen',
      `127.0.0.1:${this.metricsPort}`,
      '--data-dir',
      this.dataDir,
      '--log-level',
      this.#opts.logLevel ?? 'info',
    ];
    if (this.#opts.nodeId !== undefined) args.push('--node-id', String(this.#opts.nodeId));
    for (const [k, v] of Object.entries({ ...this.#opts.overrides, ...this.#opts.listeners }))
      args.push('--override', `${k}=${v}`);
    args.push(...(this.#opts.extraArgs ?? []));
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(this.#opts.env ? { env: { ...process.env, ...this.#opts.env } } : {}),
    });
    this.child = child;
    const ready = new Promise<void>((resolveReady, reject) => {
      let buf = '';
      const onLine = (line: string) => {
        this.logs.push(line);
        if (this.logs.length > 2000) this.logs.shift();
        try {
          const rec = JSON.parse(line) as {
            msg?: string;
            port?: number;
            listeners?: Record<string, number>;
            metricsPort?: number;
          };
          if (rec.msg === 'broker started') {
            this.port = rec.port ?? 0;
            this.listenerPorts = rec.listeners ?? {};
            this.metricsPort = rec.metricsPort ?? 0;
            resolveReady();
          }
        } catch {
          /* not JSON: keep it in logs */
        }
      };
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
      child.stderr!.on('data', (d: Buffer) => this.logs.push(d.toString()));
      child.once('exit', (code, signal) =>
        reject(
          new Error(
            `broker exited before it was ready (code ${code}, signal ${signal}):\n${this.logs.slice(-20).join('\n')}`,
          ),
        ),
      );
    });
    // A broker that never becomes ready must not outlive the test: the caller has no handle on it
    // yet, so kill it here on failure or after the deadline.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `broker not ready within ${this.#opts.startTimeoutMs ?? 60_000} ms:\n${this.logs.slice(-20).join('\n')}`,
            ),
          ),
        this.#opts.startTimeoutMs ?? 60_000,
      );
    });
    try {
      await Promise.race([ready, deadline]);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    } finally {
      clearTimeout(timer);
    }
    // Keep the same port across restarts of this process.
    this.#opts.port = this.port;
    return this;
  }

  /** SIGTERM and wait for a clean exit; returns the exit code. */
  async stop(timeoutMs = 20_000): Promise<number | null> {
    return this.#signal('SIGTERM', timeoutMs);
  }

  async kill(): Promise<number | null> {
    return this.#signal('SIGKILL', 10_000);
  }

  async #signal(sig: NodeJS.Signals, timeoutMs: number): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill(sig);
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await exited;
    clearTimeout(t);
    this.child = null;
    return code;
  }

  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  async cleanup(): Promise<void> {
    await this.kill();
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}
