/**
 * The generated table of Kafka's configs and features is what Kafka 4.4.0's classes say (the
 * generator's --check, run on Kafka's jars), docs/configuration.md is what the definitions say, and
 * the pure rules built on them answer as Kafka does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/broker-process.js';
import { run } from '../helpers/clients.js';
import { ensureKafkaTools } from '../helpers/kafka-tools.js';
import { renderDocs } from '../../tools/kafka-configs-gen/docs.js';
import { BROKER_CONFIG, BrokerConfig, dynamicConfigProblem } from '../../src/common/broker-config.js';
import { TOPIC_CONFIG, validateTopicConfigs } from '../../src/common/topic-config.js';
import { KAFKA_BROKER_CONFIGS, KAFKA_TOPIC_CONFIGS } from '../../src/common/kafka-configs.generated.js';
import {
  UpgradeType,
  applyFeatureUpdates,
  bootstrapLevels,
  MAX_TRANSACTION_VERSION,
} from '../../src/controller/features.js';

describe('the generated table of Kafka 4.4 configs', () => {
  it("is what Kafka 4.4.0's own classes say (tools/kafka-configs-gen --check)", async () => {
    await ensureKafkaTools();
    const r = await run(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'tools/kafka-configs-gen/main.ts'), '--check'],
      { timeoutMs: 300_000 },
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }, 320_000);

  it('docs/configuration.md is generated from the definitions and lists every key', async () => {
    const committed = readFileSync(join(REPO_ROOT, 'docs/configuration.md'), 'utf8');
    expect(committed).toBe(await renderDocs());
    for (const k of [...KAFKA_BROKER_CONFIGS, ...KAFKA_TOPIC_CONFIGS])
      expect(committed).toContain(`\`${k.name}\``);
    expect(committed).toMatch(
      /\| `num\.io\.threads` +\| int +\| `8` +\| cluster-wide +\| accepted, no effect +\|/,
    );
    expect(committed).toMatch(/\| `log\.retention\.ms` +\| long +\| +\| cluster-wide +\| enforced +\|/);
  });

  it('gives every broker key a type, a default and documentation (no empty docs)', () => {
    const keys = BROKER_CONFIG.keys();
    // Sluice's own: cluster.id, the two controlled-shutdown keys, sluice.control.plane.secret.
    expect(keys.length).toBe(KAFKA_BROKER_CONFIGS.length + 4);
    expect(keys.filter((k) => k.sluiceOnly === true).map((k) => k.name)).toHaveLength(4);
    expect(keys.filter((k) => k.doc.trim() === '').map((k) => k.name)).toEqual(
      // Kafka itself documents these two with an empty string.
      KAFKA_BROKER_CONFIGS.filter((k) => k.doc.trim() === '').map((k) => k.name),
    );
    expect(KAFKA_BROKER_CONFIGS.filter((k) => k.doc.trim() === '').length).toBeLessThanOrEqual(2);
    expect(TOPIC_CONFIG.names()).toEqual(KAFKA_TOPIC_CONFIGS.map((k) => k.name).sort());
  });
});

describe('dynamic broker config rules (Kafka DynamicBrokerConfig.validateConfigs)', () => {
  it('answers with Kafka sentences, read-only first', () => {
    expect(dynamicConfigProblem({ 'log.dirs': '/x', 'num.io.threads': '0' }, true)?.message).toBe(
      'Cannot update these configs dynamically: [log.dirs]',
    );
    expect(dynamicConfigProblem({ 'ssl.keystore.location': '/x' }, true)?.message).toBe(
      'These security configs can be dynamically updated only per-listener using the listener prefix: [ssl.keystore.location]',
    );
    expect(dynamicConfigProblem({ 'num.io.threads': 'x' }, true)?.message).toBe(
      'Invalid value x for configuration num.io.threads: Not a number of type INT',
    );
    expect(dynamicConfigProblem({ 'listener.name.a.ssl.keystore.location': '/x' }, false)?.message).toBe(
      'Cannot update these configs at default cluster level, broker id must be specified: [listener.name.a.ssl.keystore.location]',
    );
    expect(dynamicConfigProblem({ 'listener.name.a.max.connections': '5' }, false)).toBeUndefined();
    expect(
      dynamicConfigProblem({ 'my.plugin.key': 'anything', 'log.cleaner.threads': '4' }, false),
    ).toBeUndefined();
    // Sluice binds listeners at startup: read-only, unlike Kafka.
    expect(dynamicConfigProblem({ listeners: 'PLAINTEXT://:1' }, true)?.message).toBe(
      'Cannot update these configs dynamically: [listeners]',
    );
  });

  it('a dynamic key hides the synonyms set below it (overrideProps) and topic defaults follow', () => {
    const c = new BrokerConfig({ 'log.retention.hours': '1' });
    expect(c.topicDefault('retention.ms')).toEqual({ value: '3600000', brokerKey: 'log.retention.hours' });
    // log.retention.minutes is read-only in Kafka (only log.retention.ms is dynamic): ignored.
    expect(c.setDynamic({}, { 'log.retention.minutes': '2', 'log.retention.ms': '120000' })).toEqual([
      'log.retention.minutes',
    ]);
    expect(c.topicDefault('retention.ms')).toEqual({ value: '120000', brokerKey: 'log.retention.ms' });
    expect(c.isSet('log.retention.hours')).toBe(false);
    expect(c.source('log.retention.ms').source).toBe('DYNAMIC_DEFAULT_BROKER_CONFIG');
    c.setDynamic({ 'log.retention.ms': '-5' }, { 'log.retention.ms': '120000' });
    expect(c.topicDefault('retention.ms')).toEqual({ value: '-5', brokerKey: 'log.retention.ms' });
    expect(new BrokerConfig({ 'log.retention.hours': '-1' }).topicDefault('retention.ms').value).toBe('-1');
    expect(new BrokerConfig().topicDefault('flush.ms')).toEqual({
      value: '9223372036854775807',
      brokerKey: null,
    });
  });
});

describe('topic config rules (Kafka LogConfig.validate)', () => {
  it('validates lists, ranges and the rules across keys with Kafka sentences', () => {
    expect(validateTopicConfigs({ 'cleanup.policy': '' })).toEqual({ 'cleanup.policy': [] });
    expect(() => validateTopicConfigs({ 'cleanup.policy': 'delete,delete' })).toThrow(
      "Configuration 'cleanup.policy' values must not be duplicated.",
    );
    expect(() => validateTopicConfigs({ 'min.cleanable.dirty.ratio': '2' })).toThrow(
      'Invalid value 2.0 for configuration min.cleanable.dirty.ratio: Value must be no more than 1',
    );
    expect(() => validateTopicConfigs({ 'compression.gzip.level': '12' })).toThrow(
      /compression\.gzip\.level/,
    );
    expect(() =>
      validateTopicConfigs({ 'min.compaction.lag.ms': '10', 'max.compaction.lag.ms': '5' }),
    ).toThrow('conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)');
    expect(() => validateTopicConfigs({ 'remote.storage.enable': 'true' })).toThrow(
      'Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.',
    );
    expect(() => validateTopicConfigs({ 'message.downconversion.enable': 'true' })).toThrow(
      'Unknown topic config name: message.downconversion.enable',
    );
  });
});

describe('feature rules (Kafka FeatureControlManager)', () => {
  it('a new cluster finalizes metadata.version 4.4-IV2, transaction.version 2 and nothing Sluice does not implement', () => {
    expect(MAX_TRANSACTION_VERSION).toBe(2);
    expect(bootstrapLevels()).toEqual({ 'metadata.version': 33, 'transaction.version': 2 });
  });

  it('transaction.version moves between 0 and 2 (kafka-features.sh upgrade/downgrade), never past 2', () => {
    const tv2 = { 'metadata.version': 33, 'transaction.version': 2 };
    expect(
      applyFeatureUpdates(
        tv2,
        [{ feature: 'transaction.version', level: 1, upgradeType: UpgradeType.SAFE_DOWNGRADE }],
        'Broker 1',
      ),
    ).toEqual({ 'metadata.version': 33, 'transaction.version': 1 });
    expect(
      applyFeatureUpdates(
        { 'metadata.version': 33 },
        [{ feature: 'transaction.version', level: 2, upgradeType: UpgradeType.UPGRADE }],
        'Broker 1',
      ),
    ).toEqual(tv2);
    expect(() =>
      applyFeatureUpdates(
        tv2,
        [{ feature: 'transaction.version', level: 3, upgradeType: UpgradeType.UPGRADE }],
        'Broker 1',
      ),
    ).toThrow(
      'Invalid update version 3 for feature transaction.version. Broker 1 only supports versions 0-2',
    );
  });

  it('upgrades, refuses downgrades that change metadata, and checks support', () => {
    const at30 = { 'metadata.version': 30 };
    expect(
      applyFeatureUpdates(
        at30,
        [{ feature: 'metadata.version', level: 33, upgradeType: UpgradeType.UPGRADE }],
        'Broker 1',
      ),
    ).toEqual({ 'metadata.version': 33 });
    expect(() =>
      applyFeatureUpdates(
        { 'metadata.version': 33 },
        [{ feature: 'metadata.version', level: 30, upgradeType: UpgradeType.UPGRADE }],
        'Broker 1',
      ),
    ).toThrow(
      "Invalid update version 30 for feature metadata.version. Can't downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade.",
    );
    expect(() =>
      applyFeatureUpdates(
        at30,
        [{ feature: 'group.version', level: 1, upgradeType: UpgradeType.UPGRADE }],
        'Broker 7',
      ),
    ).toThrow('Invalid update version 1 for feature group.version. Broker 7 does not support this feature.');
    expect(() =>
      applyFeatureUpdates(
        at30,
        [{ feature: 'metadata.version', level: 3, upgradeType: UpgradeType.UPGRADE }],
        'Broker 1',
      ),
    ).toThrow('Invalid update version 3 for feature metadata.version. Broker 1 only supports versions 7-33');
    expect(
      applyFeatureUpdates(
        at30,
        [{ feature: 'transaction.version', level: 0, upgradeType: UpgradeType.SAFE_DOWNGRADE }],
        'Broker 1',
      ),
    ).toEqual(at30);
  });
});
