/**
 * LogCleanerManager: which logs the cleaner may work on and how far each is clean (Kafka's
 * LogCleanerManager). Runs on the main thread; everything here is synchronous, so the states need no
 * lock: a swap, a truncation and a deletion can never interleave.
 *
 * Per partition, a cleaning state (Kafka's LogCleaningState, without the blocking waits):
 *   none         may be picked
 *   in progress  a worker cleans it; `aborted` set means its swaps are refused and its result dropped
 *   paused (n)   not picked until resumed n times (a pause requested while in progress takes effect
 *                when the worker is done)
 * Kafka blocks the caller of abortAndPauseCleaning until the cleaner thread stops; here the caller
 * cannot wait (it is the event loop), and need not: a swap happens only on this thread and is refused
 * once the job is aborted, so nothing the worker does afterwards reaches the log.
 *
 * `cleaner-offset-checkpoint` (one per log dir, Kafka's offset checkpoint format) holds each
 * compacted log's first dirty offset; it is kept in memory and written through on every change.
 */
import { join } from 'node:path';
import { OffsetCheckpointFile } from './checkpoint-file.js';
import { type LogConfig, isCompacted } from './log-config.js';
import { CLEANER_OFFSET_CHECKPOINT_FILE, type TopicPartition } from './log-file-utils.js';
import type { LogSegment } from './log-segment.js';
import type { UnifiedLog } from './unified-log.js';

export interface CleanableLog {
  /** "<topic>-<partition>" */
  key: string;
  log: UnifiedLog;
  /** The log dir (parent of the partition directory). */
  logDir: string;
}

/** A log chosen for cleaning (Kafka's LogToClean). */
export interface LogToClean {
  key: string;
  log: UnifiedLog;
  logDir: string;
  config: Readonly<LogConfig>;
  firstDirtyOffset: bigint;
  /** The base offset of the first segment that cannot be cleaned (the cleaning stops before it). */
  firstUncleanableOffset: bigint;
  cleanBytes: number;
  cleanableBytes: number;
  totalBytes: number;
  cleanableRatio: number;
  needCompactionNow: boolean;
}

/** Before each pick: the longest a log waited past its max.compaction.lag.ms (Kafka's PreCleanStats). */
export interface PreCleanStats {
  maxCompactionDelayMs: number;
  delayedPartitions: number;
  cleanablePartitions: number;
}

interface CleaningState {
  inProgress: boolean;
  aborted: boolean;
  paused: number;
}

export interface LogCleanerManagerOptions {
  logDirs: readonly string[];
  logs: () => Iterable<CleanableLog>;
  /** The log's current config (topic overrides over the current, possibly dynamic, broker defaults). */
  configOf: (log: UnifiedLog) => Readonly<LogConfig>;
  /** Where cleaning must stop: the last stable offset (default: the high watermark). */
  lastStableOffset?: (log: UnifiedLog) => bigint;
  /** A job in progress for `key` must stop now (the LogCleaner signals its worker). */
  onAbort?: (key: string) => void;
}

export function newPreCleanStats(): PreCleanStats {
  return { maxCompactionDelayMs: 0, delayedPartitions: 0, cleanablePartitions: 0 };
}

function sumSizes(segments: readonly LogSegment[]): number {
  let n = 0;
  for (const s of segments) n += s.size;
  return n;
}

export class LogCleanerManager {
  readonly #opts: LogCleanerManagerOptions;
  readonly #states = new Map<string, CleaningState>();
  /** Per log dir: its checkpoint file and the offsets in it. */
  readonly #checkpoints = new Map<string, { file: OffsetCheckpointFile; offsets: Map<string, bigint> }>();
  readonly #uncleanable = new Map<string, Set<string>>();
  #dirtiestRatio = 0;
  #timeOfLastRun = Date.now();

  constructor(opts: LogCleanerManagerOptions) {
    this.#opts = opts;
    for (const dir of opts.logDirs) {
      const file = new OffsetCheckpointFile(join(dir, CLEANER_OFFSET_CHECKPOINT_FILE));
      let offsets: Map<string, bigint>;
      try {
        offsets = file.read();
      } catch {
        offsets = new Map();
      }
      this.#checkpoints.set(dir, { file, offsets });
    }
  }

  // ---- metrics ----

