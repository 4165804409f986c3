/**
 * Whole RecordBatch v2 encode/decode on top of the header (batch-header.ts), the records section
 * (record.ts) and the codecs (compression.ts).
 *
 *   encodeRecordBatch(records, opts)       -> batch bytes, compressed with opts.compression
 *   decodeRecordBatch(buf, offset, opts)   -> header + records of the batch at `offset`
 *   scanRecordBatches(buf)                 -> where each complete batch is, and any partial tail
 *   iterateRecordBatches(buf, opts)        -> async iterator over the decoded batches of a buffer of
 *                                            concatenated batches (a Fetch response's records, a
 *                                            chunk of a segment file)
 *
 * A buffer of concatenated batches may end with a partial batch: the broker cuts Fetch responses at
 * max_bytes without regard for batch boundaries, and clients skip the tail. So a partial tail is not
 * an error here; it is reported (PartialBatch) for the caller to decide. A complete batch that is
 * damaged is an error (CorruptRecordError / InvalidRecordError).
 */
import { DecodeError } from '../primitives.js';
import {
  CompressionType,
  LOG_OVERHEAD,
  RECORDS_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  type RecordBatchHeader,
  compressionOf,
  isControl,
  readBatchHeader,
  validateBatch,
} from './batch-header.js';
import { type BatchOptions, assembleBatch, defaultBaseTimestamp, encodeRecordsSection } from './build.js';
import {
  type CompressOptions,
  DEFAULT_MAX_DECOMPRESSED_SIZE,
  compress,
  compressSync,
  decompress,
  decompressSync,
} from './compression.js';
import { CorruptRecordError, InvalidRecordError } from './errors.js';
import { type Record, type RecordInput, readRecords } from './record.js';

export interface EncodeBatchOptions extends BatchOptions, CompressOptions {
  compression?: CompressionType;
}

/** Encode a batch, compressing the records section with `opts.compression` (default none). */
export async function encodeRecordBatch(
  records: RecordInput[],
  opts: EncodeBatchOptions = {},
): Promise<Buffer> {
  const compression = opts.compression ?? CompressionType.None;
  const baseTimestamp = defaultBaseTimestamp(records, opts);
  const { section, maxTimestamp } = encodeRecordsSection(records, baseTimestamp);
  const body = await compress(compression, section, opts);
  return assembleBatch(body, records.length, compression, baseTimestamp, maxTimestamp, opts);
}

/** Synchronous encodeRecordBatch, for every codec but zstd. */
export function encodeRecordBatchSync(records: RecordInput[], opts: EncodeBatchOptions = {}): Buffer {
  const compression = opts.compression ?? CompressionType.None;
  const baseTimestamp = defaultBaseTimestamp(records, opts);
  const { section, maxTimestamp } = encodeRecordsSection(records, baseTimestamp);
  const body = compressSync(compression, section, opts);
  return assembleBatch(body, records.length, compression, baseTimestamp, maxTimestamp, opts);
}

/** The name the brief for the protocol layer used; same as encodeRecordBatch with a codec. */
export function buildRecordBatchCompressed(
  records: RecordInput[],
  compression: CompressionType,
  opts: EncodeBatchOptions = {},
): Promise<Buffer> {
  return encodeRecordBatch(records, { ...opts, compression });
}

export interface DecodeBatchOptions {
  /** Check CRC, magic and lengths first (validateBatch). Default true. */
  verify?: boolean;
  /** Decompression bomb guard for one batch's records section. */
  maxDecompressedSize?: number;
}

export interface DecodedBatch {
  header: RecordBatchHeader;
  /** Where the batch starts in the buffer it was decoded from, and its total size. */
  position: number;
  size: number;
  compression: CompressionType;
  control: boolean;
  records: Record[];
}

/** A batch cut off at the end of the buffer. */
export interface PartialBatch {
  position: number;
  /** Bytes present from `position` to the end of the buffer. */
  available: number;
  /** Announced total size, or -1 when not even the 12-byte offset+length prefix is there. */
  size: number;
}

export interface BatchSpan {
  position: number;
  size: number;
}

/**
 * Locate the batches in a buffer of concatenated batches by their length fields only (no CRC).
 * Stops at the first batch whose announced size does not fit the buffer: that one is `partial`.
 * A length too small to hold a header is corruption, not a partial batch.
 */
