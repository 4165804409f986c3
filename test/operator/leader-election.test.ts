/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are untyped JSON here */
/**
 * Operator leader election on a real kube-apiserver, with `sluice operator --leader-elect` child
 * processes (short timings: lease 6 s, renew deadline 4 s, retry 1 s). Only the Lease holder
 * reconciles (metrics and the reconcile counter say so; the standby is Ready too). SIGTERM on the
 * leader releases the Lease and the standby takes over at its next retry; SIGKILL leaves the Lease
 * to expire and a standby takes over within the lease duration plus retries; each new leader
 * reconciles a change made after the takeover. A leader whose Lease is taken away exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceFor, type AnyObject } from '../../src/operator/kube/client.js';
import { microTime } from '../../src/operator/leader-election.js';
import { REPO_ROOT } from '../helpers/broker-process.js';
import { freePort } from '../helpers/etcd.js';
import { KubeApiServer, kubeApiserverSkipReason, waitFor } from '../helpers/kube-apiserver.js';

const skip = kubeApiserverSkipReason();
if (skip) console.warn(`skipping leader election tests: ${skip}`);
const KC = resourceFor('sluice.dev/v1alpha1', 'KafkaCluster');
const LEASE = resourceFor('coordination.k8s.io/v1', 'Lease');
const STS = resourceFor('apps/v1', 'StatefulSet');
const NS = 'le-test';
const LEASE_NAME = 'sluice-operator-leader';
const LEASE_S = 6;
const RENEW_S = 4;
const RETRY_S = 1;
type Any = AnyObject & Record<string, any>;

interface Instance {
  id: string;
  child: ChildProcess;
  port: number;
  logs: string[];
}

describe.skipIf(skip !== null)('operator leader election on a real kube-apiserver', () => {
  const api = new KubeApiServer();
  const instances: Instance[] = [];

  async function startOperator(id: string): Promise<Instance> {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO_ROOT, 'src/cli/main.ts'),
        'operator',
        '--kubeconfig',
        api.kubeconfigPath,
        '--namespace',
        NS,
        '--bootstrap',
        '127.0.0.1:1',
        '--http-listen',
        `127.0.0.1:${port}`,
        '--resync-seconds',
        '2',
        '--leader-elect',
        '--leader-election-namespace',
        NS,
        '--leader-election-id',
        LEASE_NAME,
        '--leader-election-identity',
        id,
        '--leader-election-lease-duration-seconds',
        String(LEASE_S),
        '--leader-election-renew-deadline-seconds',
        String(RENEW_S),
        '--leader-election-retry-period-seconds',
        String(RETRY_S),
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const inst: Instance = { id, child, port, logs: [] };
    child.stdout!.on('data', (d: Buffer) => inst.logs.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => inst.logs.push(d.toString()));
    instances.push(inst);
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok,
      60_000,
      `operator ${id} ready (${inst.logs.join('').slice(-2000)})`,
    );
    return inst;
  }

  const metrics = async (i: Instance) => (await fetch(`http://127.0.0.1:${i.port}/metrics`)).text();
  const leaderGauge = async (i: Instance) => /^sluice_operator_leader (\d)/m.exec(await metrics(i))?.[1];
  const clusterReconciles = async (i: Instance) =>
    Number(
      /^sluice_operator_reconcile_total\{kind="KafkaCluster",result="success"\} (\d+)/m.exec(
        await metrics(i),
      )?.[1] ?? 0,
    );
  const holder = async () =>
    (await api.client.getOrNull<Any>(LEASE, NS, LEASE_NAME))?.spec?.holderIdentity as string | undefined;
  const observedGeneration = async () =>
    (await api.client.get<Any>(KC, NS, 'demo')).status?.observedGeneration;
  const exited = (i: Instance) =>
    i.child.exitCode !== null || i.child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((r) => i.child.once('exit', () => r()));

  beforeAll(async () => {
    await api.start();
    await api.installCrds(join(import.meta.dirname, '../../crds'));
    await api.createNamespace(NS);
    await api.client.create(KC, {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'KafkaCluster',
      metadata: { name: 'demo', namespace: NS },
      spec: { replicas: 1, etcd: { endpoints: ['http://etcd:2379'] } },
    });
  }, 120_000);

  afterAll(async () => {
    for (const i of instances) {
      if (i.child.exitCode === null && i.child.signalCode === null) {
        const done = exited(i);
        i.child.kill('SIGKILL');
        await done;
      }
    }
    await api.stop();
  });

  let leader: Instance;
  let standby: Instance;

  it('two replicas: one holds the Lease and reconciles, the other stands by (Ready)', async () => {
    const [a, b] = await Promise.all([startOperator('op-a'), startOperator('op-b')]);
    await waitFor(async () => ['op-a', 'op-b'].includes((await holder()) ?? ''), 20_000, 'a Lease holder');
    leader = (await holder()) === 'op-a' ? a! : b!;
    standby = leader === a ? b! : a!;
    await waitFor(async () => (await observedGeneration()) === 1, 20_000, 'status written by the leader');
    await waitFor(async () => (await clusterReconciles(leader)) > 0, 10_000, 'leader reconciled');
    // Resync is 2 s: a standby that reconciled would show it by now.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await leaderGauge(leader)).toBe('1');
    expect(await leaderGauge(standby)).toBe('0');
    expect(await clusterReconciles(standby)).toBe(0);
    expect((await fetch(`http://127.0.0.1:${standby.port}/readyz`)).status).toBe(200);
    const lease = await api.client.get<Any>(LEASE, NS, LEASE_NAME);
    expect(lease.spec.leaseDurationSeconds).toBe(LEASE_S);
  }, 90_000);

  it('SIGTERM releases the Lease: the standby takes over at once and reconciles the next change', async () => {
    const t0 = Date.now();
    const done = exited(leader);
    leader.child.kill('SIGTERM');
    await done;
    expect(leader.child.exitCode).toBe(0);
    expect(leader.logs.join('')).toContain('released the lease');
    await waitFor(async () => (await holder()) === standby.id, 10_000, 'standby holds the Lease');
    const takeoverMs = Date.now() - t0;
    console.log(`takeover after SIGTERM (release): ${takeoverMs} ms`);
    expect(takeoverMs).toBeLessThan(LEASE_S * 1000);
    await waitFor(async () => (await leaderGauge(standby)) === '1', 5000, 'new leader gauge');
    await api.client.mergePatch(KC, NS, 'demo', { spec: { replicas: 2 } });
    await waitFor(async () => (await observedGeneration()) === 2, 20_000, 'generation 2 reconciled');
    expect((await api.client.get<Any>(STS, NS, 'demo-broker')).spec.replicas).toBe(2);
    leader = standby;
  }, 60_000);

  it('SIGKILL: the Lease expires and a standby takes over within the lease duration plus retries', async () => {
    standby = await startOperator('op-c');
    // The standby has seen the leader renew at least once.
    await new Promise((r) => setTimeout(r, 2 * RETRY_S * 1000));
    expect(await holder()).toBe(leader.id);
    expect(await leaderGauge(standby)).toBe('0');
    const t0 = Date.now();
    const done = exited(leader);
    leader.child.kill('SIGKILL');
    await done;
    await waitFor(async () => (await holder()) === standby.id, 20_000, 'op-c holds the Lease', 100);
    const takeoverMs = Date.now() - t0;
    console.log(`takeover after SIGKILL (lease expiry): ${takeoverMs} ms`);
    // Not before the lease could have expired, and within it plus two jittered retry periods.
    expect(takeoverMs).toBeGreaterThan((LEASE_S - 2 * RETRY_S) * 1000);
    expect(takeoverMs).toBeLessThan((LEASE_S + 2 * 2.2 * RETRY_S + 1) * 1000);
    const lease = await api.client.get<Any>(LEASE, NS, LEASE_NAME);
    expect(lease.spec.leaseTransitions).toBeGreaterThanOrEqual(1);
    await api.client.mergePatch(KC, NS, 'demo', { spec: { replicas: 3 } });
    await waitFor(async () => (await observedGeneration()) === 3, 20_000, 'generation 3 reconciled');
    expect((await api.client.get<Any>(STS, NS, 'demo-broker')).spec.replicas).toBe(3);
    leader = standby;
  }, 60_000);

  it('a leader that cannot renew (Lease taken away) stops and exits within the renew deadline', async () => {
    const lease = await api.client.get<Any>(LEASE, NS, LEASE_NAME);
    const now = microTime(Date.now());
    const t0 = Date.now();
    await api.client.request('PUT', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEASE_NAME}`, {
      body: {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: 'intruder',
          leaseDurationSeconds: 3600,
          renewTime: now,
          acquireTime: now,
        },
      },
    });
    const done = exited(leader);
    await Promise.race([done, new Promise((r) => setTimeout(r, (RENEW_S + 3 * RETRY_S + 3) * 1000))]);
    const ms = Date.now() - t0;
    console.log(`leader exited ${ms} ms after losing the Lease`);
    expect(leader.child.exitCode).toBe(1);
    expect(ms).toBeLessThan((RENEW_S + 3 * RETRY_S + 1) * 1000);
    expect(leader.logs.join('')).toContain('leader election lost');
    expect(await holder()).toBe('intruder');
  }, 30_000);
});
