/**
 * Topic-level configs (Kafka's TopicConfig / LogConfig) with their broker-level synonyms, so that a
 * topic without an override inherits the broker's value (DescribeConfigs reports the synonym chain).
 */
import {
  ConfigDef,
  type ConfigValue,
  atLeast,
  between,
  oneOf,
  InvalidConfigError,
  LONG_MAX,
} from './config-def.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export const TOPIC_CONFIG = new ConfigDef()
  .define({
    name: 'cleanup.policy',
    type: 'list',
    default: 'delete',
    doc: 'delete, compact, or both',
    validate: oneOf('delete', 'compact'),
  })
  .define({
    name: 'compression.type',
    type: 'string',
    default: 'producer',
    doc: 'final compression of the topic; producer keeps what the producer sent',
    validate: oneOf('producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'),
  })
  .define({
    name: 'delete.retention.ms',
    type: 'long',
    default: String(DAY_MS),
    doc: '',
    validate: atLeast(0),
  })
  .define({ name: 'file.delete.delay.ms', type: 'long', default: '60000', doc: '', validate: atLeast(0) })
  .define({
    name: 'flush.messages',
    type: 'long',
    default: LONG_MAX,
    doc: 'fsync after this many messages',
    validate: atLeast(1),
  })
  .define({
    name: 'flush.ms',
    type: 'long',
    default: LONG_MAX,
    doc: 'fsync after this many ms',
    validate: atLeast(0),
  })
  .define({ name: 'index.interval.bytes', type: 'int', default: '4096', doc: '', validate: atLeast(0) })
  .define({
    name: 'max.compaction.lag.ms',
    type: 'long',
    default: LONG_MAX,
    doc: '',
    validate: atLeast(1),
  })
  .define({ name: 'max.message.bytes', type: 'int', default: '1048588', doc: '', validate: atLeast(0) })
  .define({
    name: 'message.timestamp.type',
    type: 'string',
    default: 'CreateTime',
    doc: '',
    validate: oneOf('CreateTime', 'LogAppendTime'),
  })
  .define({
    name: 'message.timestamp.difference.max.ms',
    type: 'long',
    default: LONG_MAX,
    doc: '',
    validate: atLeast(0),
  })
  .define({
    name: 'message.timestamp.before.max.ms',
    type: 'long',
    default: LONG_MAX,
    doc: '',
    validate: atLeast(0),
  })
  .define({
    name: 'message.timestamp.after.max.ms',
    type: 'long',
    default: LONG_MAX,
    doc: '',
    validate: atLeast(0),
  })
  .define({
    name: 'min.cleanable.dirty.ratio',
    type: 'double',
    default: '0.5',
    doc: '',
    validate: between(0, 1),
  })
  .define({ name: 'min.compaction.lag.ms', type: 'long', default: '0', doc: '', validate: atLeast(0) })
  .define({ name: 'min.insync.replicas', type: 'int', default: '1', doc: '', validate: atLeast(1) })
  .define({ name: 'preallocate', type: 'boolean', default: 'false', doc: '' })
  .define({ name: 'retention.bytes', type: 'long', default: '-1', doc: '-1 = no size limit' })
  .define({
    name: 'retention.ms',
    type: 'long',
    default: String(7 * DAY_MS),
    doc: '-1 = no time limit',
    validate: atLeast(-1),
  })
  .define({
    name: 'segment.bytes',
    type: 'int',
    default: String(1024 * 1024 * 1024),
    doc: '',
    validate: atLeast(14),
  })
  .define({
    name: 'segment.index.bytes',
    type: 'int',
    default: String(10 * 1024 * 1024),
    doc: '',
    validate: atLeast(8),
  })
  .define({ name: 'segment.jitter.ms', type: 'long', default: '0', doc: '', validate: atLeast(0) })
  .define({ name: 'segment.ms', type: 'long', default: String(7 * DAY_MS), doc: '', validate: atLeast(1) })
  .define({ name: 'unclean.leader.election.enable', type: 'boolean', default: 'false', doc: '' })
  .define({ name: 'message.downconversion.enable', type: 'boolean', default: 'true', doc: '' });

