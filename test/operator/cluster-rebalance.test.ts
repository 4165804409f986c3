/**
 * Scaling with partition moves: a real kube-apiserver, a real 5-broker Sluice cluster (node ids
 * 0..4, all running: the brokers a scale-down removes stay up, as terminating pods would until
 * drained), and the operator in-process. The test plays the StatefulSet controller: it creates
 * broker pods (Ready) up to the StatefulSet's replicas and deletes those above it. Checks:
 *  - 5 → 3: the StatefulSet keeps 5 replicas while a partition has a replica on broker 3 or 4;
 *    it shrinks only once none has and every ISR is full (data is checked by the e2e-node suite);
 *  - 3 → 2 with an RF-3 topic: refused (ScaleDownBlocked, Degraded), the StatefulSet keeps 3;
 *  - 3 → 5: the partitions are reassigned so brokers 3 and 4 get their share (Rebalancing, then
 *    Ready with a Rebalanced Event), preferred leaders spread.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are untyped JSON here */
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withAdmin } from '../../src/operator/kafka/admin-client.js';
import { resourceFor, type AnyObject } from '../../src/operator/kube/client.js';
import { Operator } from '../../src/operator/operator.js';
import { KubeApiServer, kubeApiserverSkipReason, waitFor } from '../helpers/kube-apiserver.js';
import { LocalSluiceCluster } from './local-cluster.js';

const skip = kubeApiserverSkipReason();
if (skip) console.warn(`skipping the rebalance test: ${skip}`);
const KC = resourceFor('sluice.dev/v1alpha1', 'KafkaCluster');
const POD = resourceFor('v1', 'Pod');
const STS = resourceFor('apps/v1', 'StatefulSet');
const EVENT = resourceFor('v1', 'Event');
const NS = 'rebalance-test';
const NAME = 'rb';
type Any = AnyObject & Record<string, any>;

