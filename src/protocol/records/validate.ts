/**
 * The checks a partition leader runs on a batch before appending it, after Kafka's LogValidator and
 * UnifiedLog.analyzeAndValidateRecords for magic 2. The batch is not modified: Sluice stores the
 * producer's bytes and only stamps base offset and leader epoch (outside the CRC) afterwards.
 *
 * Batch-level rules refuse the batch with one error:
 *   CORRUPT_MESSAGE   truncated, impossible lengths, wrong magic, CRC mismatch, undecompressable
 *   INVALID_RECORD    records section that does not parse, record count or offset deltas that do
 *                     not match the header, control batch from a client, transactional or
 *                     idempotent batch without producer id / sequence (Kafka's validateBatch wording)
 *   MESSAGE_TOO_LARGE the batch is over max.message.bytes, or decompresses past the bomb limit
 *   UNSUPPORTED_COMPRESSION_TYPE  codec bits 5..7
 *
 * Record-level rules (Kafka's validateRecord: the key, then the timestamp) are checked for every
 * record, and every refused record is reported with its index (KIP-467 record errors); one refused
 * record refuses the whole batch:
 *   INVALID_RECORD    a record without a key on a compacted topic
 *   INVALID_TIMESTAMP a CreateTime timestamp outside message.timestamp.{before,after}.max.ms of now,
 *                     or a batch the producer marked LogAppendTime
 * The partition error is INVALID_TIMESTAMP when any timestamp was refused, else INVALID_RECORD, with
 * Kafka's summary message (recordErrorsError).
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
import {
  CorruptRecordError,
  InvalidRecordError,
  RecordValidationError,
  recordErrorsError,
  type RecordError,
} from './errors.js';
import { DecodeError } from '../primitives.js';
import { walkRecords } from './record.js';

/** Kafka's Long.MAX_VALUE, the default of message.timestamp.before.max.ms: no limit. */
export const NO_TIMESTAMP_LIMIT = 9223372036854775807n;

