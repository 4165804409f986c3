/**
 * The whole restart path: a real kube-apiserver, a real 3-broker Sluice cluster (node ids 0..2),
 * and the operator in-process. No kubelet or StatefulSet controller runs, so the test plays them:
 * it creates the broker pods (Ready, controller-revision-hash) and sets the StatefulSet's
 * updateRevision; when the operator deletes a pod, the test restarts that broker and recreates the
 * pod at the new revision. Checks: dynamic configs are applied live; a new revision makes brokers
 * pending; pods are deleted one at a time, only when all are Ready with no under-replicated
 * partitions, the controller last; status ends Ready with nothing pending.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are untyped JSON here */
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withAdmin } from '../../src/operator/kafka/admin-client.js';
import { resourceFor, type AnyObject } from '../../src/operator/kube/client.js';
import { Operator } from '../../src/operator/operator.js';
import { RestartGate } from '../../src/operator/restart-gate.js';
import { KubeApiServer, kubeApiserverSkipReason, waitFor } from '../helpers/kube-apiserver.js';
import { LocalSluiceCluster } from './local-cluster.js';

const skip = kubeApiserverSkipReason();
if (skip) console.warn(`skipping the roll test: ${skip}`);
const KC = resourceFor('sluice.dev/v1alpha1', 'KafkaCluster');
const POD = resourceFor('v1', 'Pod');
const STS = resourceFor('apps/v1', 'StatefulSet');
const NS = 'roll-test';
type Any = AnyObject & Record<string, any>;

