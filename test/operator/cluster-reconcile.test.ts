/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are untyped JSON here */
/**
 * The operator against a real kube-apiserver: a KafkaCluster produces the expected objects and
 * status; a spec change updates them and bumps observedGeneration; operator-owned config keys are
 * rejected with a condition. No kubelet runs here, so no broker pods exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { pino } from 'pino';
import { resourceFor, type AnyObject } from '../../src/operator/kube/client.js';
import { Operator } from '../../src/operator/operator.js';
import { KubeApiServer, kubeApiserverSkipReason, waitFor } from '../helpers/kube-apiserver.js';

const skip = kubeApiserverSkipReason();
if (skip) console.warn(`skipping KafkaCluster reconcile tests: ${skip}`);
const KC = resourceFor('sluice.dev/v1alpha1', 'KafkaCluster');
const NS = 'kc-test';
type Any = AnyObject & Record<string, any>;

describe.skipIf(skip !== null)('KafkaCluster reconcile on a real kube-apiserver', () => {
  const api = new KubeApiServer();
  let op: Operator;
  beforeAll(async () => {
    await api.start();
    await api.installCrds(join(import.meta.dirname, '../../crds'));
    await api.createNamespace(NS);
    op = new Operator({
      client: api.client,
      log: pino({ level: 'warn' }),
      namespace: NS,
      // Nothing listens there: the cluster has no running brokers in this test.
      endpoints: { bootstrap: () => '127.0.0.1:1', control: () => new Map() },
      resyncMs: 2000,
      progressMs: 1000,
      httpListen: { host: '127.0.0.1', port: 0 },
    });
    await op.start();
  }, 120_000);
  afterAll(async () => {
    await op?.stop();
    await api.stop();
  });

  const get = (kind: string, apiVersion: string, name: string) =>
    api.client.getOrNull<Any>(resourceFor(apiVersion, kind), NS, name);
  const status = async () => (await api.client.get<Any>(KC, NS, 'demo')).status ?? {};

  it('creates the objects and writes status', async () => {
    await api.client.create(KC, {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'KafkaCluster',
      metadata: { name: 'demo', namespace: NS },
      spec: {
        replicas: 3,
        image: 'sluice:test',
        etcd: { endpoints: ['http://etcd:2379'] },
        config: { 'num.partitions': '3', 'log.retention.ms': '60000' },
      },
    });
    await waitFor(
      async () => (await status()).observedGeneration === 1,
      20_000,
      'status.observedGeneration 1',
    );
    const cr = await api.client.get<Any>(KC, NS, 'demo');
    for (const [kind, apiVersion, name] of [
      ['ConfigMap', 'v1', 'demo-config'],
      ['Service', 'v1', 'demo-brokers'],
      ['Service', 'v1', 'demo-bootstrap'],
      ['ServiceAccount', 'v1', 'demo-broker'],
      ['StatefulSet', 'apps/v1', 'demo-broker'],
      ['PodDisruptionBudget', 'policy/v1', 'demo-broker'],
    ] as const) {
      const o = await get(kind, apiVersion, name);
      expect(o, `${kind}/${name}`).not.toBeNull();
      expect(o!.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'sluice.dev/v1alpha1',
          kind: 'KafkaCluster',
          name: 'demo',
          uid: cr.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    const sts = (await get('StatefulSet', 'apps/v1', 'demo-broker'))!;
    expect(sts.spec.updateStrategy).toEqual({ type: 'OnDelete' });
    expect(sts.spec.replicas).toBe(3);
    const cm = (await get('ConfigMap', 'v1', 'demo-config'))!;
    expect(cm.data['server.properties']).toContain('num.partitions=3\n');
    const pdb = (await get('PodDisruptionBudget', 'policy/v1', 'demo-broker'))!;
    expect(pdb.spec.maxUnavailable).toBe(1);
    const s = await status();
    expect(s.listeners).toEqual([
      { name: 'internal', type: 'ClusterIP', bootstrapServers: 'demo-bootstrap.kc-test.svc:9092' },
    ]);
    expect(s.brokers).toEqual([0, 1, 2].map((id) => ({ id, ready: false, pendingRestart: false })));
    expect(s.labelSelector).toBe(
      'app.kubernetes.io/name=sluice,app.kubernetes.io/instance=demo,app.kubernetes.io/component=broker',
    );
    const ready = s.conditions.find((c: any) => c.type === 'Ready');
    expect(ready).toMatchObject({
      status: 'False',
      reason: 'WaitingForBrokers',
      message: '0/3 brokers ready',
      observedGeneration: 1,
    });
    expect(s.conditions.map((c: any) => c.type).sort()).toEqual(['Degraded', 'Ready', 'Reconciling']);
  });

  it('a spec change updates the objects and bumps observedGeneration', async () => {
    const before = (await get('StatefulSet', 'apps/v1', 'demo-broker'))!;
    const hashBefore = before.spec.template.metadata.annotations['sluice.dev/config-hash'];
    await api.client.mergePatch(KC, NS, 'demo', {
      spec: {
        replicas: 4,
        config: { 'num.partitions': '3', 'log.retention.ms': '60000', 'offsets.topic.num.partitions': '10' },
        listeners: { external: { type: 'NodePort' } },
      },
    });
    await waitFor(
      async () => (await status()).observedGeneration === 2,
      20_000,
      'status.observedGeneration 2',
    );
    // The StatefulSet follows once every broker's external Service has its node port.
    await waitFor(
      async () => (await get('StatefulSet', 'apps/v1', 'demo-broker'))!.spec.replicas === 4,
      20_000,
      'StatefulSet with 4 replicas',
    );
    const sts = (await get('StatefulSet', 'apps/v1', 'demo-broker'))!;
    expect(sts.spec.template.metadata.annotations['sluice.dev/config-hash']).not.toBe(hashBefore);
    const nodePorts: number[] = [];
    for (let id = 0; id < 4; id++) {
      const svc = (await get('Service', 'v1', `demo-broker-${id}-external`))!;
      expect(svc.spec.ports[0].targetPort).toBe(9094);
      nodePorts.push(svc.spec.ports[0].nodePort);
    }
    // Each broker advertises its node's address (":port") with its own Service's node port.
    const broker = sts.spec.template.spec.containers[0];
    expect(broker.env).toContainEqual({
      name: 'SLUICE_EXTERNAL_ADVERTISED',
      value: nodePorts.map((p, id) => `${id}=:${p}`).join(' '),
    });
    expect((await get('ConfigMap', 'v1', 'demo-config'))!.data['server.properties']).toContain(
      'listeners=INTERNAL://0.0.0.0:9092,EXTERNAL://0.0.0.0:9094\n',
    );
    // No kubelet, so no pod and no node address: the external bootstrap is not reported yet.
    expect((await status()).listeners.map((l: any) => l.name)).toEqual(['internal']);

    // A dynamic-only change leaves the pod template (so the pods) alone.
    const hash = sts.spec.template.metadata.annotations['sluice.dev/config-hash'];
    await api.client.mergePatch(KC, NS, 'demo', { spec: { config: { 'log.retention.ms': '120000' } } });
    await waitFor(
      async () => (await status()).observedGeneration === 3,
      20_000,
      'status.observedGeneration 3',
    );
    const after = (await get('StatefulSet', 'apps/v1', 'demo-broker'))!;
    expect(after.spec.template.metadata.annotations['sluice.dev/config-hash']).toBe(hash);
    expect((await get('ConfigMap', 'v1', 'demo-config'))!.data['server.properties']).toContain(
      'log.retention.ms=120000\n',
    );

    // Scaling down and dropping the external listener prunes its Services.
    await api.client.mergePatch(KC, NS, 'demo', { spec: { replicas: 2, listeners: { external: null } } });
    await waitFor(
      async () => (await get('Service', 'v1', 'demo-broker-0-external')) === null,
      20_000,
      'external Services pruned',
    );
    await waitFor(
      async () => (await get('Service', 'v1', 'demo-external-bootstrap')) === null,
      20_000,
      'external bootstrap pruned',
    );
  });

  it('LoadBalancer: brokers start only once each Service has an address, and advertise it', async () => {
    await api.client.create(KC, {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'KafkaCluster',
      metadata: { name: 'lb', namespace: NS },
      spec: {
        replicas: 2,
        etcd: { endpoints: ['http://etcd:2379'] },
        listeners: { external: { type: 'LoadBalancer' } },
      },
    });
    const lbStatus = async () => (await api.client.get<Any>(KC, NS, 'lb')).status ?? {};
    await waitFor(
      async () =>
        (await lbStatus()).conditions?.find((c: any) => c.type === 'Ready')?.reason ===
        'WaitingForExternalAddresses',
      20_000,
      'WaitingForExternalAddresses',
    );
    expect(await get('StatefulSet', 'apps/v1', 'lb-broker')).toBeNull();
    // What a cloud's load-balancer controller does: write the ingress into each Service's status.
    const SVC = resourceFor('v1', 'Service');
    const ingress = (name: string, ip: string) =>
      api.client.mergePatch(SVC, NS, name, { status: { loadBalancer: { ingress: [{ ip }] } } }, 'status');
    await ingress('lb-broker-0-external', '127.0.0.10');
    await ingress('lb-broker-1-external', '127.0.0.11');
    await ingress('lb-external-bootstrap', '127.0.0.12');
    const envOf = async () =>
      (await get('StatefulSet', 'apps/v1', 'lb-broker'))?.spec.template.spec.containers[0].env.find(
        (e: any) => e.name === 'SLUICE_EXTERNAL_ADVERTISED',
      )?.value;
    await waitFor(
      async () => (await envOf()) === '0=127.0.0.10:9094 1=127.0.0.11:9094',
      20_000,
      'StatefulSet advertising the load balancers',
    );
    const listenersNow = async () =>
      ((await lbStatus()).listeners ?? []).map((l: any) => `${l.name} ${l.type} ${l.bootstrapServers}`);
    await waitFor(async () => (await listenersNow()).length === 2, 20_000, 'external bootstrap in status');
    expect(await listenersNow()).toEqual([
      'internal ClusterIP lb-bootstrap.kc-test.svc:9092',
      'external LoadBalancer 127.0.0.12:9094',
    ]);
    // A new address changes the pod template (the brokers then roll through the restart gate).
    await ingress('lb-broker-1-external', '127.0.0.13');
    await waitFor(
      async () => (await envOf()) === '0=127.0.0.10:9094 1=127.0.0.13:9094',
      20_000,
      'StatefulSet following the new address',
    );
  });

  it('operator-owned config keys are rejected with a condition', async () => {
    await api.client.create(KC, {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'KafkaCluster',
      metadata: { name: 'owned', namespace: NS },
      spec: {
        replicas: 1,
        etcd: { endpoints: ['http://etcd:2379'] },
        config: { 'node.id': '5', 'log.dirs': '/tmp' },
      },
    });
    await waitFor(
      async () => ((await api.client.get<Any>(KC, NS, 'owned')).status?.observedGeneration ?? 0) === 1,
      20_000,
      'status of owned',
    );
    const s = (await api.client.get<Any>(KC, NS, 'owned')).status;
    const ready = s.conditions.find((c: any) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'InvalidConfig' });
    expect(ready.message).toContain('config key "node.id" is managed by the operator');
    expect(s.conditions.find((c: any) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'InvalidConfig',
    });
    expect(await get('StatefulSet', 'apps/v1', 'owned-broker')).toBeNull();
  });

  it('serves /metrics, /healthz and /readyz', async () => {
    const base = `http://127.0.0.1:${op.httpPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const m = await (await fetch(`${base}/metrics`)).text();
    expect(m).toMatch(/sluice_operator_reconcile_total\{kind="KafkaCluster",result="success"\} \d+/);
  });
});
