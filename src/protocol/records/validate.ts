/**
 * The checks a partition leader runs on a batch before appending it, after Kafka's LogValidator and
 * UnifiedLog.analyzeAndValidateRecords for magic 2. The batch is not modified: Sluice stores the
 * producer's bytes and only stamps base offset and leader epoch (outside the CRC) afterwards.
 *
 *   CORRUPT_MESSAGE   truncated, impossible lengths, wrong magic, CRC mismatch, undecompressable
 *   INVALID_RECORD    records section that does not parse, record count or offset deltas that do
 *                     not match the header, control batch from a client, transactional or
 *                     idempotent batch without producer id / sequence, null key on a compacted topic
 *   INVALID_TIMESTAMP a CreateTime timestamp outside message.timestamp.{before,after}.max.ms of now
 *   MESSAGE_TOO_LARGE the batch is over max.message.bytes, or decompresses past the bomb limit
 *   UNSUPPORTED_COMPRESSION_TYPE  codec bits 5..7
 *
 * Returns a result instead of throwing, so a Produce handler maps it to a partition error directly.
 */
import {
  LOG_OVERHEAD,
  NO_PRODUCER_ID,
  RECORDS_OFFSET,
  type RecordBatchHeader,
  TimestampType,
  compressionOf,
  isControl,
  isTransactional,
  readBatchHeader,
  timestampTypeOf,
  validateBatch,
} from './batch-header.js';
import { DEFAULT_MAX_DECOMPRESSED_SIZE, decompress } from './compression.js';
import { CorruptRecordError, InvalidRecordError, RecordValidationError } from './errors.js';
import { DecodeError } from '../primitives.js';
import { walkRecords } from './record.js';

/** Kafka's Long.MAX_VALUE default for the timestamp bounds: no limit. */
export const NO_TIMESTAMP_LIMIT = Number.POSITIVE_INFINITY;

export interface AppendValidationOptions {
  /** Batches from clients (Produce) versus replication or the coordinator. Default true. */
  fromClient?: boolean;
  /** cleanup.policy includes compact: every record needs a key. */
  compacted?: boolean;
  /** message.timestamp.type of the topic. With LogAppendTime the producer's timestamps are not checked. */
  timestampType?: TimestampType;
  /** message.timestamp.before.max.ms / after.max.ms (CreateTime only). Default unlimited. */
  timestampBeforeMaxMs?: number;
  timestampAfterMaxMs?: number;
  /** Wall clock for the timestamp checks, ms. Default Date.now(). */
  nowMs?: number;
  /** max.message.bytes: the largest batch accepted. Default unlimited. */
  maxBatchSize?: number;
  maxDecompressedSize?: number;
}

export interface ValidatedBatch {
  header: RecordBatchHeader;
  size: number;
  /** Largest record timestamp and the offset delta it was at, for the time index. */
  maxTimestamp: bigint;
  offsetDeltaOfMaxTimestamp: number;
}

export type AppendValidationResult =
  { ok: true; batch: ValidatedBatch } | { ok: false; error: RecordValidationError };

const MAX_KNOWN_CODEC = 4;
const NO_TIMESTAMP = -1n;

/** Validate the batch at `offset` of `buf` (it must be the whole batch or more). Never throws for bad input. */
export async function validateRecordBatchForAppend(
  buf: Buffer,
  offset = 0,
  opts: AppendValidationOptions = {},
): Promise<AppendValidationResult> {
  try {
    return { ok: true, batch: await validateOrThrow(buf, offset, opts) };
  } catch (err) {
    if (err instanceof RecordValidationError) return { ok: false, error: err };
    if (err instanceof DecodeError) {
      return { ok: false, error: new CorruptRecordError(`record batch: ${err.message}`, { cause: err }) };
    }
    throw err;
  }
}