describe.skipIf(skip !== null)('rolling restart through the operator', () => {
  const api = new KubeApiServer();
  const kafka = new LocalSluiceCluster(3);
  let op: Operator;
  let gate: RestartGate;

  beforeAll(async () => {
    await Promise.all([
      (async () => {
        await api.start();
        await api.installCrds(join(import.meta.dirname, '../../crds'));
        await api.createNamespace(NS);
      })(),
      kafka.start(),
    ]);
    gate = new RestartGate(() => kafka.endpoints.control({} as never));
    op = new Operator({
      client: api.client,
      log: pino({ level: 'warn' }),
      namespace: NS,
      endpoints: kafka.endpoints,
      resyncMs: 2000,
      progressMs: 500,
    });
    await op.start();
  }, 150_000);
  afterAll(async () => {
    await op?.stop();
    gate?.close();
    await Promise.all([api.stop(), kafka.stop()]);
  });

  const labels = {
    'app.kubernetes.io/name': 'sluice',
    'app.kubernetes.io/instance': 'roll',
    'app.kubernetes.io/component': 'broker',
  };
  async function createPod(id: number, revision: string): Promise<void> {
    await api.client.create(POD, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `roll-broker-${id}`,
        namespace: NS,
        labels: { ...labels, 'controller-revision-hash': revision },
      },
      spec: { containers: [{ name: 'broker', image: 'sluice:test' }] },
    });
    await api.client.mergePatch(
      POD,
      NS,
      `roll-broker-${id}`,
      { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
      'status',
    );
  }
  const setRevision = (rev: string) =>
    api.client.mergePatch(
      STS,
      NS,
      'roll-broker',
      { status: { replicas: 3, readyReplicas: 3, currentRevision: 'rev1', updateRevision: rev } },
      'status',
    );
  const status = async () => (await api.client.get<Any>(KC, NS, 'roll')).status ?? {};
  const ready = (s: any) => s.conditions?.find((c: any) => c.type === 'Ready');

  it('brings the cluster to Ready and applies dynamic configs live', async () => {
    await api.client.create(KC, {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'KafkaCluster',
      metadata: { name: 'roll', namespace: NS },
      spec: {
        replicas: 3,
        etcd: { endpoints: [kafka.etcd.endpoint] },
        config: { 'log.retention.ms': '123456789' },
      },
    });
    await waitFor(
      async () => (await api.client.getOrNull(STS, NS, 'roll-broker')) !== null,
      20_000,
      'StatefulSet',
    );
    await setRevision('rev1');
    for (const id of [0, 1, 2]) await createPod(id, 'rev1');
    await waitFor(async () => ready(await status())?.status === 'True', 30_000, 'cluster Ready');
    const s = await status();
    expect(s.brokers).toEqual([0, 1, 2].map((id) => ({ id, ready: true, pendingRestart: false })));
    expect([0, 1, 2]).toContain(s.controllerId);
    expect(await withAdmin(kafka.bootstrap, (a) => a.clusterDefaultOverrides())).toMatchObject({
      'log.retention.ms': '123456789',
    });
  });

  it('a new revision rolls the brokers one at a time, controller last', async () => {
    await withAdmin(kafka.bootstrap, (a) => a.createTopic('rolled', 3, 3, { 'min.insync.replicas': '2' }));
    await waitFor(
      async () => (await gate.health()).underReplicatedPartitions === 0,
      20_000,
      'fully replicated',
    );
    const controller = (await gate.health()).controllerId;
    const deletions: number[] = [];
    const violations: string[] = [];
    let sawPending = false;
    await setRevision('rev2');
    const deadline = Date.now() + 180_000;
    while (deletions.length < 3 && Date.now() < deadline) {
      const s = await status();
      if ((s.brokers ?? []).some((b: any) => b.pendingRestart)) sawPending = true;
      const pods = await api.client.list<Any>(POD, NS, 'app.kubernetes.io/instance=roll');
      const present = new Set(pods.items.map((p) => Number(p.metadata.name.split('-').pop())));
      const missing = [0, 1, 2].filter((id) => !present.has(id));
      // The operator deletes one pod at a time.
      if (missing.length > 1) violations.push(`pods ${missing.join(', ')} gone at once`);
      for (const id of missing) {
        deletions.push(id);
        const h = await gate.health().catch(() => null);
        if (h && h.offlinePartitions > 0) violations.push(`offline partitions while restarting ${id}`);
        const b = kafka.brokers[id]!;
        await b.stop();
        await b.start();
        await createPod(id, 'rev2');
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(violations).toEqual([]);
    expect(sawPending).toBe(true);
    expect(deletions).toHaveLength(3);
    expect(new Set(deletions).size).toBe(3);
    expect(deletions[2]).toBe(controller);
    await waitFor(async () => ready(await status())?.status === 'True', 60_000, 'Ready after the roll');
    expect((await status()).brokers.every((b: any) => !b.pendingRestart)).toBe(true);
  }, 240_000);

  it('refuses to restart a broker that would break min.insync.replicas', async () => {
    await withAdmin(kafka.bootstrap, (a) => a.createTopic('fragile', 1, 2, { 'min.insync.replicas': '2' }));
    await waitFor(
      async () => (await gate.health()).underReplicatedPartitions === 0,
      20_000,
      'fully replicated',
    );
    // Manual restart of every pod: the first candidate holding a fragile replica is refused.
    for (const id of [0, 1, 2])
      await api.client.mergePatch(POD, NS, `roll-broker-${id}`, {
        metadata: { annotations: { 'sluice.dev/manual-restart': 'true' } },
      });
    const deleted: number[] = [];
    await waitFor(
      async () => {
        const pods = await api.client.list<Any>(POD, NS, 'app.kubernetes.io/instance=roll');
        for (const id of [0, 1, 2])
          if (!pods.items.some((p) => p.metadata.name === `roll-broker-${id}`)) deleted.push(id);
        for (const id of new Set(deleted)) {
          // A safe broker (no fragile replica) may go; play the kubelet, without the annotation.
          if (pods.items.some((p) => p.metadata.name === `roll-broker-${id}`)) continue;
          await kafka.brokers[id]!.stop();
          await kafka.brokers[id]!.start();
          await createPod(id, 'rev2');
        }
        return ready(await status())?.reason === 'RestartBlocked';
      },
      120_000,
      'RestartBlocked',
      300,
    );
    const c = ready(await status());
    expect(c.status).toBe('False');
    expect(c.message).toMatch(/fragile-0: ISR \[.*\] would fall below min.insync.replicas=2/);
    expect((await status()).conditions.find((x: any) => x.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'RestartBlocked',
    });
  }, 180_000);
});