export interface AppendValidationOptions {
  /** Batches from clients (Produce) versus replication or the coordinator. Default true. */
  fromClient?: boolean;
  /** `<topic>-<partition>`, which Kafka's messages name ("... in topic partition t-0"). */
  topicPartition?: string;
  /** cleanup.policy includes compact: every record needs a key. */
  compacted?: boolean;
  /** message.timestamp.type of the topic. With LogAppendTime the producer's timestamps are not checked. */
  timestampType?: TimestampType;
  /**
   * message.timestamp.before.max.ms / after.max.ms (CreateTime only), Kafka longs: how far a record's
   * timestamp may be before / after the broker's clock. Default Long.MAX_VALUE (no limit).
   */
  timestampBeforeMaxMs?: number | bigint;
  timestampAfterMaxMs?: number | bigint;
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
      // Kafka's words (UnifiedLog.analyzeAndValidateRecords), which its clients show.
      const to = opts.topicPartition !== undefined ? ` to ${opts.topicPartition}` : '';
      throw new InvalidRecordError(
        'MESSAGE_TOO_LARGE',
        `The record batch size in the append${to} is ${announced} bytes which exceeds the maximum configured value of ${opts.maxBatchSize}.`,
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
  const inTp = opts.topicPartition !== undefined ? ` in topic partition ${opts.topicPartition}` : '';

  // Batch-level rules (LogValidator.validateBatch), in Kafka's order and words.
  if (fromClient) {
    const lastOffset = header.baseOffset + BigInt(header.lastOffsetDelta);
    if (header.lastOffsetDelta < 0)
      throw invalid(`Batch has an invalid offset range: [${header.baseOffset}, ${lastOffset}]${inTp}`);
    if (header.recordCount <= 0)
      throw invalid(`Invalid reported count for record batch: ${header.recordCount}${inTp}`);
    if (header.lastOffsetDelta + 1 !== header.recordCount) {
      throw invalid(
        `Inconsistent batch offset range [${header.baseOffset}, ${lastOffset}] and count of records ${header.recordCount}${inTp}`,
      );
    }
    if (isControl(header.attributes))
      throw invalid(`Clients are not allowed to write control records${inTp}`);
    if (header.producerId !== NO_PRODUCER_ID && header.baseSequence < 0) {
      throw invalid(
        `Invalid sequence number ${header.baseSequence} in record batch with producerId ${header.producerId}${inTp}`,
      );
    }
  }
  if (isTransactional(header.attributes) && header.producerId === NO_PRODUCER_ID) {
    throw invalid(`Transactional record batch without a producer id${inTp}`);
  }

  // Records: decompress (bounded), parse exactly recordCount records, nothing left over.
  const body = buf.subarray(offset + RECORDS_OFFSET, offset + size);
  const section = await decompress(codec, body, opts.maxDecompressedSize ?? DEFAULT_MAX_DECOMPRESSED_SIZE);
  // Record-level rules (LogValidator.validateRecord: validateKey, then validateTimestamp), walking
  // the records in place: nothing is copied, so validation costs a pass over the bytes, not an
  // allocation per key and value. Every record is checked, and every refused one reported.
  const checkTimestamps = (opts.timestampType ?? TimestampType.CreateTime) === TimestampType.CreateTime;
  const nowMs = Math.trunc(opts.nowMs ?? Date.now());
  const before = BigInt(opts.timestampBeforeMaxMs ?? NO_TIMESTAMP_LIMIT);
  const after = BigInt(opts.timestampAfterMaxMs ?? NO_TIMESTAMP_LIMIT);
  // The checks in doubles (exact for any clock and limit a user sets); messages in exact longs.
  const beforeN = Number(before);
  const afterN = Number(after);
  const baseTs = Number(header.baseTimestamp);
  // A batch the producer marked LogAppendTime: each record's timestamp reads as the batch's
  // MaxTimestamp (Kafka's DefaultRecordBatch), which is what the checks see.
  const logAppendBatch = timestampTypeOf(header.attributes) === TimestampType.LogAppendTime;
  let maxTs = -1;
  let offsetDeltaOfMaxTimestamp = -1;
  const control = isControl(header.attributes);
  const refused: { errorName: 'INVALID_RECORD' | 'INVALID_TIMESTAMP'; error: RecordError }[] = [];
  try {
    walkRecords(section, header.recordCount, (i, offsetDelta, tsDelta, keyIsNull, keyLength, valueLength) => {
      if (offsetDelta !== i) throw invalid(`record ${i} has offset delta ${offsetDelta}, expected ${i}`);
      const ts = logAppendBatch ? Number(header.maxTimestamp) : baseTs + tsDelta;
      if (opts.compacted && keyIsNull && !control) {
        refused.push({
          errorName: 'INVALID_RECORD',
          error: { batchIndex: i, message: `Compacted topic cannot accept message without key${inTp}` },
        });
      } else if (checkTimestamps && ts !== -1) {
        if (nowMs - ts > beforeN || ts - nowMs > afterN) {
          const exactTs = logAppendBatch ? header.maxTimestamp : header.baseTimestamp + BigInt(tsDelta);
          const now = BigInt(nowMs);
          refused.push({
            errorName: 'INVALID_TIMESTAMP',
            error: {
              batchIndex: i,
              // Kafka's bounds are Java longs: now - Long.MAX_VALUE and an overflowing sum print as such.
              message: `Timestamp ${exactTs} of message with offset ${header.baseOffset + BigInt(offsetDelta)} is out of range. The timestamp should be within [${BigInt.asIntN(64, now - before)}, ${BigInt.asIntN(64, now + after)}]`,
            },
          });
        }
      } else if (logAppendBatch) {
        const exactTs = header.maxTimestamp;
        refused.push({
          errorName: 'INVALID_TIMESTAMP',
          error: {
            batchIndex: i,
            message: `Invalid timestamp type in message DefaultRecord(offset=${header.baseOffset + BigInt(offsetDelta)}, timestamp=${exactTs}, key=${Math.max(0, keyLength)} bytes, value=${Math.max(0, valueLength)} bytes). Producer should not set timestamp type to LogAppendTime.`,
          },
        });
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
  if (refused.length > 0) throw recordErrorsError(refused);
  let maxTimestamp = maxTs === -1 ? NO_TIMESTAMP : BigInt(maxTs);
  if (timestampTypeOf(header.attributes) === TimestampType.LogAppendTime) {
    maxTimestamp = header.maxTimestamp;
    offsetDeltaOfMaxTimestamp = header.lastOffsetDelta;
  }
  return { header, size, maxTimestamp, offsetDeltaOfMaxTimestamp };
}
