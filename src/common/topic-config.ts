/**
 * Topic-level configs: every key of Kafka's LogConfig (from the generated table), with its broker-level
 * synonyms, so that a topic without an override inherits the broker's value (DescribeConfigs reports
 * the synonym chain). Which of them Sluice acts on is said here (TOPIC_ENFORCED); the rest are
 * accepted, validated and stored, and have no effect yet.
 */
import { ConfigDef, type ConfigValue, InvalidConfigError, fromKafka, invalidValue } from './config-def.js';
import { KAFKA_TOPIC_CONFIGS } from './kafka-configs.generated.js';

/** Topic keys Sluice acts on, and how, where that needs saying. */
export const TOPIC_ENFORCED: Readonly<Record<string, string>> = {
  'cleanup.policy':
    'delete: time/size retention; compact: the log cleaner keeps the latest record per key (records need keys); both',
  'delete.retention.ms': 'tombstones removed by the cleaner after it (KIP-534 horizons)',
  'min.compaction.lag.ms': '',
  'max.compaction.lag.ms': 'KIP-354',
  'min.cleanable.dirty.ratio': '',
  'file.delete.delay.ms': '',
  'flush.messages': '',
  'flush.ms': '',
  'index.interval.bytes': '',
  'max.message.bytes': '',
  'message.timestamp.after.max.ms':
    'per record of a CreateTime batch: INVALID_TIMESTAMP with the record in record_errors',
  'message.timestamp.before.max.ms':
    'per record of a CreateTime batch: INVALID_TIMESTAMP with the record in record_errors',
  'message.timestamp.type': '',
  'min.insync.replicas': '',
  'retention.bytes': '',
  'retention.ms': '',
  'segment.bytes': '',
  'segment.index.bytes': '',
  'segment.ms': '',
  'unclean.leader.election.enable': 'read by the controller when it elects a leader',
  // Replication throttles (src/broker/replication/replication-quota.ts).
  'leader.replication.throttled.replicas': 'out-of-sync replicas held to leader.replication.throttled.rate',
  'follower.replication.throttled.replicas':
    'out-of-sync replicas held to follower.replication.throttled.rate',
};

/**
 * Segment sizes below Kafka 4's 1 MiB minimum: Kafka's tests use the internal topic key
 * internal.segment.bytes for small segments, which Sluice's log does not read yet, and Sluice's own
 * tests (and the kafka-dump-log compatibility test) roll many small segments. So Sluice keeps its
 * earlier minimum, the size of one record batch header, for segment.bytes and log.segment.bytes
 * (docs/configuration.md says so). Every other key has Kafka's validator.
 */
export const SEGMENT_BYTES_MINIMUM = 14;
export const SEGMENT_BYTES_DIVERGENCE = `values from ${SEGMENT_BYTES_MINIMUM} bytes are accepted (Kafka: from 1048576, smaller only through the internal internal.segment.bytes)`;
const segmentBytesCheck = (name: string, v: ConfigValue) =>
  typeof v === 'number' && v < SEGMENT_BYTES_MINIMUM
    ? invalidValue(name, v, `Value must be at least ${SEGMENT_BYTES_MINIMUM}`)
    : undefined;

export const TOPIC_CONFIG = new ConfigDef();
for (const k of KAFKA_TOPIC_CONFIGS) {
  const note = TOPIC_ENFORCED[k.name];
  TOPIC_CONFIG.define(
    fromKafka(k, {
      enforced: note !== undefined,
      ...(note ? { note } : {}),
      ...(k.name === 'segment.bytes'
        ? {
            check: segmentBytesCheck,
            validValues: `[${SEGMENT_BYTES_MINIMUM},...]`,
            note: SEGMENT_BYTES_DIVERGENCE,
          }
        : {}),
    }),
  );
}

/**
 * Topic config → broker configs that supply its default (Kafka's ServerTopicConfigSynonyms). The first
 * broker key found set wins; e.g. retention.ms ← log.retention.ms ← log.retention.minutes ← log.retention.hours.
 */
export const TOPIC_TO_BROKER_SYNONYMS: Record<string, string[]> = Object.fromEntries(
  KAFKA_TOPIC_CONFIGS.filter((k) => k.brokerSynonyms.length > 0).map((k) => [
    k.name,
    k.brokerSynonyms.map((s) => s.name),
  ]),
);

/** Units for broker synonyms that are not in the topic key's unit (minutes/hours → ms). */
export const SYNONYM_SCALE: Record<string, number> = Object.fromEntries(
  KAFKA_TOPIC_CONFIGS.flatMap((k) =>
    k.brokerSynonyms.filter((s) => s.scale !== 1).map((s) => [s.name, s.scale]),
  ),
);

/**
 * Validate a set of topic config overrides (CreateTopics, AlterConfigs, IncrementalAlterConfigs) as
 * Kafka's LogConfig.validate does: names, then each value, then the rules across keys (with the
 * effective value of keys not given, from `defaults`). Throws InvalidConfigError with Kafka's wording.
 */
export function validateTopicConfigs(
  configs: Record<string, string | null>,
  defaults: (key: string) => string | null = (k) => TOPIC_CONFIG.get(k)?.default ?? null,
): Record<string, ConfigValue> {
  const nulls = Object.keys(configs).filter((k) => configs[k] === null);
  if (nulls.length > 0)
    throw new InvalidConfigError(nulls[0]!, `Null value not supported for topic configs: ${nulls.join(',')}`);
  for (const k of Object.keys(configs)) {
    if (!TOPIC_CONFIG.has(k)) throw new InvalidConfigError(k, `Unknown topic config name: ${k}`);
  }
  const out: Record<string, ConfigValue> = {};
  for (const [k, v] of Object.entries(configs)) out[k] = TOPIC_CONFIG.validate(k, v);
  const effective = (k: string): ConfigValue =>
    k in out ? out[k]! : TOPIC_CONFIG.validate(k, defaults(k) ?? TOPIC_CONFIG.get(k)!.default);
  const minLag = effective('min.compaction.lag.ms');
  const maxLag = effective('max.compaction.lag.ms');
  if (typeof minLag === 'number' && typeof maxLag === 'number' && minLag > maxLag) {
    throw new InvalidConfigError(
      'min.compaction.lag.ms',
      `conflict topic config setting min.compaction.lag.ms (${minLag}) > max.compaction.lag.ms (${maxLag})`,
    );
  }
  // Sluice has no tiered storage: Kafka's answer for a broker with remote.log.storage.system.enable=false.
  if (out['remote.storage.enable'] === true) {
    throw new InvalidConfigError(
      'remote.storage.enable',
      'Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.',
    );
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
