/**
 * The chart's PrometheusRule, unit-tested with Prometheus' own `promtool test rules` (Debian's
 * `prometheus` package): the rules are rendered by the real helm binary with the chart's defaults,
 * fed with series shaped like the ones a ServiceMonitor scrape gives (namespace, service, pod), and
 * each alert must fire exactly when it should, with the labels and annotations an on-call person
 * reads. The same rules run in a real Prometheus against a real cluster in test/e2e-node.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { findHelm } from '../e2e-node/harness.js';

const CHART = join(import.meta.dirname, '../../charts/sluice');
const promtool = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();
const helm = findHelm();
const helmOk = spawnSync(helm, ['version', '--short'], { encoding: 'utf8' }).status === 0;
const skip = !promtool
  ? 'promtool not installed (apt-get install prometheus)'
  : !helmOk
    ? 'helm not installed (tools/install-helm.sh)'
    : null;
if (skip) console.warn(`skipping the PrometheusRule tests: ${skip}`);

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
}

describe.skipIf(skip !== null)("the chart's PrometheusRule under promtool test rules", () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-promtool-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function renderRules(...set: string[]): { groups: { name: string; rules: Rule[] }[] } {
    const out = execFileSync(
      helm,
      [
        'template',
        'sluice',
        CHART,
        '--namespace',
        'sluice-system',
        '--set',
        'metrics.prometheusRule.enabled=true',
        ...set.flatMap((s) => ['--set', s]),
      ],
      { encoding: 'utf8' },
    );
    const rule = parseAllDocuments(out)
      .map((d) => d.toJS() as { kind?: string; spec?: { groups: { name: string; rules: Rule[] }[] } } | null)
      .find((o) => o?.kind === 'PrometheusRule');
    if (!rule?.spec) throw new Error('no PrometheusRule rendered');
    return rule.spec;
  }

  function promtoolTest(rules: unknown, tests: unknown[]): { code: number | null; out: string } {
    writeFileSync(join(dir, 'rules.yaml'), stringify(rules));
    writeFileSync(
      join(dir, 'tests.yaml'),
      stringify({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests }),
    );
    const r = spawnSync(promtool, ['test', 'rules', 'tests.yaml'], { cwd: dir, encoding: 'utf8' });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  }

  // promtool compares labels and annotations exactly, so every expected alert names both.
  const underReplicated = (severity: string, value: number) => ({
    exp_labels: { severity, namespace: 'kafka', service: 'c-brokers' },
    exp_annotations: {
      summary: 'Sluice cluster c-brokers has under-replicated partitions',
      description: `${value} partition(s) have fewer in-sync replicas than replicas.`,
    },
  });
  const noController = (value: number) => ({
    exp_labels: { severity: 'critical', namespace: 'kafka', service: 'c-brokers' },
    exp_annotations: {
      summary: `Sluice cluster c-brokers has ${value} active controllers (expected 1)`,
      description: 'Without exactly one controller, leaders are not elected when brokers fail.',
    },
  });
  const broker = (pod: string, ns = 'kafka', service = 'c-brokers') =>
    `{namespace="${ns}",service="${service}",pod="${pod}"}`;

  it('the rendered rules are valid (promtool check rules)', () => {
    writeFileSync(join(dir, 'check.yaml'), stringify(renderRules()));
    const r = spawnSync(promtool, ['check', 'rules', join(dir, 'check.yaml')], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('4 rules found');
  });

  it('SluiceUnderReplicatedPartitions fires after `for` once a broker is down and resolves when it is back', () => {
    // Broker 2 goes down at 3m (its series stops); the leaders on 0 and 1 report 2 and 1
    // under-replicated partitions until it is back at 20m.
    const r = promtoolTest(renderRules(), [
      {
        interval: '1m',
        input_series: [
          { series: `sluice_under_replicated_partitions${broker('c-broker-0')}`, values: '0 0 0 2x16 0x10' },
          { series: `sluice_under_replicated_partitions${broker('c-broker-1')}`, values: '0 0 0 1x16 0x10' },
          { series: `sluice_under_replicated_partitions${broker('c-broker-2')}`, values: '0 0 0 _x16 0x10' },
          // Another cluster, healthy: never alerts.
          {
            series: `sluice_under_replicated_partitions${broker('d-broker-0', 'other', 'd-brokers')}`,
            values: '0x30',
          },
        ],
        alert_rule_test: [
          { eval_time: '2m', alertname: 'SluiceUnderReplicatedPartitions', exp_alerts: [] },
          // Pending, not firing: the default `for` is 5m.
          { eval_time: '7m', alertname: 'SluiceUnderReplicatedPartitions', exp_alerts: [] },
          {
            eval_time: '9m',
            alertname: 'SluiceUnderReplicatedPartitions',
            exp_alerts: [underReplicated('warning', 3)],
          },
          { eval_time: '21m', alertname: 'SluiceUnderReplicatedPartitions', exp_alerts: [] },
        ],
      },
    ]);
    expect(r.code, r.out).toBe(0);
  });

  it('the `for` and severity values are the chart values', () => {
    const rules = renderRules('metrics.prometheusRule.for=2m', 'metrics.prometheusRule.severity=critical');
    const r = promtoolTest(rules, [
      {
        interval: '1m',
        input_series: [
          { series: `sluice_under_replicated_partitions${broker('c-broker-0')}`, values: '1x10' },
        ],
        alert_rule_test: [
          { eval_time: '1m', alertname: 'SluiceUnderReplicatedPartitions', exp_alerts: [] },
          {
            eval_time: '3m',
            alertname: 'SluiceUnderReplicatedPartitions',
            exp_alerts: [underReplicated('critical', 1)],
          },
        ],
      },
    ]);
    expect(r.code, r.out).toBe(0);
  });

  it('SluiceOfflinePartitions is critical after 1m; SluiceNoActiveController fires for 0 or 2 controllers', () => {
    const r = promtoolTest(renderRules(), [
      {
        interval: '1m',
        input_series: [
          { series: `sluice_offline_partitions${broker('c-broker-0')}`, values: '0 4x10' },
          { series: `sluice_offline_partitions${broker('c-broker-1')}`, values: '0 4x10' },
          // Controllers: one (healthy), none from 2m, two (a split) from 12m.
          { series: `sluice_active_controller${broker('c-broker-0')}`, values: '1 1 0x9 1x10' },
          { series: `sluice_active_controller${broker('c-broker-1')}`, values: '0 0 0x9 1x10' },
        ],
        alert_rule_test: [
          { eval_time: '1m', alertname: 'SluiceOfflinePartitions', exp_alerts: [] },
          {
            eval_time: '3m',
            alertname: 'SluiceOfflinePartitions',
            exp_alerts: [
              {
                exp_labels: { severity: 'critical', namespace: 'kafka', service: 'c-brokers' },
                exp_annotations: {
                  summary: 'Sluice cluster c-brokers has offline partitions',
                  description: '4 partition(s) have no leader: producers and consumers of them are stopped.',
                },
              },
            ],
          },
          { eval_time: '1m', alertname: 'SluiceNoActiveController', exp_alerts: [] },
          { eval_time: '8m', alertname: 'SluiceNoActiveController', exp_alerts: [noController(0)] },
          { eval_time: '18m', alertname: 'SluiceNoActiveController', exp_alerts: [noController(2)] },
        ],
      },
    ]);
    expect(r.code, r.out).toBe(0);
  });

  it('SluiceOperatorReconcileErrors fires while reconciles keep failing', () => {
    const series = (result: string, values: string) => ({
      series: `sluice_operator_reconcile_total{namespace="sluice-system",service="sluice-metrics",pod="sluice-0",kind="KafkaCluster",result="${result}"}`,
      values,
    });
    const r = promtoolTest(renderRules(), [
      {
        interval: '1m',
        input_series: [series('success', '0+5x30'), series('error', '0x5 1+1x10 11x15')],
        alert_rule_test: [
          { eval_time: '5m', alertname: 'SluiceOperatorReconcileErrors', exp_alerts: [] },
          {
            eval_time: '12m',
            alertname: 'SluiceOperatorReconcileErrors',
            exp_alerts: [
              {
                exp_labels: { severity: 'warning', namespace: 'sluice-system', kind: 'KafkaCluster' },
                exp_annotations: {
                  summary: 'Sluice operator reconciles of KafkaCluster are failing',
                  description: "Look at the operator's logs and the resources' status conditions.",
                },
              },
            ],
          },
          // No new error for more than the 10m window: resolved.
          { eval_time: '30m', alertname: 'SluiceOperatorReconcileErrors', exp_alerts: [] },
        ],
      },
    ]);
    expect(r.code, r.out).toBe(0);
  });
});