/**
 * Topic config → broker config that supplies its default (Kafka's LogConfig synonyms). The first
 * broker key found set wins; e.g. retention.ms ← log.retention.ms ← log.retention.minutes ← log.retention.hours.
 */
export const TOPIC_TO_BROKER_SYNONYMS: Record<string, string[]> = {
  'cleanup.policy': ['log.cleanup.policy'],
  'compression.type': ['compression.type'],
  'delete.retention.ms': ['log.cleaner.delete.retention.ms'],
  'file.delete.delay.ms': ['log.segment.delete.delay.ms'],
  'flush.messages': ['log.flush.interval.messages'],
  'flush.ms': ['log.flush.interval.ms'],
  'index.interval.bytes': ['log.index.interval.bytes'],
  'max.compaction.lag.ms': ['log.cleaner.max.compaction.lag.ms'],
  'max.message.bytes': ['message.max.bytes'],
  'message.timestamp.type': ['log.message.timestamp.type'],
  'message.timestamp.difference.max.ms': ['log.message.timestamp.difference.max.ms'],
  'message.timestamp.before.max.ms': ['log.message.timestamp.before.max.ms'],
  'message.timestamp.after.max.ms': ['log.message.timestamp.after.max.ms'],
  'min.cleanable.dirty.ratio': ['log.cleaner.min.cleanable.ratio'],
  'min.compaction.lag.ms': ['log.cleaner.min.compaction.lag.ms'],
  'min.insync.replicas': ['min.insync.replicas'],
  preallocate: ['log.preallocate'],
  'retention.bytes': ['log.retention.bytes'],
  'retention.ms': ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
  'segment.bytes': ['log.segment.bytes'],
  'segment.index.bytes': ['log.index.size.max.bytes'],
  'segment.jitter.ms': ['log.roll.jitter.ms', 'log.roll.jitter.hours'],
  'segment.ms': ['log.roll.ms', 'log.roll.hours'],
  'unclean.leader.election.enable': ['unclean.leader.election.enable'],
  'message.downconversion.enable': ['log.message.downconversion.enable'],
};

/** Units for broker synonyms that are not in the topic key's unit (minutes/hours → ms). */
export const SYNONYM_SCALE: Record<string, number> = {
  'log.retention.minutes': 60_000,
  'log.retention.hours': 3_600_000,
  'log.roll.hours': 3_600_000,
  'log.roll.jitter.hours': 3_600_000,
};

/**
 * Validate a set of topic config overrides (CreateTopics, AlterConfigs, IncrementalAlterConfigs).
 * Throws InvalidConfigError naming the first bad key with Kafka's wording.
 */
export function validateTopicConfigs(configs: Record<string, string | null>): Record<string, ConfigValue> {
  const out: Record<string, ConfigValue> = {};
  for (const [k, v] of Object.entries(configs)) {
    if (!TOPIC_CONFIG.has(k)) throw new InvalidConfigError(k, `Unknown topic config name: ${k}`);
    out[k] = TOPIC_CONFIG.validate(k, v);
  }
  return out;
}

/** Kafka's topic name rules (Topic.validate). Returns an error sentence or undefined. */
export function topicNameProblem(name: string): string | undefined {
  if (name.length === 0) return "Topic name is illegal, it can't be empty";
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."';
  if (name.length > 249)
    return `Topic name is illegal, it can't be longer than 249 characters, topic name: ${name}`;
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) {
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  }
  return undefined;
}

/** Topics whose names differ only in '.' vs '_' collide in metric names (Kafka's Topic.hasCollision). */
export function topicsCollide(a: string, b: string): boolean {
  return a !== b && a.replace(/\./g, '_') === b.replace(/\./g, '_');
}

export const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state']);
