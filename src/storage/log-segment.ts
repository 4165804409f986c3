/**
 * LogSegment: one `.log` file of RecordBatch v2 bytes exactly as appended, with its sparse `.index`
 * (OffsetIndex) and `.timeindex` (TimeIndex), and its `.txnindex` of aborted transactions
 * (TransactionIndex, only once one is written), all in Kafka's formats. Named by its base offset;
 * every batch in it has baseOffset >= the segment's base offset and a last offset within 2^31 of it
 * (4-byte relative offsets in the indexes).
 *
 * Indexing follows Kafka 4.4's LogSegment.append batch by batch: the largest timestamp so far and the
 * last offset of the first batch that reached it are tracked (maxTimestampAndOffsetSoFar); when more
 * than index.interval.bytes were appended since the last entry, the batch about to be counted is
 * indexed with (its last offset, its position) in the .index and (largest timestamp so far, its
 * batch's last offset) in the .timeindex. Recovery rebuilds the same entries (LogSegment.recover).
 *
 * Lifecycle and ownership: a UnifiedLog owns its segments. The last one is the active segment and the
 * only one appended to; the others are read-only until retention, truncation or deletion removes them.
 * The active segment's index files are preallocated to segment.index.bytes (from creation, or from its
 * first append after a restart) and trimmed to their entries when it rolls or the log closes
 * (onBecomeInactive), as Kafka's are. All three files are PooledFiles, so a segment holds no fd while
 * idle. State that costs a read to know (next offset, largest timestamp, index contents) is computed
 * lazily on first use, so opening 10,000 partitions costs no reads at all after a clean shutdown.
 */
import {
  BASE_OFFSET_OFFSET,
  BATCH_LENGTH_OFFSET,
  CompressionType,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  RECORDS_OFFSET,
  compressionOf,
  readBatchHeader,
  validateBatch,
} from '../protocol/records/batch-header.js';
import { readRecords } from '../protocol/records/record.js';
import { decompressSync } from '../protocol/records/compression.js';
import { statSync, utimesSync } from 'node:fs';
import { CorruptIndexError } from './abstract-index.js';
import type { FileHandlePool, PooledFile } from './file-handle-pool.js';
import type { LogConfig } from './log-config.js';
import {
  DELETED_FILE_SUFFIX,
  logFile,
  offsetIndexFile,
  timeIndexFile,
  txnIndexFile,
} from './log-file-utils.js';
import { OffsetIndex } from './offset-index.js';
import { TimeIndex } from './time-index.js';
import { TransactionIndex, type AbortedTxn } from './transaction-index.js';

const INT32_MAX = 0x7fffffffn;
/** Header scans start from an index entry, so about index.interval.bytes (4 KiB) is usually enough. */
const READ_CHUNK = 8 * 1024;

/** What the log knows about one batch in a segment (from its header). */
export interface BatchPosition {
  position: number;
  size: number;
  baseOffset: bigint;
  lastOffset: bigint;
  maxTimestamp: bigint;
  partitionLeaderEpoch: number;
}

/** A batch about to be appended: where it is in the append buffer and what it holds. */
export interface AppendBatch {
  /** Position inside the buffer being appended. */
  position: number;
  size: number;
  baseOffset: bigint;
  lastOffset: bigint;
  maxTimestamp: bigint;
}

/** Reads a file through a chunk cache so that scanning headers costs one syscall per 8 KiB. */
class ChunkReader {
  #chunk: Buffer = Buffer.alloc(0);
  #start = 0;
  constructor(
    readonly file: PooledFile,
    readonly limit: number,
  ) {}
  /** `len` bytes at `pos`, or fewer when the file ends before (never past `limit`). */
  view(pos: number, len: number): Buffer {
    const end = Math.min(pos + len, this.limit);
    if (pos >= this.#start && end <= this.#start + this.#chunk.length) {
      return this.#chunk.subarray(pos - this.#start, end - this.#start);
    }
    const want = Math.min(Math.max(READ_CHUNK, len), this.limit - pos);
    this.#chunk = want > 0 ? this.file.read(pos, want) : Buffer.alloc(0);
    this.#start = pos;
    return this.#chunk.subarray(0, Math.min(end - pos, this.#chunk.length));
  }
}

