/**
 * Configs and features as Kafka 4.4 has them, checked with Kafka 4.4.0's own tools against a real
 * `sluice broker` process: kafka-configs (ConfigCommand) and kafka-features (FeatureCommand), plus
 * exact DescribeConfigs/ApiVersions answers where the tools do not show a field (config type,
 * documentation, feature ranges per version).
 *
 * Expected texts are what a real Kafka 4.4.0 broker prints for the same commands (checked side by
 * side while writing this test; the topic's `--describe --all` below is a Kafka broker's output).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.js';
import { ensureKafkaTools, runKafkaTool } from '../helpers/kafka-tools.js';
import { RawClient } from '../helpers/raw-client.js';
import { ApiKeys } from '../../src/protocol/messages/index.js';
import { KAFKA_BROKER_CONFIGS } from '../../src/common/kafka-configs.generated.js';

/** `  name=value sensitive=… synonyms={…}` lines of kafka-configs --describe, by key. */
function described(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^ {2}([^=\s]+)=/.exec(line);
    if (m) out.set(m[1]!, line.trim());
  }
  return out;
}

/** A real Kafka 4.4.0 broker's `kafka-configs --describe --entity-type topics --all` of a topic created
 *  with retention.bytes=1000 (no broker overrides of topic defaults). */
const KAFKA_TOPIC_DESCRIBE_ALL = `
  cleanup.policy=delete sensitive=false synonyms={DEFAULT_CONFIG:log.cleanup.policy=delete}
  compression.gzip.level=-1 sensitive=false synonyms={DEFAULT_CONFIG:compression.gzip.level=-1}
  compression.lz4.level=9 sensitive=false synonyms={DEFAULT_CONFIG:compression.lz4.level=9}
  compression.type=producer sensitive=false synonyms={DEFAULT_CONFIG:compression.type=producer}
  compression.zstd.level=3 sensitive=false synonyms={DEFAULT_CONFIG:compression.zstd.level=3}
  delete.retention.ms=86400000 sensitive=false synonyms={DEFAULT_CONFIG:log.cleaner.delete.retention.ms=86400000}
  errors.deadletterqueue.group.enable=false sensitive=false synonyms={}
  file.delete.delay.ms=60000 sensitive=false synonyms={DEFAULT_CONFIG:log.segment.delete.delay.ms=60000}
  flush.messages=9223372036854775807 sensitive=false synonyms={DEFAULT_CONFIG:log.flush.interval.messages=9223372036854775807}
  flush.ms=9223372036854775807 sensitive=false synonyms={}
  follower.replication.throttled.replicas= sensitive=false synonyms={}
  index.interval.bytes=4096 sensitive=false synonyms={DEFAULT_CONFIG:log.index.interval.bytes=4096}
  leader.replication.throttled.replicas= sensitive=false synonyms={}
  local.retention.bytes=-2 sensitive=false synonyms={DEFAULT_CONFIG:log.local.retention.bytes=-2}
  local.retention.ms=-2 sensitive=false synonyms={DEFAULT_CONFIG:log.local.retention.ms=-2}
  max.compaction.lag.ms=9223372036854775807 sensitive=false synonyms={DEFAULT_CONFIG:log.cleaner.max.compaction.lag.ms=9223372036854775807}
  max.decompressed.message.bytes=2147483639 sensitive=false synonyms={DEFAULT_CONFIG:max.decompressed.message.bytes=2147483639}
  max.message.bytes=1048588 sensitive=false synonyms={DEFAULT_CONFIG:message.max.bytes=1048588}
  message.timestamp.after.max.ms=3600000 sensitive=false synonyms={DEFAULT_CONFIG:log.message.timestamp.after.max.ms=3600000}
  message.timestamp.before.max.ms=9223372036854775807 sensitive=false synonyms={DEFAULT_CONFIG:log.message.timestamp.before.max.ms=9223372036854775807}
  message.timestamp.type=CreateTime sensitive=false synonyms={DEFAULT_CONFIG:log.message.timestamp.type=CreateTime}
  min.cleanable.dirty.ratio=0.5 sensitive=false synonyms={DEFAULT_CONFIG:log.cleaner.min.cleanable.ratio=0.5}
  min.compaction.lag.ms=0 sensitive=false synonyms={DEFAULT_CONFIG:log.cleaner.min.compaction.lag.ms=0}
  min.insync.replicas=1 sensitive=false synonyms={DEFAULT_CONFIG:min.insync.replicas=1}
  preallocate=false sensitive=false synonyms={DEFAULT_CONFIG:log.preallocate=false}
  remote.copy.lag.bytes=-1 sensitive=false synonyms={DEFAULT_CONFIG:log.remote.copy.lag.bytes=-1}
  remote.copy.lag.ms=0 sensitive=false synonyms={DEFAULT_CONFIG:log.remote.copy.lag.ms=0}
  remote.log.copy.disable=false sensitive=false synonyms={}
  remote.log.delete.on.disable=false sensitive=false synonyms={}
  remote.storage.enable=false sensitive=false synonyms={}
  retention.bytes=1000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.bytes=1000, DEFAULT_CONFIG:log.retention.bytes=-1}
  retention.ms=604800000 sensitive=false synonyms={}
  segment.bytes=1073741824 sensitive=false synonyms={DEFAULT_CONFIG:log.segment.bytes=1073741824}
  segment.index.bytes=10485760 sensitive=false synonyms={DEFAULT_CONFIG:log.index.size.max.bytes=10485760}
  segment.jitter.ms=0 sensitive=false synonyms={}
  segment.ms=604800000 sensitive=false synonyms={}
  unclean.leader.election.enable=false sensitive=false synonyms={DEFAULT_CONFIG:unclean.leader.election.enable=false}
`;

