/**
 * The e2e suite's handle on the real Kubernetes node (node.sh): brings it up and down, and gives the
 * test a way in without linking the node's network namespace to the host:
 * - `client`: the operator's own KubeClient against the kube-apiserver, through `forward` (a
 *   listener on 127.0.0.1 here, relay.ts inside the namespace);
 * - `helm()`: the helm binary with a kubeconfig for that forwarded address;
 * - `inNode()`: a command inside the namespace with the cluster's DNS (in-node.sh), for Kafka
 *   clients that must resolve the brokers' advertised pod names;
 * - `startInNode()`: a long-running process there whose PID `node.sh down` also stops.
 * Everything it starts is stopped in `down()`; a test runner that dies without calling it leaves a
 * node that the next `up` (or CI's exit trap, `node.sh down`) removes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../../src/operator/kube/client.js';

export const HERE = import.meta.dirname;
export const REPO = join(HERE, '../..');
const NODE_SH = join(HERE, 'node.sh');
const IN_NODE = join(HERE, 'in-node.sh');
export const RUN = '/run/sluice-node';
export const DATA = process.env.SLUICE_NODE_DATA ?? '/var/lib/sluice-node';
export const NODE_IP = '10.250.0.2';
const NETNS = '/run/netns/sluice-node';

/** Why the e2e node cannot run here (printed by the suite when it skips), or null. */
export function nodeSkipReason(): string | null {
  if (process.env.SLUICE_E2E_NODE === 'skip') return 'SLUICE_E2E_NODE=skip';
  const r = spawnSync(NODE_SH, ['check'], { encoding: 'utf8' });
  if (r.error) return `cannot run ${NODE_SH}: ${r.error.message}`;
  return r.status === 0 ? null : r.stdout.trim() || r.stderr.trim() || `node.sh check exited ${r.status}`;
}

export function findHelm(): string {
  const p = join(process.env.SLUICE_CACHE ?? join(homedir(), '.cache/sluice'), 'bin/helm');
  if (process.env.HELM) return process.env.HELM;
  if (existsSync(p)) return p;
  return 'helm';
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A phase's name and how long it took; the suite prints the table at the end. */
export const timings: { phase: string; seconds: number }[] = [];
export async function timed<T>(phase: string, f: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await f();
  } finally {
    const seconds = Math.round((Date.now() - t0) / 100) / 10;
    timings.push({ phase, seconds });
    console.log(`[e2e-node] ${phase}: ${seconds}s`);
  }
}

