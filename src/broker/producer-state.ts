/**
 * ProducerStateManager: per partition, what each idempotent or transactional producer last wrote,
 * and which transactions are open (Kafka's ProducerStateManager, ProducerAppendInfo and
 * ProducerStateEntry).
 *
 * For each producer id: its epoch, the metadata of its last 5 batches (Kafka's
 * NUM_BATCHES_TO_RETAIN, matching max.in.flight.requests.per.connection <= 5), the epoch of the
 * transaction coordinator that wrote its last marker, and the first offset of its open transaction.
 *
 * A data batch from a leader's client (Produce) is checked in Kafka's order:
 *   - same epoch and sequence range as a cached batch       → duplicate: answered with its offsets
 *   - transactional, no open transaction at this epoch:
 *       epoch older than known                             → INVALID_PRODUCER_EPOCH
 *       verification on and the partition not verified      → INVALID_TXN_STATE (KIP-890)
 *   - epoch older than known                                → INVALID_PRODUCER_EPOCH (fenced)
 *   - sequences (clients only): TV2 with no state must start at 0; not past the lowest sequence
 *     seen when verification started; a new epoch starts at 0; else last + 1; a producer whose
 *     state is gone (epoch unknown) may start anywhere (KIP-360)  → OUT_OF_ORDER_SEQUENCE_NUMBER
 *   - a plain batch while the producer's transaction is open → INVALID_TXN_STATE
 * A transactional batch with no open transaction starts one at its first offset. The group
 * coordinator's transactional offset commits ("coordinator" origin) get the epoch and transaction
 * checks but no sequence checks; replicated and replayed batches ("replication") get none.
 *
 * A marker (control batch, COMMIT or ABORT) from the coordinator: an epoch older than known →
 * INVALID_PRODUCER_EPOCH (transaction version 0/1: the marker carries the transaction's epoch or,
 * under TV2, the bumped one, both at least the known one); a coordinator epoch older than the last
 * marker's → TRANSACTION_COORDINATOR_FENCED. It ends the producer's open transaction (a
 * CompletedTxn when there was one) and records the coordinator epoch.
 *
 * The last stable offset comes from here: the first unstable offset is the smallest first offset of
 * the open transactions and of the completed ones whose marker is not yet below the high watermark
 * (`unreplicated`); the partition bounds it by the high watermark.
 *
 * KIP-890 verification state: when a transactional batch arrives for a producer with no open
 * transaction, the leader asks the transaction coordinator first; `maybeStartVerification` creates
 * a guard (an object compared by identity) that the append must present. Any transactional append
 * of that producer (data or marker) clears it, so a stale verification cannot open a transaction
 * after an abort (Kafka's VerificationGuard, the ABA problem).
 *
 * State survives restarts through snapshots: `<20-digit offset>.snapshot` files in Kafka's binary
 * format (src/storage/producer-snapshot-file.ts; `kafka-dump-log.sh` reads them) written at clean
 * shutdown and periodically, with each producer's coordinator epoch and open transaction; on load
 * the batches after the snapshot are replayed (the partition does that). Like Kafka's, a snapshot
 * keeps each producer's last batch only. Snapshots written by earlier Sluice versions (JSON, see
 * LegacyJsonSnapshot) are still read, and rewritten in Kafka's format the first time they are loaded.
 */
import { existsSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ProducerSnapshotEntry,
  decodeProducerSnapshot,
  writeProducerSnapshotFile,
} from '../storage/producer-snapshot-file.js';

export const NUM_BATCHES_TO_RETAIN = 5;
const NO_EPOCH = -1;
const NO_SEQUENCE = -1;

export interface BatchMetadata {
  firstSeq: number;
  lastSeq: number;
  firstOffset: bigint;
  lastOffset: bigint;
  timestamp: bigint;
}

export interface ProducerEntry {
  producerId: bigint;
  epoch: number;
  /** Oldest first, at most NUM_BATCHES_TO_RETAIN. */
  batches: BatchMetadata[];
  /** Max timestamp of the last batch (or the last marker's timestamp), ms: Kafka's lastTimestamp. */
  lastTimestamp: number;
  /** Epoch of the transaction coordinator that wrote this producer's last marker; -1 when none. */
  coordinatorEpoch: number;
  /** First offset of the producer's ongoing transaction; null when none. */
  currentTxnFirstOffset: bigint | null;
}

