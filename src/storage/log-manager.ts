/**
 * LogManager: every partition log on this broker, over one or more log dirs (log.dirs). A partition
 * lives in <log.dir>/<topic>-<partition>; a new one goes to the dir holding the fewest partitions.
 *
 * It owns what is shared between logs: the FileHandlePool (bounded fds), the group-commit scheduler,
 * delayed file deletion, the background tasks (retention, time-based flush and index writes,
 * checkpoints), the LogCleaner (compaction, in worker threads; see log-cleaner.ts), and the
 * per-dir checkpoint files:
 *   recovery-point-offset-checkpoint, log-start-offset-checkpoint, replication-offset-checkpoint
 *   (high watermark), cleaner-offset-checkpoint (the cleaner's) and the .kafka_cleanshutdown marker.
 *
 * Lifecycle: new LogManager(opts) → startup() (load all logs, start timers) → getOrCreateLog / getLog …
 * → shutdown() (stop timers, flush and close every log, write checkpoints, write the clean-shutdown
 * marker). The marker is removed first thing at startup, so a crash at any later moment is unclean.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { OffsetCheckpointFile, fsyncDir, writeFileAtomically } from './checkpoint-file.js';
import { type CleanerConfig, DEFAULT_CLEANER_CONFIG } from './cleaner-config.js';
import type { AbortedTxn, ProducerLastRecord } from './cleaner-messages.js';
import { KafkaStorageError, LogDirError } from './errors.js';
import { type CleanerLogger, LogCleaner } from './log-cleaner.js';
import { FileHandlePool, type PooledFile } from './file-handle-pool.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from './log-config.js';
import {
  CLEAN_SHUTDOWN_FILE,
  DELETE_DIR_SUFFIX,
  LOG_START_OFFSET_CHECKPOINT_FILE,
  RECOVERY_POINT_CHECKPOINT_FILE,
  REPLICATION_OFFSET_CHECKPOINT_FILE,
  type TopicPartition,
  parseTopicPartitionName,
  topicPartitionKey,
} from './log-file-utils.js';
import type { BatchPosition } from './log-segment.js';
import { UnifiedLog } from './unified-log.js';
import {
  PartitionMetadataError,
  readPartitionMetadata,
  writePartitionMetadata,
} from './partition-metadata-file.js';

export interface LogManagerOptions {
  /** log.dirs */
  logDirs: string[];
  /** Broker defaults for every topic (log.* keys already mapped). */
  defaultConfig?: Readonly<LogConfig>;
  /** Per-topic overrides; called when a log is created or loaded. */
  topicConfig?: (topic: string) => Readonly<LogConfig> | undefined;
  /** Most file descriptors the logs may hold at once. */
  maxOpenFiles?: number;
  /** log.retention.check.interval.ms (Kafka default 300000). */
  retentionCheckIntervalMs?: number;
  /**
   * log.flush.scheduler.interval.ms: how often flush.ms is checked and pending index entries of the
   * active segments are written to their files (default 1000 here).
   */
  flushCheckIntervalMs?: number;
  /** log.flush.offset.checkpoint.interval.ms (Kafka default 60000); also used for log start offsets. */
  checkpointIntervalMs?: number;
  time?: () => number;
  /** Producer-state hook: batches re-read while recovering a log. */
  onRecoveredBatch?: (tp: TopicPartition, h: BatchPosition) => void;
  /**
   * The log cleaner's broker settings (log.cleaner.*), read on every cleaning so dynamic changes
   * apply; default Kafka's defaults (cleaner enabled).
   */
  cleanerConfig?: () => Readonly<CleanerConfig>;
  /** Active producers' last records of a partition (its producer state), for the cleaner. */
  producerLastRecords?: (tp: TopicPartition) => ProducerLastRecord[] | null;
  /** Aborted transactions of a log in [from, to); default the log's own .txnindex; null: none kept. */
  abortedTransactions?: (tp: TopicPartition, from: bigint, to: bigint) => AbortedTxn[] | null;
  /** The last stable offset of a partition (where cleaning stops); default its high watermark. */
  lastStableOffset?: (tp: TopicPartition) => bigint | undefined;
  /** Where the cleaner logs (a pino logger); default silent. */
  logger?: CleanerLogger;
}

interface LogDirState {
  path: string;
  logs: Map<string, UnifiedLog>;
}

export class LogManager {
  readonly pool: FileHandlePool;
  readonly #dirs: LogDirState[];
  readonly #logs = new Map<string, { log: UnifiedLog; dir: LogDirState }>();
  readonly #defaultConfig: Readonly<LogConfig>;
  readonly #topicConfig: ((topic: string) => Readonly<LogConfig> | undefined) | undefined;
  readonly #time: () => number;
  readonly #opts: LogManagerOptions;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #pendingDeletes = new Set<{ files: PooledFile[] | string; timer: NodeJS.Timeout }>();
  /** Group commit: logs that reached flush.messages during this event-loop turn. */
  #dirty = new Set<UnifiedLog>();
  #commitScheduled = false;
  #started = false;
  /** Log compaction (created with the manager; its threads start with startup()). */
  readonly cleaner: LogCleaner;

