/**
 * `sluice dev-cluster`: starts etcd and 3 brokers, prints the bootstrap address clients use, and
 * Ctrl-C (SIGINT) stops every process it started and removes its temp data. Each broker's controlled
 * shutdown settles with the controller's first answer, also for partitions that have no other
 * in-sync replica (as Kafka's controller lets such a broker go), instead of retrying until
 * controlled.shutdown.max.retries runs out.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/broker-process.js';
import { run } from '../helpers/clients.js';

/** Whether `port` can be bound on 127.0.0.1 right now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A --base-port whose every port dev-cluster will bind is free: brokers on base..base+2, their
 * metrics on +100, etcd on +1000/+1001. Below the kernel's ephemeral range (32768 and up), so the
 * free ports other tests take (bound to port 0) and outgoing connections cannot land there.
 */
async function freeBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 11_000);
    const ports = [0, 1, 2, 100, 101, 102, 1000, 1001].map((d) => base + d);
    if ((await Promise.all(ports.map(canBind))).every(Boolean)) return base;
  }
  throw new Error('no free port range for dev-cluster');
}

describe('sluice dev-cluster', () => {
  it('runs etcd and 3 brokers that clients see as one cluster, and stops them all on Ctrl-C', async () => {
    const base = await freeBase();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO_ROOT, 'src/cli/main.ts'),
        'dev-cluster',
        '--brokers',
        '3',
        '--base-port',
        String(base),
        '--log-level',
        'info',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // The brokers' JSON log lines (dev-cluster passes their stdout on).
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    try {
      const bootstrap = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const line = out.split('\n').find((l) => /^127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+)*$/.test(l));
          if (line) resolve(line);
        });
        child.once('exit', (code) => reject(new Error(`dev-cluster exited (${code}): ${stderr}`)));
      });
      expect(bootstrap).toBe([0, 1, 2].map((i) => `127.0.0.1:${base + i}`).join(','));
      const md = await run('kcat', ['-b', bootstrap, '-L', '-J']);
      expect(md.code, md.stderr).toBe(0);
      const meta = JSON.parse(md.stdout) as { brokers: { id: number; name: string }[]; controllerid: number };
      expect(meta.brokers.map((b) => b.id).sort()).toEqual([1, 2, 3]);
      expect([1, 2, 3]).toContain(meta.controllerid);
      // A partition with a single replica (auto-created; default.replication.factor 1): its broker
      // has no one to hand it to when it stops.
      const produced = await run('kcat', ['-b', bootstrap, '-P', '-t', 'dev-cluster-single'], {
        input: 'one\n',
      });
      expect(produced.code, produced.stderr).toBe(0);
      const dataDir = /Data: (\S+)/.exec(stderr)![1]!;
      expect(existsSync(dataDir)).toBe(true);

      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(existsSync(dataDir)).toBe(false);
      const left = await run('pgrep', ['-f', `--listen 127.0.0.1:${base}`]);
      expect(left.stdout.trim()).toBe('');
      const logs = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { nodeId?: number; msg?: string });
      const byNode = (msg: RegExp) =>
        logs
          .filter((l) => msg.test(l.msg ?? ''))
          .map((l) => l.nodeId)
          .sort();
      expect(byNode(/^controlled shutdown complete/)).toEqual([1, 2, 3]);
      expect(byNode(/controlled shutdown did not complete|controlled shutdown request failed/)).toEqual([]);
      expect(byNode(/^broker stopped cleanly$/)).toEqual([1, 2, 3]);
    } finally {
      // SIGINT, not SIGKILL: dev-cluster must stop the brokers and etcd it started.
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 40_000))]);
        child.kill('SIGKILL');
      }
    }
  }, 180_000);
});