describe('broker and topic configs with kafka-configs (Kafka 4.4.0 ConfigCommand)', () => {
  let broker: BrokerProcess;
  const configs = (...args: string[]) =>
    runKafkaTool('kafka-configs', ['--bootstrap-server', broker.bootstrap, ...args]);

  beforeAll(async () => {
    await ensureKafkaTools();
    broker = await new BrokerProcess({ nodeId: 1 }).start();
  }, 600_000);
  afterAll(async () => {
    await broker?.cleanup();
  });

  it('describes every broker key Kafka 4.4 defines, with its default, source and synonyms', async () => {
    const r = await configs('--describe', '--entity-type', 'brokers', '--entity-name', '1', '--all');
    expect(r.code, r.stderr).toBe(0);
    const lines = described(r.stdout);
    const kafkaKeys = KAFKA_BROKER_CONFIGS.filter((k) => k.inConfigDef && !k.internal).map((k) => k.name);
    expect(kafkaKeys.length).toBeGreaterThan(340);
    expect(kafkaKeys.filter((k) => !lines.has(k))).toEqual([]);
    // Kafka's keys, and Sluice's four own ones, nothing else; the control-plane secret is a password,
    // described as Kafka describes one (sensitive, no value).
    expect(lines.size).toBe(kafkaKeys.length + 4);
    expect(lines.get('sluice.control.plane.secret')).toBe(
      'sluice.control.plane.secret=null sensitive=true synonyms={}',
    );
    expect(lines.get('num.io.threads')).toBe(
      'num.io.threads=8 sensitive=false synonyms={DEFAULT_CONFIG:num.io.threads=8}',
    );
    expect(lines.get('log.cleaner.threads')).toBe(
      'log.cleaner.threads=1 sensitive=false synonyms={DEFAULT_CONFIG:log.cleaner.threads=1}',
    );
    // As a Kafka broker answers: log.retention.ms has no value of its own and no synonym before it.
    expect(lines.get('log.retention.ms')).toBe('log.retention.ms=null sensitive=false synonyms={}');
    expect(lines.get('log.retention.hours')).toBe(
      'log.retention.hours=168 sensitive=false synonyms={DEFAULT_CONFIG:log.retention.hours=168}',
    );
    expect(lines.get('message.max.bytes')).toBe(
      'message.max.bytes=1048588 sensitive=false synonyms={DEFAULT_CONFIG:message.max.bytes=1048588}',
    );
    expect(lines.get('ssl.keystore.password')).toBe('ssl.keystore.password=null sensitive=true synonyms={}');
    expect(lines.get('broker.id')).toBe(
      'broker.id=1 sensitive=false synonyms={STATIC_BROKER_CONFIG:broker.id=1, DEFAULT_CONFIG:broker.id=-1}',
    );
  }, 300_000);

  it('answers DescribeConfigs v4 with Kafka config types, read-only flags and documentation', async () => {
    const c = await RawClient.connect(broker.port);
    try {
      const res = await c.request(ApiKeys.DescribeConfigs, 4, {
        resources: [
          {
            resourceType: 4,
            resourceName: '1',
            configurationKeys: ['num.io.threads', 'log.dirs', 'log.retention.ms', 'ssl.keystore.password'],
          },
        ],
        includeSynonyms: false,
        includeDocumentation: true,
      });
      const byName = new Map(res.results[0]!.configs.map((x) => [x.name, x]));
      const doc = (k: string) => KAFKA_BROKER_CONFIGS.find((d) => d.name === k)!.doc;
      // ConfigType: INT 3, LIST 7, LONG 5, PASSWORD 9.
      expect(byName.get('num.io.threads')).toMatchObject({
        value: '8',
        configType: 3,
        readOnly: false,
        isSensitive: false,
        configSource: 5,
        documentation: doc('num.io.threads'),
      });
      expect(byName.get('num.io.threads')!.documentation).toMatch(/number of threads/);
      expect(byName.get('log.dirs')).toMatchObject({ configType: 7, readOnly: true, configSource: 4 });
      expect(byName.get('log.retention.ms')).toMatchObject({ value: null, configType: 5, readOnly: false });
      expect(byName.get('ssl.keystore.password')).toMatchObject({
        value: null,
        configType: 9,
        isSensitive: true,
      });
    } finally {
      c.close();
    }
  });

  it('stores a dynamic key Sluice has no use for, per broker, across a restart', async () => {
    const set = await configs(
      '--alter',
      '--entity-type',
      'brokers',
      '--entity-name',
      '1',
      '--add-config',
      'num.io.threads=4',
    );
    expect(set.stdout + set.stderr).toContain('Completed updating config for broker 1.');
    await broker.stop();
    await broker.start();
    const r = await configs('--describe', '--entity-type', 'brokers', '--entity-name', '1');
    expect(r.stdout).toContain(
      'Dynamic configs for broker 1 are:\n  num.io.threads=4 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:num.io.threads=4, DEFAULT_CONFIG:num.io.threads=8}\n',
    );
  }, 400_000);

  it("refuses what Kafka refuses, with Kafka's error and message", async () => {
    const alterDefault = (kv: string) =>
      configs('--alter', '--entity-type', 'brokers', '--entity-default', '--add-config', kv);
    const readOnly = await alterDefault('num.partitions=3');
    expect(readOnly.code).not.toBe(0);
    expect(readOnly.stdout + readOnly.stderr).toContain(
      'InvalidRequestException: Cannot update these configs dynamically: [num.partitions]',
    );
    const perBroker = await alterDefault('listener.name.plaintext.ssl.keystore.location=/x');
    expect(perBroker.stdout + perBroker.stderr).toContain(
      'InvalidRequestException: Cannot update these configs at default cluster level, broker id must be specified: [listener.name.plaintext.ssl.keystore.location]',
    );
    const badValue = await alterDefault('num.io.threads=0');
    expect(badValue.stdout + badValue.stderr).toContain(
      'InvalidRequestException: Invalid value 0 for configuration num.io.threads: Value must be at least 1',
    );
    const topic = await runKafkaTool('kafka-topics', [
      '--bootstrap-server',
      broker.bootstrap,
      '--create',
      '--topic',
      'refusals',
      '--partitions',
      '1',
    ]);
    expect(topic.code, topic.stderr).toBe(0);
    const unknownTopicKey = await configs(
      '--alter',
      '--entity-type',
      'topics',
      '--entity-name',
      'refusals',
      '--add-config',
      'no.such.key=1',
    );
    expect(unknownTopicKey.stdout + unknownTopicKey.stderr).toContain(
      'InvalidConfigurationException: Unknown topic config name: no.such.key',
    );
    const small = await configs(
      '--alter',
      '--entity-type',
      'topics',
      '--entity-name',
      'refusals',
      '--add-config',
      'segment.index.bytes=2',
    );
    expect(small.stdout + small.stderr).toContain(
      'InvalidConfigurationException: Invalid value 2 for configuration segment.index.bytes: Value must be at least 4',
    );
  }, 600_000);

  it('accepts an unknown broker key as Kafka 4.4 does and describes it as sensitive', async () => {
    const set = await configs(
      '--alter',
      '--entity-type',
      'brokers',
      '--entity-default',
      '--add-config',
      'my.plugin.setting=x,log.cleaner.threads=2,log.retention.ms=123456789',
    );
    expect(set.stdout + set.stderr).toContain(
      'Completed updating default config for brokers in the cluster.',
    );
    const r = await configs('--describe', '--entity-type', 'brokers', '--entity-default');
    expect(r.stdout).toBe(
      [
        'Default configs for brokers in the cluster are:',
        '  log.cleaner.threads=2 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.cleaner.threads=2}',
        '  log.retention.ms=123456789 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=123456789}',
        '  my.plugin.setting=null sensitive=true synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:my.plugin.setting=null}',
        '',
      ].join('\n'),
    );
  }, 300_000);

  it('describes every topic key Kafka 4.4 defines, as a Kafka broker does, and follows dynamic broker defaults', async () => {
    const create = await runKafkaTool('kafka-topics', [
      '--bootstrap-server',
      broker.bootstrap,
      '--create',
      '--topic',
      't1',
      '--partitions',
      '1',
      '--config',
      'retention.bytes=1000',
    ]);
    expect(create.code, create.stderr).toBe(0);
    const r = await configs('--describe', '--entity-type', 'topics', '--entity-name', 't1', '--all');
    expect(r.code, r.stderr).toBe(0);
    // The previous test set log.retention.ms=123456789 as the cluster default: the one difference
    // from a Kafka broker without it.
    const expected = KAFKA_TOPIC_DESCRIBE_ALL.replace(
      'retention.ms=604800000 sensitive=false synonyms={}',
      'retention.ms=123456789 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=123456789, DEFAULT_CONFIG:log.retention.hours=168}',
    );
    expect(r.stdout).toBe(`All configs for topic t1 are:${expected}`);
  }, 600_000);
});