export function scanRecordBatches(
  buf: Buffer,
  start = 0,
): { batches: BatchSpan[]; partial: PartialBatch | null } {
  const batches: BatchSpan[] = [];
  let at = start;
  while (at < buf.length) {
    const available = buf.length - at;
    if (available < LOG_OVERHEAD) return { batches, partial: { position: at, available, size: -1 } };
    const batchLength = buf.readInt32BE(at + 8);
    if (batchLength < RECORD_BATCH_HEADER_SIZE - LOG_OVERHEAD) {
      throw new CorruptRecordError(
        `record batch at byte ${at} has length ${batchLength}, smaller than a header`,
      );
    }
    const size = batchLength + LOG_OVERHEAD;
    if (size > available) return { batches, partial: { position: at, available, size } };
    batches.push({ position: at, size });
    at += size;
  }
  return { batches, partial: null };
}

function checkedHeader(
  buf: Buffer,
  offset: number,
  opts: DecodeBatchOptions,
): { header: RecordBatchHeader; size: number } {
  const size =
    opts.verify === false
      ? readBatchHeader(buf, offset).batchLength + LOG_OVERHEAD
      : validateBatch(buf, offset);
  if (opts.verify === false && size > buf.length - offset) {
    throw new CorruptRecordError(`record batch truncated: ${buf.length - offset} of ${size} bytes`);
  }
  return { header: readBatchHeader(buf, offset), size };
}

function parseRecords(section: Buffer, header: RecordBatchHeader, position: number): Record[] {
  try {
    return readRecords(section, header.recordCount, header.baseOffset, header.baseTimestamp);
  } catch (err) {
    if (err instanceof DecodeError) {
      throw new InvalidRecordError(
        'INVALID_RECORD',
        `record batch at byte ${position} (${header.recordCount} records declared): ${err.message}`,
        { cause: err },
      );
    }
    throw err;
  }
}

function finish(offset: number, size: number, header: RecordBatchHeader, section: Buffer): DecodedBatch {
  return {
    header,
    position: offset,
    size,
    compression: compressionOf(header.attributes),
    control: isControl(header.attributes),
    records: parseRecords(section, header, offset),
  };
}

/** Decode the complete batch at `offset`, decompressing its records when needed. */
export async function decodeRecordBatch(
  buf: Buffer,
  offset = 0,
  opts: DecodeBatchOptions = {},
): Promise<DecodedBatch> {
  const { header, size } = checkedHeader(buf, offset, opts);
  const body = buf.subarray(offset + RECORDS_OFFSET, offset + size);
  const section = await decompress(
    compressionOf(header.attributes),
    body,
    opts.maxDecompressedSize ?? DEFAULT_MAX_DECOMPRESSED_SIZE,
  );
  return finish(offset, size, header, section);
}

/** Synchronous decodeRecordBatch; zstd batches throw (use the async one). */
export function decodeRecordBatchSync(buf: Buffer, offset = 0, opts: DecodeBatchOptions = {}): DecodedBatch {
  const { header, size } = checkedHeader(buf, offset, opts);
  const body = buf.subarray(offset + RECORDS_OFFSET, offset + size);
  const section = decompressSync(
    compressionOf(header.attributes),
    body,
    opts.maxDecompressedSize ?? DEFAULT_MAX_DECOMPRESSED_SIZE,
  );
  return finish(offset, size, header, section);
}

export interface IterateBatchesOptions extends DecodeBatchOptions {
  /** Called once when the buffer ends with a partial batch (which is then skipped, like clients do). */
  onPartial?: (partial: PartialBatch) => void;
}

/**
 * Decode every complete batch in a buffer of concatenated batches, in order. The generator's return
 * value is the partial tail (or null), also passed to `onPartial`.
 */
export async function* iterateRecordBatches(
  buf: Buffer,
  opts: IterateBatchesOptions = {},
): AsyncGenerator<DecodedBatch, PartialBatch | null, undefined> {
  const { batches, partial } = scanRecordBatches(buf);
  for (const span of batches) yield await decodeRecordBatch(buf, span.position, opts);
  if (partial !== null) opts.onPartial?.(partial);
  return partial;
}

/** All complete batches of a buffer, decoded, plus the partial tail if any. */
export async function decodeRecordBatches(
  buf: Buffer,
  opts: DecodeBatchOptions = {},
): Promise<{ batches: DecodedBatch[]; partial: PartialBatch | null }> {
  const { batches: spans, partial } = scanRecordBatches(buf);
  const batches: DecodedBatch[] = [];
  for (const span of spans) batches.push(await decodeRecordBatch(buf, span.position, opts));
  return { batches, partial };
}
