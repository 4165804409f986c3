import { describe, expect, it } from 'vitest';
import { BrokerConfig, parseProperties } from '../../src/common/broker-config.js';
import { InvalidConfigError } from '../../src/common/config-def.js';
import { topicNameProblem, validateTopicConfigs } from '../../src/common/topic-config.js';

describe('server.properties parsing', () => {
  it('reads comments, separators, continuations and escapes like java.util.Properties', () => {
    const props = parseProperties(
      [
        '# comment',
        '! also comment',
        'node.id=3',
        'log.dirs : /a,\\',
        '   /b',
        'listeners PLAINTEXT://127.0.0.1:9093',
        'x.y=a\\=b\\u0041',
        '',
      ].join('\n'),
    );
    expect(props).toEqual({
      'node.id': '3',
      'log.dirs': '/a,/b',
      listeners: 'PLAINTEXT://127.0.0.1:9093',
      'x.y': 'a=bA',
    });
  });
});

describe('BrokerConfig', () => {
  it('layers defaults, static and dynamic values and reports their source', () => {
    const c = new BrokerConfig({ 'num.partitions': '3', 'log.dirs': '/d1,/d2' });
    expect(c.int('num.partitions')).toBe(3);
    expect(c.source('num.partitions').source).toBe('STATIC_BROKER_CONFIG');
    expect(c.source('message.max.bytes')).toEqual({ value: '1048588', source: 'DEFAULT_CONFIG' });
    expect(c.logDirs).toEqual(['/d1', '/d2']);
    // log.retention.ms is dynamic in Kafka (cluster-wide); num.partitions and node.id are read-only,
    // so stored dynamic values of them are ignored, as Kafka's fromPersistentProps does.
    expect(c.setDynamic({ 'log.retention.ms': '5000', 'num.partitions': '5', 'node.id': '9' })).toEqual([
      'num.partitions',
      'node.id',
    ]);
    expect(c.int('log.retention.ms')).toBe(5000);
    expect(c.source('log.retention.ms').source).toBe('DYNAMIC_BROKER_CONFIG');
    expect(c.int('num.partitions')).toBe(3);
    expect(() => BrokerConfig.validateDynamic({ 'num.partitions': '5' })).toThrow(
      'Cannot update these configs dynamically: [num.partitions]',
    );
  });

  it('rejects bad values with Kafka-style sentences', () => {
    expect(() => new BrokerConfig({ 'num.partitions': 'many' })).toThrow(
      /Invalid value many for configuration num.partitions/,
    );
    expect(() => new BrokerConfig({ 'num.partitions': '0' })).toThrow(/at least 1/);
  });

  it('derives topic defaults from broker synonyms, scaling hours to ms', () => {
    expect(new BrokerConfig().topicDefault('retention.ms')).toEqual({
      value: String(168 * 3_600_000),
      brokerKey: null,
    });
    expect(new BrokerConfig({ 'log.retention.minutes': '5' }).topicDefault('retention.ms')).toEqual({
      value: '300000',
      brokerKey: 'log.retention.minutes',
    });
    expect(
      new BrokerConfig({ 'log.retention.ms': '1000', 'log.retention.hours': '1' }).topicDefault(
        'retention.ms',
      ).value,
    ).toBe('1000');
  });
});

describe('topic configs and names', () => {
  it('validates values and names unknown keys', () => {
    expect(validateTopicConfigs({ 'retention.ms': '1000', 'cleanup.policy': 'compact,delete' })).toEqual({
      'retention.ms': 1000,
      'cleanup.policy': ['compact', 'delete'],
    });
    expect(() => validateTopicConfigs({ 'retention.ms': 'soon' })).toThrow(InvalidConfigError);
    expect(() => validateTopicConfigs({ 'cleanup.policy': 'shred' })).toThrow(
      'Invalid value shred for configuration cleanup.policy: String must be one of: compact, delete',
    );
    expect(() => validateTopicConfigs({ 'no.such': '1' })).toThrow(/Unknown topic config name: no.such/);
    expect(() => validateTopicConfigs({ 'segment.bytes': '10' })).toThrow(
      'Invalid value 10 for configuration segment.bytes: Value must be at least 14',
    );
  });

  it('applies Kafka topic name rules', () => {
    expect(topicNameProblem('orders.v1_x-y')).toBeUndefined();
    expect(topicNameProblem('')).toMatch(/empty/);
    expect(topicNameProblem('..')).toMatch(/cannot be/);
    expect(topicNameProblem('a/b')).toMatch(/illegal/);
    expect(topicNameProblem('x'.repeat(250))).toMatch(/249/);
  });
});