/** Who appends: a client (Produce), the group coordinator (transactional offsets, markers), a replica. */
export type AppendOrigin = 'client' | 'coordinator' | 'replication';

export type ProducerErrorName =
  | 'INVALID_PRODUCER_EPOCH'
  | 'OUT_OF_ORDER_SEQUENCE_NUMBER'
  | 'INVALID_TXN_STATE'
  | 'TRANSACTION_COORDINATOR_FENCED';

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; batch: BatchMetadata }
  | { kind: 'error'; errorName: ProducerErrorName; message: string };

/** A data batch as the producer state sees it (from its header). */
export interface DataBatch {
  producerId: bigint;
  epoch: number;
  /** -1 for coordinator batches (transactional offset commits carry no sequence). */
  firstSeq: number;
  lastSeq: number;
  transactional: boolean;
  maxTimestamp: bigint;
}

/** A transaction ended by a marker (Kafka's CompletedTxn). */
export interface CompletedTxn {
  producerId: bigint;
  firstOffset: bigint;
  /** The marker's offset. */
  lastOffset: bigint;
  isAborted: boolean;
}

/** An open or just-completed transaction (Kafka's TxnMetadata). */
interface TxnMetadata {
  producerId: bigint;
  firstOffset: bigint;
  /** The marker's offset once completed. */
  lastOffset: bigint | null;
}

/** A started transaction verification (Kafka's VerificationStateEntry); `guard` is compared by identity. */
export interface VerificationState {
  readonly guard: object;
  epoch: number;
  lowestSequence: number;
  supportsEpochBump: boolean;
  readonly createdMs: number;
}

/** Sequence numbers wrap at Int32.MAX_VALUE to 0. */
function nextSeq(seq: number, by = 1): number {
  const n = seq + by;
  return n > 0x7fffffff ? n - 0x80000000 : n;
}

function inSequence(lastSeq: number, nextSeqNo: number): boolean {
  return nextSeqNo === lastSeq + 1 || (nextSeqNo === 0 && lastSeq === 0x7fffffff);
}

/** Snapshots as Sluice wrote them before it used Kafka's format: JSON, all retained batches. */
interface LegacyJsonSnapshot {
  /** 1; anything else is a file this code does not know. */
  version: number;
  offset: string;
  producers: {
    producerId: string;
    epoch: number;
    lastTimestamp: number;
    batches: {
      firstSeq: number;
      lastSeq: number;
      firstOffset: string;
      lastOffset: string;
      timestamp: string;
    }[];
  }[];
}

export class ProducerStateManager {
  readonly #producers = new Map<bigint, ProducerEntry>();
  /** Open transactions by first offset. */
  readonly #ongoing = new Map<bigint, TxnMetadata>();
  /** Completed transactions whose marker is not below the high watermark yet, by first offset. */
  readonly #unreplicated = new Map<bigint, TxnMetadata>();
  readonly #verifications = new Map<bigint, VerificationState>();
  readonly #dir: string;
  /** `<topic>-<partition>`, for messages. */
  readonly #name: string;

  constructor(dir: string, name = dir) {
    this.#dir = dir;
    this.#name = name;
  }

  get producerCount(): number {
    return this.#producers.size;
  }

  entry(producerId: bigint): ProducerEntry | undefined {
    return this.#producers.get(producerId);
  }

  /** Every producer this partition knows (DescribeProducers). */
  activeProducers(): IterableIterator<ProducerEntry> {
    return this.#producers.values();
  }

  /** Transactions open now. */
  get ongoingTransactionCount(): number {
    return this.#ongoing.size;
  }

  /** Does the producer have a transaction open at this epoch? (Kafka's hasOngoingTransaction) */
  hasOngoingTransaction(producerId: bigint, epoch: number): boolean {
    const e = this.#producers.get(producerId);
    return e !== undefined && e.currentTxnFirstOffset !== null && e.epoch === epoch;
  }