  /** max-dirty-percent: the dirty ratio of the dirtiest compacted log at the last pick. */
  get maxDirtyPercent(): number {
    return Math.floor(100 * this.#dirtiestRatio);
  }
  get timeSinceLastRunMs(): number {
    return Date.now() - this.#timeOfLastRun;
  }
  uncleanablePartitionsCount(logDir: string): number {
    return this.#uncleanable.get(logDir)?.size ?? 0;
  }
  /** uncleanable-bytes: the cleanable bytes of the partitions marked uncleanable in `logDir`. */
  uncleanableBytes(logDir: string, now = Date.now()): number {
    const keys = this.#uncleanable.get(logDir);
    if (!keys) return 0;
    let n = 0;
    for (const c of this.#opts.logs()) {
      if (c.logDir !== logDir || !keys.has(c.key) || c.log.isClosed) continue;
      const o = this.cleanableOffsets(c.log, this.checkpointOf(c.key), now);
      n += this.calculateCleanableBytes(
        c.log,
        o.firstDirtyOffset,
        o.firstUncleanableDirtyOffset,
      ).cleanableBytes;
    }
    return n;
  }

  // ---- checkpoints ----

  /** The checkpointed first dirty offset of `key`, if any. */
  checkpointOf(key: string): bigint | undefined {
    for (const c of this.#checkpoints.values()) {
      const o = c.offsets.get(key);
      if (o !== undefined) return o;
    }
    return undefined;
  }

  allCleanerCheckpoints(): Map<string, bigint> {
    const out = new Map<string, bigint>();
    for (const c of this.#checkpoints.values()) for (const [k, v] of c.offsets) out.set(k, v);
    return out;
  }

  /** Set (or with `offset` null, remove) `key`'s checkpoint in `logDir` and write the file. */
  updateCheckpoint(logDir: string, key: string, offset: bigint | null): void {
    const c = this.#checkpoints.get(logDir);
    if (!c) return;
    if (offset === null) {
      if (!c.offsets.delete(key)) return;
    } else c.offsets.set(key, offset);
    const entries = new Map<string, { tp: TopicPartition; offset: bigint }>();
    for (const [k, v] of c.offsets) {
      const i = k.lastIndexOf('-');
      entries.set(k, { tp: { topic: k.slice(0, i), partition: Number(k.slice(i + 1)) }, offset: v });
    }
    try {
      c.file.write(entries);
    } catch {
      // The dir is failing; the next write retries. A lost checkpoint only means recleaning.
    }
  }

  /** A truncation moved the log end to `offset`: a checkpoint past it comes back to it. */
  maybeTruncateCheckpoint(logDir: string, key: string, offset: bigint): void {
    const c = this.#checkpoints.get(logDir);
    const cur = c?.offsets.get(key);
    if (cur !== undefined && cur > offset) this.updateCheckpoint(logDir, key, offset);
  }

  // ---- states ----

  isInProgress(key: string): boolean {
    return this.#states.get(key)?.inProgress ?? false;
  }
  isAborted(key: string): boolean {
    return this.#states.get(key)?.aborted ?? false;
  }
  isPaused(key: string): boolean {
    return (this.#states.get(key)?.paused ?? 0) > 0;
  }

  /** Stop a cleaning in progress (its result is dropped); the log may be picked again afterwards. */
  abortCleaning(key: string): void {
    const s = this.#states.get(key);
    if (s?.inProgress && !s.aborted) {
      s.aborted = true;
      this.#opts.onAbort?.(key);
    }
  }

  /** Abort any cleaning in progress and keep the log from being picked until resumeCleaning. */
  abortAndPauseCleaning(key: string): void {
    let s = this.#states.get(key);
    if (!s) this.#states.set(key, (s = { inProgress: false, aborted: false, paused: 0 }));
    s.paused++;
    this.abortCleaning(key);
  }

  /** Undo one pause. */
  resumeCleaning(key: string): void {
    const s = this.#states.get(key);
    if (!s || s.paused === 0)
      throw new Error(`Compaction for partition ${key} cannot be resumed since it is not paused.`);
    s.paused--;
    if (s.paused === 0 && !s.inProgress) this.#states.delete(key);
  }

  /**
   * The worker is done with `key`. Unless the job was aborted, `endOffset` (when given) becomes its
   * checkpoint; a pause requested meanwhile now holds.
   */
  doneCleaning(key: string, logDir: string, endOffset: bigint | null): void {
    const s = this.#states.get(key);
    if (!s?.inProgress) return;
    if (!s.aborted && endOffset !== null) this.updateCheckpoint(logDir, key, endOffset);
    s.inProgress = false;
    s.aborted = false;
    if (s.paused === 0) this.#states.delete(key);
  }

  markPartitionUncleanable(logDir: string, key: string): void {
    let set = this.#uncleanable.get(logDir);
    if (!set) this.#uncleanable.set(logDir, (set = new Set()));
    set.add(key);
  }

  isUncleanable(logDir: string, key: string): boolean {
    return this.#uncleanable.get(logDir)?.has(key) ?? false;
  }

  /** Forget partitions that are gone (Kafka's maintainUncleanablePartitions). */
  maintainUncleanablePartitions(): void {
    if (this.#uncleanable.size === 0) return;
    const present = new Set<string>();
    for (const c of this.#opts.logs()) present.add(c.key);
    for (const [dir, set] of this.#uncleanable) {
      for (const k of set) if (!present.has(k)) set.delete(k);
      if (set.size === 0) this.#uncleanable.delete(dir);
    }
  }

  /** The partition is deleted: abort, and drop its checkpoint and uncleanable mark. */
  removePartition(logDir: string, key: string): void {
    this.abortCleaning(key);
    const s = this.#states.get(key);
    if (s && !s.inProgress) this.#states.delete(key);
    this.updateCheckpoint(logDir, key, null);
    this.#uncleanable.get(logDir)?.delete(key);
  }

  // ---- choosing ----

  /**
   * The range that may be cleaned (Kafka's cleanableOffsets): from the checkpoint (or the log start
   * when the checkpoint is missing, below the log start or past the log end) up to the first of:
   * the last stable offset, the active segment, and the first dirty segment whose newest record is
   * younger than min.compaction.lag.ms.
   */
  cleanableOffsets(
    log: UnifiedLog,
    lastCleanOffset: bigint | undefined,
    now: number,
  ): { firstDirtyOffset: bigint; firstUncleanableDirtyOffset: bigint; forceUpdateCheckpoint: boolean } {
    const logStart = log.logStartOffset;
    const checkpointDirty = lastCleanOffset ?? logStart;
    let firstDirty = checkpointDirty;
    let force = false;
    if (checkpointDirty < logStart || checkpointDirty > log.logEndOffset) {
      firstDirty = logStart;
      force = true;
    }
    const config = this.#opts.configOf(log);
    const minLag = Math.max(config.minCompactionLagMs, 0);
    let uncleanable = this.#opts.lastStableOffset?.(log) ?? log.highWatermark;
    const activeBase = log.activeSegment.baseOffset;
    if (activeBase < uncleanable) uncleanable = activeBase;
    if (minLag > 0) {
      for (const s of log.nonActiveLogSegmentsFrom(firstDirty)) {
        if (s.largestTimestamp > now - minLag) {
          if (s.baseOffset < uncleanable) uncleanable = s.baseOffset;
          break;
        }
      }
    }
    return {
      firstDirtyOffset: firstDirty,
      firstUncleanableDirtyOffset: uncleanable > firstDirty ? uncleanable : firstDirty,
      forceUpdateCheckpoint: force,
    };
  }

  /**
   * The first uncleanable segment's base offset (the segment holding `uncleanableOffset`, or the
   * active one) and the bytes of the segments from the first dirty one up to it.
   */
  calculateCleanableBytes(
    log: UnifiedLog,
    firstDirtyOffset: bigint,
    uncleanableOffset: bigint,
  ): { firstUncleanableOffset: bigint; cleanableBytes: number } {
    const first = log.nonActiveLogSegmentsFrom(uncleanableOffset)[0] ?? log.activeSegment;
    const firstUncleanableOffset = first.baseOffset;
    const from = firstDirtyOffset < firstUncleanableOffset ? firstDirtyOffset : firstUncleanableOffset;
    return {
      firstUncleanableOffset,
      cleanableBytes: sumSizes(log.logSegments(from, firstUncleanableOffset)),
    };
  }

  /** How long past max.compaction.lag.ms the oldest dirty record is (0 when not late). */
  maxCompactionDelay(log: UnifiedLog, firstDirtyOffset: bigint, now: number): number {
    let earliest = Number.MAX_SAFE_INTEGER;
    for (const s of log.nonActiveLogSegmentsFrom(firstDirtyOffset)) {
      const ts = Number(s.firstBatchTimestamp);
      if (ts > 0 && ts < earliest) earliest = ts;
    }
    const maxLag = Math.max(this.#opts.configOf(log).maxCompactionLagMs, 0);
    const cleanUntil = now - maxLag;
    return earliest < cleanUntil ? cleanUntil - earliest : 0;
  }

  #logToClean(c: CleanableLog, config: Readonly<LogConfig>, now: number, pre: PreCleanStats): LogToClean {
    const log = c.log;
    const offsets = this.cleanableOffsets(log, this.checkpointOf(c.key), now);
    if (offsets.forceUpdateCheckpoint) this.updateCheckpoint(c.logDir, c.key, offsets.firstDirtyOffset);
    const delay = this.maxCompactionDelay(log, offsets.firstDirtyOffset, now);
    pre.maxCompactionDelayMs = Math.max(pre.maxCompactionDelayMs, delay);
    if (delay > 0) pre.delayedPartitions++;
    const cleanBytes = sumSizes(log.logSegments(-1n, offsets.firstDirtyOffset));
    const { firstUncleanableOffset, cleanableBytes } = this.calculateCleanableBytes(
      log,
      offsets.firstDirtyOffset,
      offsets.firstUncleanableDirtyOffset,
    );
    const totalBytes = cleanBytes + cleanableBytes;
    return {
      key: c.key,
      log,
      logDir: c.logDir,
      config,
      firstDirtyOffset: offsets.firstDirtyOffset,
      firstUncleanableOffset,
      cleanBytes,
      cleanableBytes,
      totalBytes,
      cleanableRatio: totalBytes > 0 ? cleanableBytes / totalBytes : 0,
      needCompactionNow: delay > 0,
    };
  }

  /**
   * Pick the compacted log with the largest dirty ratio among those over their
   * min.cleanable.dirty.ratio (or late for max.compaction.lag.ms), and mark it in progress. null when
   * none qualifies. A log whose numbers cannot be computed is marked uncleanable (Kafka throws
   * LogCleaningException for it).
   */
  grabFilthiestCompactedLog(now: number, pre: PreCleanStats = newPreCleanStats()): LogToClean | null {
    this.#timeOfLastRun = Date.now();
    const candidates: LogToClean[] = [];
    for (const c of this.#opts.logs()) {
      if (c.log.isClosed || this.#states.has(c.key) || this.isUncleanable(c.logDir, c.key)) continue;
      const config = this.#opts.configOf(c.log);
      if (!isCompacted(config)) continue;
      try {
        const ltc = this.#logToClean(c, config, now, pre);
        if (ltc.totalBytes > 0) candidates.push(ltc);
      } catch {
        this.markPartitionUncleanable(c.logDir, c.key);
      }
    }
    this.#dirtiestRatio = candidates.reduce((m, l) => Math.max(m, l.cleanableRatio), 0);
    const cleanable = candidates.filter(
      (l) =>
        (l.needCompactionNow && l.cleanableBytes > 0) || l.cleanableRatio > l.config.minCleanableDirtyRatio,
    );
    if (cleanable.length === 0) return null;
    pre.cleanablePartitions = cleanable.length;
    let filthiest = cleanable[0]!;
    for (const l of cleanable) if (l.cleanableRatio > filthiest.cleanableRatio) filthiest = l;
    this.#states.set(filthiest.key, { inProgress: true, aborted: false, paused: 0 });
    return filthiest;
  }

  /**
   * Compacted logs not being cleaned, for the cleaner's retention pass (Kafka's deletableLogs):
   * segments below the log start offset go, and with compact,delete the retention limits apply.
   */
  deletableLogs(): CleanableLog[] {
    const out: CleanableLog[] = [];
    for (const c of this.#opts.logs()) {
      if (c.log.isClosed || this.#states.has(c.key) || this.isUncleanable(c.logDir, c.key)) continue;
      if (isCompacted(this.#opts.configOf(c.log))) out.push(c);
    }
    return out;
  }
}
