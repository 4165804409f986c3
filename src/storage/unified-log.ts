/**
 * UnifiedLog: the log of one partition — an ordered list of LogSegments, the last one active — with
 * Kafka's offsets: log start offset (first readable), log end offset (next to assign), high watermark
 * (replicated; what consumers may read) and recovery point (flushed; what needs no recovery).
 *
 * Ownership: created and loaded by LogManager, which also supplies the shared FileHandlePool and the
 * group-commit flush scheduler. Everything here is synchronous and runs on the broker's event loop; the
 * only async API is waitForFlush(), which resolves once a group commit has fsynced an offset.
 *
 * Batches are stored exactly as received: append validates them (CRC-32C and structure) and stamps
 * BaseOffset and PartitionLeaderEpoch in place, both outside the CRC; reads return raw file bytes.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  BATCH_LENGTH_OFFSET,
  CorruptRecordError,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  RECORD_COUNT_OFFSET,
  type RecordBatchHeader,
  stampBaseOffset,
  stampLogAppendTime,
  stampPartitionLeaderEpoch,
  validateBatch,
} from '../protocol/records/batch-header.js';
import { fsyncDir } from './checkpoint-file.js';
import {
  InvalidRecordError,
  KafkaStorageError,
  LogClosedError,
  OffsetOutOfRangeError,
  RecordTooLargeError,
  UnexpectedAppendOffsetError,
} from './errors.js';
import type { FileHandlePool, PooledFile } from './file-handle-pool.js';
import { LeaderEpochFileCache } from './leader-epoch-file-cache.js';
import { type LogConfig, isDeleteRetained } from './log-config.js';
import {
  CLEANED_FILE_SUFFIX,
  DELETED_FILE_SUFFIX,
  INDEX_FILE_SUFFIX,
  LEADER_EPOCH_CHECKPOINT_FILE,
  LOG_FILE_SUFFIX,
  SWAP_FILE_SUFFIX,
  TIME_INDEX_FILE_SUFFIX,
  TXN_INDEX_FILE_SUFFIX,
  type TopicPartition,
  offsetFromFileName,
} from './log-file-utils.js';
import { type AppendBatch, type BatchPosition, LogSegment } from './log-segment.js';
import type { AbortedTxn } from './transaction-index.js';

/** ListOffsets special timestamps. */
export const LATEST_TIMESTAMP = -1n;
export const EARLIEST_TIMESTAMP = -2n;
export const MAX_TIMESTAMP = -3n;

const MAX_STORED_BATCH = 0x7fffffff;

export interface LogAppendInfo {
  firstOffset: bigint;
  lastOffset: bigint;
  /** Largest MaxTimestamp among the appended batches. */
  maxTimestamp: bigint;
  /** The broker time written into the batches under LogAppendTime, else -1. */
  logAppendTime: bigint;
  logStartOffset: bigint;
  recordCount: number;
  batchCount: number;
  validBytes: number;
}

export interface AppendOptions {
  /** Stamp this PartitionLeaderEpoch into each batch and record it in the epoch cache. */
  leaderEpoch?: number;
  /** Skip CRC validation because the caller has just done it. Sizes are still checked. */
  alreadyValidated?: boolean;
  /** Wall-clock time for LogAppendTime and rolling (defaults to the log's clock). */
  now?: number;
}

export interface ReadOptions {
  maxBytes: number;
  /**
   * Exclusive upper bound: the high watermark (or last stable offset) for consumers, the log end for
   * followers. Defaults to the log end.
   */
  maxOffset?: bigint;
  /** Return the whole first batch even if larger than maxBytes (Kafka's minOneMessage). Default true. */
  minOneMessage?: boolean;
  /**
   * Also collect the aborted transactions overlapping what is returned (read_committed fetches):
   * Kafka's LocalLog.addAbortedTransactions.
   */
  includeAbortedTxns?: boolean;
}

export interface FetchDataInfo {
  /** Raw batches from the segment file; may end with a partial batch when maxBytes cut it. */
  records: Buffer;
  /** Base offset of the first batch returned (may be below the fetch offset), -1 when empty. */
  firstBatchBaseOffset: bigint;
  /** The first batch alone is larger than maxBytes (only possible with minOneMessage). */
  firstEntryIncomplete: boolean;
  highWatermark: bigint;
  logStartOffset: bigint;
  logEndOffset: bigint;
  /** With `includeAbortedTxns`: the aborted transactions the returned records may hold. */
  abortedTransactions?: AbortedTxn[];
}

export interface TimestampAndOffset {
  offset: bigint;
  timestamp: bigint;
  leaderEpoch: number;
}

export interface LoadLogParams {
  dir: string;
  topicPartition: TopicPartition;
  config: Readonly<LogConfig>;
  pool: FileHandlePool;
  /** From recovery-point-offset-checkpoint; 0 when unknown (everything is re-validated). */
  recoveryPoint?: bigint;
  /** From log-start-offset-checkpoint. */
  logStartOffset?: bigint;
  /** From replication-offset-checkpoint. */
  highWatermark?: bigint;
  /** The log dir had a clean-shutdown marker: trust the files (indexes are still sanity-checked). */
  hadCleanShutdown: boolean;
  /** Clock (ms); defaults to Date.now. */
  time?: () => number;
  /** Group commit: called when flush.messages is reached; the scheduler calls log.flush() soon. */
  flushScheduler?: (log: UnifiedLog) => void;
  /** Delayed deletion of segment files (already renamed to *.deleted). Default: unlink now. */
  deleteScheduler?: (files: PooledFile[]) => void;
  /** Called for every batch header re-read during recovery (the producer-state rebuild hook). */
  onRecoveredBatch?: (h: BatchPosition) => void;
  /**
   * Called after data was removed from the end of the log (truncateTo, truncateFullyAndStartAt) with
   * the new log end offset: the log cleaner aborts a cleaning in progress and moves its checkpoint
   * back (Kafka's LogManager does both around a truncation).
   */
  onTruncated?: (log: UnifiedLog, newLogEndOffset: bigint) => void;
}

