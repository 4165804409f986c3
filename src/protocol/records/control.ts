/**
 * Control records: the transaction markers a coordinator asks partition leaders to append
 * (WriteTxnMarkers), in batches with the control and transactional attributes set.
 *
 *   key    Version int16 (0), Type int16           (ControlRecordType: ABORT = 0, COMMIT = 1)
 *   value  Version int16 (0), CoordinatorEpoch int32 (EndTransactionMarker)
 *
 * One marker per batch, with the producer id and epoch of the transaction it ends. Types above
 * COMMIT are KRaft's own (leader change, snapshots, voters); they are decoded as their number.
 */
import { ByteReader, ByteWriter, DecodeError } from '../primitives.js';
import { type BatchOptions, buildRecordBatch } from './build.js';
import { InvalidRecordError } from './errors.js';
import type { Record } from './record.js';

export enum ControlRecordType {
  Abort = 0,
  Commit = 1,
  LeaderChange = 2,
  SnapshotHeader = 3,
  SnapshotFooter = 4,
  KRaftVersion = 5,
  KRaftVoters = 6,
}

export const CONTROL_RECORD_KEY_VERSION = 0;
export const END_TXN_MARKER_VERSION = 0;

export interface ControlRecordKey {
  version: number;
  type: number;
}

export interface EndTxnMarker {
  version: number;
  coordinatorEpoch: number;
}

export function encodeControlRecordKey(type: ControlRecordType): Buffer {
  return Buffer.from(new ByteWriter(4).int16(CONTROL_RECORD_KEY_VERSION).int16(type).finish());
}

export function encodeEndTxnMarker(coordinatorEpoch: number): Buffer {
  return Buffer.from(new ByteWriter(6).int16(END_TXN_MARKER_VERSION).int32(coordinatorEpoch).finish());
}

/**
 * Parse a control record key. Like Kafka's ControlRecordType.parse, a newer key version is read for
 * its type (fields may only be appended); a key shorter than 4 bytes or a negative version is invalid.
 */
export function parseControlRecordKey(key: Buffer | null): ControlRecordKey {
  if (key === null || key.length < 4) {
    throw new InvalidRecordError(
      'INVALID_RECORD',
      `control record key must be at least 4 bytes, got ${key?.length ?? 'null'}`,
    );
  }
  const r = new ByteReader(key);
  const version = r.int16();
  if (version < 0)
    throw new InvalidRecordError('INVALID_RECORD', `control record key version ${version} is negative`);
  return { version, type: r.int16() };
}

/** Parse the value of an ABORT/COMMIT record (EndTransactionMarker). */
export function parseEndTxnMarker(value: Buffer | null): EndTxnMarker {
  if (value === null)
    throw new InvalidRecordError('INVALID_RECORD', 'end transaction marker has a null value');
  try {
    const r = new ByteReader(value);
    const version = r.int16();
    if (version < 0)
      throw new InvalidRecordError('INVALID_RECORD', `end transaction marker version ${version} is negative`);
    return { version, coordinatorEpoch: r.int32() };
  } catch (err) {
    if (err instanceof DecodeError) {
      throw new InvalidRecordError('INVALID_RECORD', `end transaction marker: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
}

export interface ControlBatchOptions extends Omit<
  BatchOptions,
  'control' | 'transactional' | 'producerId' | 'producerEpoch'
> {
  producerId: bigint;
  producerEpoch: number;
  coordinatorEpoch: number;
  /** Marker timestamp (ms); defaults to now. */
  timestamp?: bigint;
}

/** Build a control batch holding one COMMIT or ABORT marker (what WriteTxnMarkers appends). */
export function buildControlBatch(
  type: ControlRecordType.Abort | ControlRecordType.Commit,
  opts: ControlBatchOptions,
): Buffer {
  const timestamp = opts.timestamp ?? BigInt(Date.now());
  return buildRecordBatch(
    [{ key: encodeControlRecordKey(type), value: encodeEndTxnMarker(opts.coordinatorEpoch), timestamp }],
    { ...opts, baseTimestamp: opts.baseTimestamp ?? timestamp, control: true, transactional: true },
  );
}

/** A decoded transaction marker: which way the transaction ended, and the coordinator's epoch. */
export function parseTxnMarker(record: Record): {
  type: ControlRecordType.Abort | ControlRecordType.Commit;
  coordinatorEpoch: number;
} {
  const { type } = parseControlRecordKey(record.key);
  if (type !== ControlRecordType.Abort && type !== ControlRecordType.Commit) {
    throw new InvalidRecordError('INVALID_RECORD', `control record type ${type} is not a transaction marker`);
  }
  return { type, coordinatorEpoch: parseEndTxnMarker(record.value).coordinatorEpoch };
}
