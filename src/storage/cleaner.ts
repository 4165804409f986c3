/**
 * Cleaner: the work of cleaning one log, as Kafka's Cleaner, run inside a cleaner worker thread
 * (cleaner-worker.ts) on segment files the main thread no longer writes (never the active segment).
 *
 *   1. buildOffsetMap: read the dirty segments [firstDirtyOffset, firstUncleanableOffset) and record
 *      the latest offset of every key in a SkimpyOffsetMap, stopping when the map reaches its load
 *      factor; endOffset = the map's latest offset + 1 (the rest waits for the next pass).
 *   2. groupSegmentsBySize: every segment below endOffset, in runs whose .log bytes stay within
 *      segment.bytes and whose index bytes stay within segment.index.bytes (and whose offsets fit the
 *      4-byte relative offsets of one segment).
 *   3. cleanSegments, per group: copy what survives into one new segment `<base>.log.cleaned` (with
 *      its .index/.timeindex built as LogSegment.append builds them), fsync it, and ask the main
 *      thread to swap it in (UnifiedLog.replaceSegments: .cleaned → .swap → replace). Then the next
 *      group.
 *
 * What survives (Kafka's LogCleaner filter, KIP-534 for tombstones):
 *   - a record at or past the map's latest offset (not yet deduplicated), or the latest record of
 *     its key; a tombstone (null value) only until its batch's delete horizon: the first pass that
 *     keeps it stamps the horizon (now + delete.retention.ms) into the batch (attribute bit 6,
 *     BaseTimestamp = horizon) and a later pass at or past it drops it;
 *   - records without a key are dropped (counted as invalid);
 *   - data of aborted transactions is dropped, transaction markers go once nothing of their
 *     transaction remains and their own horizon passed (needs the aborted-transaction index: without
 *     one, see AbortedTxn in cleaner-messages.ts, every control batch is kept);
 *   - each active producer's last batch stays, emptied of records if need be (a 61-byte header with
 *     its producer id, epoch and sequence), so idempotent producers keep their sequence; so does the
 *     last batch before firstUncleanableOffset, to keep the last offset of the round.
 * A batch whose records all survive (and needs no horizon) is copied byte for byte; otherwise its
 * survivors are re-encoded into a batch with the same base offset, last offset delta, producer id,
 * epoch, base sequence, leader epoch and codec (Kafka's MemoryRecordsBuilder with overrideLastOffset).
 * Offsets never change: a cleaned log has gaps.
 *
 * Offsets are handled as JavaScript numbers here (exact below 2^53); a log past that is refused.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { crc32c } from '@node-rs/crc32';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_LENGTH_OFFSET,
  CRC_OFFSET,
  CompressionType,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  RECORD_COUNT_OFFSET,
  RECORDS_OFFSET,
} from '../protocol/records/batch-header.js';
import { compress, decompress } from '../protocol/records/compression.js';
import { parseControlRecordKey, ControlRecordType } from '../protocol/records/control.js';
import type {
  AbortedTxn,
  CleanJob,
  CleanResult,
  CleanerStats,
  JobSegment,
  ProducerLastRecord,
  SwapRequest,
} from './cleaner-messages.js';
import { FileHandlePool } from './file-handle-pool.js';
import { CLEANED_FILE_SUFFIX, logFile, offsetIndexFile, timeIndexFile } from './log-file-utils.js';
import { type AppendBatch, LogSegment } from './log-segment.js';
import { SkimpyOffsetMap } from './offset-map.js';
import type { SharedThrottler } from './throttler.js';

/** The job was aborted (truncation, deletion, shutdown, a refused swap): not an error. */
export class LogCleaningAbortedError extends Error {
  override readonly name = 'LogCleaningAbortedError';
}

const CODEC_MASK = 0x07;
const TIMESTAMP_TYPE_MASK = 0x08;
const TRANSACTIONAL_MASK = 0x10;
const CONTROL_MASK = 0x20;
const DELETE_HORIZON_MASK = 0x40;
const INT32_MAX = 0x7fffffff;
const TWO_32 = 4294967296;
const NO_TIMESTAMP = -1;

function readInt64(buf: Buffer, at: number): number {
  const v = buf.readInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
  if (!Number.isSafeInteger(v)) throw new RangeError(`value ${buf.readBigInt64BE(at)} is beyond 2^53`);
  return v;
}

/** One batch of a read buffer, its header fields decoded. Valid until the next chunk is read. */
interface BatchView {
  buf: Buffer;
  pos: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
  attributes: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: bigint;
  producerEpoch: number;
  recordCount: number;
}

