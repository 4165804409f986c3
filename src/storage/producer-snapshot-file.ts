/**
 * Producer-state snapshot files, `<20-digit offset>.snapshot` in a partition directory, in Kafka's
 * binary format (ProducerStateManager.writeSnapshot / readSnapshot, schema ProducerSnapshot.json v1,
 * a non-flexible message prefixed by its version), so `kafka-dump-log.sh --files X.snapshot` reads
 * them:
 *
 *   0   2  version (int16) = 1
 *   2   4  CRC-32C (uint32) of every byte from offset 6 to the end
 *   6   4  entry count (int32)
 *   10  46 per entry:
 *            ProducerId int64, Epoch int16, LastSequence int32, LastOffset int64, OffsetDelta int32,
 *            Timestamp int64, CoordinatorEpoch int32, CurrentTxnFirstOffset int64 (-1: none)
 *
 * An entry holds only the producer's last batch (LastSequence, LastOffset and OffsetDelta = last −
 * first offset, which equals last − first sequence), or LastOffset -1 when it has none; Timestamp is
 * that batch's max timestamp. Sans-I/O encode/decode plus an atomic file write.
 */
import { crc32c } from '@node-rs/crc32';
import { readFileSync } from 'node:fs';
import { writeFileAtomically } from './checkpoint-file.js';

export const PRODUCER_SNAPSHOT_FILE_SUFFIX = '.snapshot';
export const PRODUCER_SNAPSHOT_VERSION = 1;
const CRC_OFFSET = 2;
const ENTRIES_OFFSET = 6;
const ENTRY_SIZE = 46;

export class CorruptSnapshotError extends Error {
  override readonly name = 'CorruptSnapshotError';
}

/** One ProducerEntry of the file, field for field. */
export interface ProducerSnapshotEntry {
  producerId: bigint;
  epoch: number;
  /** -1 (NO_SEQUENCE) when the producer has no batch. */
  lastSequence: number;
  /** -1 when the producer has no batch. */
  lastOffset: bigint;
  offsetDelta: number;
  timestamp: bigint;
  /** -1 when no transaction marker was written. */
  coordinatorEpoch: number;
  /** -1 when no transaction is ongoing. */
  currentTxnFirstOffset: bigint;
}

export function encodeProducerSnapshot(entries: readonly ProducerSnapshotEntry[]): Buffer {
  const buf = Buffer.alloc(ENTRIES_OFFSET + 4 + entries.length * ENTRY_SIZE);
  buf.writeInt16BE(PRODUCER_SNAPSHOT_VERSION, 0);
  buf.writeInt32BE(entries.length, ENTRIES_OFFSET);
  let at = ENTRIES_OFFSET + 4;
  for (const e of entries) {
    at = buf.writeBigInt64BE(e.producerId, at);
    at = buf.writeInt16BE(e.epoch, at);
    at = buf.writeInt32BE(e.lastSequence, at);
    at = buf.writeBigInt64BE(e.lastOffset, at);
    at = buf.writeInt32BE(e.offsetDelta, at);
    at = buf.writeBigInt64BE(e.timestamp, at);
    at = buf.writeInt32BE(e.coordinatorEpoch, at);
    at = buf.writeBigInt64BE(e.currentTxnFirstOffset, at);
  }
  buf.writeUInt32BE(crc32c(buf.subarray(ENTRIES_OFFSET)) >>> 0, CRC_OFFSET);
  return buf;
}

/** Decode and check a snapshot; CorruptSnapshotError on an unknown version, bad size or bad CRC. */
export function decodeProducerSnapshot(buf: Buffer): ProducerSnapshotEntry[] {
  if (buf.length < ENTRIES_OFFSET + 4) throw new CorruptSnapshotError(`snapshot of ${buf.length} bytes`);
  const version = buf.readInt16BE(0);
  if (version !== PRODUCER_SNAPSHOT_VERSION)
    throw new CorruptSnapshotError(`snapshot contained an unknown file version ${version}`);
  const count = buf.readInt32BE(ENTRIES_OFFSET);
  if (count < 0 || buf.length !== ENTRIES_OFFSET + 4 + count * ENTRY_SIZE)
    throw new CorruptSnapshotError(`snapshot of ${buf.length} bytes cannot hold ${count} entries`);
  const stored = buf.readUInt32BE(CRC_OFFSET);
  const computed = crc32c(buf.subarray(ENTRIES_OFFSET)) >>> 0;
  if (stored !== computed)
    throw new CorruptSnapshotError(`snapshot is corrupt: stored crc ${stored}, computed crc ${computed}`);
  const out: ProducerSnapshotEntry[] = [];
  let at = ENTRIES_OFFSET + 4;
  for (let i = 0; i < count; i++, at += ENTRY_SIZE) {
    out.push({
      producerId: buf.readBigInt64BE(at),
      epoch: buf.readInt16BE(at + 8),
      lastSequence: buf.readInt32BE(at + 10),
      lastOffset: buf.readBigInt64BE(at + 14),
      offsetDelta: buf.readInt32BE(at + 22),
      timestamp: buf.readBigInt64BE(at + 26),
      coordinatorEpoch: buf.readInt32BE(at + 34),
      currentTxnFirstOffset: buf.readBigInt64BE(at + 38),
    });
  }
  return out;
}

/** Write a snapshot file atomically (temporary file, fsync, rename). */
export function writeProducerSnapshotFile(path: string, entries: readonly ProducerSnapshotEntry[]): void {
  writeFileAtomically(path, encodeProducerSnapshot(entries), { syncDir: false });
}

export function readProducerSnapshotFile(path: string): ProducerSnapshotEntry[] {
  return decodeProducerSnapshot(readFileSync(path));
}
