/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are untyped JSON here */
/**
 * The Helm chart with the real helm binary (tools/install-helm.sh): lint clean, templates render
 * the expected objects for cluster-wide and namespaced installs and with every option on, the
 * values schema rejects bad values, every values.yaml key is commented, and the chart's CRDs are
 * the canonical ones.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const CHART = join(ROOT, 'charts/sluice');

function findHelm(): string | null {
  const c = [
    process.env.HELM,
    join(process.env.SLUICE_CACHE ?? join(homedir(), '.cache/sluice'), 'bin/helm'),
  ].filter((x): x is string => !!x);
  for (const p of c) if (existsSync(p)) return p;
  const which = spawnSync('sh', ['-c', 'command -v helm'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : null;
}
const helm = findHelm();
if (!helm) console.warn('skipping helm tests: helm not installed (run tools/install-helm.sh)');

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: any;
};

function template(...args: string[]): Obj[] {
  const out = execFileSync(helm!, ['template', 'sluice', CHART, '--namespace', 'sluice-system', ...args], {
    encoding: 'utf8',
  });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

describe('CRDs', () => {
  it('the chart carries exact copies of crds/', () => {
    const files = readdirSync(join(ROOT, 'crds')).sort();
    expect(files).toEqual(['sluice.dev_kafkaclusters.yaml', 'sluice.dev_kafkatopics.yaml']);
    expect(readdirSync(join(CHART, 'crds')).sort()).toEqual(files);
    for (const f of files)
      expect(readFileSync(join(CHART, 'crds', f), 'utf8')).toBe(readFileSync(join(ROOT, 'crds', f), 'utf8'));
  });
});

describe('values.yaml', () => {
  it('every key has a comment above it (free-form maps excepted)', () => {
    const lines = readFileSync(join(CHART, 'values.yaml'), 'utf8').split('\n');
    const freeForm = ['resources', 'podSecurityContext', 'securityContext'];
    const stack: { indent: number; key: string }[] = [];
    const missing: string[] = [];
    lines.forEach((line, i) => {
      const m = /^(\s*)([A-Za-z][\w.-]*):/.exec(line);
      if (!m) return;
      const indent = m[1]!.length;
      while (stack.length > 0 && stack[stack.length - 1]!.indent >= indent) stack.pop();
      const path = [...stack.map((s) => s.key), m[2]!];
      stack.push({ indent, key: m[2]! });
      if (path.length > 1 && freeForm.includes(path[0]!)) return;
      if (path.length > 2 && path[path.length - 2] === 'labels') return;
      if (!/^\s*#/.test(lines[i - 1] ?? '')) missing.push(path.join('.'));
    });
    expect(missing).toEqual([]);
  });
});

describe.skipIf(!helm)('helm chart', () => {
  it('helm lint is clean', () => {
    const out = execFileSync(helm!, ['lint', '--strict', CHART], { encoding: 'utf8' });
    expect(out).toContain('1 chart(s) linted, 0 chart(s) failed');
    const all = execFileSync(
      helm!,
      [
        'lint',
        '--strict',
        CHART,
        '--set',
        'metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true,grafanaDashboard.enabled=true,watch.clusterWide=false',
      ],
      { encoding: 'utf8' },
    );
    expect(all).toContain('0 chart(s) failed');
  });

  it('default install: cluster-wide RBAC, the operator Deployment, its metrics Service', () => {
    const objs = template();
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ClusterRole/sluice',
      'ClusterRole/sluice-broker',
      'ClusterRole/sluice-rack',
      'ClusterRoleBinding/sluice',
      'ClusterRoleBinding/sluice-rack',
      'Deployment/sluice',
      'Role/sluice-leader-election',
      'RoleBinding/sluice-leader-election',
      'Service/sluice-metrics',
      'ServiceAccount/sluice',
    ]);
    const dep = objs.find((o) => o.kind === 'Deployment')!;
    const c = dep.spec.template.spec.containers[0];
    expect(c.image).toBe('sluice:0.1.0');
    expect(c.args).toEqual([
      'operator',
      '--http-listen=0.0.0.0:8080',
      '--log-level=info',
      '--resync-seconds=60',
      '--workers=2',
      '--leader-elect',
      '--leader-election-namespace=sluice-system',
      '--leader-election-id=sluice-operator-leader',
      '--leader-election-lease-duration-seconds=15',
      '--leader-election-renew-deadline-seconds=10',
      '--leader-election-retry-period-seconds=2',
      '--broker-cluster-role=sluice-broker',
    ]);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(dep.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(dep.spec.template.spec.serviceAccountName).toBe('sluice');
    const role = objs.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'sluice')!;
    const rules = role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    const can = (group: string, resource: string, verb: string) =>
      rules.some(
        (r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
      );
    for (const [g, r, v] of [
      ['sluice.dev', 'kafkaclusters', 'watch'],
      ['sluice.dev', 'kafkatopics/status', 'patch'],
      ['apps', 'statefulsets', 'patch'],
      ['', 'pods', 'delete'],
      ['policy', 'poddisruptionbudgets', 'create'],
      ['', 'services', 'delete'],
    ] as const)
      expect(can(g, r, v), `${g}/${r} ${v}`).toBe(true);
  });

  it('namespaced install: Role and RoleBinding, --namespace passed', () => {
    const objs = template('--set', 'watch.clusterWide=false,watch.namespace=kafka');
    expect(objs.filter((o) => o.kind.startsWith('Cluster'))).toEqual([]);
    const role = objs.find((o) => o.kind === 'Role' && o.metadata.name === 'sluice')!;
    expect(role.metadata.namespace).toBe('kafka');
    expect(objs.find((o) => o.kind === 'RoleBinding' && o.metadata.name === 'sluice')!.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'sluice', namespace: 'sluice-system' },
    ]);
    expect(objs.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0].args).toContain(
      '--namespace=kafka',
    );
  });

  it('leader election: Lease RBAC in the release namespace, replicas > 1 only with it', () => {
    const objs = template('--set', 'replicaCount=3,watch.clusterWide=false,watch.namespace=kafka');
    const dep = objs.find((o) => o.kind === 'Deployment')!;
    expect(dep.spec.replicas).toBe(3);
    expect(dep.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
    const role = objs.find((o) => o.kind === 'Role' && o.metadata.name === 'sluice-leader-election')!;
    expect(role.metadata.namespace).toBe('sluice-system');
    expect(role.rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        verbs: ['get', 'update'],
        resourceNames: ['sluice-operator-leader'],
      },
    ]);
    const off = template('--set', 'operator.leaderElection.enabled=false');
    expect(off.find((o) => o.kind === 'Deployment')!.spec.strategy).toEqual({ type: 'Recreate' });
    expect(off.filter((o) => o.metadata.name === 'sluice-leader-election')).toEqual([]);
    const r = spawnSync(
      helm!,
      ['template', 'sluice', CHART, '--set', 'replicaCount=2,operator.leaderElection.enabled=false'],
      { encoding: 'utf8' },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('replicaCount > 1 needs operator.leaderElection.enabled=true');
  });

  it('rack awareness: broker ClusterRole (get nodes), the operator may bind only that role', () => {
    const objs = template();
    const broker = objs.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'sluice-broker')!;
    expect(broker.rules).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }]);
    const rack = objs.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'sluice-rack')!;
    expect(rack.rules).toContainEqual({
      apiGroups: ['rbac.authorization.k8s.io'],
      resources: ['clusterroles'],
      verbs: ['bind'],
      resourceNames: ['sluice-broker'],
    });
    expect(
      objs.find((o) => o.kind === 'ClusterRoleBinding' && o.metadata.name === 'sluice-rack')!.subjects,
    ).toEqual([{ kind: 'ServiceAccount', name: 'sluice', namespace: 'sluice-system' }]);
    // Namespaced installs render cluster-scoped rack RBAC only when asked to; false turns it off.
    const ns = template('--set', 'watch.clusterWide=false,rbac.rackAwareness=true');
    expect(
      ns
        .filter((o) => o.kind.startsWith('Cluster'))
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['sluice-broker', 'sluice-rack', 'sluice-rack']);
    const off = template('--set', 'rbac.rackAwareness=false');
    expect(off.filter((o) => o.metadata.name.endsWith('-rack'))).toEqual([]);
    expect(off.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0].args).not.toContain(
      '--broker-cluster-role=sluice-broker',
    );
  });

  it('ServiceMonitor, PrometheusRule and the Grafana dashboard when enabled', () => {
    const objs = template(
      '--set',
      'metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true,grafanaDashboard.enabled=true',
    );
    const sm = objs.find((o) => o.kind === 'ServiceMonitor')!;
    expect(sm.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '30s' }]);
    const rule = objs.find((o) => o.kind === 'PrometheusRule')!;
    const alerts = rule.spec.groups[0].rules.map((r: { alert: string }) => r.alert);
    expect(alerts).toEqual([
      'SluiceUnderReplicatedPartitions',
      'SluiceOfflinePartitions',
      'SluiceNoActiveController',
      'SluiceOperatorReconcileErrors',
    ]);
    expect(rule.spec.groups[0].rules[0].expr).toContain('sluice_under_replicated_partitions');
    expect(rule.spec.groups[0].rules[0].annotations.summary).toContain('{{ $labels.service }}');
    const dash = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'sluice-dashboard')!;
    expect(dash.metadata.labels!.grafana_dashboard).toBe('1');
    const json = JSON.parse(dash.data['sluice.json']);
    expect(json.panels.map((p: { title: string }) => p.title)).toContain('Under-replicated partitions');
  });

  it('the values schema rejects bad values', () => {
    const r = spawnSync(helm!, ['template', 'sluice', CHART, '--set', 'operator.logLevel=loud'], {
      encoding: 'utf8',
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/operator\.logLevel.*(must be one of|value must be one of)/s);
    const r2 = spawnSync(helm!, ['template', 'sluice', CHART, '--set', 'unknownKey=1'], { encoding: 'utf8' });
    expect(r2.status).not.toBe(0);
    expect(r2.stderr).toMatch(/unknownKey/);
  });
});