/** A cleaned segment could not be swapped in: the segments it replaces changed meanwhile. */
export class SwapRefusedError extends Error {
  override readonly name = 'SwapRefusedError';
}

/**
 * Crash tests: SLUICE_TEST_CRASH_AT_SWAP_STEP=<n> makes the process SIGKILL itself at step n of
 * replaceSegments (1: first .cleaned file renamed to .swap, 2: all renamed, 3: first old segment
 * renamed to .deleted, 4: all, 5: the .log renamed from .swap to its final name, 6: done). Never set
 * outside tests.
 */
const CRASH_AT_SWAP_STEP = Number(process.env.SLUICE_TEST_CRASH_AT_SWAP_STEP ?? 0);
function swapStep(step: number): void {
  if (CRASH_AT_SWAP_STEP === step) process.kill(process.pid, 'SIGKILL');
}

interface FlushWaiter {
  offset: bigint;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class UnifiedLog {
  readonly dir: string;
  readonly topicPartition: TopicPartition;
  readonly leaderEpochCache: LeaderEpochFileCache;
  #config: Readonly<LogConfig>;
  readonly #pool: FileHandlePool;
  readonly #time: () => number;
  readonly #flushScheduler: ((log: UnifiedLog) => void) | undefined;
  readonly #deleteScheduler: (files: PooledFile[]) => void;
  readonly #onTruncated: ((log: UnifiedLog, newLogEndOffset: bigint) => void) | undefined;
  #segments: LogSegment[] = [];
  #logStartOffset = 0n;
  #logEndOffset = 0n;
  #highWatermark = 0n;
  #recoveryPoint = 0n;
  #unflushedMessages = 0;
  #lastFlushTime: number;
  #flushRequested = false;
  #dirNeedsSync = false;
  #closed = false;
  #flushWaiters: FlushWaiter[] = [];

  private constructor(p: LoadLogParams) {
    this.dir = p.dir;
    this.topicPartition = p.topicPartition;
    this.#config = p.config;
    this.#pool = p.pool;
    this.#time = p.time ?? Date.now;
    this.#flushScheduler = p.flushScheduler;
    this.#deleteScheduler = p.deleteScheduler ?? ((files) => files.forEach((f) => f.unlink()));
    this.#onTruncated = p.onTruncated;
    this.leaderEpochCache = new LeaderEpochFileCache(join(p.dir, LEADER_EPOCH_CHECKPOINT_FILE));
    this.#lastFlushTime = this.#time();
  }

  /**
   * Open (or create) the log in `dir`. After an unclean shutdown every segment from the one holding the
   * recovery point on is re-validated batch by batch and cut at the first bad or partial batch (later
   * segments are then deleted); indexes of those segments are rebuilt. Leftover *.deleted and temporary
   * files are removed.
   */
  static load(p: LoadLogParams): UnifiedLog {
    const log = new UnifiedLog(p);
    try {
      log.#load(p);
    } catch (err) {
      log.#segments.forEach((s) => s.closeHandles());
      if (err instanceof KafkaStorageError) throw err;
      throw new KafkaStorageError(`cannot load log ${p.dir}: ${(err as Error).message}`, { cause: err });
    }
    return log;
  }

  #load(p: LoadLogParams): void {
    mkdirSync(this.dir, { recursive: true });
    const now = this.#time();
    const bases = new Set<bigint>();
    this.#completeInterruptedSwaps(now);
    const names = readdirSync(this.dir);
    for (const name of names) {
      if (name.endsWith(DELETED_FILE_SUFFIX) || name.endsWith('.tmp')) unlinkSync(join(this.dir, name));
      else if (name.endsWith(LOG_FILE_SUFFIX)) {
        const base = offsetFromFileName(name);
        if (base !== null) bases.add(base);
      }
    }
    // Index files without their .log are leftovers of a crash during a roll or delete.
    for (const name of names) {
      if (
        name.endsWith(INDEX_FILE_SUFFIX) ||
        name.endsWith(TIME_INDEX_FILE_SUFFIX) ||
        name.endsWith(TXN_INDEX_FILE_SUFFIX)
      ) {
        const base = offsetFromFileName(name);
        if (base !== null && !bases.has(base)) unlinkSync(join(this.dir, name));
      }
    }
    const epochState = this.leaderEpochCache.load();
    const sorted = [...bases].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    this.#segments = sorted.map((b) => LogSegment.open(this.dir, b, this.#config, this.#pool, now));
    if (this.#segments.length === 0) {
      this.#segments.push(LogSegment.create(this.dir, p.logStartOffset ?? 0n, this.#config, this.#pool, now));
      this.#dirNeedsSync = true;
    }
    if (epochState === 'corrupt') this.#rebuildEpochCache();

    if (!p.hadCleanShutdown) {
      this.#recover(p.recoveryPoint ?? 0n, epochState === 'loaded', p.onRecoveredBatch);
    } else {
      // Trusted, but a partial tail on the active segment still means it was not clean.
      const active = this.activeSegment;
      if (active.scannedSize < active.size)
        this.#recover(active.baseOffset, epochState === 'loaded', p.onRecoveredBatch);
    }
    this.#logEndOffset = this.activeSegment.nextOffset;
    const firstBase = this.#segments[0]!.baseOffset;
    let start = p.logStartOffset ?? firstBase;
    if (start < firstBase) start = firstBase;
    if (start > this.#logEndOffset) start = this.#logEndOffset;
    this.#logStartOffset = start;
    this.#recoveryPoint = this.#logEndOffset;
    this.leaderEpochCache.truncateFromEnd(this.#logEndOffset);
    this.leaderEpochCache.truncateFromStart(this.#logStartOffset);
    this.#highWatermark = this.#clamp(p.highWatermark ?? this.#logStartOffset);
  }

  /**
   * Finish or undo a cleaner swap a crash interrupted, exactly as Kafka's LogLoader does before it
   * loads segments:
   *   1. `.deleted` files go (old segments already replaced); every `.cleaned` file goes (a cleaned
   *      segment not yet being swapped in), and with them any `.swap` file at or above the lowest
   *      `.cleaned` offset (a swap that had not finished renaming its files to `.swap`);
   *   2. the remaining `.swap` segments are complete: the segment files they replace — those whose
   *      base offset lies in [lowest swap base, highest swap next offset) — are deleted;
   *   3. the `.swap` files are renamed to their final names.
   * So a kill at any moment of a cleaning leaves either the old segments or the new one. Producer
   * snapshots (`.snapshot`) are left alone (Kafka deletes those in the range too; they are rebuilt).
   */
  #completeInterruptedSwaps(now: number): void {
    const names = readdirSync(this.dir);
    let minCleaned: bigint | null = null;
    const swaps: string[] = [];
    for (const name of names) {
      if (name.endsWith(DELETED_FILE_SUFFIX)) unlinkSync(join(this.dir, name));
      else if (name.endsWith(CLEANED_FILE_SUFFIX)) {
        const base = offsetFromFileName(name);
        if (base !== null && (minCleaned === null || base < minCleaned)) minCleaned = base;
        unlinkSync(join(this.dir, name));
      } else if (name.endsWith(SWAP_FILE_SUFFIX)) swaps.push(name);
    }
    const valid: string[] = [];
    for (const name of swaps) {
      const base = offsetFromFileName(name);
      if (base === null || (minCleaned !== null && base >= minCleaned)) unlinkSync(join(this.dir, name));
      else valid.push(name);
    }
    if (valid.length === 0) return;
    let minSwap: bigint | null = null;
    let maxSwap: bigint | null = null;
    for (const name of valid) {
      if (name !== `${name.slice(0, 20)}${LOG_FILE_SUFFIX}${SWAP_FILE_SUFFIX}`) continue;
      const base = offsetFromFileName(name)!;
      const seg = LogSegment.open(this.dir, base, this.#config, this.#pool, now, SWAP_FILE_SUFFIX);
      try {
        const next = seg.nextOffset;
        if (minSwap === null || base < minSwap) minSwap = base;
        if (maxSwap === null || next > maxSwap) maxSwap = next;
      } finally {
        seg.closeHandles();
      }
    }
    if (minSwap !== null && maxSwap !== null) {
      const segmentFile = new RegExp(
        `^\\d{20}(${[LOG_FILE_SUFFIX, INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX, TXN_INDEX_FILE_SUFFIX]
          .map((x) => x.replace('.', '\\.'))
          .join('|')})$`,
      );
      for (const name of readdirSync(this.dir)) {
        if (!segmentFile.test(name)) continue;
        const off = offsetFromFileName(name)!;
        if (off >= minSwap && off < maxSwap) unlinkSync(join(this.dir, name));
      }
    }
    for (const name of readdirSync(this.dir)) {
      if (name.endsWith(SWAP_FILE_SUFFIX))
        renameSync(join(this.dir, name), join(this.dir, name.slice(0, -SWAP_FILE_SUFFIX.length)));
    }
    fsyncDir(this.dir);
  }

  #recover(recoveryPoint: bigint, epochsTrusted: boolean, onBatch?: (h: BatchPosition) => void): void {
    let k = this.#segments.findIndex(
      (s, i) => i === this.#segments.length - 1 || this.#segments[i + 1]!.baseOffset > recoveryPoint,
    );
    if (k < 0) k = 0;
    // The epoch field is outside the CRC; an epoch may never decrease, nor exceed the latest one the
    // checkpoint recorded (it is written before the batches that carry it).
    const maxEpoch = epochsTrusted ? this.leaderEpochCache.latestEpoch : Number.MAX_SAFE_INTEGER;
    let prevEpoch = -1;
    const accept = (b: BatchPosition): boolean => {
      const e = b.partitionLeaderEpoch;
      if (e >= 0) {
        if (e < prevEpoch || e > maxEpoch) return false;
        prevEpoch = e;
      }
      return true;
    };
    for (let i = k; i < this.#segments.length; i++) {
      const seg = this.#segments[i]!;
      const batches: BatchPosition[] = [];
      const r = seg.recover(MAX_STORED_BATCH, (b) => {
        if (!accept(b)) return false;
        batches.push(b);
        return true;
      });
      for (const b of batches) {
        this.leaderEpochCache.assign(b.partitionLeaderEpoch, b.baseOffset, false);
        onBatch?.(b);
      }
      // A recovered segment that is not the last one will take no appends: its indexes are final now.
      if (r.truncatedBytes === 0 && i < this.#segments.length - 1) seg.onBecomeInactive();
      seg.flush();
      if (r.truncatedBytes > 0) {
        // Everything after the first bad byte goes, later segments included.
        for (const later of this.#segments.splice(i + 1)) this.#deleteSegmentNow(later);
        if (seg.size === 0 && i > 0 && seg.baseOffset !== this.#segments[i - 1]!.nextOffset) {
          // An emptied segment keeps its name; that is fine, the next append continues at its base.
        }
        break;
      }
    }
    this.leaderEpochCache.flush();
  }

  /** Rebuild the epoch cache from the batch headers of every segment (after a corrupt checkpoint). */
  #rebuildEpochCache(): void {
    for (const seg of this.#segments) {
      for (const b of seg.batches())
        this.leaderEpochCache.assign(b.partitionLeaderEpoch, b.baseOffset, false);
    }
    this.leaderEpochCache.flush();
  }

  // ---- state ----

  get config(): Readonly<LogConfig> {
    return this.#config;
  }
  /** Topic config changed (IncrementalAlterConfigs); takes effect at the next append/roll/retention. */
  updateConfig(config: Readonly<LogConfig>): void {
    this.#config = config;
    // The roll check reads the segment's config: Kafka decides a roll with the log's current config.
    for (const s of this.#segments) s.config = config;
  }
  get logStartOffset(): bigint {
    return this.#logStartOffset;
  }
  get logEndOffset(): bigint {
    return this.#logEndOffset;
  }
  get highWatermark(): bigint {
    return this.#highWatermark;
  }
  get recoveryPoint(): bigint {
    return this.#recoveryPoint;
  }
  get activeSegment(): LogSegment {
    return this.#segments[this.#segments.length - 1]!;
  }
  get segments(): readonly LogSegment[] {
    return this.#segments;
  }
  get numberOfSegments(): number {
    return this.#segments.length;
  }
  /**
   * Segments holding offsets in [from, to): the one containing `from` (the floor segment) and every
   * later one whose base offset is below `to` (Kafka's logSegments(from, to)).
   */
  logSegments(from: bigint, to: bigint): LogSegment[] {
    if (from >= to) return [];
    const out: LogSegment[] = [];
    const start = from < this.#segments[0]!.baseOffset ? 0 : this.#floorSegmentIndex(from);
    for (let i = start; i < this.#segments.length; i++) {
      const seg = this.#segments[i]!;
      if (seg.baseOffset >= to) break;
      out.push(seg);
    }
    return out;
  }
  /** Segments from the one containing `from` up to, not including, the active one. */
  nonActiveLogSegmentsFrom(from: bigint): LogSegment[] {
    return this.logSegments(from, this.activeSegment.baseOffset);
  }
  /** Bytes on disk over all segments. */
  get size(): number {
    return this.#segments.reduce((n, s) => n + s.size, 0);
  }
  get unflushedMessages(): number {
    return this.#unflushedMessages;
  }
  get lastFlushTime(): number {
    return this.#lastFlushTime;
  }
  get isClosed(): boolean {
    return this.#closed;
  }
  get latestEpoch(): number {
    return this.leaderEpochCache.latestEpoch;
  }
  /** OffsetForLeaderEpoch. */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: bigint } {
    return this.leaderEpochCache.endOffsetFor(epoch, this.#logEndOffset);
  }

  #clamp(offset: bigint): bigint {
    if (offset < this.#logStartOffset) return this.#logStartOffset;
    if (offset > this.#logEndOffset) return this.#logEndOffset;
    return offset;
  }

  /** Set the high watermark (clamped to [logStartOffset, logEndOffset]); returns the value set. */
  updateHighWatermark(hw: bigint): bigint {
    this.#highWatermark = this.#clamp(hw);
    return this.#highWatermark;
  }

  /** Raise the high watermark (never lowers it); returns whether it moved. */
  maybeIncrementHighWatermark(hw: bigint): boolean {
    const v = this.#clamp(hw);
    if (v <= this.#highWatermark) return false;
    this.#highWatermark = v;
    return true;
  }

  #checkOpen(): void {
    if (this.#closed) throw new LogClosedError(`log ${this.dir} is closed`);
  }

  // ---- append ----

  /**
   * Leader append: validate the batches in `records` (unless alreadyValidated), assign offsets from the
   * log end by stamping BaseOffset in place, stamp the leader epoch when given, apply LogAppendTime when
   * the topic uses it, roll if needed, and write the bytes as they are. `records` is modified in place.
   */
  append(records: Buffer, opts: AppendOptions = {}): LogAppendInfo {
    this.#checkOpen();
    const now = opts.now ?? this.#time();
    const batches = this.#analyze(records, opts.alreadyValidated ?? false, true);
    const logAppendTime = this.#config.messageTimestampType === 'LogAppendTime' ? BigInt(now) : -1n;
    let next = this.#logEndOffset;
    for (const b of batches) {
      const delta = b.lastOffset - b.baseOffset;
      stampBaseOffset(records, b.position, next);
      b.baseOffset = next;
      b.lastOffset = next + delta;
      next = b.lastOffset + 1n;
      if (opts.leaderEpoch !== undefined) stampPartitionLeaderEpoch(records, b.position, opts.leaderEpoch);
      if (logAppendTime >= 0n) {
        stampLogAppendTime(records, b.position, logAppendTime);
        b.maxTimestamp = logAppendTime;
      }
    }
    if (opts.leaderEpoch !== undefined)
      this.leaderEpochCache.assign(opts.leaderEpoch, batches[0]!.baseOffset);
    return this.#write(records, batches, now, logAppendTime);
  }

  /**
   * Follower append: keep the offsets and epochs the leader assigned. They must start at or after the
   * log end and increase from batch to batch (UnexpectedAppendOffsetError otherwise; the replica
   * fetcher then truncates). Gaps are allowed (compacted leaders).
   */
  appendAsFollower(records: Buffer, opts: { alreadyValidated?: boolean; now?: number } = {}): LogAppendInfo {
    this.#checkOpen();
    const now = opts.now ?? this.#time();
    const batches = this.#analyze(records, opts.alreadyValidated ?? false, false);
    let expected = this.#logEndOffset;
    for (const b of batches) {
      if (b.baseOffset < expected) {
        throw new UnexpectedAppendOffsetError(
          `follower batch at offset ${b.baseOffset} is below the expected ${expected}`,
          batches[0]!.baseOffset,
          batches[batches.length - 1]!.lastOffset,
        );
      }
      expected = b.lastOffset + 1n;
    }
    for (const b of batches) {
      this.leaderEpochCache.assign(
        records.readInt32BE(b.position + PARTITION_LEADER_EPOCH_OFFSET),
        b.baseOffset,
      );
    }
    return this.#write(records, batches, now, -1n);
  }

  /** Split `records` into batches, validating each; reads offsets as found. */
  #analyze(records: Buffer, alreadyValidated: boolean, leader: boolean): AppendBatch[] {
    const batches: AppendBatch[] = [];
    let pos = 0;
    while (pos < records.length) {
      let size: number;
      if (alreadyValidated) {
        if (records.length - pos < RECORD_BATCH_HEADER_SIZE)
          throw new CorruptRecordError('record batch truncated');
        size = records.readInt32BE(pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
        if (size < RECORD_BATCH_HEADER_SIZE || pos + size > records.length) {
          throw new CorruptRecordError(`record batch size ${size} does not fit`);
        }
      } else {
        size = validateBatch(records, pos);
      }
      if (size > this.#config.maxMessageBytes) {
        throw new RecordTooLargeError(
          `record batch of ${size} bytes exceeds max.message.bytes ${this.#config.maxMessageBytes}`,
        );
      }
      if (leader && records.readInt32BE(pos + RECORD_COUNT_OFFSET) === 0) {
        throw new InvalidRecordError('INVALID_RECORD', 'record batch has no records');
      }
      const baseOffset = records.readBigInt64BE(pos);
      batches.push({
        position: pos,
        size,
        baseOffset,
        lastOffset: baseOffset + BigInt(records.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET)),
        maxTimestamp: records.readBigInt64BE(pos + MAX_TIMESTAMP_OFFSET),
      });
      pos += size;
    }
    if (batches.length === 0) throw new InvalidRecordError('INVALID_RECORD', 'no record batches to append');
    return batches;
  }

  #write(records: Buffer, batches: AppendBatch[], now: number, logAppendTime: bigint): LogAppendInfo {
    const first = batches[0]!;
    const last = batches[batches.length - 1]!;
    if (this.activeSegment.shouldRoll(records.length, first.baseOffset, last.lastOffset, now)) {
      this.roll(first.baseOffset > this.#logEndOffset ? first.baseOffset : this.#logEndOffset, now);
    }
    try {
      this.activeSegment.append(records, batches);
    } catch (err) {
      throw new KafkaStorageError(`append to ${this.dir} failed: ${(err as Error).message}`, { cause: err });
    }
    this.#logEndOffset = last.lastOffset + 1n;
    let count = 0;
    let maxTimestamp = -1n;
    for (const b of batches) {
      count += records.readInt32BE(b.position + RECORD_COUNT_OFFSET);
      if (b.maxTimestamp > maxTimestamp) maxTimestamp = b.maxTimestamp;
    }
    this.#unflushedMessages += count;
    if (this.#unflushedMessages >= this.#config.flushMessages) this.#requestFlush();
    return {
      firstOffset: first.baseOffset,
      lastOffset: last.lastOffset,
      maxTimestamp,
      logAppendTime,
      logStartOffset: this.#logStartOffset,
      recordCount: count,
      batchCount: batches.length,
      validBytes: records.length,
    };
  }

  // ---- roll and flush ----

  /**
   * Close the active segment for appends and start a new one at `newOffset` (the log end by default).
   * An empty active segment is replaced rather than kept.
   */
  roll(newOffset: bigint = this.#logEndOffset, now = this.#time()): LogSegment {
    this.#checkOpen();
    const active = this.activeSegment;
    if (active.size === 0) {
      if (active.baseOffset === newOffset) return active;
      this.#segments.pop();
      this.#deleteSegmentNow(active);
    } else {
      // Final time index entry, then both index files trimmed to their entries, as Kafka rolls.
      active.onBecomeInactive();
    }
    const seg = LogSegment.create(this.dir, newOffset, this.#config, this.#pool, now);
    this.#segments.push(seg);
    this.#dirNeedsSync = true;
    return seg;
  }

  #requestFlush(): void {
    if (this.#flushScheduler) {
      if (!this.#flushRequested) {
        this.#flushRequested = true;
        this.#flushScheduler(this);
      }
    } else this.flush();
  }

  /**
   * fsync every segment with unflushed data (and the directory after a roll), then move the recovery
   * point to the log end. Waiters for offsets up to it resolve.
   */
  flush(): void {
    this.#flushRequested = false;
    if (this.#closed) return;
    const target = this.#logEndOffset;
    try {
      for (const s of this.#segments) s.flush();
      if (this.#dirNeedsSync) {
        fsyncDir(this.dir);
        this.#dirNeedsSync = false;
      }
    } catch (err) {
      const e = new KafkaStorageError(`flush of ${this.dir} failed: ${(err as Error).message}`, {
        cause: err,
      });
      const waiters = this.#flushWaiters;
      this.#flushWaiters = [];
      waiters.forEach((w) => w.reject(e));
      throw e;
    }
    this.#recoveryPoint = target;
    this.#unflushedMessages = 0;
    this.#lastFlushTime = this.#time();
    if (this.#flushWaiters.length > 0) {
      const still: FlushWaiter[] = [];
      for (const w of this.#flushWaiters) {
        if (w.offset <= target) w.resolve();
        else still.push(w);
      }
      this.#flushWaiters = still;
    }
  }

  /**
   * Resolves when everything below `offset` is fsynced (recovery point >= offset). With a flush
   * scheduler this is a group commit: all appends of one event-loop turn share the fsync.
   */
  waitForFlush(offset: bigint = this.#logEndOffset): Promise<void> {
    if (this.#recoveryPoint >= offset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#flushWaiters.push({ offset, resolve, reject });
      this.#requestFlush();
    });
  }

  /**
   * Write the active segment's pending index entries to its (preallocated) files without fsync, so
   * that tools reading a running broker's files see them, as they see Kafka's memory-mapped indexes.
   * LogManager calls this periodically; cheap when nothing is pending.
   */
  writeIndexEntries(): void {
    if (this.#closed) return;
    try {
      this.activeSegment.flushIndexes();
    } catch (err) {
      throw new KafkaStorageError(`writing the indexes of ${this.dir} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** flush.ms: flush when the last one is older than that and there is something to flush. */
  maybeFlushByTime(now = this.#time()): boolean {
    if (this.#recoveryPoint >= this.#logEndOffset && !this.activeSegment.dirty) return false;
    if (now - this.#lastFlushTime < this.#config.flushMs) return false;
    this.flush();
    return true;
  }

  // ---- read ----

  #floorSegmentIndex(offset: bigint): number {
    let lo = 0;
    let hi = this.#segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#segments[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /**
   * Read raw batches from `startOffset`: from the batch containing it, up to maxBytes (the whole first
   * batch when minOneMessage), never including batches at or past maxOffset, from one segment.
   * OffsetOutOfRangeError outside [logStartOffset, logEndOffset]; empty records at or past maxOffset.
   */
  read(startOffset: bigint, opts: ReadOptions): FetchDataInfo {
    this.#checkOpen();
    const leo = this.#logEndOffset;
    const upper = opts.maxOffset === undefined || opts.maxOffset > leo ? leo : opts.maxOffset;
    const empty = (): FetchDataInfo => ({
      records: Buffer.alloc(0),
      firstBatchBaseOffset: -1n,
      firstEntryIncomplete: false,
      highWatermark: this.#highWatermark,
      logStartOffset: this.#logStartOffset,
      logEndOffset: leo,
      ...(opts.includeAbortedTxns ? { abortedTransactions: [] } : {}),
    });
    if (startOffset < this.#logStartOffset || startOffset > leo) {
      throw new OffsetOutOfRangeError(startOffset, this.#logStartOffset, leo, 'fetch offset');
    }
    if (startOffset >= upper) return empty();
    const minOne = opts.minOneMessage ?? true;
    for (let i = this.#floorSegmentIndex(startOffset); i < this.#segments.length; i++) {
      const seg = this.#segments[i]!;
      const next = this.#segments[i + 1];
      let maxPosition = seg.size;
      if ((next === undefined || upper < next.baseOffset) && upper < seg.nextOffset) {
        const bound = seg.translateOffset(upper);
        if (bound !== null) maxPosition = bound.position;
      }
      const r = seg.read(startOffset, opts.maxBytes, maxPosition, minOne);
      if (r === null) continue;
      if (r.records.length === 0) return empty();
      const out: FetchDataInfo = {
        records: r.records,
        firstBatchBaseOffset: r.first.baseOffset,
        firstEntryIncomplete: r.first.size > opts.maxBytes,
        highWatermark: this.#highWatermark,
        logStartOffset: this.#logStartOffset,
        logEndOffset: leo,
      };
      if (opts.includeAbortedTxns) {
        // Kafka's upper bound: the first index entry past the bytes read, else the next segment's
        // start, else the log end. It may exceed what was returned; never falls short of it.
        const upperBound =
          seg.fetchUpperBoundOffset(r.first.position, r.records.length) ?? next?.baseOffset ?? leo;
        out.abortedTransactions = this.#collectAbortedTransactions(i, startOffset, upperBound);
      }
      return out;
    }
    return empty();
  }

  // ---- aborted transactions (the .txnindex of each segment) ----

  /**
   * Index an aborted transaction in the segment holding its ABORT marker (`lastOffset`): the
   * partition calls this when it appends or replays the marker (Kafka's segment.updateTxnIndex).
   */
  appendAbortedTxn(t: AbortedTxn): void {
    this.#checkOpen();
    this.#segments[this.#floorSegmentIndex(t.lastOffset)]!.appendAbortedTxn(t);
  }

  /**
   * The aborted transactions overlapping [startOffset, upperBoundOffset), from the segment holding
   * `startOffset` on, until a segment's entries show nothing later can overlap (Kafka's
   * collectAbortedTransactions). For read_committed fetches, and the log cleaner's seam: with
   * `upperBoundOffset` = a segment's end it lists every abort the cleaner must honour there.
   */
  collectAbortedTransactions(startOffset: bigint, upperBoundOffset: bigint): AbortedTxn[] {
    this.#checkOpen();
    return this.#collectAbortedTransactions(
      this.#floorSegmentIndex(startOffset),
      startOffset,
      upperBoundOffset,
    );
  }

  #collectAbortedTransactions(from: number, startOffset: bigint, upperBoundOffset: bigint): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    for (let i = from; i < this.#segments.length; i++) {
      const r = this.#segments[i]!.txnIndex.collectAbortedTxns(startOffset, upperBoundOffset);
      out.push(...r.abortedTransactions);
      if (r.isComplete) break;
    }
    return out;
  }

  /**
   * Whether the transactional batch of `producerId` at `offset` belongs to an aborted transaction
   * (the cleaner's question when it decides what to drop). Looks in the indexes of the segments
   * from the one holding `offset` on.
   */
  isAbortedTransactionalOffset(producerId: bigint, offset: bigint): boolean {
    for (const t of this.collectAbortedTransactions(offset, offset + 1n))
      if (t.producerId === producerId && t.firstOffset <= offset && offset <= t.lastOffset) return true;
    return false;
  }

  /**
   * Drop the index entries of aborts whose marker is at or after `offset`, in every segment: the
   * partition re-indexes them by replaying the log from there (after an unclean shutdown or a
   * truncation, from its producer snapshot on).
   */
  truncateAbortedTxnsFrom(offset: bigint): void {
    this.#checkOpen();
    for (let i = this.#floorSegmentIndex(offset); i < this.#segments.length; i++)
      this.#segments[i]!.txnIndex.truncateTo(offset);
  }

  /**
   * ListOffsets: EARLIEST_TIMESTAMP (-2) → log start, LATEST_TIMESTAMP (-1) → log end (the broker
   * caps it at the high watermark for consumers), MAX_TIMESTAMP (-3) → the record with the largest
   * timestamp, otherwise the first record with timestamp >= ts. null when no record qualifies.
   */
  fetchOffsetByTimestamp(ts: bigint): TimestampAndOffset | null {
    this.#checkOpen();
    if (ts === EARLIEST_TIMESTAMP) {
      return {
        offset: this.#logStartOffset,
        timestamp: -1n,
        leaderEpoch: this.leaderEpochCache.epochForOffset(this.#logStartOffset),
      };
    }
    if (ts === LATEST_TIMESTAMP) {
      return { offset: this.#logEndOffset, timestamp: -1n, leaderEpoch: this.leaderEpochCache.latestEpoch };
    }
    if (ts === MAX_TIMESTAMP) {
      let best: LogSegment | null = null;
      for (const s of this.#segments) {
        if (
          s.nextOffset > this.#logStartOffset &&
          s.maxTimestampSoFar >= 0n &&
          (!best || s.maxTimestampSoFar > best.maxTimestampSoFar)
        )
          best = s;
      }
      if (!best) return null;
      const target = best.maxTimestampSoFar;
      const b = best.translateOffset(
        best.offsetOfMaxTimestampSoFar > this.#logStartOffset
          ? best.offsetOfMaxTimestampSoFar
          : this.#logStartOffset,
      );
      if (!b) return null;
      return best.recordMatching(b, this.#logStartOffset, (t) => t === target);
    }
    for (let i = this.#floorSegmentIndex(this.#logStartOffset); i < this.#segments.length; i++) {
      const s = this.#segments[i]!;
      if (s.maxTimestampSoFar < ts) continue;
      const r = s.findOffsetByTimestamp(ts, this.#logStartOffset);
      if (r) return r;
    }
    return null;
  }

  /**
   * Producer-state hook: every batch header (producer id, epoch, sequences, offsets) from `fromOffset`,
   * in log order, read from disk.
   */
  *batchHeaders(
    fromOffset: bigint = this.#logStartOffset,
  ): Generator<RecordBatchHeader & { position: number; segmentBaseOffset: bigint }> {
    for (let i = this.#floorSegmentIndex(fromOffset); i < this.#segments.length; i++) {
      const seg = this.#segments[i]!;
      const start = seg.translateOffset(fromOffset);
      if (start === null) continue;
      for (const h of seg.batchHeaders(start.position)) yield { ...h, segmentBaseOffset: seg.baseOffset };
      fromOffset = seg.nextOffset;
    }
  }

  // ---- truncation and deletion ----

  /**
   * Remove everything at or after `targetOffset` (replication: truncate to the leader's epoch end).
   * Truncation is by whole batches, so the new log end is the base offset of the batch that held
   * targetOffset when it was inside one. Returns whether anything was removed.
   */
  truncateTo(targetOffset: bigint): boolean {
    this.#checkOpen();
    if (targetOffset < 0n) throw new RangeError(`cannot truncate to negative offset ${targetOffset}`);
    if (targetOffset >= this.#logEndOffset) {
      // No data to remove, but an epoch recorded at the log end by a leader that never wrote in it
      // must go (Kafka does the same), or divergence checks would keep answering with it.
      this.leaderEpochCache.truncateFromEnd(this.#logEndOffset);
      return false;
    }
    if (targetOffset < this.#segments[0]!.baseOffset) {
      this.truncateFullyAndStartAt(targetOffset);
      return true;
    }
    while (this.#segments.length > 1 && this.activeSegment.baseOffset > targetOffset) {
      this.#deleteSegmentNow(this.#segments.pop()!);
    }
    this.activeSegment.truncateTo(targetOffset);
    this.#logEndOffset = this.activeSegment.nextOffset;
    if (this.#logStartOffset > this.#logEndOffset) this.#logStartOffset = this.#logEndOffset;
    if (this.#highWatermark > this.#logEndOffset) this.#highWatermark = this.#logEndOffset;
    if (this.#recoveryPoint > this.#logEndOffset) this.#recoveryPoint = this.#logEndOffset;
    this.leaderEpochCache.truncateFromEnd(this.#logEndOffset);
    this.#dirNeedsSync = true;
    this.#onTruncated?.(this, this.#logEndOffset);
    return true;
  }

  /** Delete all data and restart the log empty at `newOffset` (a follower far behind the leader's start). */
  truncateFullyAndStartAt(newOffset: bigint): void {
    this.#checkOpen();
    for (const s of this.#segments.splice(0)) this.#deleteSegmentNow(s);
    this.#segments.push(LogSegment.create(this.dir, newOffset, this.#config, this.#pool, this.#time()));
    this.#logStartOffset = newOffset;
    this.#logEndOffset = newOffset;
    this.#highWatermark = newOffset;
    this.#recoveryPoint = newOffset;
    this.leaderEpochCache.clearAndFlush();
    this.#dirNeedsSync = true;
    this.#onTruncated?.(this, newOffset);
  }

  /**
   * DeleteRecords: move the log start offset up to `offset` (at most the high watermark) and delete
   * the segments wholly below it. Returns the new log start offset (the "low watermark").
   */
  deleteRecordsBefore(offset: bigint): bigint {
    this.#checkOpen();
    if (offset > this.#highWatermark) {
      throw new OffsetOutOfRangeError(
        offset,
        this.#logStartOffset,
        this.#highWatermark,
        'delete-records offset',
      );
    }
    if (offset > this.#logStartOffset) {
      this.#logStartOffset = offset;
      this.leaderEpochCache.truncateFromStart(offset);
      this.#deleteOldSegmentsWhile((_s, next) => next.baseOffset <= this.#logStartOffset);
    }
    return this.#logStartOffset;
  }

  /**
   * Retention (LogManager calls this periodically): delete segments wholly below the log start offset,
   * then — with cleanup.policy delete — segments older than retention.ms and the oldest ones while the
   * log exceeds retention.bytes. Only segments below the high watermark; never the active segment.
   * Returns how many were deleted.
   */
  deleteOldSegments(now = this.#time()): number {
    if (this.#closed) return 0;
    let n = this.#deleteOldSegmentsWhile((_s, next) => next.baseOffset <= this.#logStartOffset);
    if (!isDeleteRetained(this.#config)) return n;
    const retentionMs = this.#config.retentionMs;
    if (retentionMs >= 0) n += this.#deleteOldSegmentsWhile((s) => now - s.largestTimestamp > retentionMs);
    const retentionBytes = this.#config.retentionBytes;
    if (retentionBytes >= 0) {
      let diff = this.size - retentionBytes;
      n += this.#deleteOldSegmentsWhile((s) => {
        if (diff - s.size < 0) return false;
        diff -= s.size;
        return true;
      });
    }
    return n;
  }

  /** Delete a prefix of non-active segments, each below the high watermark, while `pred` holds. */
  #deleteOldSegmentsWhile(pred: (s: LogSegment, next: LogSegment) => boolean): number {
    let n = 0;
    while (this.#segments.length > 1) {
      const s = this.#segments[0]!;
      const next = this.#segments[1]!;
      if (next.baseOffset > this.#highWatermark || !pred(s, next)) break;
      this.#segments.shift();
      n++;
      s.closeHandles();
      this.#deleteScheduler(s.renameToDeleted());
    }
    if (n > 0) {
      const firstBase = this.#segments[0]!.baseOffset;
      if (firstBase > this.#logStartOffset) {
        this.#logStartOffset = firstBase;
        this.leaderEpochCache.truncateFromStart(firstBase);
      }
      this.#dirNeedsSync = true;
    }
    return n;
  }

  /**
   * Swap the cleaned segment `<newBaseOffset>.*.cleaned` in for `oldSegments` (Kafka's
   * LocalLog.replaceSegments), on the thread that owns the log, in an order a crash at any point
   * recovers from (see #completeInterruptedSwaps):
   *   1. the cleaned files are renamed `.cleaned` → `.swap` (from now on a restart completes the swap);
   *   2. the segment list gets the new segment in place of the old ones, whose files are renamed to
   *      `.deleted` and unlinked after file.delete.delay.ms;
   *   3. the new files are renamed `.swap` → final names.
   * The old segments must still be consecutive segments of this log, before the active one, the
   * first with the new base offset (else SwapRefusedError: a truncation, retention or DeleteRecords
   * changed the log while the cleaner worked; the cleaned files are the caller's to delete). The
   * directory fsync is left to the caller (the cleaner worker does it, off this thread); a crash
   * before it is recovered the same way.
   */
  replaceSegments(newBaseOffset: bigint, oldSegments: readonly LogSegment[]): LogSegment {
    this.#checkOpen();
    const first = oldSegments[0];
    const at = first ? this.#segments.indexOf(first) : -1;
    if (!first || at < 0 || first.baseOffset !== newBaseOffset)
      throw new SwapRefusedError(`segment ${newBaseOffset} of ${this.dir} is no longer in the log`);
    if (at + oldSegments.length >= this.#segments.length)
      throw new SwapRefusedError(`segments from ${newBaseOffset} of ${this.dir} reach the active segment`);
    for (let i = 0; i < oldSegments.length; i++) {
      if (this.#segments[at + i] !== oldSegments[i])
        throw new SwapRefusedError(
          `segments from ${newBaseOffset} of ${this.dir} changed while being cleaned`,
        );
    }
    const seg = LogSegment.open(
      this.dir,
      newBaseOffset,
      this.#config,
      this.#pool,
      this.#time(),
      CLEANED_FILE_SUFFIX,
    );
    try {
      seg.log.size();
    } catch (err) {
      seg.closeHandles();
      throw new SwapRefusedError(`cleaned segment ${newBaseOffset} of ${this.dir} is missing`, {
        cause: err,
      });
    }
    try {
      this.#renameStepwise(seg, CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX, 1, 2);
      this.#segments.splice(at, oldSegments.length, seg);
      oldSegments.forEach((s, i) => {
        s.closeHandles();
        this.#deleteScheduler(s.renameToDeleted());
        if (i === 0) swapStep(3);
      });
      swapStep(4);
      this.#renameStepwise(seg, SWAP_FILE_SUFFIX, '', 5, 6);
    } catch (err) {
      throw new KafkaStorageError(`swapping in cleaned segment ${newBaseOffset} of ${this.dir} failed`, {
        cause: err,
      });
    }
    this.#dirNeedsSync = true;
    return seg;
  }

  /** changeFileSuffixes with the crash-test steps between the .log rename and the index renames. */
  #renameStepwise(seg: LogSegment, from: string, to: string, afterLog: number, afterAll: number): void {
    if (CRASH_AT_SWAP_STEP === 0) {
      seg.changeFileSuffixes(from, to);
      return;
    }
    const logPath = seg.log.path;
    renameSync(logPath, logPath.slice(0, logPath.length - from.length) + to);
    swapStep(afterLog);
    renameSync(logPath.slice(0, logPath.length - from.length) + to, logPath);
    seg.changeFileSuffixes(from, to);
    swapStep(afterAll);
  }

  #deleteSegmentNow(s: LogSegment): void {
    s.closeHandles();
    s.deleteFiles();
  }

  // ---- lifecycle ----

  /**
   * Flush everything (data and indexes) and release file handles. The log is unusable afterwards.
   * Index files are left trimmed to their entries, as Kafka leaves them at a clean shutdown.
   */
  close(): void {
    if (this.#closed) return;
    this.activeSegment.onBecomeInactive();
    // Every other segment whose state this process knows gets its final time index entry (after a
    // recovery rebuilt its indexes) and trimmed files, as Kafka's LogSegment.close does.
    for (const s of this.#segments) s.finishIndexes();
    this.flush();
    this.#closed = true;
    for (const s of this.#segments) s.closeHandles();
    const waiters = this.#flushWaiters;
    this.#flushWaiters = [];
    waiters.forEach((w) => w.reject(new LogClosedError(`log ${this.dir} closed`)));
  }

  /**
   * Close without flushing (the broker is going down hard, or a test simulates a crash): in-memory
   * index entries are lost, exactly as after a kill.
   */
  closeWithoutFlush(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#segments) s.closeHandles();
  }

  /** Close and remove the partition directory. */
  delete(): void {
    this.closeWithoutFlush();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