/** The last offset of the batch whose header is `h` (what an index entry names). */
function lastOffsetOf(h: Buffer): bigint {
  return h.readBigInt64BE(BASE_OFFSET_OFFSET) + BigInt(h.readInt32BE(LAST_OFFSET_DELTA_OFFSET));
}

function headerAt(h: Buffer, position: number, size: number): BatchPosition {
  const baseOffset = h.readBigInt64BE(BASE_OFFSET_OFFSET);
  return {
    position,
    size,
    baseOffset,
    lastOffset: baseOffset + BigInt(h.readInt32BE(LAST_OFFSET_DELTA_OFFSET)),
    maxTimestamp: h.readBigInt64BE(MAX_TIMESTAMP_OFFSET),
    partitionLeaderEpoch: h.readInt32BE(PARTITION_LEADER_EPOCH_OFFSET),
  };
}

export interface RecoverResult {
  /** Bytes removed from the end because they were not a valid batch. */
  truncatedBytes: number;
  validBytes: number;
}

export class LogSegment {
  readonly log: PooledFile;
  readonly offsetIndex: OffsetIndex;
  readonly timeIndex: TimeIndex;
  /** Aborted transactions whose marker is in this segment (the partition writes them). */
  readonly txnIndex: TransactionIndex;
  #size: number;
  /** Offset after the last batch; null until computed (lazily, after open). */
  #nextOffset: bigint | null;
  #maxTimestampSoFar = -1n;
  #offsetOfMaxTimestampSoFar = -1n;
  #bytesSinceLastIndexEntry = 0;
  /** Bytes of the file that scanned as whole batches (set by the lazy tail scan). */
  #scannedSize = -1;
  #indexesChecked = false;
  /** Unflushed data or index entries. */
  #dirty = false;
  /** The index files are preallocated for appends (set on creation or by the first append). */
  #appending = false;
  readonly created: number;

  /** The suffix the three file names carry now ('' in the log; '.cleaned' / '.swap' while cleaning). */
  #suffix: string;
  /** The first batch's MaxTimestamp, read once (-1 when none); null until read. */
  #firstBatchTimestamp: bigint | null = null;

  private constructor(
    readonly dir: string,
    readonly baseOffset: bigint,
    /** The log's config; UnifiedLog.updateConfig replaces it (a changed segment.ms/bytes rolls the active one). */
    public config: Readonly<LogConfig>,
    pool: FileHandlePool,
    now: number,
    fresh: boolean,
    suffix = '',
  ) {
    this.#suffix = suffix;
    this.log = pool.file(logFile(dir, baseOffset, suffix));
    this.offsetIndex = new OffsetIndex(
      pool.file(offsetIndexFile(dir, baseOffset, suffix)),
      baseOffset,
      config.segmentIndexBytes,
    );
    this.timeIndex = new TimeIndex(
      pool.file(timeIndexFile(dir, baseOffset, suffix)),
      baseOffset,
      config.segmentIndexBytes,
    );
    this.txnIndex = new TransactionIndex(pool.file(txnIndexFile(dir, baseOffset)), baseOffset);
    this.created = now;
    if (fresh) {
      this.log.truncate(0);
      this.offsetIndex.reset();
      this.timeIndex.reset();
      this.txnIndex.reset();
      // A new segment is the active one: its indexes are preallocated now, as Kafka creates them.
      this.offsetIndex.preallocate();
      this.timeIndex.preallocate();
      this.#appending = true;
      this.#size = 0;
      this.#nextOffset = baseOffset;
      this.#scannedSize = 0;
      this.#indexesChecked = true;
      this.#dirty = true;
    } else {
      this.#size = this.log.size();
      this.#nextOffset = null;
    }
  }

  /**
   * A new, empty segment (any leftover files of that name are emptied). `suffix` names its files
   * `<base>.log<suffix>` …: the cleaner writes `.cleaned` segments (Kafka's createNewCleanedSegment).
   */
  static create(
    dir: string,
    baseOffset: bigint,
    config: Readonly<LogConfig>,
    pool: FileHandlePool,
    now: number,
    suffix = '',
  ): LogSegment {
    return new LogSegment(dir, baseOffset, config, pool, now, true, suffix);
  }

  /** An existing segment; nothing is read until needed. */
  static open(
    dir: string,
    baseOffset: bigint,
    config: Readonly<LogConfig>,
    pool: FileHandlePool,
    now: number,
    suffix = '',
  ): LogSegment {
    return new LogSegment(dir, baseOffset, config, pool, now, false, suffix);
  }