  constructor(opts: LogManagerOptions) {
    if (opts.logDirs.length === 0) throw new LogDirError('log.dirs is empty');
    this.#opts = opts;
    this.pool = new FileHandlePool(opts.maxOpenFiles ?? 1024);
    this.#dirs = opts.logDirs.map((path) => ({ path, logs: new Map() }));
    this.#defaultConfig = opts.defaultConfig ?? DEFAULT_LOG_CONFIG;
    this.#topicConfig = opts.topicConfig;
    this.#time = opts.time ?? Date.now;
    const cleanerConfig = opts.cleanerConfig ?? (() => DEFAULT_CLEANER_CONFIG);
    this.cleaner = new LogCleaner({
      logDirs: this.#dirs.map((d) => d.path),
      logs: () => this.#cleanableLogs(),
      // Fresh on every pick: topic overrides over the current (possibly dynamic) broker defaults.
      configOf: (log) => this.configFor(log.topicPartition.topic),
      cleanerConfig,
      producerLastRecords: opts.producerLastRecords
        ? (_key, log) => opts.producerLastRecords!(log.topicPartition)
        : undefined,
      // The aborts the cleaner must honour: each log's own .txnindex unless the caller says otherwise.
      abortedTransactions: opts.abortedTransactions
        ? (log, from, to) => opts.abortedTransactions!(log.topicPartition, from, to)
        : (log, from, to) => log.collectAbortedTransactions(from, to),
      lastStableOffset: (log) => opts.lastStableOffset?.(log.topicPartition) ?? log.highWatermark,
      time: this.#time,
      log: opts.logger,
    });
  }

  *#cleanableLogs(): Generator<{ key: string; log: UnifiedLog; logDir: string }> {
    for (const [key, e] of this.#logs) yield { key, log: e.log, logDir: e.dir.path };
  }

  configFor(topic: string): Readonly<LogConfig> {
    return this.#topicConfig?.(topic) ?? this.#defaultConfig;
  }