  // ---- the last stable offset ----

  /** Smallest first offset among open transactions (Kafka's firstUndecidedOffset); null when none. */
  firstUndecidedOffset(): bigint | null {
    let min: bigint | null = null;
    for (const k of this.#ongoing.keys()) if (min === null || k < min) min = k;
    return min;
  }

  /**
   * Smallest first offset among open transactions and completed ones whose marker the high
   * watermark has not passed (Kafka's firstUnstableOffset); null when there is none.
   */
  firstUnstableOffset(): bigint | null {
    let min = this.firstUndecidedOffset();
    for (const k of this.#unreplicated.keys()) if (min === null || k < min) min = k;
    return min;
  }

  /** The high watermark moved: completed transactions whose marker is below it are stable. */
  onHighWatermarkUpdated(highWatermark: bigint): void {
    for (const [k, t] of this.#unreplicated)
      if (t.lastOffset !== null && t.lastOffset < highWatermark) this.#unreplicated.delete(k);
  }

  /** The log start moved past completed transactions: forget them. */
  onLogStartOffsetIncremented(logStartOffset: bigint): void {
    this.onHighWatermarkUpdated(logStartOffset);
  }

  /**
   * The LSO to index with an abort (Kafka's lastStableOffset(CompletedTxn)): the first offset of the
   * first open transaction of another producer, else the offset after the marker.
   */
  lastStableOffset(completed: CompletedTxn): bigint {
    let min: bigint | null = null;
    for (const t of this.#ongoing.values())
      if (t.producerId !== completed.producerId && (min === null || t.firstOffset < min)) min = t.firstOffset;
    return min ?? completed.lastOffset + 1n;
  }

  /** Move a transaction from open to completed-but-unreplicated (Kafka's completeTxn). */
  completeTxn(completed: CompletedTxn): void {
    const t = this.#ongoing.get(completed.firstOffset);
    if (!t) return; // replay of a marker whose transaction began before what this state knows
    this.#ongoing.delete(completed.firstOffset);
    t.lastOffset = completed.lastOffset;
    this.#unreplicated.set(completed.firstOffset, t);
  }

  // ---- KIP-890 verification ----

  /**
   * A transactional append needs verification unless the producer's transaction is already open
   * at this epoch (then null: nothing to verify). Otherwise the producer's verification state is
   * created or reused, and its guard returned. Throws nothing; an older epoch is the caller's to
   * refuse (`epochOlderThanKnown`).
   */
  maybeStartVerification(
    producerId: bigint,
    sequence: number,
    epoch: number,
    supportsEpochBump: boolean,
    now = Date.now(),
  ): VerificationState | null {
    if (this.hasOngoingTransaction(producerId, epoch)) return null;
    let v = this.#verifications.get(producerId);
    if (!v) {
      v = { guard: {}, epoch, lowestSequence: sequence, supportsEpochBump, createdMs: now };
      this.#verifications.set(producerId, v);
    } else if (epoch > v.epoch) {
      v.epoch = epoch;
      v.lowestSequence = sequence;
      v.supportsEpochBump = supportsEpochBump;
    } else if (epoch === v.epoch && sequence < v.lowestSequence) {
      v.lowestSequence = sequence;
    }
    return v;
  }

  /** The producer's current verification state (its guard is what an append must present). */
  verification(producerId: bigint): VerificationState | undefined {
    return this.#verifications.get(producerId);
  }

  /** The epoch this partition knows for a producer is newer than `epoch`. */
  epochOlderThanKnown(producerId: bigint, epoch: number): number | null {
    const e = this.#producers.get(producerId);
    return e && epoch < e.epoch ? e.epoch : null;
  }

  // ---- data batches ----

  /**
   * Decide what to do with a data batch of a producer (producerId >= 0), before it is appended.
   * `verification`: whether KIP-890 verification is on, and the guard the request carries (null:
   * none was started for it).
   */
  checkDataBatch(
    b: DataBatch,
    origin: AppendOrigin,
    offset: bigint,
    verification: { enabled: boolean; guard: object | null } = { enabled: false, guard: null },
  ): SequenceCheck {
    const e = this.#producers.get(b.producerId);
    const err = (errorName: ProducerErrorName, message: string): SequenceCheck => ({
      kind: 'error',
      errorName,
      message,
    });
    if (origin === 'replication') return { kind: 'append' };
    if (origin === 'client' && e && e.epoch === b.epoch) {
      const dup = e.batches.find((x) => x.firstSeq === b.firstSeq && x.lastSeq === b.lastSeq);
      if (dup) return { kind: 'duplicate', batch: dup };
    }
    if (b.transactional && !this.hasOngoingTransaction(b.producerId, b.epoch)) {
      if (e && b.epoch < e.epoch)
        return err(
          'INVALID_PRODUCER_EPOCH',
          `Epoch of producer ${b.producerId} is ${b.epoch}, which is smaller than the last seen epoch ${e.epoch}`,
        );
      if (verification.enabled) {
        const v = this.#verifications.get(b.producerId);
        if (!v || verification.guard === null || v.guard !== verification.guard)
          return err('INVALID_TXN_STATE', 'Record was not part of an ongoing transaction');
      }
    }
    const currentEpoch = e?.epoch ?? NO_EPOCH;
    if (b.epoch < currentEpoch)
      return err(
        'INVALID_PRODUCER_EPOCH',
        `Epoch of producer ${b.producerId} at offset ${offset} in ${this.#name} is ${b.epoch}, which is smaller than the last seen epoch ${currentEpoch}`,
      );
    if (origin === 'client') {
      const seqErr = this.#checkSequence(b, e, offset);
      if (seqErr) return err('OUT_OF_ORDER_SEQUENCE_NUMBER', seqErr);
    }
    if (e?.currentTxnFirstOffset != null && !b.transactional)
      return err(
        'INVALID_TXN_STATE',
        `Expected transactional write from producer ${b.producerId} at offset ${offset} in partition ${this.#name}`,
      );
    return { kind: 'append' };
  }

  /** Kafka's ProducerAppendInfo.checkSequence; the message when out of order, else null. */
  #checkSequence(b: DataBatch, e: ProducerEntry | undefined, offset: bigint): string | null {
    const v = this.#verifications.get(b.producerId);
    const empty = !e || e.batches.length === 0;
    if (v?.supportsEpochBump && b.firstSeq !== 0 && empty)
      return `Invalid sequence number for producer ${b.producerId} at offset ${offset} in partition ${this.#name}: ${b.firstSeq} (incoming seq. number). Expected sequence 0 for transactions v2 idempotent producer with no existing state.`;
    if (v && b.firstSeq > v.lowestSequence)
      return `Out of order sequence number for producer ${b.producerId} at offset ${offset} in partition ${this.#name}: ${b.firstSeq} (incoming seq. number), ${v.lowestSequence} (earliest seen sequence)`;
    const currentEpoch = e?.epoch ?? NO_EPOCH;
    if (b.epoch !== currentEpoch) {
      if (b.firstSeq !== 0 && currentEpoch !== NO_EPOCH)
        return `Invalid sequence number for new epoch of producer ${b.producerId} at offset ${offset} in partition ${this.#name}: ${b.epoch} (request epoch), ${b.firstSeq} (seq. number), ${currentEpoch} (current producer epoch)`;
      return null;
    }
    const last = e?.batches[e.batches.length - 1];
    const currentLastSeq = last ? last.lastSeq : NO_SEQUENCE;
    if (currentEpoch === NO_EPOCH || inSequence(currentLastSeq, b.firstSeq)) return null;
    return `Out of order sequence number for producer ${b.producerId} at offset ${offset} in partition ${this.#name}: ${b.firstSeq} (incoming seq. number), ${currentLastSeq} (current end sequence number)`;
  }

  /**
   * Record an appended data batch (leader append, follower append, replay). A transactional batch
   * with no open transaction opens one at `firstOffset`. A batch of an epoch older than known
   * (only possible in replay) does not roll the epoch back.
   */
  applyDataBatch(b: DataBatch, firstOffset: bigint, lastOffset: bigint): void {
    let e = this.#producers.get(b.producerId);
    if (!e) {
      e = {
        producerId: b.producerId,
        epoch: NO_EPOCH,
        batches: [],
        lastTimestamp: -1,
        coordinatorEpoch: -1,
        currentTxnFirstOffset: null,
      };
      this.#producers.set(b.producerId, e);
    }
    if (b.epoch < e.epoch) return;
    if (b.epoch !== e.epoch) {
      e.epoch = b.epoch;
      e.batches = [];
    }
    e.batches.push({
      firstSeq: b.firstSeq,
      lastSeq: b.lastSeq,
      firstOffset,
      lastOffset,
      timestamp: b.maxTimestamp,
    });
    if (e.batches.length > NUM_BATCHES_TO_RETAIN) e.batches.shift();
    e.lastTimestamp = Number(b.maxTimestamp);
    if (b.transactional) {
      if (e.currentTxnFirstOffset === null) {
        e.currentTxnFirstOffset = firstOffset;
        this.#ongoing.set(firstOffset, { producerId: b.producerId, firstOffset, lastOffset: null });
      }
      this.#verifications.delete(b.producerId);
    }
  }

  // ---- markers ----

  /** Check a COMMIT/ABORT marker before it is appended; null when it may be. */
  checkMarker(
    producerId: bigint,
    epoch: number,
    coordinatorEpoch: number,
    offset: bigint,
  ): { errorName: ProducerErrorName; message: string } | null {
    const e = this.#producers.get(producerId);
    const current = e?.epoch ?? NO_EPOCH;
    if (epoch < current)
      return {
        errorName: 'INVALID_PRODUCER_EPOCH',
        message: `Epoch of producer ${producerId} at offset ${offset} in ${this.#name} is ${epoch}, which is < the last seen epoch ${current} (TV0)`,
      };
    if (e && e.coordinatorEpoch > coordinatorEpoch)
      return {
        errorName: 'TRANSACTION_COORDINATOR_FENCED',
        message: `Invalid coordinator epoch for producerId ${producerId} at offset ${offset} in partition ${this.#name}: ${coordinatorEpoch} (zombie), ${e.coordinatorEpoch} (current)`,
      };
    return null;
  }

  /**
   * Record an appended marker: the producer's open transaction ends (returned when there was one,
   * for the transaction index and the LSO; the caller then calls `completeTxn`), its coordinator
   * epoch is the marker's. Under TV2 the marker's epoch is the bumped one: the producer's batches
   * are forgotten and its next transaction starts at sequence 0.
   */
  applyMarker(
    producerId: bigint,
    epoch: number,
    coordinatorEpoch: number,
    isAbort: boolean,
    offset: bigint,
    timestamp: bigint,
  ): CompletedTxn | null {
    let e = this.#producers.get(producerId);
    if (!e) {
      e = {
        producerId,
        epoch: NO_EPOCH,
        batches: [],
        lastTimestamp: -1,
        coordinatorEpoch: -1,
        currentTxnFirstOffset: null,
      };
      this.#producers.set(producerId, e);
    }
    const completed: CompletedTxn | null =
      e.currentTxnFirstOffset !== null
        ? { producerId, firstOffset: e.currentTxnFirstOffset, lastOffset: offset, isAborted: isAbort }
        : null;
    if (epoch > e.epoch) {
      e.epoch = epoch;
      e.batches = [];
    }
    e.coordinatorEpoch = coordinatorEpoch;
    e.currentTxnFirstOffset = null;
    e.lastTimestamp = Number(timestamp);
    // KIP-890: a verification for the producer's next transaction (TV2, same bumped epoch) survives
    // the previous transaction's marker; anything else is stale now.
    const v = this.#verifications.get(producerId);
    if (!(v && v.supportsEpochBump && v.epoch === epoch)) this.#verifications.delete(producerId);
    return completed;
  }

  // ---- the idempotent-producer API of earlier versions (tests and tools use it) ----

  /** Decide what to do with a non-transactional batch from a client (producerId >= 0). */
  check(producerId: bigint, epoch: number, firstSeq: number, recordCount: number): SequenceCheck {
    return this.checkDataBatch(
      {
        producerId,
        epoch,
        firstSeq,
        lastSeq: nextSeq(firstSeq, recordCount - 1),
        transactional: false,
        maxTimestamp: -1n,
      },
      'client',
      -1n,
    );
  }

  /** Record an appended non-transactional batch (a log replay). */
  update(
    producerId: bigint,
    epoch: number,
    firstSeq: number,
    lastSeq: number,
    firstOffset: bigint,
    lastOffset: bigint,
    timestamp: bigint,
  ): void {
    this.applyDataBatch(
      { producerId, epoch, firstSeq, lastSeq, transactional: false, maxTimestamp: timestamp },
      firstOffset,
      lastOffset,
    );
  }

  /**
   * Each producer's last record, for the log cleaner (Kafka's lastRecordsOfActiveProducers): the
   * last offset of its last data batch (null when it has none, e.g. only a transaction marker) and
   * its epoch. The cleaner keeps the batch ending there so the producer's sequence survives.
   */
  lastRecordsOfActiveProducers(): {
    producerId: bigint;
    lastDataOffset: bigint | null;
    producerEpoch: number;
  }[] {
    return [...this.#producers.values()].map((e) => ({
      producerId: e.producerId,
      lastDataOffset: e.batches.length > 0 ? e.batches[e.batches.length - 1]!.lastOffset : null,
      producerEpoch: e.epoch,
    }));
  }

  /** Forget state at or past `offset` (log truncation): producers are rebuilt by replay after it. */
  truncateAndReload(offset: bigint): void {
    for (const [pid, e] of this.#producers) {
      e.batches = e.batches.filter((b) => b.lastOffset < offset);
      if (e.batches.length === 0) this.#producers.delete(pid);
    }
    this.#clearTransactions();
  }

  #clearTransactions(): void {
    this.#ongoing.clear();
    this.#unreplicated.clear();
    this.#verifications.clear();
  }

