/**
 * Helpers for the log cleaner tests: reading a whole log back record by record (across segments and
 * gaps), the key → value map a reader of a compacted topic builds, and keyed batches.
 */
import { decodeRecordBatch, scanRecordBatches } from '../../src/protocol/records/batch.js';
import { buildRecordBatch } from '../../src/protocol/records/build.js';
import {
  CompressionType,
  readBatchHeader,
  type RecordBatchHeader,
} from '../../src/protocol/records/batch-header.js';
import { encodeRecordBatch } from '../../src/protocol/records/batch.js';
import type { UnifiedLog } from '../../src/storage/unified-log.js';

export interface ReadRecord {
  offset: bigint;
  key: string | null;
  value: string | null;
  timestamp: bigint;
  headers: { key: string; value: string | null }[];
}

export interface ReadBatch {
  header: RecordBatchHeader;
  records: ReadRecord[];
}

/** Every batch from the log start to the log end, decoded (CRC checked), in order. */
export async function readAllBatches(log: UnifiedLog, from = log.logStartOffset): Promise<ReadBatch[]> {
  const out: ReadBatch[] = [];
  let at = from;
  while (at < log.logEndOffset) {
    const data = log.read(at, { maxBytes: 1 << 20, minOneMessage: true });
    if (data.records.length === 0) break;
    const { batches } = scanRecordBatches(data.records);
    if (batches.length === 0) break;
    let next = at;
    for (const span of batches) {
      const header = readBatchHeader(data.records, span.position);
      const last = header.baseOffset + BigInt(header.lastOffsetDelta);
      if (last < at) continue;
      const decoded = await decodeRecordBatch(data.records, span.position);
      out.push({
        header,
        records: decoded.records.map((r) => ({
          offset: r.offset,
          key: r.key === null ? null : r.key.toString(),
          value: r.value === null ? null : r.value.toString(),
          timestamp: r.timestamp,
          headers: r.headers.map((h) => ({
            key: h.key,
            value: h.value === null ? null : h.value.toString(),
          })),
        })),
      });
      next = last + 1n;
    }
    if (next <= at) break;
    at = next;
  }
  return out;
}

export async function readAllRecords(log: UnifiedLog): Promise<ReadRecord[]> {
  return (await readAllBatches(log)).flatMap((b) => b.records);
}

/** What a consumer of a compacted topic ends up with: the last value per key, tombstones delete. */
export function keyValueMap(records: readonly ReadRecord[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const r of records) {
    if (r.key === null) continue;
    if (r.value === null) m.delete(r.key);
    else m.set(r.key, r.value);
  }
  return m;
}

export interface KeyedRecord {
  key: string;
  value: string | null;
  timestamp?: bigint;
}

/** One batch of keyed records (optionally compressed, optionally with producer fields). */
export async function keyedBatch(
  records: KeyedRecord[],
  opts: {
    compression?: CompressionType;
    producerId?: bigint;
    producerEpoch?: number;
    baseSequence?: number;
    timestamp?: bigint;
  } = {},
): Promise<Buffer> {
  const ts = opts.timestamp ?? BigInt(Date.now());
  const input = records.map((r, i) => ({
    key: r.key,
    value: r.value,
    timestamp: r.timestamp ?? ts + BigInt(i),
    headers: [{ key: 'h', value: `${r.key}` }],
  }));
  const producer =
    opts.producerId !== undefined
      ? {
          producerId: opts.producerId,
          producerEpoch: opts.producerEpoch ?? 0,
          baseSequence: opts.baseSequence ?? 0,
        }
      : {};
  if (opts.compression === undefined || opts.compression === CompressionType.None)
    return buildRecordBatch(input, producer);
  return encodeRecordBatch(input, { ...producer, compression: opts.compression });
}