  /** Load every partition in every log dir and start the background tasks. */
  startup(opts: { background?: boolean } = {}): void {
    if (this.#started) return;
    for (const d of this.#dirs) this.#loadDir(d);
    this.#started = true;
    if (opts.background ?? true) {
      const every = (ms: number, fn: () => void): void => {
        const t = setInterval(() => {
          try {
            fn();
          } catch {
            // A failing dir surfaces on the next append/read as KafkaStorageError; keep the timer.
          }
        }, ms);
        t.unref();
        this.#timers.push(t);
      };
      every(this.#opts.retentionCheckIntervalMs ?? 300_000, () => this.cleanupLogs());
      every(this.#opts.flushCheckIntervalMs ?? 1000, () => this.flushDirtyLogs());
      every(this.#opts.checkpointIntervalMs ?? 60_000, () => this.checkpointAll());
      this.cleaner.startup();
    }
  }

  #loadDir(d: LogDirState): void {
    try {
      mkdirSync(d.path, { recursive: true });
    } catch (err) {
      throw new LogDirError(`cannot create log dir ${d.path}`, { cause: err });
    }
    const marker = join(d.path, CLEAN_SHUTDOWN_FILE);
    const hadCleanShutdown = existsSync(marker);
    if (hadCleanShutdown) {
      // Removed before anything else: from here on, a crash must mean recovery.
      unlinkSync(marker);
      fsyncDir(d.path);
    }
    const recoveryPoints = new OffsetCheckpointFile(join(d.path, RECOVERY_POINT_CHECKPOINT_FILE)).read();
    const logStarts = new OffsetCheckpointFile(join(d.path, LOG_START_OFFSET_CHECKPOINT_FILE)).read();
    const hws = new OffsetCheckpointFile(join(d.path, REPLICATION_OFFSET_CHECKPOINT_FILE)).read();
    for (const name of readdirSync(d.path)) {
      const full = join(d.path, name);
      if (name.endsWith(DELETE_DIR_SUFFIX)) {
        rmSync(full, { recursive: true, force: true });
        continue;
      }
      const tp = parseTopicPartitionName(name);
      if (tp === null || !statSync(full).isDirectory()) continue;
      const key = topicPartitionKey(tp);
      if (this.#logs.has(key)) throw new LogDirError(`partition ${key} is in two log dirs`);
      const log = this.#openLog(d, tp, {
        hadCleanShutdown,
        recoveryPoint: recoveryPoints.get(key),
        logStartOffset: logStarts.get(key),
        highWatermark: hws.get(key),
      });
      this.#logs.set(key, { log, dir: d });
      d.logs.set(key, log);
    }
  }

  #openLog(
    d: LogDirState,
    tp: TopicPartition,
    p: {
      hadCleanShutdown: boolean;
      recoveryPoint?: bigint | undefined;
      logStartOffset?: bigint | undefined;
      highWatermark?: bigint | undefined;
    },
  ): UnifiedLog {
    const onRecovered = this.#opts.onRecoveredBatch;
    return UnifiedLog.load({
      dir: join(d.path, topicPartitionKey(tp)),
      topicPartition: tp,
      config: this.configFor(tp.topic),
      pool: this.pool,
      hadCleanShutdown: p.hadCleanShutdown,
      recoveryPoint: p.recoveryPoint,
      logStartOffset: p.logStartOffset,
      highWatermark: p.highWatermark,
      time: this.#time,
      flushScheduler: (log) => this.#scheduleGroupCommit(log),
      deleteScheduler: (files) => this.#scheduleDelete(files, this.configFor(tp.topic).fileDeleteDelayMs),
      onRecoveredBatch: onRecovered ? (h) => onRecovered(tp, h) : undefined,
      onTruncated: (_log, newEnd) => this.cleaner.onTruncated(topicPartitionKey(tp), d.path, newEnd),
    });
  }

  get logDirs(): readonly string[] {
    return this.#dirs.map((d) => d.path);
  }

  getLog(topic: string, partition: number): UnifiedLog | undefined {
    return this.#logs.get(topicPartitionKey({ topic, partition }))?.log;
  }

  allLogs(): UnifiedLog[] {
    return [...this.#logs.values()].map((e) => e.log);
  }

  get logCount(): number {
    return this.#logs.size;
  }

  /**
   * The existing log, or a new empty one in the least loaded log dir. With `topicId`, the log's
   * partition.metadata records it (written when missing; see recordedTopicId for a mismatch).
   */
  getOrCreateLog(topic: string, partition: number, topicId?: string): UnifiedLog {
    const key = topicPartitionKey({ topic, partition });
    const existing = this.#logs.get(key);
    if (existing) {
      if (topicId !== undefined && this.#readTopicId(existing.log.dir) !== topicId)
        writePartitionMetadata(existing.log.dir, topicId);
      return existing.log;
    }
    if (topic.length === 0 || topic.includes('/') || topic === '.' || topic === '..') {
      throw new LogDirError(`invalid topic name ${JSON.stringify(topic)}`);
    }
    let d = this.#dirs[0]!;
    for (const c of this.#dirs) if (c.logs.size < d.logs.size) d = c;
    const log = this.#openLog(d, { topic, partition }, { hadCleanShutdown: true });
    this.#logs.set(key, { log, dir: d });
    d.logs.set(key, log);
    if (topicId !== undefined) writePartitionMetadata(log.dir, topicId);
    return log;
  }

  /**
   * The topic id the partition's log records in its partition.metadata: null when there is no log,
   * no file (logs written before Sluice kept one) or an unreadable one. A different id than the
   * topic's means the log belongs to a deleted topic of the same name (a stray log, in Kafka's words).
   */
  recordedTopicId(topic: string, partition: number): string | null {
    const e = this.#logs.get(topicPartitionKey({ topic, partition }));
    return e ? this.#readTopicId(e.log.dir) : null;
  }

  #readTopicId(dir: string): string | null {
    try {
      return readPartitionMetadata(dir);
    } catch (err) {
      if (err instanceof PartitionMetadataError) return null;
      throw err;
    }
  }

  /**
   * Delete a partition: close its log, rename its directory to <name>.<time>-delete (gone from the
   * broker's view at once) and remove it after file.delete.delay.ms.
   */
  deleteLog(topic: string, partition: number): boolean {
    const key = topicPartitionKey({ topic, partition });
    const e = this.#logs.get(key);
    if (!e) return false;
    this.#logs.delete(key);
    e.dir.logs.delete(key);
    this.#dirty.delete(e.log);
    // Before the files go: a worker cleaning this log is told to stop and its swaps are refused.
    this.cleaner.onDeleted(key, e.dir.path);
    e.log.closeWithoutFlush();
    const renamed = `${e.log.dir}.${this.#time()}${DELETE_DIR_SUFFIX}`;
    try {
      renameSync(e.log.dir, renamed);
    } catch (err) {
      throw new KafkaStorageError(`cannot delete ${e.log.dir}`, { cause: err });
    }
    this.#scheduleDelete(renamed, this.configFor(topic).fileDeleteDelayMs);
    return true;
  }

  #scheduleDelete(target: PooledFile[] | string, delayMs: number): void {
    const run = (): void => {
      if (typeof target === 'string') rmSync(target, { recursive: true, force: true });
      else target.forEach((f) => f.unlink());
    };
    if (delayMs <= 0) {
      run();
      return;
    }
    const entry = {
      files: target,
      timer: setTimeout(() => {
        this.#pendingDeletes.delete(entry);
        try {
          run();
        } catch {
          // Best effort; leftovers are removed at the next startup.
        }
      }, delayMs),
    };
    entry.timer.unref();
    this.#pendingDeletes.add(entry);
  }

  #scheduleGroupCommit(log: UnifiedLog): void {
    this.#dirty.add(log);
    if (this.#commitScheduled) return;
    this.#commitScheduled = true;
    // setImmediate runs after the I/O callbacks of this loop turn: every produce that arrived in the
    // same turn shares one fsync per log.
    setImmediate(() => {
      this.#commitScheduled = false;
      const logs = this.#dirty;
      this.#dirty = new Set();
      for (const log of logs) {
        try {
          log.flush();
        } catch {
          // flush() already rejected the waiters with KafkaStorageError.
        }
      }
    });
  }

  /**
   * Retention over every log; returns the number of segments deleted. A log the cleaner is working on
   * is skipped (its retention runs after the cleaning, as Kafka's cleaner does for compacted logs).
   */
  cleanupLogs(now = this.#time()): number {
    let n = 0;
    for (const [key, { log }] of this.#logs) {
      if (this.cleaner.isCleaning(key)) continue;
      n += log.deleteOldSegments(now);
    }
    return n;
  }

  /**
   * flush.ms over every log, and the active segments' pending index entries written to their files
   * (no fsync), so the files of a running broker show them within this interval.
   */
  flushDirtyLogs(now = this.#time()): void {
    for (const { log } of this.#logs.values()) {
      try {
        log.maybeFlushByTime(now);
        log.writeIndexEntries();
      } catch {
        // The failing log surfaces on its next append/read as KafkaStorageError; go on with the rest.
      }
    }
  }

  /** Write recovery points, log start offsets and high watermarks of every dir. */
  checkpointAll(): void {
    for (const d of this.#dirs) {
      const rp = new Map<string, { tp: TopicPartition; offset: bigint }>();
      const ls = new Map<string, { tp: TopicPartition; offset: bigint }>();
      const hw = new Map<string, { tp: TopicPartition; offset: bigint }>();
      for (const [key, log] of d.logs) {
        rp.set(key, { tp: log.topicPartition, offset: log.recoveryPoint });
        ls.set(key, { tp: log.topicPartition, offset: log.logStartOffset });
        hw.set(key, { tp: log.topicPartition, offset: log.highWatermark });
      }
      new OffsetCheckpointFile(join(d.path, RECOVERY_POINT_CHECKPOINT_FILE)).write(rp);
      new OffsetCheckpointFile(join(d.path, LOG_START_OFFSET_CHECKPOINT_FILE)).write(ls);
      new OffsetCheckpointFile(join(d.path, REPLICATION_OFFSET_CHECKPOINT_FILE)).write(hw);
    }
  }

  /**
   * Stop background work, flush and close every log, write checkpoints and the clean-shutdown marker.
   * Pending delayed deletions run now.
   */
  shutdown(): void {
    for (const t of this.#timers.splice(0)) clearInterval(t);
    // First: no worker may be writing next to a log that closes (an unfinished cleaning is dropped).
    this.cleaner.shutdown();
    for (const e of [...this.#pendingDeletes]) {
      clearTimeout(e.timer);
      this.#pendingDeletes.delete(e);
      if (typeof e.files === 'string') rmSync(e.files, { recursive: true, force: true });
      else e.files.forEach((f) => f.unlink());
    }
    for (const { log } of this.#logs.values()) log.close();
    this.checkpointAll();
    for (const d of this.#dirs)
      writeFileAtomically(join(d.path, CLEAN_SHUTDOWN_FILE), '{"version":0,"brokerEpoch":-1}\n');
    this.pool.closeAll();
    this.#logs.clear();
    this.#dirs.forEach((d) => d.logs.clear());
    this.#started = false;
  }

  /** Simulate a crash in tests: drop everything without flushing, checkpoints or marker. */
  abandon(): void {
    for (const t of this.#timers.splice(0)) clearInterval(t);
    this.cleaner.abandon();
    for (const e of this.#pendingDeletes) clearTimeout(e.timer);
    this.#pendingDeletes.clear();
    for (const { log } of this.#logs.values()) log.closeWithoutFlush();
    this.pool.closeAll();
    this.#logs.clear();
    this.#dirs.forEach((d) => d.logs.clear());
    this.#started = false;
  }
}
