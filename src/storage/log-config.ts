/**
 * Per-topic log configuration, Kafka's topic-level names and defaults (TopicConfig / LogConfig.java).
 * The broker-wide defaults are the `log.*` keys (log.segment.bytes → segment.bytes, log.retention.ms →
 * retention.ms, ...); per-topic overrides use the short names. Both are accepted by logConfigFromProps.
 */

export type TimestampTypeName = 'CreateTime' | 'LogAppendTime';

export interface LogConfig {
  /** segment.bytes: roll the active segment when it would grow past this. */
  segmentBytes: number;
  /** segment.ms: roll when the active segment's first batch is older than this. */
  segmentMs: number;
  /** segment.index.bytes: the most an .index / .timeindex may hold; a full index rolls the segment. */
  segmentIndexBytes: number;
  /** index.interval.bytes: one sparse index entry per this many log bytes. */
  indexIntervalBytes: number;
  /** retention.ms: delete segments whose newest timestamp is older; -1 keeps forever. */
  retentionMs: number;
  /** retention.bytes: delete oldest segments while the log is larger; -1 = no limit. */
  retentionBytes: number;
  /** flush.messages: fsync after this many messages (1 = every write, group-committed). */
  flushMessages: number;
  /** flush.ms: fsync when the last flush is older than this. */
  flushMs: number;
  /** file.delete.delay.ms: deleted segments linger as *.deleted this long, for in-flight readers. */
  fileDeleteDelayMs: number;
  /** max.message.bytes: largest batch accepted. */
  maxMessageBytes: number;
  /** message.timestamp.type */
  messageTimestampType: TimestampTypeName;
  /**
   * message.timestamp.before.max.ms / message.timestamp.after.max.ms: how far before / after the
   * broker's clock a CreateTime record may be (Kafka longs, so kept exact: Long.MAX_VALUE is "no
   * limit" and Kafka's messages print the bounds computed from it).
   */
  messageTimestampBeforeMaxMs: bigint;
  messageTimestampAfterMaxMs: bigint;
  /**
   * cleanup.policy: "delete", "compact" or "compact,delete" (a list). With delete, segments go by
   * retention.ms / retention.bytes; with compact, the log cleaner keeps the latest record per key.
   */
  cleanupPolicy: string;
  /** delete.retention.ms: how long a tombstone survives after the cleaner first sees it (KIP-534). */
  deleteRetentionMs: number;
  /** min.compaction.lag.ms: a record stays uncompacted at least this long (by its segment's newest timestamp). */
  minCompactionLagMs: number;
  /** max.compaction.lag.ms: a dirty segment older than this is cleaned even below the dirty ratio (KIP-354). */
  maxCompactionLagMs: number;
  /** min.cleanable.dirty.ratio: dirty bytes / all bytes above which the cleaner picks the log. */
  minCleanableDirtyRatio: number;
}

/** Kafka's Long.MAX_VALUE for "never" when stored in a JS number. */
export const NEVER = Number.MAX_SAFE_INTEGER;

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  segmentIndexBytes: 10 * 1024 * 1024,
  indexIntervalBytes: 4096,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  flushMessages: NEVER,
  flushMs: NEVER,
  fileDeleteDelayMs: 60_000,
  maxMessageBytes: 1024 * 1024 + 12,
  messageTimestampType: 'CreateTime',
  messageTimestampBeforeMaxMs: 9223372036854775807n,
  messageTimestampAfterMaxMs: 3_600_000n,
  cleanupPolicy: 'delete',
  deleteRetentionMs: 24 * 60 * 60 * 1000,
  minCompactionLagMs: 0,
  maxCompactionLagMs: NEVER,
  minCleanableDirtyRatio: 0.5,
});