function batchView(buf: Buffer, pos: number, size: number): BatchView {
  const baseOffset = readInt64(buf, pos + BASE_OFFSET_OFFSET);
  return {
    buf,
    pos,
    size,
    baseOffset,
    lastOffset: baseOffset + buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET),
    attributes: buf.readInt16BE(pos + ATTRIBUTES_OFFSET),
    baseTimestamp: Number(buf.readBigInt64BE(pos + BASE_TIMESTAMP_OFFSET)),
    maxTimestamp: Number(buf.readBigInt64BE(pos + MAX_TIMESTAMP_OFFSET)),
    producerId: buf.readBigInt64BE(pos + PRODUCER_ID_OFFSET),
    producerEpoch: buf.readInt16BE(pos + PRODUCER_EPOCH_OFFSET),
    recordCount: buf.readInt32BE(pos + RECORD_COUNT_OFFSET),
  };
}

const isControlBatch = (b: BatchView): boolean => (b.attributes & CONTROL_MASK) !== 0;
const isTransactionalBatch = (b: BatchView): boolean => (b.attributes & TRANSACTIONAL_MASK) !== 0;
const hasProducerId = (b: BatchView): boolean => b.producerId >= 0n;
/** KIP-534: the BaseTimestamp of a batch with attribute bit 6 is its delete horizon. */
const deleteHorizonOf = (b: BatchView): number =>
  (b.attributes & DELETE_HORIZON_MASK) !== 0 ? b.baseTimestamp : NO_TIMESTAMP;

// ---- records ----------------------------------------------------------------------------------

/**
 * Walks the records of an uncompressed records section without copying (DefaultRecord's layout:
 * length, attributes, timestamp delta, offset delta, key, value, headers, all zig-zag varints).
 * For each record: its offset and timestamp, where its key is, whether its value is null, and where
 * the part from the key length on (copied as is when the record is re-encoded) starts and ends.
 */
class RecordCursor {
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;
  #end = 0;
  #left = 0;
  #baseOffset = 0;
  #baseTimestamp = 0;
  #logAppendTime = NO_TIMESTAMP;
  offset = 0;
  timestamp = 0;
  keyStart = 0;
  /** -1 for a null key. */
  keyLength = -1;
  valueIsNull = false;
  bodyStart = 0;
  bodyEnd = 0;

  reset(section: Buffer, count: number, b: BatchView): void {
    this.#buf = section;
    this.#pos = 0;
    this.#end = section.length;
    this.#left = count;
    this.#baseOffset = b.baseOffset;
    this.#baseTimestamp = b.baseTimestamp;
    // Under LogAppendTime a record's timestamp is the batch's (Kafka's DefaultRecordBatch reads it so).
    this.#logAppendTime = (b.attributes & TIMESTAMP_TYPE_MASK) !== 0 ? b.maxTimestamp : NO_TIMESTAMP;
  }

