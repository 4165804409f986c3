/**
 * The records of `__transaction_state`, in Kafka's own layout (transaction-coordinator's
 * TransactionLogKey / TransactionLogValue), so Kafka's tools read Sluice's log and a Kafka log
 * replays in Sluice. One record per change of a transactional id; the last one per key wins (the
 * topic is compacted); a null value is a tombstone (the id expired).
 *
 * Key (version 0, not flexible):
 *   int16 version=0 · string transactionalId (int16 length)
 * Value version 0 (not flexible; written while transaction.version is 0):
 *   int16 version=0 · int64 producerId · int16 producerEpoch · int32 transactionTimeoutMs ·
 *   int8 transactionStatus · [topic string · [int32 partition]] (int32 counts, null when Empty) ·
 *   int64 transactionLastUpdateTimestampMs · int64 transactionStartTimestampMs
 * Value version 1 (flexible, KIP-915; written once transaction.version >= 1):
 *   the same fields with compact strings/arrays (an empty tagged-field section after each topic),
 *   then tagged fields, each only when not at its default:
 *     tag 0 PreviousProducerId int64 (default -1) · tag 1 NextProducerId int64 (-1) ·
 *     tag 2 ClientTransactionVersion int16 (0) · tag 3 NextProducerEpoch int16 (-1)
 * test/broker/txn/transaction-log.test.ts checks these bytes against Kafka 4.4's own classes.
 */
import { ByteReader, ByteWriter, DecodeError } from '../../protocol/primitives.js';
import { STATE_ID, TransactionState, stateFromId } from './transaction-state.js';
import { TopicPartitionSet } from './topic-partitions.js';
import {
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  TransactionMetadata,
  toTransactionVersion,
  type TxnTransitMetadata,
} from './transaction-metadata.js';

export const TRANSACTION_STATE_TOPIC = '__transaction_state';
const KEY_VERSION = 0;
const HIGHEST_VALUE_VERSION = 1;

export function encodeTransactionLogKey(transactionalId: string): Buffer {
  return new ByteWriter(4 + Buffer.byteLength(transactionalId))
    .int16(KEY_VERSION)
    .string(transactionalId)
    .finish();
}

/** The value of a transition, at `version` (0 or 1; see logValueVersion). */
export function encodeTransactionLogValue(t: TxnTransitMetadata, version: 0 | 1): Buffer {
  if (t.txnState === TransactionState.Empty && t.topicPartitions.size !== 0)
    throw new RangeError(`an Empty transaction has no partitions: ${t.topicPartitions.toString()}`);
  const partitions = t.txnState === TransactionState.Empty ? null : t.topicPartitions.byTopic();
  const flexible = version >= 1;
  const w = new ByteWriter(64 + (partitions?.length ?? 0) * 32);
  w.int16(version)
    .int64(t.producerId)
    .int16(t.producerEpoch)
    .int32(t.txnTimeoutMs)
    .int8(STATE_ID[t.txnState]);
  w.arrayLength(partitions === null ? null : partitions.length, flexible);
  for (const p of partitions ?? []) {
    if (flexible) w.compactString(p.topic);
    else w.string(p.topic);
    w.arrayLength(p.partitions.length, flexible);
    for (const id of p.partitions) w.int32(id);
    if (flexible) w.unsignedVarint(0);
  }
  w.int64(BigInt(t.txnLastUpdateTimestamp)).int64(BigInt(t.txnStartTimestamp));
  if (flexible) {
    const tagged: [number, Buffer][] = [];
    if (t.prevProducerId !== NO_PRODUCER_ID)
      tagged.push([0, new ByteWriter(8).int64(t.prevProducerId).finish()]);
    if (t.nextProducerId !== NO_PRODUCER_ID)
      tagged.push([1, new ByteWriter(8).int64(t.nextProducerId).finish()]);
    if (t.clientTransactionVersion !== 0)
      tagged.push([2, new ByteWriter(2).int16(t.clientTransactionVersion).finish()]);
    // tag 3, NextProducerEpoch, is for KIP-939 two-phase commit, which Sluice does not offer: always -1.
    w.unsignedVarint(tagged.length);
    for (const [tag, data] of tagged) w.taggedField(tag, data);
  }
  return Buffer.from(w.finish());
}

export type TransactionLogRecord =
  | { kind: 'metadata'; transactionalId: string; metadata: TransactionMetadata }
  | { kind: 'tombstone'; transactionalId: string }
  | { kind: 'unknown-key'; version: number }
  | { kind: 'unknown-value'; transactionalId: string; version: number };

/** One record of the log: the transactional id and what it says (a fresh, settled metadata). */
export function decodeTransactionLogRecord(key: Buffer, value: Buffer | null): TransactionLogRecord {
  const kr = new ByteReader(key);
  const keyVersion = kr.int16();
  if (keyVersion !== KEY_VERSION) return { kind: 'unknown-key', version: keyVersion };
  const transactionalId = kr.string();
  if (value === null) return { kind: 'tombstone', transactionalId };
  const r = new ByteReader(value);
  const version = r.int16();
  if (version < 0 || version > HIGHEST_VALUE_VERSION)
    return { kind: 'unknown-value', transactionalId, version };
  const flexible = version >= 1;
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const txnTimeoutMs = r.int32();
  const state = stateFromId(r.int8());
  const topicPartitions = new TopicPartitionSet();
  const n = r.arrayLength(flexible);
  for (let i = 0; i < (n ?? 0); i++) {
    const topic = flexible ? r.compactString() : r.string();
    const m = r.arrayLength(flexible);
    if (m === null) throw new DecodeError('TransactionLogValue: null partition list');
    for (let j = 0; j < m; j++) topicPartitions.add(topic, r.int32());
    if (flexible) skipTaggedFields(r);
  }
  const txnLastUpdateTimestamp = Number(r.int64());
  const txnStartTimestamp = Number(r.int64());
  let prevProducerId = NO_PRODUCER_ID;
  let nextProducerId = NO_PRODUCER_ID;
  let clientTransactionVersion = 0;
  if (flexible) {
    const count = r.unsignedVarint();
    for (let i = 0; i < count; i++) {
      const tag = r.unsignedVarint();
      const size = r.unsignedVarint();
      const data = new ByteReader(r.raw(size));
      if (tag === 0) prevProducerId = data.int64();
      else if (tag === 1) nextProducerId = data.int64();
      else if (tag === 2) clientTransactionVersion = data.int16();
    }
  }
  const metadata = new TransactionMetadata({
    transactionalId,
    producerId,
    prevProducerId,
    nextProducerId,
    producerEpoch,
    lastProducerEpoch: NO_PRODUCER_EPOCH,
    txnTimeoutMs,
    state,
    // An Empty id has no partitions, whatever the record holds.
    topicPartitions: state === TransactionState.Empty ? [] : topicPartitions,
    txnStartTimestamp,
    txnLastUpdateTimestamp,
    clientTransactionVersion: toTransactionVersion(clientTransactionVersion),
  });
  return { kind: 'metadata', transactionalId, metadata };
}

function skipTaggedFields(r: ByteReader): void {
  const count = r.unsignedVarint();
  for (let i = 0; i < count; i++) {
    r.unsignedVarint();
    r.skip(r.unsignedVarint());
  }
}
