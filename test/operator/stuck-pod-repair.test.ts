/**
 * The roller repairs stuck pods, on a real kube-apiserver with the operator in-process. No kubelet
 * or StatefulSet controller runs: the test plays them, writing pod status through the status
 * subresource and recreating deleted pods. No broker runs either: the control-plane and Kafka
 * addresses the operator gets refuse connections, so SafeToRestart can never say yes and no
 * restart through the gate can happen. Checks: a crash-looping pod of an old revision is deleted at
 * once; a stuck pod of the current revision and healthy pods of the old one are not; the reason is
 * in status.lastPodRepair and in a Warning Event on the KafkaCluster; unschedulable and never-Ready
 * pods of an old revision are repaired too.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are untyped JSON here */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceFor, type AnyObject } from '../../src/operator/kube/client.js';
import { Operator } from '../../src/operator/operator.js';
import { KubeApiServer, kubeApiserverSkipReason, waitFor } from '../helpers/kube-apiserver.js';

const skip = kubeApiserverSkipReason();
if (skip) console.warn(`skipping the stuck pod repair test: ${skip}`);
const KC = resourceFor('sluice.dev/v1alpha1', 'KafkaCluster');
const POD = resourceFor('v1', 'Pod');
const STS = resourceFor('apps/v1', 'StatefulSet');
const EVENT = resourceFor('v1', 'Event');
const NS = 'repair-test';
type Any = AnyObject & Record<string, any>;