  #corrupt(what: string): never {
    throw new RangeError(`corrupt record: ${what} at byte ${this.#pos} of a ${this.#end}-byte section`);
  }

  #varint(limit: number): number {
    let value = 0;
    let shift = 0;
    for (;;) {
      if (this.#pos >= limit) this.#corrupt('truncated varint');
      const b = this.#buf[this.#pos++]!;
      value |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) this.#corrupt('varint too long');
    }
    return (value >>> 1) ^ -(value & 1);
  }

  #varlong(limit: number): number {
    let value = 0;
    let mul = 1;
    for (;;) {
      if (this.#pos >= limit) this.#corrupt('truncated varlong');
      const b = this.#buf[this.#pos++]!;
      value += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) break;
      mul *= 128;
      if (mul > 2 ** 63) this.#corrupt('varlong too long');
    }
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  }

  next(): boolean {
    if (this.#left === 0) {
      if (this.#pos !== this.#end) this.#corrupt('bytes after the last record');
      return false;
    }
    this.#left--;
    const length = this.#varint(this.#end);
    const end = this.#pos + length;
    if (length < 0 || end > this.#end) this.#corrupt(`record length ${length}`);
    this.#pos++; // attributes
    const tsDelta = this.#varlong(end);
    const offsetDelta = this.#varint(end);
    this.bodyStart = this.#pos;
    const keyLength = this.#varint(end);
    this.keyStart = this.#pos;
    this.keyLength = keyLength;
    if (keyLength > 0) this.#pos += keyLength;
    const valueLength = this.#varint(end);
    this.valueIsNull = valueLength < 0;
    if (valueLength > 0) this.#pos += valueLength;
    if (this.#pos > end) this.#corrupt('key or value past the record');
    this.#pos = end; // headers are copied with the body, not parsed
    this.bodyEnd = end;
    this.offset = this.#baseOffset + offsetDelta;
    this.timestamp =
      this.#logAppendTime !== NO_TIMESTAMP ? this.#logAppendTime : this.#baseTimestamp + tsDelta;
    return true;
  }
}

function zigzagVarintSize(v: number): number {
  let zz = v >= 0 ? v * 2 : -v * 2 - 1;
  let n = 1;
  while (zz >= 128) {
    zz = Math.floor(zz / 128);
    n++;
  }
  return n;
}

function writeZigzagVarint(buf: Buffer, at: number, v: number): number {
  let zz = v >= 0 ? v * 2 : -v * 2 - 1;
  while (zz >= 128) {
    buf[at++] = (zz % 128) | 0x80;
    zz = Math.floor(zz / 128);
  }
  buf[at++] = zz;
  return at;
}

/** A surviving record of a batch being re-encoded: its new place is computed from these. */
interface Survivor {
  offsetDelta: number;
  timestamp: number;
  bodyStart: number;
  bodyEnd: number;
}

/**
 * Re-encode surviving records into a batch keeping the original's metadata (Kafka's
 * buildRetainedRecordsInto): same base offset and last offset delta, producer id/epoch/base
 * sequence, leader epoch, codec, timestamp type, transactional and control flags. BaseTimestamp is
 * the delete horizon when there is one, else the first survivor's timestamp; MaxTimestamp is the
 * survivors' largest (the batch's own under LogAppendTime).
 */
async function encodeSurvivors(
  orig: BatchView,
  section: Buffer,
  survivors: Survivor[],
  deleteHorizon: number,
): Promise<Buffer> {
  const logAppendTime = (orig.attributes & TIMESTAMP_TYPE_MASK) !== 0;
  const baseTimestamp = deleteHorizon !== NO_TIMESTAMP ? deleteHorizon : survivors[0]!.timestamp;
  let maxTimestamp = NO_TIMESTAMP;
  let size = 0;
  for (const s of survivors) {
    if (s.timestamp > maxTimestamp) maxTimestamp = s.timestamp;
    const inner =
      1 +
      zigzagVarintSize(s.timestamp - baseTimestamp) +
      zigzagVarintSize(s.offsetDelta) +
      s.bodyEnd -
      s.bodyStart;
    size += zigzagVarintSize(inner) + inner;
  }
  if (logAppendTime) maxTimestamp = orig.maxTimestamp;
  const records = Buffer.allocUnsafe(size);
  let at = 0;
  for (const s of survivors) {
    const tsDelta = s.timestamp - baseTimestamp;
    const inner = 1 + zigzagVarintSize(tsDelta) + zigzagVarintSize(s.offsetDelta) + s.bodyEnd - s.bodyStart;
    at = writeZigzagVarint(records, at, inner);
    records[at++] = 0;
    at = writeZigzagVarint(records, at, tsDelta);
    at = writeZigzagVarint(records, at, s.offsetDelta);
    at += section.copy(records, at, s.bodyStart, s.bodyEnd);
  }
  const codec = (orig.attributes & CODEC_MASK) as CompressionType;
  const body = codec === CompressionType.None ? records : await compress(codec, records);
  const out = Buffer.allocUnsafe(RECORD_BATCH_HEADER_SIZE + body.length);
  orig.buf.copy(out, 0, orig.pos, orig.pos + RECORD_BATCH_HEADER_SIZE);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  let attrs = orig.attributes & ~DELETE_HORIZON_MASK;
  if (deleteHorizon !== NO_TIMESTAMP) attrs |= DELETE_HORIZON_MASK;
  out.writeInt16BE(attrs, ATTRIBUTES_OFFSET);
  out.writeBigInt64BE(BigInt(baseTimestamp), BASE_TIMESTAMP_OFFSET);
  out.writeBigInt64BE(BigInt(maxTimestamp), MAX_TIMESTAMP_OFFSET);
  out.writeInt32BE(survivors.length, RECORD_COUNT_OFFSET);
  body.copy(out, RECORDS_OFFSET);
  out.writeUInt32BE(crc32c(out.subarray(ATTRIBUTES_OFFSET)) >>> 0, CRC_OFFSET);
  return out;
}

/**
 * A batch emptied of its records, kept for its producer state (Kafka's writeEmptyHeader): no
 * records, no codec, BaseTimestamp -1, the original MaxTimestamp, offsets and producer fields.
 */
function emptyBatchHeader(orig: BatchView): Buffer {
  const out = Buffer.allocUnsafe(RECORD_BATCH_HEADER_SIZE);
  orig.buf.copy(out, 0, orig.pos, orig.pos + RECORD_BATCH_HEADER_SIZE);
  out.writeInt32BE(RECORD_BATCH_HEADER_SIZE - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  out.writeInt16BE(
    orig.attributes & (TIMESTAMP_TYPE_MASK | TRANSACTIONAL_MASK | CONTROL_MASK),
    ATTRIBUTES_OFFSET,
  );
  out.writeBigInt64BE(-1n, BASE_TIMESTAMP_OFFSET);
  out.writeInt32BE(0, RECORD_COUNT_OFFSET);
  out.writeUInt32BE(crc32c(out.subarray(ATTRIBUTES_OFFSET)) >>> 0, CRC_OFFSET);
  return out;
}

// ---- transactions --------------------------------------------------------------------------------

/**
 * Which transactional batches and markers may go (Kafka's CleanedTransactionMetadata), fed by the
 * aborted transactions of the range being read. Markers of aborted transactions whose data is
 * still there are kept and their transaction reported (retainedAborted) for the new .txnindex.
 */
class CleanedTransactionMetadata {
  readonly #ongoingCommitted = new Set<bigint>();
  readonly #ongoingAborted = new Map<bigint, { txn: AbortedTxn; lastObservedBatchOffset: number }>();
  /** Oldest first; consumed as the reading passes their first offset. */
  #pending: AbortedTxn[] = [];
  readonly #seen = new Set<string>();
  retainedAborted: AbortedTxn[] = [];

  constructor(private readonly hasIndex: boolean) {}

  addAbortedTransactions(txns: AbortedTxn[]): void {
    for (const t of txns) {
      const key = `${t.producerId}:${t.firstOffset}`;
      if (this.#seen.has(key)) continue;
      this.#seen.add(key);
      this.#pending.push(t);
    }
    this.#pending.sort((a, b) =>
      a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
    );
  }

  #consumeUpTo(offset: number): void {
    while (this.#pending.length > 0 && Number(this.#pending[0]!.firstOffset) <= offset) {
      const t = this.#pending.shift()!;
      if (!this.#ongoingAborted.has(t.producerId))
        this.#ongoingAborted.set(t.producerId, { txn: t, lastObservedBatchOffset: -1 });
    }
  }

  /** A data batch was read; true when it belongs to an aborted transaction (it may be discarded). */
  onBatchRead(b: BatchView): boolean {
    if (!this.hasIndex) return false;
    this.#consumeUpTo(b.lastOffset);
    if (!isTransactionalBatch(b)) return false;
    const aborted = this.#ongoingAborted.get(b.producerId);
    if (aborted) {
      aborted.lastObservedBatchOffset = b.lastOffset;
      return true;
    }
    this.#ongoingCommitted.add(b.producerId);
    return false;
  }

  /** A control batch was read (its first record is `firstKey`); true when the marker may be discarded. */
  onControlBatchRead(b: BatchView, firstKey: Buffer | null): boolean {
    if (!this.hasIndex) return false;
    this.#consumeUpTo(b.lastOffset);
    if (firstKey === null) return true; // an empty control batch was already cleaned
    let type: number;
    try {
      type = parseControlRecordKey(firstKey).type;
    } catch {
      return false;
    }
    if (type === ControlRecordType.Abort) {
      const aborted = this.#ongoingAborted.get(b.producerId);
      this.#ongoingAborted.delete(b.producerId);
      if (aborted && aborted.lastObservedBatchOffset >= 0) {
        this.retainedAborted.push(aborted.txn);
        return false;
      }
      return true;
    }
    if (type === ControlRecordType.Commit) return !this.#ongoingCommitted.delete(b.producerId);
    return false;
  }
}

function abortedTxnsIn(all: AbortedTxn[] | null, from: number, to: number): AbortedTxn[] {
  if (!all) return [];
  return all.filter((t) => Number(t.lastOffset) >= from && Number(t.firstOffset) < to);
}

// ---- the cleaner ---------------------------------------------------------------------------------

/** Thrown inside buildOffsetMap's batch visitor when the map reached its load factor. */
class MapFull extends Error {}

export interface CleanerHooks {
  /** Throws LogCleaningAbortedError when the job was aborted. */
  checkDone(): void;
  /** Ask the main thread to swap a cleaned group in; false when it refused (the log changed). */
  swap(req: SwapRequest): Promise<boolean>;
  throttler?: SharedThrottler;
}

function newStats(): CleanerStats {
  return {
    startTime: Date.now(),
    mapCompleteTime: -1,
    endTime: -1,
    bytesRead: 0,
    bytesWritten: 0,
    mapBytesRead: 0,
    mapMessagesRead: 0,
    messagesRead: 0,
    messagesWritten: 0,
    invalidMessagesRead: 0,
    bufferUtilization: 0,
    throttledMs: 0,
    peakHeapBytes: 0,
    arrayBufferBytes: 0,
  };
}

/** Where each batch survives to in a group being cleaned, and the pieces of one output chunk. */
interface OutputChunk {
  parts: Buffer[];
  batches: AppendBatch[];
  bytes: number;
  lastOffset: number;
}

export class Cleaner {
  #map: SkimpyOffsetMap | null = null;
  #readBuffer: Buffer;
  readonly #cursor = new RecordCursor();
  #ioBufferBytes: number;
  readonly #pool = new FileHandlePool(16);

  constructor(
    ioBufferBytes: number,
    private readonly hooks: CleanerHooks,
  ) {
    this.#ioBufferBytes = ioBufferBytes;
    this.#readBuffer = Buffer.allocUnsafe(ioBufferBytes);
  }

  /** The offset map for `bytes` of memory, reused while the size stays the same. */
  #offsetMap(bytes: number): SkimpyOffsetMap {
    if (!this.#map || this.#map.memory !== Math.floor(bytes / 24) * 24) {
      this.#map = null; // let the old buffer go before allocating the new one
      this.#map = new SkimpyOffsetMap(bytes);
    }
    return this.#map;
  }

  #sampleMemory(stats: CleanerStats): void {
    const m = process.memoryUsage();
    if (m.heapUsed > stats.peakHeapBytes) stats.peakHeapBytes = m.heapUsed;
    if (m.arrayBuffers > stats.arrayBufferBytes) stats.arrayBufferBytes = m.arrayBuffers;
  }

  /** Clean `job`'s log once (Kafka's doClean). */
  async clean(job: CleanJob): Promise<CleanResult> {
    if (job.ioBufferBytes !== this.#ioBufferBytes) {
      this.#ioBufferBytes = job.ioBufferBytes;
      this.#readBuffer = Buffer.allocUnsafe(job.ioBufferBytes);
    }
    const stats = newStats();
    const map = this.#offsetMap(job.offsetMapBytes);
    if (map.slots * job.loadFactor <= 1)
      throw new RangeError(
        'offset map is too small to fit even a single key: raise log.cleaner.dedupe.buffer.size or lower log.cleaner.threads',
      );
    const firstDirty = Number(job.firstDirtyOffset);
    const firstUncleanable = Number(job.firstUncleanableOffset);
    const producers = job.producerLastRecords ?? this.#lastRecordsFromLog(job);
    const lastRecords = new Map<bigint, ProducerLastRecord>(producers.map((p) => [p.producerId, p]));

    await this.#buildOffsetMap(job, map, firstDirty, firstUncleanable, stats);
    // Never behind where this pass started (a dirty range with nothing in it leaves the map empty).
    const endOffset = Math.max(map.latestOffset + 1, firstDirty);
    stats.mapCompleteTime = Date.now();

    const toClean = job.segments.filter((s) => Number(s.baseOffset) < endOffset);
    const groups = groupSegmentsBySize(
      toClean,
      job.config.segmentBytes,
      job.config.segmentIndexBytes,
      firstUncleanable,
      (s) => indexBytes(job.dir, s),
    );
    const txn = new CleanedTransactionMetadata(job.abortedTxns !== null);
    let swapped = 0;
    for (const group of groups) {
      this.hooks.checkDone();
      await this.#cleanSegments(job, group, map, txn, lastRecords, firstUncleanable, stats);
      swapped++;
    }
    stats.bufferUtilization = map.utilization;
    stats.endTime = Date.now();
    this.#sampleMemory(stats);
    return { endOffset: BigInt(endOffset), stats, segmentsSwapped: swapped };
  }

  /**
   * Every active producer's last batch, from the batch headers of the whole log (used when the
   * caller has no producer state, e.g. a bare log in a test): the last data batch of each producer
   * id, or its epoch when its last batch is a marker.
   */
  #lastRecordsFromLog(job: CleanJob): ProducerLastRecord[] {
    const last = new Map<bigint, ProducerLastRecord>();
    for (const seg of [...job.segments, ...job.tail]) {
      const path = logFile(job.dir, seg.baseOffset);
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT')
          throw new LogCleaningAbortedError(`${path} is gone`);
        throw err;
      }
      try {
        const h = Buffer.allocUnsafe(RECORD_BATCH_HEADER_SIZE);
        let pos = 0;
        while (pos + RECORD_BATCH_HEADER_SIZE <= seg.size) {
          if (readSync(fd, h, 0, RECORD_BATCH_HEADER_SIZE, pos) < RECORD_BATCH_HEADER_SIZE) break;
          const size = h.readInt32BE(BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
          if (size < RECORD_BATCH_HEADER_SIZE || pos + size > seg.size) break;
          const b = batchView(h, 0, size);
          if (hasProducerId(b)) {
            last.set(b.producerId, {
              producerId: b.producerId,
              lastDataOffset: isControlBatch(b) ? null : BigInt(b.lastOffset),
              producerEpoch: b.producerEpoch,
            });
          }
          pos += size;
        }
      } finally {
        closeSync(fd);
      }
    }
    return [...last.values()];
  }

  /**
   * Read the batches of one segment file from `start`, in chunks of the I/O buffer (grown when a
   * batch does not fit, up to maxIoBufferBytes or that batch), calling `visit` per whole batch and
   * `endChunk` after each chunk. Checks for abort and throttles once per chunk.
   */
  async #readSegment(
    job: CleanJob,
    seg: JobSegment,
    start: number,
    stats: CleanerStats,
    visit: (b: BatchView) => void | Promise<void>,
    endChunk?: () => Promise<void>,
  ): Promise<number> {
    const path = logFile(job.dir, seg.baseOffset);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new LogCleaningAbortedError(`${path} is gone`);
      throw err;
    }
    let read = 0;
    try {
      let position = start;
      while (position < seg.size) {
        this.hooks.checkDone();
        const buf = this.#readBuffer;
        const want = Math.min(buf.length, seg.size - position);
        let got = 0;
        while (got < want) {
          const n = readSync(fd, buf, got, want - got, position + got);
          if (n === 0) break;
          got += n;
        }
        if (got === 0) break; // the file was truncated under us; the job is aborted anyway
        this.#throttle(got, stats);
        let at = 0;
        while (at + LOG_OVERHEAD <= got) {
          const size = buf.readInt32BE(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
          if (size < RECORD_BATCH_HEADER_SIZE)
            throw new RangeError(`corrupt batch length ${size} in ${path} at ${position + at}`);
          if (at + size > got) break;
          if (buf.readInt8(at + MAGIC_OFFSET) !== 2)
            throw new RangeError(`unsupported magic in ${path} at ${position + at}`);
          const r = visit(batchView(buf, at, size));
          if (r) await r;
          at += size;
        }
        if (endChunk) await endChunk();
        if (at === 0) {
          // Not even one whole batch: grow the buffer (Kafka's growBuffersOrFail).
          if (got < want) break; // truncated tail
          const size = got >= LOG_OVERHEAD ? buf.readInt32BE(BATCH_LENGTH_OFFSET) + LOG_OVERHEAD : 0;
          if (size > seg.size - position)
            throw new RangeError(
              `segment ${path} may be corrupt: batch of ${size} bytes at ${position}, ${seg.size - position} left`,
            );
          const limit = Math.max(job.maxIoBufferBytes, size);
          if (buf.length >= limit) throw new RangeError(`a batch in ${path} is larger than ${limit} bytes`);
          this.#readBuffer = Buffer.allocUnsafe(Math.min(buf.length * 2, limit));
          continue;
        }
        position += at;
        read += at;
      }
    } finally {
      closeSync(fd);
      if (this.#readBuffer.length > this.#ioBufferBytes)
        this.#readBuffer = Buffer.allocUnsafe(this.#ioBufferBytes);
    }
    return read;
  }

  #throttle(bytes: number, stats: CleanerStats): void {
    if (this.hooks.throttler) stats.throttledMs += this.hooks.throttler.maybeThrottle(bytes);
  }

  /** The records section of a batch, decompressed if need be. */
  async #section(b: BatchView): Promise<Buffer> {
    const body = b.buf.subarray(b.pos + RECORDS_OFFSET, b.pos + b.size);
    const codec = (b.attributes & CODEC_MASK) as CompressionType;
    return codec === CompressionType.None ? body : decompress(codec, body);
  }

  /** Kafka's buildOffsetMap: the latest offset of each key in [start, end), until the map is full. */
  async #buildOffsetMap(
    job: CleanJob,
    map: SkimpyOffsetMap,
    start: number,
    end: number,
    stats: CleanerStats,
  ): Promise<void> {
    map.clear();
    const dirty = job.segments.filter(
      (s, i) =>
        Number(s.baseOffset) < end &&
        (i === job.segments.length - 1 || Number(job.segments[i + 1]!.baseOffset) > start),
    );
    const txn = new CleanedTransactionMetadata(job.abortedTxns !== null);
    txn.addAbortedTransactions(abortedTxnsIn(job.abortedTxns, start, end));
    const maxDesired = Math.floor(map.slots * job.loadFactor);
    const cursor = this.#cursor;
    for (let i = 0; i < dirty.length; i++) {
      const seg = dirty[i]!;
      const nextStart = i + 1 < dirty.length ? Number(dirty[i + 1]!.baseOffset) : end;
      const position = Number(seg.baseOffset) <= start && start < nextStart ? job.dirtyStartPosition : 0;
      let full = false;
      try {
        stats.mapBytesRead += await this.#readSegment(job, seg, position, stats, async (b) => {
          if (b.lastOffset < start) return;
          if (isControlBatch(b)) {
            txn.onControlBatchRead(b, await this.#firstKey(b));
            stats.mapMessagesRead += 1;
          } else if (txn.onBatchRead(b)) {
            stats.mapMessagesRead += b.recordCount;
          } else {
            const section = await this.#section(b);
            cursor.reset(section, b.recordCount, b);
            while (cursor.next()) {
              if (cursor.keyLength >= 0 && cursor.offset >= start) {
                if (map.size >= maxDesired) throw new MapFull();
                map.put(section, cursor.keyStart, cursor.keyStart + cursor.keyLength, cursor.offset);
              }
              stats.mapMessagesRead++;
            }
          }
          if (b.lastOffset >= start) map.updateLatestOffset(b.lastOffset);
        });
      } catch (err) {
        if (!(err instanceof MapFull)) throw err;
        full = true;
      }
      this.#sampleMemory(stats);
      if (full) return;
      // Offsets may have gaps: the map covers this segment up to where the next one starts.
      map.updateLatestOffset(nextStart - 1);
    }
  }

  /** The key of a control batch's first record (null when it has none left). */
  async #firstKey(b: BatchView): Promise<Buffer | null> {
    if (b.recordCount === 0) return null;
    const section = await this.#section(b);
    const c = new RecordCursor();
    c.reset(section, b.recordCount, b);
    if (!c.next() || c.keyLength < 0) return null;
    return section.subarray(c.keyStart, c.keyStart + c.keyLength);
  }

  /** Kafka's cleanSegments: one group into one `.cleaned` segment, then the swap. */
  async #cleanSegments(
    job: CleanJob,
    group: JobSegment[],
    map: SkimpyOffsetMap,
    txn: CleanedTransactionMetadata,
    lastRecords: Map<bigint, ProducerLastRecord>,
    upperBoundOffsetOfCleaningRound: number,
    stats: CleanerStats,
  ): Promise<void> {
    const base = group[0]!.baseOffset;
    const dest = LogSegment.create(job.dir, base, job.config, this.#pool, job.now, CLEANED_FILE_SUFFIX);
    let ok = false;
    try {
      txn.retainedAborted = [];
      for (let i = 0; i < group.length; i++) {
        const seg = group[i]!;
        const upper = i + 1 < group.length ? Number(group[i + 1]!.baseOffset) : Infinity;
        txn.addAbortedTransactions(abortedTxnsIn(job.abortedTxns, Number(seg.baseOffset), upper));
        await this.#cleanInto(job, seg, dest, map, txn, lastRecords, upperBoundOffsetOfCleaningRound, stats);
      }
      dest.onBecomeInactive();
      dest.flush();
      dest.closeHandles();
      dest.setLastModified(group[group.length - 1]!.lastModified);
      this.hooks.checkDone();
      const accepted = await this.hooks.swap({
        newBaseOffset: base,
        oldBaseOffsets: group.map((s) => s.baseOffset),
        retainedAbortedTxns: txn.retainedAborted,
        bytes: dest.size,
      });
      if (!accepted)
        throw new LogCleaningAbortedError(`swap of ${job.name} at ${base} refused: the log changed`);
      ok = true;
    } finally {
      if (!ok) {
        dest.closeHandles();
        dest.deleteFiles();
      }
      this.#pool.closeAll();
    }
  }

  /** Kafka's cleanInto: filter one source segment into `dest`. */
  async #cleanInto(
    job: CleanJob,
    seg: JobSegment,
    dest: LogSegment,
    map: SkimpyOffsetMap,
    txn: CleanedTransactionMetadata,
    lastRecords: Map<bigint, ProducerLastRecord>,
    upperBoundOffsetOfCleaningRound: number,
    stats: CleanerStats,
  ): Promise<void> {
    const now = job.now;
    const deleteRetentionMs = job.config.deleteRetentionMs;
    const destBase = Number(dest.baseOffset);
    let out: OutputChunk = { parts: [], batches: [], bytes: 0, lastOffset: -1 };
    const emit = (bytes: Buffer, b: BatchView, maxTimestamp: number): void => {
      if (b.lastOffset - destBase > INT32_MAX)
        throw new RangeError(`offset ${b.lastOffset} does not fit a segment based at ${destBase}`);
      out.batches.push({
        position: out.bytes,
        size: bytes.length,
        baseOffset: BigInt(b.baseOffset),
        lastOffset: BigInt(b.lastOffset),
        maxTimestamp: BigInt(maxTimestamp),
      });
      out.parts.push(bytes);
      out.bytes += bytes.length;
      out.lastOffset = b.lastOffset;
    };
    const cursor = this.#cursor;
    const survivors: Survivor[] = [];
    await this.#readSegment(
      job,
      seg,
      0,
      stats,
      async (b) => {
        stats.bytesRead += b.size;
        // checkBatchRetention
        const control = isControlBatch(b);
        const canDiscardBatch = control
          ? txn.onControlBatchRead(b, await this.#firstKey(b))
          : txn.onBatchRead(b);
        const horizon = deleteHorizonOf(b);
        const discardBatchRecords = control
          ? canDiscardBatch && horizon !== NO_TIMESTAMP && horizon <= now
          : canDiscardBatch;
        const last = hasProducerId(b) ? lastRecords.get(b.producerId) : undefined;
        const isLastOfProducer =
          last !== undefined &&
          (last.lastDataOffset !== null
            ? b.lastOffset === Number(last.lastDataOffset)
            : control && b.producerEpoch === last.producerEpoch);
        const retainEmpty = isLastOfProducer || b.lastOffset + 1 === upperBoundOffsetOfCleaningRound;
        if (!retainEmpty && discardBatchRecords) {
          stats.messagesRead += b.recordCount;
          return;
        }
        const containsMarkerForEmptyTxn = canDiscardBatch && control;
        // filterBatch
        survivors.length = 0;
        let containsTombstones = false;
        let section: Buffer | null = null;
        if (b.recordCount > 0) {
          section = await this.#section(b);
          cursor.reset(section, b.recordCount, b);
          while (cursor.next()) {
            stats.messagesRead++;
            let keep: boolean;
            if (discardBatchRecords) keep = false;
            else if (control) keep = true;
            else if (cursor.offset > map.latestOffset) keep = true;
            else if (cursor.keyLength < 0) {
              stats.invalidMessagesRead++;
              keep = false;
            } else {
              const found = map.get(section, cursor.keyStart, cursor.keyStart + cursor.keyLength);
              const latestForKey = cursor.offset >= found;
              const retainDeletes = horizon === NO_TIMESTAMP || now < horizon;
              keep = latestForKey && (!cursor.valueIsNull || retainDeletes);
            }
            if (keep) {
              survivors.push({
                offsetDelta: cursor.offset - b.baseOffset,
                timestamp: cursor.timestamp,
                bodyStart: cursor.bodyStart,
                bodyEnd: cursor.bodyEnd,
              });
              if (cursor.valueIsNull) containsTombstones = true;
            }
          }
        }
        if (survivors.length > 0) {
          const needHorizon = (containsTombstones || containsMarkerForEmptyTxn) && horizon === NO_TIMESTAMP;
          if (survivors.length === b.recordCount && !needHorizon) {
            emit(Buffer.from(b.buf.subarray(b.pos, b.pos + b.size)), b, b.maxTimestamp);
          } else {
            const newHorizon = needHorizon ? now + deleteRetentionMs : horizon;
            const rebuilt = await encodeSurvivors(b, section!, survivors, newHorizon);
            emit(rebuilt, b, Number(rebuilt.readBigInt64BE(MAX_TIMESTAMP_OFFSET)));
          }
          stats.messagesWritten += survivors.length;
        } else if (retainEmpty) {
          emit(emptyBatchHeader(b), b, b.maxTimestamp);
        }
      },
      () => {
        if (out.bytes > 0) {
          const chunk = out.parts.length === 1 ? out.parts[0]! : Buffer.concat(out.parts, out.bytes);
          dest.append(chunk, out.batches);
          stats.bytesWritten += out.bytes;
          this.#throttle(out.bytes, stats);
          out = { parts: [], batches: [], bytes: 0, lastOffset: -1 };
        }
        return Promise.resolve();
      },
    );
    this.#sampleMemory(stats);
  }
}

