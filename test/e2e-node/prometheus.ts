/**
 * A real Prometheus (Debian's `prometheus` package) on the e2e node, configured the way the
 * Prometheus operator configures one from the objects the chart and the Sluice operator create:
 * each ServiceMonitor becomes a scrape job whose relabelling is prometheus-operator's (keep the
 * selected Services' endpoints on the named port, then the target labels `namespace`, `service`,
 * `pod`, `container`, `endpoint`, `job`), and each PrometheusRule's `spec.groups` a rule file.
 * Debian builds Prometheus without Kubernetes service discovery, so the one part played here is
 * the discovery: `discover()` reads the Endpoints and pods from the kube-apiserver and writes them,
 * with the same `__meta_kubernetes_*` labels Kubernetes SD (role: endpoints) gives, to file_sd
 * files Prometheus re-reads; the relabelling and scraping are Prometheus' own. The ServiceMonitor
 * and PrometheusRule objects are the chart's and the operator's, read back from the API server.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { resourceFor, type AnyObject } from '../../src/operator/kube/client.js';
import { DATA, run, waitUntil, type E2ENode } from './harness.js';

interface ServiceMonitor extends AnyObject {
  spec: {
    selector: { matchLabels?: Record<string, string> };
    namespaceSelector?: { matchNames?: string[] };
    endpoints: { port: string; path?: string; interval?: string }[];
    jobLabel?: string;
  };
}

const sanitize = (l: string) => l.replace(/[^a-zA-Z0-9_]/g, '_');
const monitoredNamespaces = (sm: ServiceMonitor) =>
  sm.spec.namespaceSelector?.matchNames ?? [sm.metadata.namespace!];

/** prometheus-operator's scrape job for each endpoint of a ServiceMonitor (role: endpoints). */
export function scrapeConfigs(monitors: ServiceMonitor[], sdFile: (namespace: string) => string): unknown[] {
  const jobs: unknown[] = [];
  for (const sm of monitors) {
    const ns = sm.metadata.namespace!;
    sm.spec.endpoints.forEach((ep, i) => {
      const relabel: Record<string, unknown>[] = [];
      for (const [k, v] of Object.entries(sm.spec.selector.matchLabels ?? {}))
        relabel.push({
          action: 'keep',
          source_labels: [
            `__meta_kubernetes_service_label_${sanitize(k)}`,
            `__meta_kubernetes_service_labelpresent_${sanitize(k)}`,
          ],
          regex: `(${v});true`,
        });
      const kindName = [
        '__meta_kubernetes_endpoint_address_target_kind',
        '__meta_kubernetes_endpoint_address_target_name',
      ];
      relabel.push(
        { action: 'keep', source_labels: ['__meta_kubernetes_endpoint_port_name'], regex: ep.port },
        {
          source_labels: kindName,
          separator: ';',
          regex: 'Node;(.*)',
          replacement: '${1}',
          target_label: 'node',
        },
        {
          source_labels: kindName,
          separator: ';',
          regex: 'Pod;(.*)',
          replacement: '${1}',
          target_label: 'pod',
        },
        { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
        { source_labels: ['__meta_kubernetes_service_name'], target_label: 'service' },
        { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
        { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
        { source_labels: ['__meta_kubernetes_service_name'], target_label: 'job' },
        ...(sm.spec.jobLabel
          ? [
              {
                source_labels: [`__meta_kubernetes_service_label_${sanitize(sm.spec.jobLabel)}`],
                regex: '(.+)',
                target_label: 'job',
              },
            ]
          : []),
        { target_label: 'endpoint', replacement: ep.port },
      );
      jobs.push({
        job_name: `serviceMonitor/${ns}/${sm.metadata.name}/${i}`,
        honor_labels: false,
        scrape_interval: ep.interval ?? '30s',
        metrics_path: ep.path ?? '/metrics',
        file_sd_configs: [{ files: monitoredNamespaces(sm).map(sdFile), refresh_interval: '5s' }],
        relabel_configs: relabel,
      });
    });
  }
  return jobs;
}

type Obj = AnyObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * What Kubernetes SD (role: endpoints) discovers in a namespace: one target per endpoint address
 * and port, with its Service's, endpoint's and pod's meta labels.
 */
export function endpointTargets(endpoints: Obj[], services: Obj[], pods: Obj[]): unknown[] {
  const groups: unknown[] = [];
  for (const ep of endpoints) {
    const svc = services.find((s) => s.metadata.name === ep.metadata.name);
    const svcLabels: Record<string, string> = {};
    for (const [k, v] of Object.entries((svc?.metadata.labels ?? {}) as Record<string, string>)) {
      svcLabels[`__meta_kubernetes_service_label_${sanitize(k)}`] = v;
      svcLabels[`__meta_kubernetes_service_labelpresent_${sanitize(k)}`] = 'true';
    }
    for (const subset of ep.subsets ?? []) {
      const addrs = [
        ...(subset.addresses ?? []).map((a: Obj) => ({ a, ready: 'true' })),
        ...(subset.notReadyAddresses ?? []).map((a: Obj) => ({ a, ready: 'false' })),
      ];
      for (const { a, ready } of addrs)
        for (const port of subset.ports ?? []) {
          const pod =
            a.targetRef?.kind === 'Pod' ? pods.find((p) => p.metadata.name === a.targetRef.name) : undefined;
          const container = (pod?.spec.containers ?? []).find((c: Obj) =>
            (c.ports ?? []).some((cp: Obj) => cp.containerPort === port.port),
          );
          groups.push({
            targets: [`${a.ip}:${port.port}`],
            labels: {
              __meta_kubernetes_namespace: ep.metadata.namespace,
              __meta_kubernetes_service_name: ep.metadata.name,
              ...svcLabels,
              __meta_kubernetes_endpoint_port_name: port.name ?? '',
              __meta_kubernetes_endpoint_port_protocol: port.protocol ?? 'TCP',
              __meta_kubernetes_endpoint_ready: ready,
              ...(a.targetRef
                ? {
                    __meta_kubernetes_endpoint_address_target_kind: a.targetRef.kind,
                    __meta_kubernetes_endpoint_address_target_name: a.targetRef.name,
                  }
                : {}),
              ...(pod
                ? {
                    __meta_kubernetes_pod_name: pod.metadata.name,
                    __meta_kubernetes_pod_ip: pod.status?.podIP ?? '',
                    __meta_kubernetes_pod_ready: String(
                      (pod.status?.conditions ?? []).some(
                        (c: Obj) => c.type === 'Ready' && c.status === 'True',
                      ),
                    ),
                    ...(container ? { __meta_kubernetes_pod_container_name: container.name } : {}),
                  }
                : {}),
            },
          });
        }
    }
  }
  return groups;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * Every call to Prometheus gives up after this long: it goes through the relay into the node's
 * namespace, and an answer lost on the way must fail that one attempt, not hang the test.
 */
const HTTP_TIMEOUT_MS = 20_000;

export class NodePrometheus {
  readonly dir = join(DATA, 'prometheus');
  port = 0;
  constructor(readonly node: E2ENode) {}

  /** Writes the config and rule files, checks them with promtool, starts Prometheus. */
  async start(
    monitors: ServiceMonitor[],
    ruleGroups: unknown[],
    o: { evaluationInterval?: string } = {},
  ): Promise<void> {
    mkdirSync(join(this.dir, 'data'), { recursive: true });
    this.#namespaces = [...new Set(monitors.flatMap(monitoredNamespaces))];
    await this.discover();
    writeFileSync(join(this.dir, 'rules.yaml'), stringify({ groups: ruleGroups }));
    writeFileSync(
      join(this.dir, 'prometheus.yaml'),
      stringify({
        global: { scrape_interval: '5s', evaluation_interval: o.evaluationInterval ?? '2s' },
        rule_files: [join(this.dir, 'rules.yaml')],
        scrape_configs: scrapeConfigs(monitors, (ns) => this.#sdFile(ns)),
      }),
    );
    const check = await run('promtool', ['check', 'config', join(this.dir, 'prometheus.yaml')]);
    if (check.code !== 0) throw new Error(`promtool check config:\n${check.stdout}${check.stderr}`);
    await this.node.startInNode('prometheus', [
      'prometheus',
      `--config.file=${join(this.dir, 'prometheus.yaml')}`,
      `--storage.tsdb.path=${join(this.dir, 'data')}`,
      '--web.listen-address=127.0.0.1:9090',
      '--log.level=warn',
    ]);
    this.port = await this.node.forward('127.0.0.1', 9090);
    await waitUntil(
      async () =>
        (
          await fetch(`http://127.0.0.1:${this.port}/-/ready`, {
            signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
          })
        ).ok,
      60_000,
      'Prometheus ready',
    );
    // Discovery follows pods as they come and go (rolls, scaling), like Kubernetes SD's watch.
    this.#timer = setInterval(() => {
      this.discover().catch(() => {
        /* the API answers again next time */
      });
    }, 2000);
  }

  #namespaces: string[] = [];
  #timer: NodeJS.Timeout | null = null;
  #sdFile(ns: string): string {
    return join(this.dir, `sd-${ns}.json`);
  }

  /** Writes the endpoints of every monitored namespace to its file_sd file (atomically). */
  async discover(): Promise<void> {
    const c = this.node.client;
    for (const ns of this.#namespaces) {
      const [eps, svcs, pods] = await Promise.all([
        c.list<Obj>({ apiVersion: 'v1', plural: 'endpoints', namespaced: true }, ns),
        c.list<Obj>(resourceFor('v1', 'Service'), ns),
        c.list<Obj>(resourceFor('v1', 'Pod'), ns),
      ]);
      const file = this.#sdFile(ns);
      writeFileSync(
        `${file}.tmp`,
        JSON.stringify(endpointTargets(eps.items, svcs.items, pods.items), null, 1),
      );
      renameSync(`${file}.tmp`, file);
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async api<T>(path: string, params: Record<string, string> = {}): Promise<T> {
    const qs = new URLSearchParams(params).toString();
    const res = await fetch(`http://127.0.0.1:${this.port}/api/v1/${path}${qs ? `?${qs}` : ''}`, {
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path} ${qs}: ${body.error ?? res.status}`);
    return body.data;
  }

  async query(expr: string): Promise<PromSample[]> {
    const d = await this.api<{ resultType: string; result: PromSample[] }>('query', { query: expr });
    return d.result;
  }

  targets(): Promise<{
    activeTargets: {
      labels: Record<string, string>;
      health: string;
      lastError: string;
      scrapePool: string;
    }[];
  }> {
    return this.api('targets', { state: 'active' });
  }

  alerts(): Promise<{ alerts: { labels: Record<string, string>; state: string; value: string }[] }> {
    return this.api('alerts');
  }
}
