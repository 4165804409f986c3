/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are untyped JSON here */
/**
 * Rack awareness RBAC on a real kube-apiserver with real RBAC authorization. The operator runs
 * in-process as its own ServiceAccount with exactly the RBAC objects the chart renders
 * (`helm template`), so the test also proves the chart grants what the operator does (including
 * the `bind` escalation check for the ClusterRoleBinding, and the leader-election Lease). A KafkaCluster with spec.rack gets a
 * finalizer and a ClusterRoleBinding that lets its broker ServiceAccount get nodes (checked with a
 * SubjectAccessReview and by running the rack init container's code as that ServiceAccount);
 * removing spec.rack, and deleting the KafkaCluster, removes the binding and the finalizer.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRackInit } from '../../src/cli/operator-command.js';
import { resourceFor, type AnyObject, type KubeClient } from '../../src/operator/kube/client.js';
import { Operator } from '../../src/operator/operator.js';
import { KubeApiServer, kubeApiserverSkipReason, waitFor } from '../helpers/kube-apiserver.js';

const ROOT = join(import.meta.dirname, '../..');
const KC = resourceFor('sluice.dev/v1alpha1', 'KafkaCluster');
const CRB = resourceFor('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding');
const SA = resourceFor('v1', 'ServiceAccount');
const SAR = resourceFor('authorization.k8s.io/v1', 'SubjectAccessReview');
const NS = 'rack-test';
const OPERATOR_NS = 'sluice-system';
const BINDING = `sluice-${NS}-demo-broker`;
type Any = AnyObject & Record<string, any>;

function findHelm(): string | null {
  for (const p of [process.env.HELM, join(homedir(), '.cache/sluice/bin/helm')])
    if (p && existsSync(p)) return p;
  const which = spawnSync('sh', ['-c', 'command -v helm'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : null;
}
const helm = findHelm();
const skip = kubeApiserverSkipReason() ?? (helm ? null : 'helm not installed (tools/install-helm.sh)');
if (skip) console.warn(`skipping rack RBAC tests: ${skip}`);

describe.skipIf(skip !== null)('rack awareness RBAC on a real kube-apiserver (RBAC authorization)', () => {
  const api = new KubeApiServer({ authorization: 'RBAC' });
  let op: Operator;
  let operatorClient: KubeClient;

  beforeAll(async () => {
    await api.start();
    await api.installCrds(join(ROOT, 'crds'));
    await api.createNamespace(NS);
    await api.createNamespace(OPERATOR_NS);
    // The chart's ServiceAccount and RBAC, exactly as rendered.
    const out = execFileSync(
      helm!,
      ['template', 'sluice', join(ROOT, 'charts/sluice'), '--namespace', OPERATOR_NS],
      { encoding: 'utf8' },
    );
    const objs = parseAllDocuments(out)
      .map((d) => d.toJS() as Any | null)
      .filter(
        (o): o is Any =>
          o !== null &&
          /^(ServiceAccount|ClusterRole|ClusterRoleBinding|Role|RoleBinding)$/.test(String(o.kind)),
      );
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ClusterRole/sluice',
      'ClusterRole/sluice-broker',
      'ClusterRole/sluice-rack',
      'ClusterRoleBinding/sluice',
      'ClusterRoleBinding/sluice-rack',
      'Role/sluice-leader-election',
      'RoleBinding/sluice-leader-election',
      'ServiceAccount/sluice',
    ]);
    for (const o of objs) await api.client.apply(o, 'test');
    const token = await api.serviceAccountToken(OPERATOR_NS, 'sluice');
    operatorClient = api.clientFor(token, 'operator.kubeconfig').client;
    op = new Operator({
      client: operatorClient,
      log: pino({ level: 'warn' }),
      endpoints: { bootstrap: () => '127.0.0.1:1', control: () => new Map() },
      resyncMs: 2000,
      progressMs: 1000,
      brokerClusterRole: 'sluice-broker',
      // As the chart runs it: the Lease RBAC is the chart's too.
      leaderElection: { namespace: OPERATOR_NS, name: 'sluice-operator-leader' },
    });
    await op.start();
    await waitFor(() => op.leading, 10_000, 'the operator holds the Lease');
  }, 120_000);

  afterAll(async () => {
    await op?.stop();
    await api.stop();
  });

  const cluster = () => api.client.getOrNull<Any>(KC, NS, 'demo');
  const finalizers = async () => ((await cluster())?.metadata.finalizers ?? []) as string[];
  const binding = () => api.client.getOrNull<Any>(CRB, undefined, BINDING);
  const brokerUser = `system:serviceaccount:${NS}:demo-broker`;
  const can = async (verb: string, resource: string) => {
    const r = await api.client.create<Any>(SAR, {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      metadata: { name: '' },
      spec: {
        user: brokerUser,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${NS}`, 'system:authenticated'],
        resourceAttributes: { verb, resource, group: '' },
      },
    });
    return r.status.allowed === true;
  };

  it('the operator itself may not read nodes (it only binds the broker role)', async () => {
    await expect(operatorClient.list(resourceFor('v1', 'Node'))).rejects.toMatchObject({ status: 403 });
  });

  it('spec.rack: broker ServiceAccount, finalizer and a ClusterRoleBinding granting get nodes', async () => {
    expect(await can('get', 'nodes')).toBe(false);
    await api.client.create(KC, {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'KafkaCluster',
      metadata: { name: 'demo', namespace: NS },
      spec: {
        replicas: 3,
        etcd: { endpoints: ['http://etcd:2379'] },
        rack: { topologyKey: 'topology.kubernetes.io/zone' },
      },
    });
    await waitFor(async () => (await binding()) !== null, 20_000, 'ClusterRoleBinding');
    const crb = (await binding())!;
    expect(crb.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'sluice-broker',
    });
    expect(crb.subjects).toEqual([{ kind: 'ServiceAccount', name: 'demo-broker', namespace: NS }]);
    expect((crb.metadata.labels as Record<string, string>)['sluice.dev/cluster-namespace']).toBe(NS);
    expect(crb.metadata.ownerReferences).toBeUndefined();
    expect(await api.client.getOrNull(SA, NS, 'demo-broker')).not.toBeNull();
    expect((await cluster())!.metadata.finalizers).toEqual(['sluice.dev/cluster-finalizer']);
    // The binding is made in an earlier step of the same reconcile than the StatefulSet.
    const stsOrNull = () =>
      api.client.getOrNull<Any>(resourceFor('apps/v1', 'StatefulSet'), NS, 'demo-broker');
    await waitFor(async () => (await stsOrNull()) !== null, 20_000, 'StatefulSet');
    const sts = (await stsOrNull())!;
    expect(sts.spec.template.spec.serviceAccountName).toBe('demo-broker');
    expect(sts.spec.template.spec.initContainers[0].command).toContain('rack');

    expect(await can('get', 'nodes')).toBe(true);
    expect(await can('list', 'nodes')).toBe(false);
    expect(await can('get', 'secrets')).toBe(false);
  });

  it('the rack init container, run as the broker ServiceAccount, reads the Node label', async () => {
    await api.client.create(resourceFor('v1', 'Node'), {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'zone-a' } },
    });
    const token = await api.serviceAccountToken(NS, 'demo-broker');
    const { kubeconfigPath } = api.clientFor(token, 'broker.kubeconfig');
    const output = join(api.dir, 'rack');
    await runRackInit({
      topologyKey: 'topology.kubernetes.io/zone',
      node: 'node-a',
      output,
      kubeconfig: kubeconfigPath,
    });
    expect(readFileSync(output, 'utf8')).toBe('zone-a');
  });

  it('removing spec.rack deletes the binding and the finalizer; adding it back restores them', async () => {
    await api.client.mergePatch(KC, NS, 'demo', { spec: { rack: null } });
    await waitFor(async () => (await binding()) === null, 20_000, 'binding deleted');
    await waitFor(async () => (await finalizers()).length === 0, 20_000, 'finalizer removed');
    expect(await can('get', 'nodes')).toBe(false);
    await api.client.mergePatch(KC, NS, 'demo', {
      spec: { rack: { topologyKey: 'kubernetes.io/hostname' } },
    });
    await waitFor(async () => (await binding()) !== null, 20_000, 'binding back');
    await waitFor(
      async () => (await finalizers()).includes('sluice.dev/cluster-finalizer'),
      20_000,
      'finalizer back',
    );
  });

  it('deleting the KafkaCluster deletes the binding, removes the finalizer, and the object goes', async () => {
    await api.client.delete(KC, NS, 'demo');
    await waitFor(async () => (await binding()) === null, 20_000, 'binding deleted');
    await waitFor(async () => (await cluster()) === null, 20_000, 'KafkaCluster gone');
    expect(await can('get', 'nodes')).toBe(false);
  });
});