/** A loopback port nothing listens on (bound, then closed): connections are refused at once. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe.skipIf(skip !== null)('the roller repairs stuck broker pods', () => {
  const api = new KubeApiServer();
  let op: Operator;

  beforeAll(async () => {
    await api.start();
    await api.installCrds(join(import.meta.dirname, '../../crds'));
    await api.createNamespace(NS);
    const dead = `127.0.0.1:${await closedPort()}`;
    op = new Operator({
      client: api.client,
      log: pino({ level: 'error' }),
      namespace: NS,
      endpoints: {
        bootstrap: () => dead,
        control: (c) => new Map(Array.from({ length: c.spec.replicas }, (_, id) => [id, dead])),
      },
      resyncMs: 1000,
      progressMs: 300,
    });
    await op.start();
  }, 120_000);
  afterAll(async () => {
    await op?.stop();
    await api.stop();
  });

  const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();
  const podName = (c: string, id: number) => `${c}-broker-${id}`;

  async function createCluster(name: string): Promise<void> {
    await api.client.create(KC, {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'KafkaCluster',
      metadata: { name, namespace: NS },
      spec: { replicas: 3, etcd: { endpoints: ['http://127.0.0.1:1'] } },
    });
    await waitFor(
      async () => (await api.client.getOrNull(STS, NS, `${name}-broker`)) !== null,
      20_000,
      'StatefulSet',
    );
  }
  const setUpdateRevision = (cluster: string, rev: string) =>
    api.client.mergePatch(
      STS,
      NS,
      `${cluster}-broker`,
      { status: { replicas: 3, currentRevision: 'rev1', updateRevision: rev } },
      'status',
    );

  /** Plays the StatefulSet controller (creates the pod) and the kubelet (writes its status). */
  async function createPod(cluster: string, id: number, revision: string, status: object): Promise<void> {
    await api.client.create(POD, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: podName(cluster, id),
        namespace: NS,
        labels: {
          'app.kubernetes.io/name': 'sluice',
          'app.kubernetes.io/instance': cluster,
          'app.kubernetes.io/component': 'broker',
          'controller-revision-hash': revision,
        },
      },
      spec: { containers: [{ name: 'broker', image: 'sluice:test' }] },
    });
    await setPodStatus(cluster, id, status);
  }
  const setPodStatus = (cluster: string, id: number, status: object) =>
    api.client.mergePatch(POD, NS, podName(cluster, id), { status }, 'status');

  const healthy = () => ({
    phase: 'Running',
    startTime: ago(600),
    conditions: [
      { type: 'PodScheduled', status: 'True', lastTransitionTime: ago(600) },
      { type: 'Ready', status: 'True', lastTransitionTime: ago(590) },
    ],
    containerStatuses: [
      {
        name: 'broker',
        image: 'sluice:test',
        imageID: '',
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: ago(595) } },
      },
    ],
  });
  const crashLooping = () => ({
    phase: 'Running',
    startTime: ago(120),
    conditions: [
      { type: 'PodScheduled', status: 'True', lastTransitionTime: ago(120) },
      {
        type: 'Ready',
        status: 'False',
        reason: 'ContainersNotReady',
        message: 'containers with unready status: [broker]',
        lastTransitionTime: ago(119),
      },
    ],
    containerStatuses: [
      {
        name: 'broker',
        image: 'sluice:test',
        imageID: '',
        ready: false,
        started: false,
        restartCount: 5,
        state: {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: 'back-off 2m40s restarting failed container=broker',
          },
        },
        lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(20), startedAt: ago(21) } },
      },
    ],
  });

  const cluster = async (name: string) => await api.client.get<Any>(KC, NS, name);
  const podNames = async (cluster: string) =>
    (await api.client.list<Any>(POD, NS, `app.kubernetes.io/instance=${cluster}`)).items
      .filter((p) => !p.metadata.deletionTimestamp)
      .map((p) => p.metadata.name)
      .sort();
  const events = async (cluster: string) =>
    (await api.client.list<Any>(EVENT, NS)).items.filter(
      (e) => e.involvedObject.kind === 'KafkaCluster' && e.involvedObject.name === cluster,
    );
  /** Lets the operator reconcile several times (progressMs is 300 ms). */
  const severalReconciles = () => new Promise((r) => setTimeout(r, 3000));

  it('replaces a crash-looping pod of an old revision at once, and nothing else', async () => {
    const c = 'crash';
    await createCluster(c);
    await setUpdateRevision(c, 'rev1');
    for (const id of [0, 1, 2]) await createPod(c, id, 'rev1', healthy());
    await waitFor(
      async () =>
        (await cluster(c)).status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True'),
      30_000,
      'cluster Ready',
    );

    // Broker 1 crash-loops on the current revision (say a node problem): nothing to repair, a
    // replacement would run the same template.
    await setPodStatus(c, 1, crashLooping());
    await severalReconciles();
    expect(await podNames(c)).toEqual([podName(c, 0), podName(c, 1), podName(c, 2)]);

    // A new revision (the user fixed the spec): broker 1 is replaced at once, without the gate
    // (no controller answers here), and the healthy old-revision pods stay.
    const fixedAt = Date.now();
    await setUpdateRevision(c, 'rev2');
    await waitFor(async () => !(await podNames(c)).includes(podName(c, 1)), 15_000, 'pod 1 deleted');
    const repairedInMs = Date.now() - fixedAt;
    expect(await podNames(c)).toEqual([podName(c, 0), podName(c, 2)]);
    console.log(`stuck pod replaced ${repairedInMs} ms after the new revision`);

    await waitFor(async () => (await cluster(c)).status?.lastPodRepair !== undefined, 10_000, 'status');
    const repair = (await cluster(c)).status.lastPodRepair;
    expect(repair).toMatchObject({
      pod: podName(c, 1),
      brokerId: 1,
      reason: 'CrashLoopBackOff',
      fromRevision: 'rev1',
      toRevision: 'rev2',
    });
    expect(repair.message).toContain('CrashLoopBackOff after 5 restart(s)');
    expect(Date.parse(repair.time)).toBeGreaterThanOrEqual(fixedAt - 1000);

    await waitFor(async () => (await events(c)).length > 0, 10_000, 'Event');
    const [event, ...more] = await events(c);
    expect(more).toEqual([]);
    if (!event) throw new Error('no Event');
    expect(event).toMatchObject({
      type: 'Warning',
      reason: 'StuckPodReplaced',
      involvedObject: { apiVersion: 'sluice.dev/v1alpha1', kind: 'KafkaCluster', name: c, namespace: NS },
      source: { component: 'sluice-operator' },
      count: 1,
    });
    expect(event.involvedObject.uid).toBe((await cluster(c)).metadata.uid);
    expect(event.message).toMatch(
      /replaced broker pod crash-broker-1 .*old revision rev1 \(CrashLoopBackOff/,
    );

    // The StatefulSet recreates it at rev2, and it crash-loops there too (the fix was not one):
    // it is not replaced again, nor are the healthy brokers restarted while it is down.
    await createPod(c, 1, 'rev2', crashLooping());
    await severalReconciles();
    expect(await podNames(c)).toEqual([podName(c, 0), podName(c, 1), podName(c, 2)]);
    const ready = (await cluster(c)).status.conditions.find((x: any) => x.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'RestartPending' });
    expect(ready.message).toContain('broker 1 is stuck on the current revision (CrashLoopBackOff');
    expect(await events(c)).toHaveLength(1);

    // Broker 1 comes up: brokers 0 and 2 are pending a restart, which needs the controller's
    // SafeToRestart; none answers, so healthy pods are never restarted out of turn.
    await setPodStatus(c, 1, healthy());
    await severalReconciles();
    expect(await podNames(c)).toEqual([podName(c, 0), podName(c, 1), podName(c, 2)]);
    const s = (await cluster(c)).status;
    expect(s.brokers.filter((b: any) => b.pendingRestart).map((b: any) => b.id)).toEqual([0, 2]);
    expect(s.lastPodRepair.pod).toBe(podName(c, 1));
  }, 90_000);

  it('replaces unschedulable and never-Ready pods of an old revision, one per step', async () => {
    const c = 'pending';
    await createCluster(c);
    await setUpdateRevision(c, 'rev1');
    await createPod(c, 0, 'rev1', healthy());
    // Unschedulable for two minutes (the old template asked for more memory than any node has).
    await createPod(c, 1, 'rev1', {
      phase: 'Pending',
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: '0/3 nodes are available: 3 Insufficient memory.',
          lastTransitionTime: ago(120),
        },
      ],
    });
    // Running for ten minutes and never Ready (a static config that keeps it from registering).
    await createPod(c, 2, 'rev1', {
      phase: 'Running',
      startTime: ago(600),
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: ago(600) },
        { type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: ago(599) },
      ],
      containerStatuses: [
        {
          name: 'broker',
          image: 'sluice:test',
          imageID: '',
          ready: false,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: ago(590) } },
        },
      ],
    });
    await severalReconciles();
    expect(await podNames(c)).toEqual([podName(c, 0), podName(c, 1), podName(c, 2)]);

    const seen: string[] = [];
    await setUpdateRevision(c, 'rev2');
    await waitFor(
      async () => {
        const r = (await cluster(c)).status?.lastPodRepair;
        if (r && !seen.includes(`${r.pod} ${r.reason}`)) seen.push(`${r.pod} ${r.reason}`);
        return (await podNames(c)).length === 1 && seen.length === 2;
      },
      15_000,
      'both stuck pods replaced',
      50,
    );
    expect(await podNames(c)).toEqual([podName(c, 0)]);
    // One decision per step: the lower id first, then the other.
    expect(seen).toEqual([`${podName(c, 1)} Unschedulable`, `${podName(c, 2)} NeverReady`]);
    const reasons = (await events(c)).map((e) => e.message.match(/\((\w+):/)?.[1]).sort();
    expect(reasons).toEqual(['NeverReady', 'Unschedulable']);
  }, 60_000);
});
