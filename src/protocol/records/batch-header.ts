/**
 * RecordBatch v2 header (magic 2), 61 bytes, as the broker stores and serves it:
 *
 *   offset  size  field
 *   0       8     BaseOffset            \ not covered by the CRC: the broker stamps
 *   8       4     BatchLength            | these in place (BaseOffset, PartitionLeaderEpoch)
 *   12      4     PartitionLeaderEpoch  /
 *   16      1     Magic (= 2)
 *   17      4     CRC-32C of bytes 21 .. end of batch
 *   21      2     Attributes  (bits 0-2 codec, 3 timestamp type, 4 transactional, 5 control, 6 delete horizon)
 *   23      4     LastOffsetDelta
 *   27      8     BaseTimestamp
 *   35      8     MaxTimestamp
 *   43      8     ProducerId
 *   51      2     ProducerEpoch
 *   53      4     BaseSequence
 *   57      4     RecordCount
 *   61      ...   Records (compressed as one block when the codec is not none)
 *
 * BatchLength counts the bytes after the length field, so a whole batch is BatchLength + 12 bytes.
 */
import { crc32c } from '@node-rs/crc32';
import { CorruptRecordError } from './errors.js';

export { CorruptRecordError };

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORD_COUNT_OFFSET = 57;
export const RECORDS_OFFSET = 61;
/** BaseOffset + BatchLength: the bytes that precede what BatchLength counts. */
export const LOG_OVERHEAD = 12;
export const RECORD_BATCH_HEADER_SIZE = 61;
export const CURRENT_MAGIC = 2;

export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;

export enum CompressionType {
  None = 0,
  Gzip = 1,
  Snappy = 2,
  Lz4 = 3,
  Zstd = 4,
}

export enum TimestampType {
  CreateTime = 0,
  LogAppendTime = 1,
}

const CODEC_MASK = 0x07;
const TIMESTAMP_TYPE_MASK = 0x08;
const TRANSACTIONAL_MASK = 0x10;
const CONTROL_MASK = 0x20;
const DELETE_HORIZON_MASK = 0x40;