async function validateOrThrow(
  buf: Buffer,
  offset: number,
  opts: AppendValidationOptions,
): Promise<ValidatedBatch> {
  const fromClient = opts.fromClient ?? true;
  if (buf.length - offset >= LOG_OVERHEAD && opts.maxBatchSize !== undefined) {
    const announced = buf.readInt32BE(offset + 8) + LOG_OVERHEAD;
    if (announced > opts.maxBatchSize) {
      throw new InvalidRecordError(
        'MESSAGE_TOO_LARGE',
        `record batch of ${announced} bytes is larger than max.message.bytes ${opts.maxBatchSize}`,
      );
    }
  }
  const size = validateBatch(buf, offset);
  const header = readBatchHeader(buf, offset);
  const codec = compressionOf(header.attributes);
  if (codec > MAX_KNOWN_CODEC) {
    throw new InvalidRecordError('UNSUPPORTED_COMPRESSION_TYPE', `record batch uses unknown codec ${codec}`);
  }
  const invalid = (message: string): InvalidRecordError => new InvalidRecordError('INVALID_RECORD', message);

  // Batch-level rules (LogValidator.validateBatch).
  if (fromClient) {
    if (isControl(header.attributes)) throw invalid('clients may not write control batches');
    const countFromOffsets = header.lastOffsetDelta + 1;
    if (countFromOffsets !== header.recordCount) {
      throw invalid(
        `record count ${header.recordCount} does not match last offset delta ${header.lastOffsetDelta}`,
      );
    }
    if (header.producerId !== NO_PRODUCER_ID && header.baseSequence < 0) {
      throw invalid(
        `batch with producer id ${header.producerId} has invalid base sequence ${header.baseSequence}`,
      );
    }
  }
  if (isTransactional(header.attributes) && header.producerId === NO_PRODUCER_ID) {
    throw invalid('transactional batch without a producer id');
  }
  if (header.recordCount === 0 && fromClient) throw invalid('record batch holds no records');

  // Records: decompress (bounded), parse exactly recordCount records, nothing left over.
  const body = buf.subarray(offset + RECORDS_OFFSET, offset + size);
  const section = await decompress(codec, body, opts.maxDecompressedSize ?? DEFAULT_MAX_DECOMPRESSED_SIZE);
  // Record-level rules (LogValidator.validateRecord, validateKey, validateTimestamp), walking the
  // records in place: nothing is copied, so validation costs a pass over the bytes, not an allocation
  // per key and value.
  const checkTimestamps = (opts.timestampType ?? TimestampType.CreateTime) === TimestampType.CreateTime;
  const nowMs = Math.trunc(opts.nowMs ?? Date.now());
  const before = opts.timestampBeforeMaxMs ?? NO_TIMESTAMP_LIMIT;
  const after = opts.timestampAfterMaxMs ?? NO_TIMESTAMP_LIMIT;
  const baseTs = Number(header.baseTimestamp);
  let maxTs = -1;
  let offsetDeltaOfMaxTimestamp = -1;
  const control = isControl(header.attributes);
  try {
    walkRecords(section, header.recordCount, (i, offsetDelta, tsDelta, keyIsNull) => {
      if (offsetDelta !== i) throw invalid(`record ${i} has offset delta ${offsetDelta}, expected ${i}`);
      if (opts.compacted && keyIsNull && !control)
        throw invalid('compacted topic cannot accept a record without a key');
      const ts = baseTs + tsDelta;
      if (
        checkTimestamps &&
        ts !== -1 &&
        ((before !== NO_TIMESTAMP_LIMIT && ts < nowMs - before) ||
          (after !== NO_TIMESTAMP_LIMIT && ts > nowMs + after))
      ) {
        throw new InvalidRecordError(
          'INVALID_TIMESTAMP',
          `record ${i} timestamp ${ts} is out of range [now - ${before} ms, now + ${after} ms] (now ${nowMs})`,
        );
      }
      if (ts > maxTs) {
        maxTs = ts;
        offsetDeltaOfMaxTimestamp = i;
      }
    });
  } catch (err) {
    if (err instanceof DecodeError) {
      throw new InvalidRecordError(
        'INVALID_RECORD',
        `records do not match the header's count of ${header.recordCount}: ${err.message}`,
        { cause: err },
      );
    }
    throw err;
  }
  let maxTimestamp = maxTs === -1 ? NO_TIMESTAMP : BigInt(maxTs);
  if (timestampTypeOf(header.attributes) === TimestampType.LogAppendTime) {
    maxTimestamp = header.maxTimestamp;
    offsetDeltaOfMaxTimestamp = header.lastOffsetDelta;
  }
  return { header, size, maxTimestamp, offsetDeltaOfMaxTimestamp };
}
