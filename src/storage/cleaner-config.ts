/**
 * The log cleaner's broker-wide settings, Kafka's CleanerConfig with its `log.cleaner.*` keys and
 * defaults. Per-topic settings (cleanup.policy, delete.retention.ms, min/max.compaction.lag.ms,
 * min.cleanable.dirty.ratio) are in LogConfig.
 *
 * The cleaner reads these through a getter every time it picks a log, so a dynamic broker config
 * (BrokerConfig.setDynamic, from IncrementalAlterConfigs on the broker resource) takes effect at the
 * next cleaning without a restart: threads, dedupe and I/O buffer sizes, load factor, I/O throttle
 * and back-off, as the keys Kafka's LogCleaner declares reconfigurable.
 */

export interface CleanerConfig {
  /** log.cleaner.enable: run the cleaner at all. */
  enableCleaner: boolean;
  /** log.cleaner.threads: cleaner worker threads. */
  numThreads: number;
  /** log.cleaner.dedupe.buffer.size: total offset-map memory over all threads. */
  dedupeBufferSize: number;
  /** log.cleaner.io.buffer.load.factor: how full an offset map may get (Kafka's name for it). */
  dedupeBufferLoadFactor: number;
  /** log.cleaner.io.buffer.size: total read+write buffer memory over all threads. */
  ioBufferSize: number;
  /** message.max.bytes: the largest batch the I/O buffers grow to. */
  maxMessageSize: number;
  /** log.cleaner.io.max.bytes.per.second: read+write throttle over all threads. */
  maxIoBytesPerSecond: number;
  /** log.cleaner.backoff.ms: sleep when there is nothing to clean. */
  backoffMs: number;
}

export const CLEANER_CONFIG_KEYS = {
  enable: 'log.cleaner.enable',
  threads: 'log.cleaner.threads',
  dedupeBufferSize: 'log.cleaner.dedupe.buffer.size',
  loadFactor: 'log.cleaner.io.buffer.load.factor',
  ioBufferSize: 'log.cleaner.io.buffer.size',
  maxIoBytesPerSecond: 'log.cleaner.io.max.bytes.per.second',
  backoffMs: 'log.cleaner.backoff.ms',
  maxMessageBytes: 'message.max.bytes',
} as const;

/** Kafka's defaults (CleanerConfig.java). Double.MAX_VALUE for the throttle means "unthrottled". */
export const DEFAULT_CLEANER_CONFIG: Readonly<CleanerConfig> = Object.freeze({
  enableCleaner: true,
  numThreads: 1,
  dedupeBufferSize: 128 * 1024 * 1024,
  dedupeBufferLoadFactor: 0.9,
  ioBufferSize: 512 * 1024,
  maxMessageSize: 1024 * 1024 + 12,
  maxIoBytesPerSecond: Number.MAX_VALUE,
  backoffMs: 15_000,
});

/** A CleanerConfig from Kafka-named properties (raw strings or numbers) over the defaults. */
export function cleanerConfigFromProps(
  props: Record<string, string | number | boolean | null | undefined>,
  base: Readonly<CleanerConfig> = DEFAULT_CLEANER_CONFIG,
): CleanerConfig {
  const k = CLEANER_CONFIG_KEYS;
  const num = (key: string, fallback: number): number => {
    const raw = props[key];
    if (raw === undefined || raw === null || raw === '') return fallback;
    const n = Number(raw);
    return Number.isFinite(n) ? n : fallback;
  };
  const enable = props[k.enable];
  return {
    enableCleaner:
      enable === undefined || enable === null ? base.enableCleaner : String(enable).toLowerCase() === 'true',
    numThreads: Math.max(1, Math.floor(num(k.threads, base.numThreads))),
    dedupeBufferSize: num(k.dedupeBufferSize, base.dedupeBufferSize),
    dedupeBufferLoadFactor: num(k.loadFactor, base.dedupeBufferLoadFactor),
    ioBufferSize: num(k.ioBufferSize, base.ioBufferSize),
    maxMessageSize: num(k.maxMessageBytes, base.maxMessageSize),
    maxIoBytesPerSecond: num(k.maxIoBytesPerSecond, base.maxIoBytesPerSecond),
    backoffMs: Math.max(0, num(k.backoffMs, base.backoffMs)),
  };
}

/**
 * What one cleaner thread gets (LogCleaner.CleanerThread): its share of the dedupe buffer (at most
 * 2 GiB, as Kafka's Int-sized buffer) and half of its share of the I/O buffer for reads, half for writes.
 */
export function perThreadBuffers(c: Readonly<CleanerConfig>): {
  offsetMapBytes: number;
  ioBufferBytes: number;
} {
  return {
    offsetMapBytes: Math.min(Math.floor(c.dedupeBufferSize / c.numThreads), 0x7fffffff),
    ioBufferBytes: Math.max(1024, Math.floor(c.ioBufferSize / c.numThreads / 2)),
  };
}
