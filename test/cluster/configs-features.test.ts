/**
 * Cluster-wide broker defaults and finalized features on a real 3-broker cluster (real etcd), with
 * Kafka 4.4.0's kafka-configs and kafka-features:
 * - `--describe --entity-type brokers --entity-default` lists every cluster-wide default from every
 *   broker, also one that a broker overrides for itself (that broker used to leave it out);
 * - the finalized features live in etcd: every broker reports the same levels and epoch, an upgrade
 *   through one broker is seen by all, and a restarted broker still reports it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { ensureKafkaTools, runKafkaTool } from '../helpers/kafka-tools.js';
import { RawClient } from '../helpers/raw-client.js';
import { ApiKeys } from '../../src/protocol/messages/index.js';

describe('cluster-wide broker defaults and features on 3 brokers', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    await ensureKafkaTools();
    cluster = await new TestCluster({ brokers: 3 }).start();
  }, 600_000);
  afterAll(async () => {
    await cluster?.cleanup();
  });

  const tool = (t: 'kafka-configs' | 'kafka-features', bootstrap: string, ...args: string[]) =>
    runKafkaTool(t, ['--bootstrap-server', bootstrap, ...args]);

  it('--entity-default shows every cluster-wide default, also one broker 2 overrides for itself', async () => {
    const b2 = cluster.broker(2).bootstrap;
    const alter = (...args: string[]) =>
      tool('kafka-configs', b2, '--alter', '--entity-type', 'brokers', ...args);
    const setDefault = await alter('--entity-default', '--add-config', 'log.retention.ms=3600000');
    expect(setDefault.stdout + setDefault.stderr).toContain(
      'Completed updating default config for brokers in the cluster.',
    );
    const setOwn = await alter('--entity-name', '2', '--add-config', 'log.retention.ms=7200000');
    expect(setOwn.stdout + setOwn.stderr).toContain('Completed updating config for broker 2.');
    // Broker 2 itself, asked for the cluster default, names it although it overrides it.
    const defaultsAt = async (id: number, n: number) => {
      const c = await RawClient.connect(cluster.broker(id).port);
      try {
        return await cluster.waitFor(
          `broker ${id} knows the defaults`,
          async () => {
            const r = await c.request(ApiKeys.DescribeConfigs, 4, {
              resources: [{ resourceType: 4, resourceName: '', configurationKeys: null }],
              includeSynonyms: true,
              includeDocumentation: false,
            });
            const cs = r.results[0]!.configs.filter((x) => x.configSource === 3);
            return cs.length === n ? r.results[0]!.configs : undefined;
          },
          30_000,
        );
      } finally {
        c.close();
      }
    };
    const atTwo = await defaultsAt(2, 1);
    expect(
      atTwo.map((x) => [x.name, x.value, x.configSource, (x.synonyms ?? []).map((s) => s.source)]),
    ).toEqual([['log.retention.ms', '3600000', 3, [3]]]);
    const more = await alter('--entity-default', '--add-config', 'log.cleaner.threads=2');
    expect(more.stdout + more.stderr).toContain(
      'Completed updating default config for brokers in the cluster.',
    );

    const expectedDefaults = [
      'Default configs for brokers in the cluster are:',
      '  log.cleaner.threads=2 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.cleaner.threads=2}',
      '  log.retention.ms=3600000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=3600000}',
      '',
    ].join('\n');
    // Through each broker (the tool asks whichever it likes; the raw request below asks broker 2 itself).
    for (const b of cluster.brokers) {
      const r = await cluster.waitFor(`entity-default via broker ${b.bootstrap}`, async () => {
        const d = await tool(
          'kafka-configs',
          b.bootstrap,
          '--describe',
          '--entity-type',
          'brokers',
          '--entity-default',
        );
        return d.stdout === expectedDefaults ? d : undefined;
      });
      expect(r.stdout).toBe(expectedDefaults);
    }
    for (const id of [1, 2, 3]) {
      const configs = await defaultsAt(id, 2);
      expect(
        configs.map((x) => [x.name, x.value, x.configSource, (x.synonyms ?? []).map((s) => s.source)]),
      ).toEqual([
        ['log.cleaner.threads', '2', 3, [3]],
        ['log.retention.ms', '3600000', 3, [3]],
      ]);
    }
    const own = await tool(
      'kafka-configs',
      b2,
      '--describe',
      '--entity-type',
      'brokers',
      '--entity-name',
      '2',
    );
    expect(own.stdout).toContain(
      '  log.retention.ms=7200000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.retention.ms=7200000, DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=3600000, DEFAULT_CONFIG:log.retention.hours=168}\n',
    );
  }, 600_000);

  it('finalized features are one cluster-wide value: changed through one broker, seen by all, kept across a restart', async () => {
    const describeAt = async (id: number) => {
      const r = await tool('kafka-features', cluster.bootstrap, 'describe', '--node-id', String(id));
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    const levelOf = (line: string) => /FinalizedVersionLevel: (\S+)\s+Epoch: (\d+)/.exec(line)!.slice(1);
    const first = await Promise.all([1, 2, 3].map(describeAt));
    expect(first.map(levelOf).map(([l]) => l)).toEqual(['4.4-IV2', '4.4-IV2', '4.4-IV2']);
    expect(new Set(first.map((l) => levelOf(l)[1])).size).toBe(1);

    // A cluster that finalized 4.3-IV0 (as if made by an older release): written straight into etcd.
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const put = await fetch(`${cluster.etcd.endpoint}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({
        key: b64(`${cluster.root}/features`),
        value: b64(JSON.stringify({ levels: { 'metadata.version': 30 } })),
      }),
    });
    expect(put.ok).toBe(true);
    for (const id of [1, 2, 3]) {
      await cluster.waitFor(`broker ${id} reports 4.3-IV0`, async () =>
        levelOf(await describeAt(id))[0] === '4.3-IV0' ? true : undefined,
      );
    }

    const dry = await tool(
      'kafka-features',
      cluster.broker(2).bootstrap,
      'upgrade',
      '--metadata',
      '4.4-IV2',
      '--dry-run',
    );
    expect(dry.stdout).toContain('metadata.version can be upgraded to 33.');
    expect(levelOf(await describeAt(3))[0]).toBe('4.3-IV0');
    const up = await tool(
      'kafka-features',
      cluster.broker(2).bootstrap,
      'upgrade',
      '--feature',
      'metadata.version=33',
    );
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(up.stdout).toContain('metadata.version was upgraded to 33.');

    const after = await Promise.all(
      [1, 2, 3].map((id) =>
        cluster.waitFor(`broker ${id} reports 4.4-IV2`, async () => {
          const l = levelOf(await describeAt(id));
          return l[0] === '4.4-IV2' ? l : undefined;
        }),
      ),
    );
    expect(new Set(after.map(([, e]) => e)).size).toBe(1);
    expect(Number(after[0]![1])).toBeGreaterThan(Number(levelOf(first[0]!)[1]));

    await cluster.broker(3).stop();
    await cluster.broker(3).start();
    const restarted = await cluster.waitFor('broker 3 answers again', async () =>
      levelOf(await describeAt(3)),
    );
    expect(restarted).toEqual(after[0]);
  }, 600_000);
});