/**
 * Bytes of a segment's .index and .timeindex: the files of a segment that no longer takes appends
 * are trimmed to their entries (Kafka counts entries × entry size, the same number).
 */
function indexBytes(dir: string, s: JobSegment): { offsetIndex: number; timeIndex: number } {
  const size = (path: string): number => {
    try {
      return statSync(path).size;
    } catch {
      return 0;
    }
  };
  return {
    offsetIndex: size(offsetIndexFile(dir, s.baseOffset)),
    timeIndex: size(timeIndexFile(dir, s.baseOffset)),
  };
}

/**
 * Kafka's groupSegmentsBySize: consecutive segments whose .log bytes sum to at most `maxSize` and
 * whose .index and .timeindex bytes each sum to at most `maxIndexSize`, and whose offsets stay within
 * 2^31 of the group's first base offset (the last segment's end estimated by the next one's base, or
 * firstUncleanableOffset).
 */
export function groupSegmentsBySize<S extends { baseOffset: bigint; size: number }>(
  segments: S[],
  maxSize: number,
  maxIndexSize: number,
  firstUncleanableOffset: number,
  indexSizes: (s: S) => { offsetIndex: number; timeIndex: number },
): S[][] {
  const groups: S[][] = [];
  let i = 0;
  while (i < segments.length) {
    const group = [segments[i]!];
    let logSize = segments[i]!.size;
    const first = indexSizes(segments[i]!);
    let indexSize = first.offsetIndex;
    let timeIndexSize = first.timeIndex;
    i++;
    while (i < segments.length) {
      const s = segments[i]!;
      const idx = indexSizes(s);
      const lastOffsetOfS =
        i + 1 < segments.length ? Number(segments[i + 1]!.baseOffset) - 1 : firstUncleanableOffset - 1;
      if (
        logSize + s.size > maxSize ||
        indexSize + idx.offsetIndex > maxIndexSize ||
        timeIndexSize + idx.timeIndex > maxIndexSize ||
        (s.size !== 0 && lastOffsetOfS - Number(group[0]!.baseOffset) > INT32_MAX)
      )
        break;
      group.push(s);
      logSize += s.size;
      indexSize += idx.offsetIndex;
      timeIndexSize += idx.timeIndex;
      i++;
    }
    groups.push(group);
  }
  return groups;
}