export class E2ENode {
  /** This process' files (the kubeconfig for the forwarded API address); made by up(). */
  dir = '';
  client!: KubeClient;
  kubeconfigPath = '';
  readonly #servers: Server[] = [];
  readonly #sockets = new Set<Socket>();
  readonly #children = new Set<ChildProcess>();
  #up = false;
  readonly #onExit = () => {
    // The runner is exiting without down(): stop what it started and the node, synchronously and
    // best effort (CI's exit trap and the next `up` remove whatever is left).
    for (const c of [...running, ...this.#children]) c.kill('SIGKILL');
    if (this.#up) spawnSync(NODE_SH, ['down'], { stdio: 'inherit', env: this.#env });
    this.#up = false;
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  };
  /** node.sh stops only the node this process owns. */
  readonly #env = { ...process.env, SLUICE_NODE_OWNER: String(process.pid) };
  readonly #onSignal = (signal: NodeJS.Signals) => {
    this.#onExit();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };

  async up(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'sluice-e2e-node-'));
    process.once('exit', this.#onExit);
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
    this.#up = true;
    const r = await run(NODE_SH, ['up'], { env: this.#env, echo: true });
    if (r.code !== 0) throw new Error(`node.sh up failed (${r.code}):\n${r.stderr.slice(-6000)}`);
    // The relay: this test's only way into the namespace (besides nsenter for commands).
    const sock = join(RUN, 'relay.sock');
    await this.startInNode('relay', [process.execPath, '--import', 'tsx', join(HERE, 'relay.ts'), sock]);
    await waitUntil(() => existsSync(sock), 30_000, 'relay socket');
    const port = await this.forward(NODE_IP, 6443);
    const token = readFileSync(join(DATA, 'pki/admin.token'), 'utf8').trim();
    this.kubeconfigPath = join(this.dir, 'kubeconfig');
    writeFileSync(
      this.kubeconfigPath,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: e2e',
        '  cluster:',
        `    server: https://127.0.0.1:${port}`,
        `    certificate-authority: ${join(DATA, 'pki/ca.crt')}`,
        'users:',
        '- name: admin',
        `  user: {token: ${token}}`,
        'contexts:',
        '- name: e2e',
        '  context: {cluster: e2e, user: admin}',
        'current-context: e2e',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    this.client = KubeClient.load(this.kubeconfigPath);
  }

  /** down(keepLogsIn): the node's logs are copied there before everything is removed. */
  async down(keepLogsIn?: string): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    for (const s of this.#servers) s.close();
    for (const c of this.#children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    if (this.#up) {
      const env = keepLogsIn ? { ...this.#env, SLUICE_NODE_KEEP_LOGS: keepLogsIn } : this.#env;
      const r = await run(NODE_SH, ['down'], { env, echo: true });
      if (r.code !== 0) throw new Error(`node.sh down failed (${r.code}):\n${r.stderr.slice(-4000)}`);
    }
    this.#up = false;
    process.off('exit', this.#onExit);
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * A listener on 127.0.0.1 (a free port) whose connections reach HOST:PORT inside the namespace.
   * Returns the local port.
   */
  forward(host: string, port: number): Promise<number> {
    const server = createServer((local) => {
      this.#sockets.add(local);
      const remote = createConnection(join(RUN, 'relay.sock'), () => {
        remote.write(`${host}:${port}\n`);
        local.pipe(remote);
        remote.pipe(local);
      });
      this.#sockets.add(remote);
      const close = () => {
        local.destroy();
        remote.destroy();
        this.#sockets.delete(local);
        this.#sockets.delete(remote);
      };
      local.on('error', close);
      remote.on('error', close);
      local.on('close', close);
      remote.on('close', close);
    });
    this.#servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : 0);
      });
    });
  }

  /** A command inside the namespace, with the cluster's DNS; resolves when it exits. */
  inNode(cmd: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<Run> {
    return run(IN_NODE, cmd, { input: opts.input, timeoutMs: opts.timeoutMs ?? 120_000 });
  }

  /**
   * A long-running process inside the namespace (with the cluster's DNS). Its PID goes to
   * /run/sluice-node/pids/NAME.pid, so `node.sh down` stops it if this process cannot.
   */
  async startInNode(name: string, cmd: string[]): Promise<ChildProcess> {
    const child = spawn(IN_NODE, cmd, { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO });
    this.#children.add(child);
    child.on('exit', () => this.#children.delete(child));
    // in-node.sh execs all the way down (unshare, sh, nsenter, the command): the spawned PID is
    // the command's.
    if (child.pid) writeFileSync(join(RUN, 'pids', `${name}.pid`), `${child.pid}\n`);
    return child;
  }

  /** helm against the node (a kubeconfig for the forwarded API address). */
  helm(args: string[], timeoutMs = 300_000): Promise<Run> {
    return run(findHelm(), [...args, '--kubeconfig', this.kubeconfigPath], { timeoutMs });
  }
}

/** Every command run() has going: killed if the test runner is stopped. */
const running = new Set<ChildProcess>();

/** Spawns a command and collects its output (optionally echoing stderr lines as they come). */
export function run(
  cmd: string,
  args: string[],
  o: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; echo?: boolean } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO, env: o.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (o.echo) process.stderr.write(d);
    });
    const timer =
      o.timeoutMs !== undefined
        ? setTimeout(() => {
            child.kill('SIGKILL');
          }, o.timeoutMs)
        : null;
    child.on('error', reject);
    child.on('close', (code) => {
      running.delete(child);
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(o.input ?? '');
  });
}

export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
  intervalMs = 500,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    // A check that never answers (a request lost on its way through the relay) counts as a failed
    // attempt once the deadline has passed, so the wait ends with its own message instead of the
    // test's timeout, and a later attempt may still succeed before that.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the check did not answer within ${Math.round(timeoutMs / 1000)}s`)),
        Math.max(deadline - Date.now(), 0) + 1000,
      );
    });
    try {
      if (await Promise.race([Promise.resolve(check()), gaveUp])) return;
    } catch (err) {
      last = err;
    } finally {
      clearTimeout(timer);
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}${last ? `: ${last instanceof Error ? last.message : String(last)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export { NETNS };