/** Kafka key → field. Topic-level names, and the broker-level `log.*` names for the same setting. */
const KEYS: Record<string, keyof LogConfig> = {
  'segment.bytes': 'segmentBytes',
  'log.segment.bytes': 'segmentBytes',
  'segment.ms': 'segmentMs',
  'log.roll.ms': 'segmentMs',
  'segment.index.bytes': 'segmentIndexBytes',
  'log.index.size.max.bytes': 'segmentIndexBytes',
  'index.interval.bytes': 'indexIntervalBytes',
  'log.index.interval.bytes': 'indexIntervalBytes',
  'retention.ms': 'retentionMs',
  'log.retention.ms': 'retentionMs',
  'retention.bytes': 'retentionBytes',
  'log.retention.bytes': 'retentionBytes',
  'flush.messages': 'flushMessages',
  'log.flush.interval.messages': 'flushMessages',
  'flush.ms': 'flushMs',
  'log.flush.interval.ms': 'flushMs',
  'file.delete.delay.ms': 'fileDeleteDelayMs',
  'log.segment.delete.delay.ms': 'fileDeleteDelayMs',
  'max.message.bytes': 'maxMessageBytes',
  'message.max.bytes': 'maxMessageBytes',
  'message.timestamp.type': 'messageTimestampType',
  'log.message.timestamp.type': 'messageTimestampType',
  'message.timestamp.before.max.ms': 'messageTimestampBeforeMaxMs',
  'log.message.timestamp.before.max.ms': 'messageTimestampBeforeMaxMs',
  'message.timestamp.after.max.ms': 'messageTimestampAfterMaxMs',
  'log.message.timestamp.after.max.ms': 'messageTimestampAfterMaxMs',
  'cleanup.policy': 'cleanupPolicy',
  'log.cleanup.policy': 'cleanupPolicy',
  'delete.retention.ms': 'deleteRetentionMs',
  'log.cleaner.delete.retention.ms': 'deleteRetentionMs',
  'min.compaction.lag.ms': 'minCompactionLagMs',
  'log.cleaner.min.compaction.lag.ms': 'minCompactionLagMs',
  'max.compaction.lag.ms': 'maxCompactionLagMs',
  'log.cleaner.max.compaction.lag.ms': 'maxCompactionLagMs',
  'min.cleanable.dirty.ratio': 'minCleanableDirtyRatio',
  'log.cleaner.min.cleanable.ratio': 'minCleanableDirtyRatio',
};

/** The policies in a cleanup.policy list ("compact,delete" → compact and delete), as LogConfig.compact/delete. */
export function cleanupPolicies(config: Readonly<LogConfig>): { compact: boolean; delete: boolean } {
  const list = config.cleanupPolicy
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  return { compact: list.includes('compact'), delete: list.includes('delete') };
}

/** cleanup.policy includes compact: the log cleaner keeps the latest record per key. */
export function isCompacted(config: Readonly<LogConfig>): boolean {
  return cleanupPolicies(config).compact;
}

/** cleanup.policy includes delete: retention.ms / retention.bytes apply. */
export function isDeleteRetained(config: Readonly<LogConfig>): boolean {
  return cleanupPolicies(config).delete;
}

/** Build a LogConfig from Kafka-named properties over `base`. Unknown keys are ignored. */
export function logConfigFromProps(
  props: Record<string, string | number | undefined>,
  base: Readonly<LogConfig> = DEFAULT_LOG_CONFIG,
): LogConfig {
  const out: LogConfig = { ...base };
  // log.retention.hours / minutes, as Kafka's broker config allows; ms wins when both are given.
  const hours = props['log.retention.hours'];
  if (hours !== undefined && props['log.retention.ms'] === undefined)
    out.retentionMs = Number(hours) * 3_600_000;
  for (const [key, raw] of Object.entries(props)) {
    const field = KEYS[key];
    if (field === undefined || raw === undefined) continue;
    if (field === 'messageTimestampType' || field === 'cleanupPolicy') {
      (out as unknown as Record<string, unknown>)[field] = String(raw);
    } else if (field === 'messageTimestampBeforeMaxMs' || field === 'messageTimestampAfterMaxMs') {
      let v: bigint;
      try {
        v = BigInt(raw);
      } catch {
        throw new TypeError(`config ${key}=${raw} is not a number`);
      }
      out[field] = v;
    } else {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new TypeError(`config ${key}=${raw} is not a number`);
      // Kafka uses Long.MAX_VALUE for "never"; clamp anything that big.
      (out as unknown as Record<string, number>)[field] = Math.min(n, NEVER);
    }
  }
  return out;
}