describe('features with kafka-features (Kafka 4.4.0 FeatureCommand)', () => {
  let broker: BrokerProcess;
  const features = (...args: string[]) =>
    runKafkaTool('kafka-features', ['--bootstrap-server', broker.bootstrap, ...args]);

  beforeAll(async () => {
    await ensureKafkaTools();
    broker = await new BrokerProcess({ nodeId: 1 }).start();
  }, 600_000);
  afterAll(async () => {
    await broker?.cleanup();
  });

  it('ApiVersions carries the supported and finalized features as a Kafka 4.4 broker fills them', async () => {
    const c = await RawClient.connect(broker.port);
    try {
      const v4 = await c.request(ApiKeys.ApiVersions, 4, {
        clientSoftwareName: 'sluice-test',
        clientSoftwareVersion: '1',
      });
      // metadata.version and transaction.version (0-2, KIP-890): every other feature's highest
      // supported level is 0 (no KIP-848 groups, share or streams groups, ELR, KRaft), and Kafka
      // leaves those out. A new cluster finalizes both at their latest production levels.
      expect(v4.supportedFeatures).toHaveLength(2);
      expect(v4.supportedFeatures).toEqual(
        expect.arrayContaining([
          { name: 'metadata.version', minVersion: 7, maxVersion: 33 },
          { name: 'transaction.version', minVersion: 0, maxVersion: 2 },
        ]),
      );
      expect(v4.finalizedFeatures).toHaveLength(2);
      expect(v4.finalizedFeatures).toEqual(
        expect.arrayContaining([
          { name: 'metadata.version', minVersionLevel: 33, maxVersionLevel: 33 },
          { name: 'transaction.version', minVersionLevel: 2, maxVersionLevel: 2 },
        ]),
      );
      // The requests of a TV2 producer: Produce v12, TxnOffsetCommit v5, EndTxn v5.
      const max = (key: number) => v4.apiKeys.find((k) => k.apiKey === key)?.maxVersion;
      expect([max(ApiKeys.Produce), max(ApiKeys.TxnOffsetCommit), max(ApiKeys.EndTxn)]).toEqual([12, 5, 5]);
      expect(v4.finalizedFeaturesEpoch).toBeGreaterThanOrEqual(0n);
      const v3 = await c.request(ApiKeys.ApiVersions, 3, {
        clientSoftwareName: 'sluice-test',
        clientSoftwareVersion: '1',
      });
      // Before v4, features with a minimum of 0 are left out (KAFKA-17011), so v3 has only metadata.version.
      expect(v3.supportedFeatures).toEqual([{ name: 'metadata.version', minVersion: 7, maxVersion: 33 }]);
      expect(v3.finalizedFeaturesEpoch).toBe(v4.finalizedFeaturesEpoch);
      expect(v4.apiKeys.find((k) => k.apiKey === 57)).toEqual({ apiKey: 57, minVersion: 0, maxVersion: 2 });
    } finally {
      c.close();
    }
  });

  it('describe, upgrade, downgrade and disable answer as Kafka does; --dry-run changes nothing', async () => {
    const describe = await features('describe');
    expect(describe.code, describe.stderr).toBe(0);
    const [line, tvLine, ...more] = describe.stdout.trim().split('\n');
    expect(more).toEqual([]);
    expect(line).toMatch(
      /^Feature: metadata\.version\s+SupportedMinVersion: 3\.3-IV3\s+SupportedMaxVersion: 4\.4-IV2\s+FinalizedVersionLevel: 4\.4-IV2\s+Epoch: \d+$/,
    );
    // A new cluster finalizes transaction.version 2, as Kafka 4.4's `kafka-storage format` does.
    expect(tvLine).toMatch(
      /^Feature: transaction\.version\s+SupportedMinVersion: 0\s+SupportedMaxVersion: 2\s+FinalizedVersionLevel: 2\s+Epoch: \d+$/,
    );
    const epoch = /Epoch: (\d+)/.exec(line!)![1];

    const group = await features('upgrade', '--feature', 'group.version=1');
    expect(group.code).not.toBe(0);
    expect(group.stdout).toContain(
      'Could not upgrade group.version to 1. The update failed for all features since the following feature had an error: Invalid update version 1 for feature group.version. Broker 1 does not support this feature.',
    );
    const tv = await features('upgrade', '--feature', 'transaction.version=3', '--dry-run');
    expect(tv.stdout).toContain(
      'Can not upgrade transaction.version to 3. The update failed for all features since the following feature had an error: Invalid update version 3 for feature transaction.version. Broker 1 only supports versions 0-2',
    );
    const tooNew = await features('upgrade', '--feature', 'metadata.version=34');
    expect(tooNew.stdout).toContain(
      'Invalid update version 34 for feature metadata.version. Broker 1 only supports versions 7-33',
    );
    const down = await features('downgrade', '--feature', 'metadata.version=30');
    expect(down.stdout).toContain(
      'Could not downgrade metadata.version to 30. The update failed for all features since the following feature had an error: Unsupported metadata.version downgrade from 33 to 30. Refusing to perform the requested downgrade because it might delete metadata information.',
    );
    const same = await features('upgrade', '--metadata', '4.4-IV2', '--dry-run');
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).toContain('metadata.version can be upgraded to 33.');
    const disable = await features('disable', '--feature', 'transaction.version');
    expect(disable.code, disable.stdout + disable.stderr).toBe(0);
    expect(disable.stdout).toContain('transaction.version was disabled.');

    // Disabled: finalized at 0; the refused updates and the dry runs changed nothing else.
    const after = await features('describe');
    const [afterLine, afterTv] = after.stdout.trim().split('\n');
    expect(afterLine!.replace(/Epoch: \d+/, `Epoch: ${epoch}`)).toBe(line);
    expect(afterTv).toMatch(/^Feature: transaction\.version\s.*FinalizedVersionLevel: 0\s+Epoch: \d+$/);
    const up = await features('upgrade', '--feature', 'transaction.version=2');
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(up.stdout).toContain('transaction.version was upgraded to 2.');
  }, 600_000);
});