  /**
   * Drop producers idle longer than producer.id.expiration.ms (by their last batch's timestamp, as
   * Kafka); a producer with an open transaction stays.
   */
  removeExpired(now: number, expirationMs: number): number {
    let n = 0;
    for (const [pid, e] of this.#producers) {
      if (e.currentTxnFirstOffset === null && now - e.lastTimestamp >= expirationMs) {
        this.#producers.delete(pid);
        n++;
      }
    }
    for (const [pid, v] of this.#verifications)
      if (now - v.createdMs >= expirationMs) this.#verifications.delete(pid);
    return n;
  }

  // ---- snapshots ----

  static snapshotName(offset: bigint): string {
    return `${offset.toString().padStart(20, '0')}.snapshot`;
  }

  /** Offsets of the snapshot files in the partition directory, ascending. */
  snapshotOffsets(): bigint[] {
    if (!existsSync(this.#dir)) return [];
    return readdirSync(this.#dir)
      .filter((f) => /^\d{20}\.snapshot$/.test(f))
      .map((f) => BigInt(f.slice(0, 20)))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * Write a snapshot of the state as of `offset` (the log end) in Kafka's format, keeping the two
   * newest. Each producer's last batch goes in (Kafka keeps no more), with its lastTimestamp, its
   * coordinator epoch and its open transaction's first offset.
   */
  takeSnapshot(offset: bigint): void {
    const entries: ProducerSnapshotEntry[] = [...this.#producers.values()].map((e) => {
      const last = e.batches[e.batches.length - 1];
      return {
        producerId: e.producerId,
        epoch: e.epoch,
        lastSequence: last ? last.lastSeq : -1,
        lastOffset: last ? last.lastOffset : -1n,
        offsetDelta: last ? Number(last.lastOffset - last.firstOffset) : 0,
        timestamp: BigInt(e.lastTimestamp),
        coordinatorEpoch: e.coordinatorEpoch,
        currentTxnFirstOffset: e.currentTxnFirstOffset ?? -1n,
      };
    });
    writeProducerSnapshotFile(join(this.#dir, ProducerStateManager.snapshotName(offset)), entries);
    const all = this.snapshotOffsets();
    for (const o of all.slice(0, Math.max(0, all.length - 2))) this.#unlink(o);
  }

  #unlink(offset: bigint): void {
    try {
      unlinkSync(join(this.#dir, ProducerStateManager.snapshotName(offset)));
    } catch {
      /* already gone */
    }
  }

  /**
   * Load the newest snapshot at or below `logEndOffset` (newer ones describe truncated data and are
   * removed; unreadable ones are skipped and removed). Open transactions in it are open again.
   * Returns the offset replay must start from.
   */
  loadSnapshot(logEndOffset: bigint, logStartOffset: bigint): bigint {
    this.#producers.clear();
    this.#clearTransactions();
    const offsets = this.snapshotOffsets();
    for (const o of offsets) if (o > logEndOffset) this.#unlink(o);
    for (const o of offsets.filter((x) => x <= logEndOffset).reverse()) {
      let legacy: bigint | null = null;
      const path = join(this.#dir, ProducerStateManager.snapshotName(o));
      try {
        const data = readFileSync(path);
        if (data[0] === 0x7b /* '{' */) {
          this.#loadLegacyJson(data);
          legacy = o;
        } else {
          for (const entry of decodeProducerSnapshot(data)) this.#loadEntry(entry);
        }
      } catch {
        this.#producers.clear();
        this.#clearTransactions();
        this.#unlink(o);
        continue;
      }
      // A JSON snapshot is read once; from now on it is kept in Kafka's format. If that write fails
      // the JSON file stays and is read again next time.
      if (legacy !== null) {
        try {
          this.takeSnapshot(legacy);
        } catch {
          /* keep the JSON file */
        }
      }
      return o < logStartOffset ? logStartOffset : o;
    }
    return logStartOffset;
  }

  /** One entry of a Kafka-format snapshot (as ProducerStateManager.readSnapshot builds its entries). */
  #loadEntry(p: ProducerSnapshotEntry): void {
    const batches: BatchMetadata[] = [];
    if (p.lastOffset >= 0n) {
      // Kafka's BatchMetadata.firstSeq: the sequence offsetDelta before the last, wrapping at 2^31.
      const firstSeq =
        p.lastSequence < p.offsetDelta
          ? 0x7fffffff - (p.offsetDelta - p.lastSequence) + 1
          : p.lastSequence - p.offsetDelta;
      batches.push({
        firstSeq,
        lastSeq: p.lastSequence,
        firstOffset: p.lastOffset - BigInt(p.offsetDelta),
        lastOffset: p.lastOffset,
        timestamp: p.timestamp,
      });
    }
    const currentTxnFirstOffset = p.currentTxnFirstOffset >= 0n ? p.currentTxnFirstOffset : null;
    this.#producers.set(p.producerId, {
      producerId: p.producerId,
      epoch: p.epoch,
      batches,
      // Kafka's entry keeps the last batch's timestamp as lastTimestamp (producer expiration).
      lastTimestamp: Number(p.timestamp),
      coordinatorEpoch: p.coordinatorEpoch,
      currentTxnFirstOffset,
    });
    if (currentTxnFirstOffset !== null)
      this.#ongoing.set(currentTxnFirstOffset, {
        producerId: p.producerId,
        firstOffset: currentTxnFirstOffset,
        lastOffset: null,
      });
  }

  #loadLegacyJson(data: Buffer): void {
    const json = JSON.parse(data.toString('utf8')) as LegacyJsonSnapshot;
    if (json.version !== 1) throw new Error(`unknown JSON snapshot version ${json.version}`);
    for (const p of json.producers) {
      const last = p.batches[p.batches.length - 1];
      this.#producers.set(BigInt(p.producerId), {
        producerId: BigInt(p.producerId),
        epoch: p.epoch,
        // That format kept the wall clock here; Kafka (and Sluice now) the last batch's timestamp.
        lastTimestamp: last ? Number(last.timestamp) : p.lastTimestamp,
        batches: p.batches.map((b) => ({
          firstSeq: b.firstSeq,
          lastSeq: b.lastSeq,
          firstOffset: BigInt(b.firstOffset),
          lastOffset: BigInt(b.lastOffset),
          timestamp: BigInt(b.timestamp),
        })),
        coordinatorEpoch: -1,
        currentTxnFirstOffset: null,
      });
    }
  }
}
