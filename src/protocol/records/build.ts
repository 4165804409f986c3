/**
 * Building uncompressed RecordBatch v2 bytes: for the broker's own records (control markers, internal
 * topics) and for tests. Compressed batches are built by the codec layer on top of this (see compression).
 */
import { crc32c } from '@node-rs/crc32';
import { ByteWriter } from '../primitives.js';
import {
  ATTRIBUTES_OFFSET,
  CRC_OFFSET,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  CompressionType,
  TimestampType,
  makeAttributes,
} from './batch-header.js';
import { type RecordInput, writeRecord } from './record.js';

export interface BatchOptions {
  baseOffset?: bigint;
  partitionLeaderEpoch?: number;
  /** Defaults to the first record's timestamp, else now. */
  baseTimestamp?: bigint;
  timestampType?: TimestampType;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
}

/** Encode the records section (uncompressed) and return it with the deltas the header needs. */
export function encodeRecordsSection(
  records: RecordInput[],
  baseTimestamp: bigint,
): { section: Buffer; maxTimestamp: bigint } {
  const w = new ByteWriter(64 * Math.max(1, records.length));
  let maxTimestamp = -1n;
  records.forEach((rec, i) => {
    const ts = rec.timestamp ?? baseTimestamp;
    if (ts > maxTimestamp) maxTimestamp = ts;
    writeRecord(w, rec, i, ts - baseTimestamp);
  });
  return { section: Buffer.from(w.finish()), maxTimestamp };
}

/**
 * Assemble a batch from an already-encoded records section (compressed or not): writes the 61-byte
 * header and computes the CRC-32C over attributes .. end.
 */
export function assembleBatch(
  section: Buffer,
  recordCount: number,
  compression: CompressionType,
  baseTimestamp: bigint,
  maxTimestamp: bigint,
  opts: BatchOptions,
): Buffer {
  const w = new ByteWriter(61 + section.length);
  w.int64(opts.baseOffset ?? 0n);
  const lengthAt = w.reserve(4);
  w.int32(opts.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH);
  w.int8(CURRENT_MAGIC);
  w.reserve(4); // CRC
  w.int16(
    makeAttributes({
      compression,
      timestampType: opts.timestampType,
      transactional: opts.transactional,
      control: opts.control,
    }),
  );
  w.int32(Math.max(0, recordCount - 1));
  w.int64(baseTimestamp);
  w.int64(maxTimestamp);
  w.int64(opts.producerId ?? NO_PRODUCER_ID);
  w.int16(opts.producerEpoch ?? NO_PRODUCER_EPOCH);
  w.int32(opts.baseSequence ?? NO_SEQUENCE);
  w.int32(recordCount);
  w.raw(section);
  const out = Buffer.from(w.finish());
  out.writeInt32BE(out.length - LOG_OVERHEAD, lengthAt);
  out.writeUInt32BE(crc32c(out.subarray(ATTRIBUTES_OFFSET)) >>> 0, CRC_OFFSET);
  return out;
}

function defaultBaseTimestamp(records: RecordInput[], opts: BatchOptions): bigint {
  return opts.baseTimestamp ?? records[0]?.timestamp ?? BigInt(Date.now());
}

/** Build an uncompressed batch. */
export function buildRecordBatch(records: RecordInput[], opts: BatchOptions = {}): Buffer {
  const baseTimestamp = defaultBaseTimestamp(records, opts);
  const { section, maxTimestamp } = encodeRecordsSection(records, baseTimestamp);
  return assembleBatch(section, records.length, CompressionType.None, baseTimestamp, maxTimestamp, opts);
}

export { defaultBaseTimestamp };