describe.skipIf(skip !== null)('scaling moves partitions', () => {
  const api = new KubeApiServer();
  const kafka = new LocalSluiceCluster(5);
  let op: Operator;

  beforeAll(async () => {
    await Promise.all([
      (async () => {
        await api.start();
        await api.installCrds(join(import.meta.dirname, '../../crds'));
        await api.createNamespace(NS);
      })(),
      kafka.start(),
    ]);
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
    await Promise.all([api.stop(), kafka.stop()]);
  });

  const labels = {
    'app.kubernetes.io/name': 'sluice',
    'app.kubernetes.io/instance': NAME,
    'app.kubernetes.io/component': 'broker',
  };
  const podName = (id: number) => `${NAME}-broker-${id}`;
  /** Plays the StatefulSet controller once: pods 0..replicas-1 exist and are Ready, no others. */
  async function syncPods(): Promise<number> {
    const sts = await api.client.getOrNull<Any>(STS, NS, `${NAME}-broker`);
    const want = Number(sts?.spec?.replicas ?? 0);
    const pods = await api.client.list<Any>(POD, NS, `app.kubernetes.io/instance=${NAME}`);
    const have = new Set(pods.items.map((p) => Number(p.metadata.name.split('-').pop())));
    for (const id of have) if (id >= want) await api.client.delete(POD, NS, podName(id));
    for (let id = 0; id < want; id++) {
      if (have.has(id)) continue;
      await api.client.create(POD, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: podName(id),
          namespace: NS,
          labels: { ...labels, 'controller-revision-hash': 'r1' },
        },
        spec: { containers: [{ name: 'broker', image: 'sluice:test' }] },
      });
      await api.client.mergePatch(
        POD,
        NS,
        podName(id),
        { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
        'status',
      );
    }
    await api.client.mergePatch(
      STS,
      NS,
      `${NAME}-broker`,
      { status: { replicas: want, readyReplicas: want, currentRevision: 'r1', updateRevision: 'r1' } },
      'status',
    );
    return want;
  }
  const cluster = async () => api.client.get<Any>(KC, NS, NAME);
  const cond = (c: Any, type: string) => (c.status?.conditions ?? []).find((x: any) => x.type === type);
  const placements = () => withAdmin(kafka.bootstrap, (a) => a.placements());
  const scale = (replicas: number) => api.client.mergePatch(KC, NS, NAME, { spec: { replicas } });
  async function events(reason: string): Promise<string[]> {
    const list = await api.client.list<Any>(EVENT, NS);
    return list.items.filter((e) => e.reason === reason).map((e) => String(e.message));
  }
  it('5 → 3: the StatefulSet shrinks only after brokers 3 and 4 hold nothing and every ISR is full', async () => {
    await api.client.create(KC, {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'KafkaCluster',
      metadata: { name: NAME, namespace: NS },
      spec: { replicas: 5, etcd: { endpoints: [kafka.etcd.endpoint] } },
    });
    await waitFor(
      async () => (await api.client.getOrNull(STS, NS, `${NAME}-broker`)) !== null,
      20_000,
      'StatefulSet',
    );
    await syncPods();
    await waitFor(async () => cond(await cluster(), 'Ready')?.status === 'True', 60_000, 'Ready with 5');
    await withAdmin(kafka.bootstrap, (a) => a.createTopic('spread', 10, 2, {}));
    const before = (await placements()).topics.get('spread')!;
    expect(before.filter((p) => p.replicas.some((r) => r >= 3)).length).toBeGreaterThan(0);

    await scale(3);
    const samples: { sts: number; onLeaving: number; reason: string }[] = [];
    await waitFor(
      async () => {
        const sts = Number((await api.client.get<Any>(STS, NS, `${NAME}-broker`)).spec.replicas);
        const t = (await placements()).topics.get('spread')!;
        samples.push({
          sts,
          onLeaving: t.filter((p) => p.replicas.some((r) => r >= 3)).length,
          reason: String(cond(await cluster(), 'Reconciling')?.reason),
        });
        await syncPods();
        const c = await cluster();
        return sts === 3 && cond(c, 'Ready')?.status === 'True' && c.status.readyReplicas === 3;
      },
      120_000,
      'scaled down to 3',
      300,
    );
    // Never shrunk while a replica lived on 3 or 4.
    expect(samples.filter((s) => s.sts < 5 && s.onLeaving > 0)).toEqual([]);
    expect(samples[0]!.sts).toBe(5);
    // The drain may finish between two samples; its Event says what it moved.
    expect((await events('Rebalancing')).some((m) => /scale-down 5 → 3 .*off brokers 3, 4/.test(m))).toBe(
      true,
    );
    const after = (await placements()).topics.get('spread')!;
    for (const p of after) {
      expect(p.replicas).toHaveLength(2);
      expect(p.replicas.every((r) => r < 3)).toBe(true);
      expect(p.isr.sort()).toEqual([...p.replicas].sort());
    }
    expect(await events('Rebalanced')).not.toEqual([]);
  }, 180_000);

  it('3 → 2 with an RF-3 topic is refused: ScaleDownBlocked, the StatefulSet keeps 3', async () => {
    await withAdmin(kafka.bootstrap, (a) => a.createTopic('wide', 2, 3, {}));
    await scale(2);
    await waitFor(
      async () => cond(await cluster(), 'Degraded')?.reason === 'ScaleDownBlocked',
      30_000,
      'ScaleDownBlocked',
      300,
    );
    const c = await cluster();
    expect(cond(c, 'Degraded')?.status).toBe('True');
    expect(cond(c, 'Ready')?.message).toMatch(
      /refused: 2 partitions have up to 3 replicas, more than the 2 brokers/,
    );
    expect((await api.client.get<Any>(STS, NS, `${NAME}-broker`)).spec.replicas).toBe(3);
    expect((await events('ScaleDownBlocked')).length).toBe(1);
    await withAdmin(kafka.bootstrap, (a) => a.deleteTopic('wide'));
    await scale(3);
    await waitFor(
      async () => cond(await cluster(), 'Ready')?.status === 'True',
      30_000,
      'Ready with 3 again',
    );
  }, 90_000);

  it('3 → 5: partitions are reassigned onto brokers 3 and 4, preferred leaders spread', async () => {
    await scale(5);
    await waitFor(
      async () => {
        await syncPods();
        const t = (await placements()).topics.get('spread')!;
        const count = (id: number) => t.filter((p) => p.replicas.includes(id)).length;
        return [0, 1, 2, 3, 4].every((id) => count(id) === 4) && t.every((p) => p.isr.length === 2);
      },
      120_000,
      'spread balanced over 5 brokers',
      300,
    );
    // With small partitions the moves finish within one status sample, so the durable signals are
    // the Events: the submission (Rebalancing), then completion after the preferred-leader election
    // (Rebalanced), and only then Reconciling back to False.
    expect(
      (await events('Rebalancing')).some((m) => /reassigning \d+ partitions .* over brokers 0-4/.test(m)),
    ).toBe(true);
    await waitFor(
      async () => (await events('Rebalanced')).some((m) => m.includes('balanced over brokers 0-4')),
      60_000,
      'the Rebalanced Event',
    );
    await waitFor(
      async () => cond(await cluster(), 'Reconciling')?.status === 'False',
      60_000,
      'rebalance finished',
    );
    const t = (await placements()).topics.get('spread')!;
    const leaders = [0, 1, 2, 3, 4].map((id) => t.filter((p) => p.replicas[0] === id).length);
    expect(leaders).toEqual([2, 2, 2, 2, 2]);
  }, 180_000);
});
