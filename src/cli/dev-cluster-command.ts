/**
 * `sluice dev-cluster --brokers N [--etcd URL]`: a local cluster for development. Starts etcd from
 * PATH (unless --etcd names one), then N brokers as child processes on consecutive ports from
 * --base-port, prints the bootstrap address, and on Ctrl-C (or SIGTERM) stops the brokers with
 * SIGTERM (controlled shutdown) and then etcd. Data lives under --data-dir (default a temp dir,
 * removed on exit unless --keep-data).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DevClusterOptions {
  brokers: number;
  etcd?: string;
  basePort: number;
  host: string;
  dataDir?: string;
  keepData: boolean;
  clusterId: string;
  override: Record<string, string>;
  logLevel: string;
}

async function etcdHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`etcd at ${url} is not healthy`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runDevCluster(o: DevClusterOptions): Promise<void> {
  const root = o.dataDir ?? mkdtempSync(join(tmpdir(), 'sluice-dev-cluster-'));
  mkdirSync(root, { recursive: true });
  const children: ChildProcess[] = [];
  let etcdChild: ChildProcess | null = null;
  let etcdUrl = o.etcd;

  const stopAll = async (code: number) => {
    // Brokers first, with SIGTERM so each runs its controlled shutdown; then etcd.
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const t = setTimeout(() => c.kill('SIGKILL'), 30_000);
            c.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
    if (etcdChild && etcdChild.exitCode === null) {
      const exited = new Promise((r) => etcdChild!.once('exit', r));
      etcdChild.kill('SIGTERM');
      await exited;
    }
    if (!o.dataDir && !o.keepData) rmSync(root, { recursive: true, force: true });
    process.exit(code);
  };
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      console.error(`\nstopping ${children.length} broker(s)${etcdChild ? ' and etcd' : ''}…`);
      void stopAll(0);
    });
  }

  try {
    if (!etcdUrl) {
      const clientPort = o.basePort + 1000;
      etcdUrl = `http://${o.host}:${clientPort}`;
      const peer = `http://${o.host}:${clientPort + 1}`;
      etcdChild = spawn(
        'etcd',
        [
          '--name',
          'sluice-dev',
          '--data-dir',
          join(root, 'etcd'),
          '--listen-client-urls',
          etcdUrl,
          '--advertise-client-urls',
          etcdUrl,
          '--listen-peer-urls',
          peer,
          '--initial-advertise-peer-urls',
          peer,
          '--initial-cluster',
          `sluice-dev=${peer}`,
          '--log-level',
          'warn',
          '--logger',
          'zap',
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      etcdChild.once('error', (err) => {
        console.error(
          `cannot start etcd from PATH (${err.message}); install it (Debian: apt-get install etcd-server) or pass --etcd URL`,
        );
        void stopAll(1);
      });
      await etcdHealthy(etcdUrl, 20_000);
      console.error(`etcd ${etcdUrl}`);
    }
    const main = fileURLToPath(new URL('./main.js', import.meta.url)).replace(
      /\.js$/,
      import.meta.url.endsWith('.ts') ? '.ts' : '.js',
    );
    const ports: number[] = [];
    for (let i = 1; i <= o.brokers; i++) {
      const port = o.basePort + i - 1;
      ports.push(port);
      const args = [
        ...process.execArgv,
        main,
        'broker',
        '--etcd',
        etcdUrl,
        '--cluster-id',
        o.clusterId,
        '--node-id',
        String(i),
        '--listen',
        `${o.host}:${port}`,
        '--metrics-listen',
        `${o.host}:${port + 100}`,
        '--data-dir',
        join(root, `broker-${i}`),
        '--log-level',
        o.logLevel,
      ];
      for (const [k, v] of Object.entries(o.override)) args.push('--override', `${k}=${v}`);
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (d: Buffer) => process.stdout.write(d));
      child.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
      children.push(child);
    }
    // Ready when each broker's /ready probe says so (its logs may be quieter than info).
    await Promise.all(
      ports.map(async (p, i) => {
        const deadline = Date.now() + 120_000;
        for (;;) {
          if (children[i]!.exitCode !== null)
            throw new Error(`broker ${i + 1} exited with code ${children[i]!.exitCode}`);
          try {
            if ((await fetch(`http://${o.host}:${p + 100}/ready`)).ok) return;
          } catch {
            /* not yet */
          }
          if (Date.now() > deadline) throw new Error(`broker ${i + 1} did not become ready`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }),
    );
    const bootstrap = ports.map((p) => `${o.host}:${p}`).join(',');
    console.error(
      `\n${o.brokers} broker(s) up. Bootstrap: ${bootstrap}\nMetrics: ${ports.map((p) => `http://${o.host}:${p + 100}/metrics`).join(' ')}\nData: ${root}\nCtrl-C stops them all.`,
    );
    console.log(bootstrap);
    for (const c of children) {
      c.once('exit', (code, signal) => {
        if (!stopping)
          console.error(`a broker exited (code ${code}, signal ${signal}); the others keep running`);
      });
    }
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    await stopAll(1);
  }
}