  /** The suffix of the segment's file names ('' for a segment of the log). */
  get suffix(): string {
    return this.#suffix;
  }

  /**
   * Rename the three files from suffix `from` to suffix `to` (Kafka's changeFileSuffixes: `.cleaned`
   * → `.swap` → '' when a cleaned segment is swapped in). Missing index files are skipped.
   */
  changeFileSuffixes(from: string, to: string): void {
    for (const f of [this.log, this.offsetIndex.file, this.timeIndex.file]) {
      if (!f.path.endsWith(from)) throw new Error(`${f.path} does not end with ${JSON.stringify(from)}`);
      try {
        f.rename(f.path.slice(0, f.path.length - from.length) + to);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        f.path = f.path.slice(0, f.path.length - from.length) + to;
      }
    }
    this.#suffix = to;
  }

  /** The .log file's modification time (ms), as Kafka's LogSegment.lastModified (no fd needed). */
  get lastModified(): number {
    return statSync(this.log.path).mtimeMs;
  }

  /** Set the modification time of the three files (a cleaned segment keeps its source's). */
  setLastModified(ms: number): void {
    const t = ms / 1000;
    for (const f of [this.log, this.offsetIndex.file, this.timeIndex.file]) {
      try {
        utimesSync(f.path, t, t);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }

  /**
   * The first batch's MaxTimestamp (Kafka's getFirstBatchTimestamp, what max.compaction.lag.ms is
   * measured from), or -1 for an empty segment or one without timestamps. Read once and cached.
   */
  get firstBatchTimestamp(): bigint {
    if (this.#firstBatchTimestamp === null) {
      let ts = -1n;
      if (this.#size >= RECORD_BATCH_HEADER_SIZE) {
        const h = this.log.read(0, RECORD_BATCH_HEADER_SIZE);
        if (h.length === RECORD_BATCH_HEADER_SIZE) ts = h.readBigInt64BE(MAX_TIMESTAMP_OFFSET);
      }
      this.#firstBatchTimestamp = ts;
    }
    return this.#firstBatchTimestamp;
  }

  get size(): number {
    return this.#size;
  }
  get dirty(): boolean {
    return this.#dirty;
  }
  /** Offset after the last batch in this segment (the base offset when empty). */
  get nextOffset(): bigint {
    this.#ensureTail();
    return this.#nextOffset!;
  }
  get maxTimestampSoFar(): bigint {
    this.#ensureTail();
    return this.#maxTimestampSoFar;
  }
  get offsetOfMaxTimestampSoFar(): bigint {
    this.#ensureTail();
    return this.#offsetOfMaxTimestampSoFar;
  }
  /** Bytes at the start of the file that are whole batches (less than size if the tail is partial). */
  get scannedSize(): number {
    this.#ensureTail();
    return this.#scannedSize;
  }
  /** For retention by time: the newest batch timestamp, or the file's mtime when there is none. */
  get largestTimestamp(): number {
    const ts = this.maxTimestampSoFar;
    return ts >= 0n ? Number(ts) : this.log.mtimeMs();
  }

  /** Whether appending `bytes` (with offsets up to `lastOffset`) at `now` must first roll. */
  shouldRoll(bytes: number, firstOffset: bigint, lastOffset: bigint, now: number): boolean {
    const overflow = lastOffset - this.baseOffset > INT32_MAX || firstOffset < this.baseOffset;
    if (this.#size === 0) return overflow;
    return (
      this.#size + bytes > this.config.segmentBytes ||
      now - this.created > this.config.segmentMs ||
      this.offsetIndex.isFull ||
      this.timeIndex.isFull ||
      overflow
    );
  }

  /**
   * Append `buf` (whole batches, offsets already assigned) at the end of the file and index it: an
   * offset index entry whenever index.interval.bytes have passed since the last one, and a time index
   * entry with it when the largest timestamp grew.
   */
  append(buf: Buffer, batches: readonly AppendBatch[]): void {
    this.#ensureTail();
    if (!this.#appending) this.#reopenForAppend();
    const start = this.#size;
    if (start === 0) this.#firstBatchTimestamp = null;
    this.log.write(buf, start);
    for (const b of batches) this.#indexBatch(b.lastOffset, b.maxTimestamp, start + b.position, b.size);
    this.#size += buf.length;
    this.#scannedSize = this.#size;
    this.#nextOffset = batches[batches.length - 1]!.lastOffset + 1n;
    this.#dirty = true;
  }

  /**
   * An existing segment takes appends again (the last segment after a restart, or after truncation):
   * preallocate its indexes as Kafka's LogLoader does for the active segment (resizeIndexes).
   */
  #reopenForAppend(): void {
    this.#ensureIndexes();
    this.offsetIndex.preallocate();
    this.timeIndex.preallocate();
    this.#appending = true;
    this.#dirty = true;
  }

  /** Kafka's per-batch indexing step (LogSegment.append / recover); see the file comment. */
  #indexBatch(lastOffset: bigint, maxTimestamp: bigint, position: number, size: number): void {
    if (maxTimestamp > this.#maxTimestampSoFar) {
      this.#maxTimestampSoFar = maxTimestamp;
      this.#offsetOfMaxTimestampSoFar = lastOffset;
    }
    if (this.#bytesSinceLastIndexEntry > this.config.indexIntervalBytes) {
      this.offsetIndex.append(lastOffset, position);
      this.timeIndex.maybeAppend(this.#maxTimestampSoFar, this.#offsetOfMaxTimestampSoFar);
      this.#bytesSinceLastIndexEntry = 0;
    }
    this.#bytesSinceLastIndexEntry += size;
  }

  /** Load and sanity-check both indexes once; a corrupt one is rebuilt from the log. */
  #ensureIndexes(): void {
    if (this.#indexesChecked) return;
    try {
      this.offsetIndex.ensureLoaded();
      this.timeIndex.ensureLoaded();
      this.offsetIndex.sanityCheck(this.#size, null);
      this.timeIndex.sanityCheck(this.#size, null);
      this.#indexesChecked = true;
    } catch (err) {
      if (!(err instanceof CorruptIndexError)) throw err;
      this.rebuildIndexes();
    }
  }

  /**
   * Compute next offset and largest timestamp by scanning headers from the last index entry to the end
   * (at most about index.interval.bytes plus one batch). The entry is checked against the batch it
   * points to; a mismatch means the index is corrupt and is rebuilt.
   */
  #ensureTail(): void {
    if (this.#nextOffset !== null && this.#scannedSize >= 0) return;
    this.#ensureIndexes();
    const last = this.offsetIndex.lastEntry();
    const reader = new ChunkReader(this.log, this.#size);
    if (last.position > 0) {
      const h = reader.view(last.position, RECORD_BATCH_HEADER_SIZE);
      if (h.length < RECORD_BATCH_HEADER_SIZE || lastOffsetOf(h) !== last.offset) {
        this.rebuildIndexes();
        return;
      }
    }
    const t = this.timeIndex.lastEntry();
    this.#maxTimestampSoFar = t ? t.timestamp : -1n;
    this.#offsetOfMaxTimestampSoFar = t ? t.offset : -1n;
    let next = this.baseOffset;
    let pos = last.position;
    this.#bytesSinceLastIndexEntry = 0;
    for (const b of this.#scan(reader, pos)) {
      if (b.maxTimestamp > this.#maxTimestampSoFar) {
        this.#maxTimestampSoFar = b.maxTimestamp;
        this.#offsetOfMaxTimestampSoFar = b.lastOffset;
      }
      next = b.lastOffset + 1n;
      pos = b.position + b.size;
      this.#bytesSinceLastIndexEntry += b.size;
    }
    this.#nextOffset = next;
    this.#scannedSize = pos;
  }

  /** Headers of whole batches from `pos`, stopping at the end or at the first malformed/partial one. */
  *#scan(reader: ChunkReader, pos: number, end = reader.limit): Generator<BatchPosition> {
    while (pos + RECORD_BATCH_HEADER_SIZE <= end) {
      const h = reader.view(pos, RECORD_BATCH_HEADER_SIZE);
      if (h.length < RECORD_BATCH_HEADER_SIZE) return;
      const size = h.readInt32BE(BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
      if (size < RECORD_BATCH_HEADER_SIZE || pos + size > end) return;
      yield headerAt(h, pos, size);
      pos += size;
    }
  }

  /** Batch headers from `position` to the end (the producer-state hook iterates these). */
  *batches(position = 0): Generator<BatchPosition> {
    this.#ensureIndexes();
    yield* this.#scan(new ChunkReader(this.log, this.#size), position);
  }

  /** Full headers (producer id, epoch, sequence ...) from `position`. */
  *batchHeaders(position = 0): Generator<ReturnType<typeof readBatchHeader> & { position: number }> {
    const reader = new ChunkReader(this.log, this.#size);
    for (const b of this.#scan(reader, position)) {
      yield { ...readBatchHeader(reader.view(b.position, RECORD_BATCH_HEADER_SIZE)), position: b.position };
    }
  }

  /**
   * Rebuild both indexes from the batch headers (structure only, no CRC: this is for a corrupt index on
   * an otherwise trusted segment; recovery validates fully).
   */
  rebuildIndexes(): void {
    this.offsetIndex.reset();
    this.timeIndex.reset();
    this.#appending = false;
    this.#indexesChecked = true;
    this.#maxTimestampSoFar = -1n;
    this.#offsetOfMaxTimestampSoFar = -1n;
    this.#bytesSinceLastIndexEntry = 0;
    let next = this.baseOffset;
    let pos = 0;
    for (const b of this.#scan(new ChunkReader(this.log, this.#size), 0)) {
      if (b.baseOffset < next || b.lastOffset - this.baseOffset > INT32_MAX) break;
      this.#indexBatch(b.lastOffset, b.maxTimestamp, b.position, b.size);
      next = b.lastOffset + 1n;
      pos = b.position + b.size;
    }
    this.#nextOffset = next;
    this.#scannedSize = pos;
    this.#dirty = true;
  }

  /**
   * Recovery after an unclean shutdown (LogSegment.recover): validate every batch (size, magic, CRC),
   * check offsets increase and fit the segment, let `accept` veto a batch (the log checks leader
   * epochs), rebuild both indexes, and truncate the file at the first bad or partial batch.
   */
  recover(maxBatchSize: number, accept?: (b: BatchPosition) => boolean): RecoverResult {
    this.offsetIndex.reset();
    this.timeIndex.reset();
    this.#appending = false;
    this.#indexesChecked = true;
    this.#maxTimestampSoFar = -1n;
    this.#offsetOfMaxTimestampSoFar = -1n;
    this.#bytesSinceLastIndexEntry = 0;
    const fileSize = this.log.size();
    const reader = new ChunkReader(this.log, fileSize);
    let next = this.baseOffset;
    let pos = 0;
    while (pos < fileSize) {
      const head = reader.view(pos, LOG_OVERHEAD);
      if (head.length < LOG_OVERHEAD) break;
      const size = head.readInt32BE(BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
      if (size < RECORD_BATCH_HEADER_SIZE || size > maxBatchSize || pos + size > fileSize) break;
      const batch = reader.view(pos, size);
      try {
        validateBatch(batch, 0, maxBatchSize);
      } catch {
        break;
      }
      const b = headerAt(batch, pos, size);
      if (b.baseOffset < next || b.lastOffset - this.baseOffset > INT32_MAX) break;
      if (accept && !accept(b)) break;
      this.#indexBatch(b.lastOffset, b.maxTimestamp, pos, size);
      next = b.lastOffset + 1n;
      pos += size;
    }
    const truncatedBytes = fileSize - pos;
    if (truncatedBytes > 0) this.log.truncate(pos);
    this.#firstBatchTimestamp = null;
    // Aborts whose markers were cut off go with them; the partition re-indexes the rest from its
    // producer snapshot on (see TransactionIndex).
    this.txnIndex.truncateTo(next);
    this.#size = pos;
    this.#scannedSize = pos;
    this.#nextOffset = next;
    this.#dirty = true;
    return { truncatedBytes, validBytes: pos };
  }

  /**
   * The first batch whose last offset is >= `offset`, searching from the sparse index entry at or below
   * it. null when the segment has no such batch.
   */
  translateOffset(offset: bigint): BatchPosition | null {
    this.#ensureIndexes();
    const entry = this.offsetIndex.lookup(offset);
    const reader = new ChunkReader(this.log, this.#size);
    if (entry.position > 0) {
      const h = reader.view(entry.position, RECORD_BATCH_HEADER_SIZE);
      if (h.length < RECORD_BATCH_HEADER_SIZE || lastOffsetOf(h) !== entry.offset) {
        // The index points somewhere else than it claims: never trust it, rebuild and retry.
        this.rebuildIndexes();
        return this.translateOffset(offset);
      }
    }
    for (const b of this.#scan(reader, entry.position)) if (b.lastOffset >= offset) return b;
    return null;
  }

  /**
   * Raw bytes from the batch holding `startOffset`: at most `maxSize` bytes, but the whole first batch
   * when `minOneMessage` and it is larger; never past `maxPosition`. The result may end inside a batch
   * (the client discards a partial last batch). null when nothing at or after `startOffset` is here.
   */
  read(
    startOffset: bigint,
    maxSize: number,
    maxPosition: number,
    minOneMessage: boolean,
  ): { records: Buffer; first: BatchPosition } | null {
    const first = this.translateOffset(startOffset);
    if (first === null) return null;
    if (first.position >= maxPosition) return { records: Buffer.alloc(0), first };
    const adjusted = minOneMessage ? Math.max(maxSize, first.size) : maxSize;
    const len = Math.min(maxPosition - first.position, adjusted);
    return { records: len > 0 ? this.log.read(first.position, len) : Buffer.alloc(0), first };
  }

  /**
   * The first record with timestamp >= `timestamp` and offset >= `startingOffset`. For an uncompressed
   * batch the exact record is found by decoding it; for a compressed one the batch's first offset at or
   * above `startingOffset` is returned (the client skips earlier records). null when none.
   */
  findOffsetByTimestamp(
    timestamp: bigint,
    startingOffset: bigint,
  ): { offset: bigint; timestamp: bigint; leaderEpoch: number } | null {
    this.#ensureIndexes();
    const t = this.timeIndex.lookupBelow(timestamp);
    const from = t && t.offset > startingOffset ? t.offset : startingOffset;
    const entry = this.offsetIndex.lookup(from);
    const reader = new ChunkReader(this.log, this.#size);
    for (const b of this.#scan(reader, entry.position)) {
      if (b.lastOffset < startingOffset || b.maxTimestamp < timestamp) continue;
      return this.#recordAtOrAfter(b, reader, startingOffset, (ts) => ts >= timestamp);
    }
    return null;
  }

  /** The record in batch `b` with offset >= `minOffset` matching `pred` on its timestamp. */
  recordMatching(
    b: BatchPosition,
    minOffset: bigint,
    pred: (ts: bigint) => boolean,
  ): { offset: bigint; timestamp: bigint; leaderEpoch: number } {
    return this.#recordAtOrAfter(b, new ChunkReader(this.log, this.#size), minOffset, pred);
  }

  #recordAtOrAfter(
    b: BatchPosition,
    reader: ChunkReader,
    minOffset: bigint,
    pred: (ts: bigint) => boolean,
  ): { offset: bigint; timestamp: bigint; leaderEpoch: number } {
    const fallback = {
      offset: b.baseOffset > minOffset ? b.baseOffset : minOffset,
      timestamp: b.maxTimestamp,
      leaderEpoch: b.partitionLeaderEpoch,
    };
    const buf = reader.view(b.position, b.size);
    const h = readBatchHeader(buf);
    const codec = compressionOf(h.attributes);
    // zstd has no synchronous decoder in the library we use, and this lookup is synchronous: a zstd
    // batch is answered at batch granularity (its base offset and max timestamp), the rest exactly.
    if (codec === CompressionType.Zstd) return fallback;
    try {
      const section =
        codec === CompressionType.None
          ? buf.subarray(RECORDS_OFFSET)
          : decompressSync(codec, buf.subarray(RECORDS_OFFSET));
      for (const r of readRecords(section, h.recordCount, h.baseOffset, h.baseTimestamp)) {
        if (r.offset >= minOffset && pred(r.timestamp)) {
          return { offset: r.offset, timestamp: r.timestamp, leaderEpoch: b.partitionLeaderEpoch };
        }
      }
    } catch {
      // A batch the log accepted but cannot decode: answer at batch granularity.
    }
    return fallback;
  }

  /**
   * Remove every batch whose last offset is >= `offset` (truncation is by whole batches). Returns the
   * number of bytes removed.
   */
  truncateTo(offset: bigint): number {
    const first = this.translateOffset(offset);
    if (first === null) return 0;
    const removed = this.#size - first.position;
    this.log.truncate(first.position);
    this.offsetIndex.truncateTo(first.baseOffset);
    this.timeIndex.truncateTo(first.baseOffset);
    this.txnIndex.truncateTo(first.baseOffset);
    this.#size = first.position;
    this.#nextOffset = null;
    this.#scannedSize = -1;
    this.#dirty = true;
    this.#firstBatchTimestamp = null;
    this.#ensureTail();
    return removed;
  }

  /**
   * The segment stops taking appends (roll, or the log closes): record the final largest timestamp in
   * the time index and trim both index files to their entries (Kafka's onBecomeInactiveSegment).
   */
  onBecomeInactive(): void {
    this.#ensureTail();
    this.finishIndexes();
  }

  /**
   * At a clean close (Kafka's LogSegment.close): when this segment's largest timestamp is known (it
   * was read or written in this process), make sure the time index ends with it, then trim both index
   * files. Segments never touched are left alone: their files are final already.
   */
  finishIndexes(): void {
    if (this.#nextOffset !== null && this.#scannedSize >= 0 && this.#maxTimestampSoFar >= 0n) {
      const before = this.timeIndex.entries;
      this.timeIndex.maybeAppend(this.#maxTimestampSoFar, this.#offsetOfMaxTimestampSoFar);
      if (this.timeIndex.entries !== before) this.#dirty = true;
    }
    this.trimIndexes();
  }

  /** Trim preallocated index files to their entries (pending entries are written first). */
  trimIndexes(): void {
    const a = this.offsetIndex.trimToValidSize();
    const b = this.timeIndex.trimToValidSize();
    if (a || b) this.#dirty = true;
    this.#appending = false;
  }

  /**
   * Index an aborted transaction whose ABORT marker is in this segment (Kafka's
   * LogSegment.updateTxnIndex); the file is written now, fsynced with the segment.
   */
  appendAbortedTxn(t: AbortedTxn): void {
    this.txnIndex.append(t);
    this.#dirty = true;
  }

  /**
   * The exclusive upper bound of the offsets a read of `size` bytes from `position` can return, as
   * Kafka's OffsetIndex.fetchUpperBoundOffset: the offset of the first index entry at or past the
   * read's end, or null when the index has none (the next segment or the log end bounds it then).
   */
  fetchUpperBoundOffset(position: number, size: number): bigint | null {
    this.#ensureIndexes();
    const idx = this.offsetIndex;
    const target = position + size;
    let lo = 0;
    let hi = idx.entries - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (idx.entry(mid).position >= target) {
        found = mid;
        hi = mid - 1;
      } else lo = mid + 1;
    }
    return found < 0 ? null : idx.entry(found).offset;
  }

  /** Write pending index entries and fsync the files. */
  flush(): void {
    if (!this.#dirty) return;
    this.log.sync();
    this.offsetIndex.flush(true);
    this.timeIndex.flush(true);
    this.txnIndex.flush();
    this.#dirty = false;
  }

  /**
   * Write pending index entries without fsync, so the files on disk show them (the next flush makes
   * them durable). Cheap when nothing is pending.
   */
  flushIndexes(): void {
    if (this.offsetIndex.pendingEntries > 0) this.offsetIndex.flush(false);
    if (this.timeIndex.pendingEntries > 0) this.timeIndex.flush(false);
  }

  closeHandles(): void {
    this.log.close();
    this.offsetIndex.file.close();
    this.timeIndex.file.close();
    this.txnIndex.close();
  }

  /** Rename the files to *.deleted (for delayed unlink) and return them (a missing .txnindex is skipped). */
  renameToDeleted(): PooledFile[] {
    const files = [this.log, this.offsetIndex.file, this.timeIndex.file];
    for (const f of files) {
      try {
        f.rename(f.path + DELETED_FILE_SUFFIX);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    // The .txnindex exists only when the segment had an abort; a later unlink of its old name must
    // not hit a new segment's file of the same base offset.
    try {
      this.txnIndex.file.rename(this.txnIndex.path + DELETED_FILE_SUFFIX);
      files.push(this.txnIndex.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return files;
  }

  deleteFiles(): void {
    this.log.unlink();
    this.offsetIndex.file.unlink();
    this.timeIndex.file.unlink();
    this.txnIndex.file.unlink();
  }
}