export interface RecordBatchHeader {
  baseOffset: bigint;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export function compressionOf(attributes: number): CompressionType {
  return (attributes & CODEC_MASK) as CompressionType;
}
export function timestampTypeOf(attributes: number): TimestampType {
  return attributes & TIMESTAMP_TYPE_MASK ? TimestampType.LogAppendTime : TimestampType.CreateTime;
}
export function isTransactional(attributes: number): boolean {
  return (attributes & TRANSACTIONAL_MASK) !== 0;
}
export function isControl(attributes: number): boolean {
  return (attributes & CONTROL_MASK) !== 0;
}
export function hasDeleteHorizon(attributes: number): boolean {
  return (attributes & DELETE_HORIZON_MASK) !== 0;
}

export function makeAttributes(opts: {
  compression?: CompressionType;
  timestampType?: TimestampType;
  transactional?: boolean;
  control?: boolean;
}): number {
  let a = (opts.compression ?? CompressionType.None) & CODEC_MASK;
  if (opts.timestampType === TimestampType.LogAppendTime) a |= TIMESTAMP_TYPE_MASK;
  if (opts.transactional) a |= TRANSACTIONAL_MASK;
  if (opts.control) a |= CONTROL_MASK;
  return a;
}

/** Total size of the batch starting at `offset`, or -1 when fewer than 12 bytes are there. */
export function batchSizeAt(buf: Buffer, offset = 0): number {
  if (buf.length - offset < LOG_OVERHEAD) return -1;
  return buf.readInt32BE(offset + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
}

/** Parse the fixed header. Checks only that 61 bytes are there; validation is separate. */
export function readBatchHeader(buf: Buffer, offset = 0): RecordBatchHeader {
  if (buf.length - offset < RECORD_BATCH_HEADER_SIZE) {
    throw new CorruptRecordError(`record batch header truncated: ${buf.length - offset} of 61 bytes`);
  }
  return {
    baseOffset: buf.readBigInt64BE(offset + BASE_OFFSET_OFFSET),
    batchLength: buf.readInt32BE(offset + BATCH_LENGTH_OFFSET),
    partitionLeaderEpoch: buf.readInt32BE(offset + PARTITION_LEADER_EPOCH_OFFSET),
    magic: buf.readInt8(offset + MAGIC_OFFSET),
    crc: buf.readUInt32BE(offset + CRC_OFFSET),
    attributes: buf.readInt16BE(offset + ATTRIBUTES_OFFSET),
    lastOffsetDelta: buf.readInt32BE(offset + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: buf.readBigInt64BE(offset + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: buf.readBigInt64BE(offset + MAX_TIMESTAMP_OFFSET),
    producerId: buf.readBigInt64BE(offset + PRODUCER_ID_OFFSET),
    producerEpoch: buf.readInt16BE(offset + PRODUCER_EPOCH_OFFSET),
    baseSequence: buf.readInt32BE(offset + BASE_SEQUENCE_OFFSET),
    recordCount: buf.readInt32BE(offset + RECORD_COUNT_OFFSET),
  };
}

/** CRC-32C over attributes .. end of the batch occupying buf[offset, offset+size). */
export function computeBatchCrc(buf: Buffer, offset: number, size: number): number {
  return crc32c(buf.subarray(offset + ATTRIBUTES_OFFSET, offset + size)) >>> 0;
}

/**
 * Validate the batch at `offset` as a broker must before appending or after reading from disk:
 * complete, magic 2, sane length and counts, CRC matches. Returns the batch size. Throws
 * CorruptRecordError with a message that says which check failed.
 */
export function validateBatch(buf: Buffer, offset = 0, maxBatchSize = 0x7fffffff): number {
  const avail = buf.length - offset;
  if (avail < RECORD_BATCH_HEADER_SIZE)
    throw new CorruptRecordError(`record batch truncated: ${avail} bytes`);
  const batchLength = buf.readInt32BE(offset + BATCH_LENGTH_OFFSET);
  const size = batchLength + LOG_OVERHEAD;
  if (batchLength < RECORD_BATCH_HEADER_SIZE - LOG_OVERHEAD) {
    throw new CorruptRecordError(`record batch length ${batchLength} is smaller than the header`);
  }
  if (size > maxBatchSize)
    throw new CorruptRecordError(`record batch of ${size} bytes exceeds ${maxBatchSize}`);
  if (size > avail) throw new CorruptRecordError(`record batch truncated: ${avail} of ${size} bytes`);
  const magic = buf.readInt8(offset + MAGIC_OFFSET);
  if (magic !== CURRENT_MAGIC) throw new CorruptRecordError(`unsupported record batch magic ${magic}`);
  const lastOffsetDelta = buf.readInt32BE(offset + LAST_OFFSET_DELTA_OFFSET);
  const count = buf.readInt32BE(offset + RECORD_COUNT_OFFSET);
  if (count < 0 || lastOffsetDelta < 0 || (count > 0 && lastOffsetDelta < count - 1)) {
    throw new CorruptRecordError(
      `record batch has ${count} records but last offset delta ${lastOffsetDelta}`,
    );
  }
  const stored = buf.readUInt32BE(offset + CRC_OFFSET);
  const actual = computeBatchCrc(buf, offset, size);
  if (stored !== actual) {
    throw new CorruptRecordError(
      `record batch CRC mismatch: stored ${stored.toString(16)}, computed ${actual.toString(16)}`,
    );
  }
  return size;
}

/** Stamp fields outside the CRC in place: the log assigns offsets and the leader its epoch. */
export function stampBaseOffset(buf: Buffer, offset: number, baseOffset: bigint): void {
  buf.writeBigInt64BE(baseOffset, offset + BASE_OFFSET_OFFSET);
}
export function stampPartitionLeaderEpoch(buf: Buffer, offset: number, epoch: number): void {
  buf.writeInt32BE(epoch, offset + PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * With LogAppendTime the broker overwrites MaxTimestamp (and sets the attribute bit); those bytes are
 * under the CRC, so the CRC is recomputed — Kafka does the same (LogValidator). Never needed for the
 * CreateTime default.
 */
export function stampLogAppendTime(buf: Buffer, offset: number, timestampMs: bigint): void {
  const size = buf.readInt32BE(offset + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
  const attrs = buf.readInt16BE(offset + ATTRIBUTES_OFFSET) | TIMESTAMP_TYPE_MASK;
  buf.writeInt16BE(attrs, offset + ATTRIBUTES_OFFSET);
  buf.writeBigInt64BE(timestampMs, offset + MAX_TIMESTAMP_OFFSET);
  buf.writeUInt32BE(computeBatchCrc(buf, offset, size), offset + CRC_OFFSET);
}

/** Offset of the last record in the batch: BaseOffset + LastOffsetDelta. */
export function lastOffsetOf(buf: Buffer, offset = 0): bigint {
  return (
    buf.readBigInt64BE(offset + BASE_OFFSET_OFFSET) +
    BigInt(buf.readInt32BE(offset + LAST_OFFSET_DELTA_OFFSET))
  );
}
