/**
 * Partition: one topic-partition replica on this broker (Kafka's Partition), and the only code that
 * reads or writes it. It owns
 *  - the UnifiedLog (private: nothing else calls it), so every append, read, truncation and offset
 *    lookup goes through a method here;
 *  - the leader state: leader epoch, partition epoch, ISR, the followers' fetch state, the high
 *    watermark and the last stable offset, and the fencing of requests by leader epoch (KIP-320);
 *  - the ISR decisions (expand on catch-up, shrink on lag) and the AlterPartition request that
 *    carries them to the controller, with the answer applied here;
 *  - the producer state (idempotent sequences, open transactions, KIP-890 verification), rebuilt
 *    from snapshot + log on load; the COMMIT/ABORT markers the leader appends for the transaction
 *    coordinator (WriteTxnMarkers) and followers replicate, the aborted-transaction index they
 *    feed, and the last stable offset they move;
 *  - its byte counters (appended, below the high watermark, below the last stable offset), which
 *    waiting fetches watch.
 *
 * The ReplicaManager creates a Partition per hosted replica, applies the controller's state to it,
 * routes requests to it and runs the purgatories; it learns of changes the Partition makes on its
 * own (an AlterPartition answer) through `PartitionContext.onStateChanged`. Everything runs on the
 * one event loop: a method runs to its end without interleaving, except across the awaits of
 * `appendRecordsToLeader` (batch validation), after which leadership is checked again.
 *
 * Reads return a `PartitionReadResult` carrying the high watermark, last stable offset, log start
 * and, for read_committed, the aborted transactions overlapping the records; the read bound is
 * chosen by `FetchIsolation` (`txn-committed` reads to the LSO); appends return a
 * `LeaderAppendResult`.
 *
 * Transactions (Kafka's UnifiedLog + ProducerStateManager): a transactional batch opens its
 * producer's transaction at its first offset; the marker the coordinator asks for ends it (an
 * ABORT is indexed in the segment's `.txnindex` with the LSO of that moment). The LSO is the
 * smallest first offset of the open transactions and of the completed ones whose marker the high
 * watermark has not passed, bounded by the high watermark; followers compute it the same way from
 * the batches and markers they replicate, so every replica answers the same LSO.
 */
import type { Logger } from '../common/logger.js';
import type { UnifiedLog } from '../storage/unified-log.js';
import type { LogConfig } from '../storage/log-config.js';
import { KafkaStorageError, OffsetOutOfRangeError } from '../storage/errors.js';
import { scanRecordBatches, type BatchSpan } from '../protocol/records/batch.js';
import {
  readBatchHeader,
  isControl,
  isTransactional,
  NO_PRODUCER_ID,
  TimestampType,
  type RecordBatchHeader,
} from '../protocol/records/batch-header.js';
import { decodeRecordBatchSync } from '../protocol/records/batch.js';
import { buildControlBatch, ControlRecordType, parseTxnMarker } from '../protocol/records/control.js';
import { CorruptRecordError, InvalidRecordError } from '../protocol/records/errors.js';
import { validateRecordBatchForAppend, type AppendValidationOptions } from '../protocol/records/validate.js';
import type { PartitionState } from '../controller/records.js';
import type { AlterPartitionRequest } from '../controller/partition-state-machine.js';
import {
  ProducerStateManager,
  type AppendOrigin,
  type BatchMetadata,
  type DataBatch,
  type ProducerEntry,
  type ProducerErrorName,
} from './producer-state.js';
import {
  FencedLeaderEpochError,
  InvalidProducerEpochError,
  InvalidTxnStateError,
  NotEnoughReplicasError,
  NotLeaderOrFollowerError,
  OutOfOrderSequenceError,
  PolicyViolationError,
  TransactionCoordinatorFencedError,
  UnknownLeaderEpochError,
} from './errors.js';
import { isMappedError } from './error-mapping.js';

/** The controller's AlterPartition (cluster mode). */
export type AlterPartitionFn = (
  req: AlterPartitionRequest,
) => Promise<{ error: string; message: string; state?: PartitionState }>;

/** Counters a partition reports (the broker's Prometheus metrics implement it). */
export interface ReplicaMetrics {
  /** A leader append: the request's bytes and records for this partition. */
  bytesIn(topic: string, bytes: number, records: number): void;
  /** Bytes returned to consumers (not to followers). */
  bytesOut(topic: string, bytes: number): void;
  /** An idempotent producer's retry answered from the producer state. */
  duplicateBatch(topic: string): void;
  /** Bytes a follower appended from its leader. */
  replicationBytesIn(bytes: number): void;
  /** The controller accepted an ISR change this leader asked for. */
  isrChange(kind: 'shrink' | 'expand', topic: string): void;
  /** The leader appended a transaction marker (WriteTxnMarkers). */
  txnMarker?(topic: string, result: TxnResult): void;
}

export const NO_REPLICA_METRICS: ReplicaMetrics = {
  bytesIn() {},
  bytesOut() {},
  duplicateBatch() {},
  replicationBytesIn() {},
  isrChange() {},
};

/** How a transaction ended (the marker's type). */
export type TxnResult = 'COMMIT' | 'ABORT';

/**
 * What the hosting broker gives every Partition at construction (one object shared by all of them).
 */
export interface PartitionContext {
  readonly nodeId: number;
  /** Sends an ISR change to the controller; null when there is none (a single node: the ISR is fixed). */
  readonly alterPartition: AlterPartitionFn | null;
  /** Only registered brokers may join an ISR. */
  isBrokerAlive(id: number): boolean;
  /** replica.lag.time.max.ms (dynamic, so read when needed). */
  replicaLagTimeMaxMs(): number;
  readonly metrics: ReplicaMetrics;
  /**
   * The partition changed on its own (an AlterPartition answer or failure): its high watermark or
   * ISR may have moved, so operations waiting on it may complete.
   */
  onStateChanged(p: Partition): void;
  readonly log: Logger;
  /** Clock (ms); Date.now by default. */
  readonly time?: () => number;
  /**
   * transaction.partition.verification.enable (KIP-890, dynamic): a transactional batch that does
   * not continue its producer's open transaction must carry the guard of a verification. Default on.
   */
  transactionVerificationEnabled?(): boolean;
}

/**
 * How far a read may go (Kafka's FetchIsolation): followers to the log end, read_uncommitted
 * consumers to the high watermark, read_committed consumers to the last stable offset.
 */
export type FetchIsolation = 'log-end' | 'high-watermark' | 'txn-committed';

export interface PartitionFetchParams {
  fetchOffset: bigint;
  /** The fetcher's view of the leader epoch (KIP-320); -1 when it sent none (not checked). */
  currentLeaderEpoch: number;
  /** The epoch of the fetcher's last batch (Fetch v12+); -1 when unknown (no divergence check). */
  lastFetchedEpoch: number;
  maxBytes: number;
  /** Return the whole first batch even when it exceeds maxBytes (the response's first partition). */
  minOneMessage: boolean;
  isolation: FetchIsolation;
}

export interface PartitionReadResult {
  /** Raw batches from the segment file (empty when there is nothing to read, or on divergence). */
  records: Buffer;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  /** The fetcher's log diverges from this one (KIP-320): it truncates, then fetches again. */
  divergingEpoch?: { epoch: number; endOffset: bigint };
  /** read_committed: the aborted transactions the returned records may hold (Fetch v4+). */
  abortedTransactions?: { producerId: bigint; firstOffset: bigint }[];
}

/** Options of a leader append beyond the records. */
export interface LeaderAppendOptions {
  /** Produce requests are 'client' (the default); the group coordinator's own writes 'coordinator'. */
  origin?: AppendOrigin;
  /**
   * KIP-890: the guard a transaction verification returned for this partition (null: none was
   * needed or started). See maybeStartTransactionVerification.
   */
  verificationGuard?: object | null;
}

/** A marker the transaction coordinator asks this leader to write (one partition of WriteTxnMarkers). */
export interface TxnMarkerRequest {
  producerId: bigint;
  producerEpoch: number;
  coordinatorEpoch: number;
  result: TxnResult;
}

/** A producer as DescribeProducers reports it. */
export interface ProducerStateView {
  producerId: bigint;
  producerEpoch: number;
  lastSequence: number;
  lastTimestamp: bigint;
  coordinatorEpoch: number;
  currentTxnStartOffset: bigint;
}

export interface LeaderAppendResult {
  /** Offset of the first batch (for a retried duplicate: where it was written the first time). */
  baseOffset: bigint;
  /** Offset of the last record; acks=all waits for the high watermark to pass it. */
  lastOffset: bigint;
  /** Broker time stamped into the batches under LogAppendTime, else -1. */
  logAppendTime: bigint;
  logStartOffset: bigint;
  recordCount: number;
  /** Every batch was a retry already in the log: nothing was written. */
  duplicate: boolean;
}

/** What the leader knows of one follower, from its fetches (Kafka's Replica state). */
export interface FollowerState {
  /** The follower's log end offset: the offset of its last fetch; -1 until it fetched. */
  logEndOffset: bigint;
  /** Last time the follower had everything the leader had (at that fetch or the one before). */
  lastCaughtUpMs: number;
  lastFetchMs: number;
  /** The leader's log end offset at the follower's last fetch. */
  lastFetchLeaderLogEndOffset: bigint;
}

export type StateChange = 'became-leader' | 'became-follower' | 'leader-changed' | 'none' | 'stale';

/** ListOffsets' special timestamps. */
const LATEST_TIMESTAMP = -1n;
const EARLIEST_TIMESTAMP = -2n;
const EARLIEST_LOCAL_TIMESTAMP = -4n;
const LATEST_TIERED_TIMESTAMP = -5n;
/** DeleteRecords' "up to the high watermark". */
const DELETE_TO_HIGH_WATERMARK = -1n;
/** A refused or failed AlterPartition is not sent again sooner than this. */
const ALTER_PARTITION_RETRY_MS = 1000;
/** Reads that rebuild state from the log (producer state, coordinators) go in chunks this large. */
const REPLAY_CHUNK_BYTES = 4 * 1024 * 1024;

/** The producer state's refusal as the typed error the error table maps to Kafka's code. */
function producerError(name: ProducerErrorName, message: string): Error {
  switch (name) {
    case 'INVALID_PRODUCER_EPOCH':
      return new InvalidProducerEpochError(message);
    case 'OUT_OF_ORDER_SEQUENCE_NUMBER':
      return new OutOfOrderSequenceError(message);
    case 'INVALID_TXN_STATE':
      return new InvalidTxnStateError(message);
    case 'TRANSACTION_COORDINATOR_FENCED':
      return new TransactionCoordinatorFencedError(message);
  }
}

/** The producer-state view of a data batch's header (transactional or not). */
function dataBatchOf(h: RecordBatchHeader): DataBatch {
  return {
    producerId: h.producerId,
    epoch: h.producerEpoch,
    firstSeq: h.baseSequence,
    // Kafka's RecordBatch.lastSequence: none without a base sequence, else wrapping at 2^31.
    lastSeq: h.baseSequence < 0 ? -1 : (h.baseSequence + h.lastOffsetDelta) % 0x80000000,
    transactional: isTransactional(h.attributes),
    maxTimestamp: h.maxTimestamp,
  };
}

/**
 * The COMMIT/ABORT marker of the control batch at `position` of `buf` (its first record), or null
 * for a control batch that holds no transaction marker (or none at all: cleaned away).
 */
function readTxnMarker(
  buf: Buffer,
  position: number,
): {
  type: ControlRecordType.Abort | ControlRecordType.Commit;
  coordinatorEpoch: number;
  timestamp: bigint;
} | null {
  try {
    const b = decodeRecordBatchSync(buf, position, { verify: false });
    const rec = b.records[0];
    if (!rec) return null;
    return { ...parseTxnMarker(rec), timestamp: rec.timestamp };
  } catch {
    return null;
  }
}
function newFollowerState(lastCaughtUpMs: number): FollowerState {
  return { logEndOffset: -1n, lastCaughtUpMs, lastFetchMs: 0, lastFetchLeaderLogEndOffset: -1n };
}

export class Partition {
  readonly topic: string;
  readonly index: number;
  /** `<topic>-<index>`: the partition's key in the ReplicaManager and the purgatories. */
  readonly key: string;
  readonly #log: UnifiedLog;
  readonly #ctx: PartitionContext;
  readonly #time: () => number;
  readonly #producerState: ProducerStateManager;

  #leaderEpoch = -1;
  #partitionEpoch = -1;
  #leaderId = -1;
  #isr: readonly number[] = [];
  #replicas: readonly number[] = [];
  /** Followers' fetch state as reported by their fetches (leader only). */
  readonly #followers = new Map<number, FollowerState>();
  /** Where this leader's epoch starts in the log (a follower joins the ISR only past it). */
  #leaderEpochStartOffset = -1n;
  /** The ISR asked of the controller and not answered yet (leader only); null when none in flight. */
  #pendingIsr: readonly number[] | null = null;
  /** No AlterPartition before this time (after a refusal or failure). */
  #isrRetryAt = 0;

  /** Bytes appended, monotonic: how waiting follower fetches tell that enough data arrived. */
  #appendedBytes = 0;
  /**
   * Bytes below the high watermark, monotonic (what consumers can read). Leader appends wait in
   * #uncommitted (end offset → #appendedBytes after it) until the high watermark passes them.
   */
  #committedBytes = 0;
  /**
   * Bytes below the last stable offset, monotonic (what read_committed consumers can read). Leader
   * appends wait in #unstable, as in #uncommitted, until the LSO passes them.
   */
  #stableBytes = 0;
  #uncommitted: { end: bigint; bytes: number }[] = [];
  #unstable: { end: bigint; bytes: number }[] = [];

  constructor(topic: string, index: number, log: UnifiedLog, ctx: PartitionContext) {
    this.topic = topic;
    this.index = index;
    this.key = `${topic}-${index}`;
    this.#log = log;
    this.#ctx = ctx;
    this.#time = ctx.time ?? Date.now;
    this.#producerState = new ProducerStateManager(log.dir, this.key);
    this.#rebuildProducerState();
  }

  // ---- state, read-only from outside ----

  get nodeId(): number {
    return this.#ctx.nodeId;
  }

  get isLeader(): boolean {
    return this.#leaderId === this.#ctx.nodeId;
  }

  get leaderId(): number {
    return this.#leaderId;
  }

  get leaderEpoch(): number {
    return this.#leaderEpoch;
  }

  get partitionEpoch(): number {
    return this.#partitionEpoch;
  }

  get isr(): readonly number[] {
    return this.#isr;
  }

  get replicas(): readonly number[] {
    return this.#replicas;
  }

  /** The ISR asked of the controller and not answered yet; null when none is in flight. */
  get pendingIsr(): readonly number[] | null {
    return this.#pendingIsr;
  }

  get highWatermark(): bigint {
    return this.#log.highWatermark;
  }

  /**
   * The last stable offset (Kafka's UnifiedLog.lastStableOffset): the first unstable offset (the
   * smallest first offset of open transactions and of completed ones whose marker is not below the
   * high watermark yet, at least the log start) when it is below the high watermark, else the high
   * watermark.
   */
  get lastStableOffset(): bigint {
    const hw = this.#log.highWatermark;
    const ps = this.#producerState;
    ps.onHighWatermarkUpdated(hw);
    let first = ps.firstUnstableOffset();
    if (first === null) return hw;
    if (first < this.#log.logStartOffset) first = this.#log.logStartOffset;
    return first < hw ? first : hw;
  }

  /** Transactions open in this replica's log now. */
  get ongoingTransactions(): number {
    return this.#producerState.ongoingTransactionCount;
  }

  get logStartOffset(): bigint {
    return this.#log.logStartOffset;
  }

  get logEndOffset(): bigint {
    return this.#log.logEndOffset;
  }

  /** The epoch of the last batch in this replica's log (-1 when none): a follower's lastFetchedEpoch. */
  get latestEpoch(): number {
    return this.#log.latestEpoch;
  }

  /** The log was closed: the partition was deleted or moved away, or the broker is stopping. */
  get isClosed(): boolean {
    return this.#log.isClosed;
  }

  get config(): Readonly<LogConfig> {
    return this.#log.config;
  }

  /** The partition's directory (`<log dir>/<topic>-<index>`). */
  get dir(): string {
    return this.#log.dir;
  }

  /** Each producer's last data batch end and epoch: what the log cleaner must keep (producer-state.ts). */
  lastRecordsOfActiveProducers(): ReturnType<ProducerStateManager['lastRecordsOfActiveProducers']> {
    return this.#producerState.lastRecordsOfActiveProducers();
  }

  get sizeInBytes(): number {
    return this.#log.size;
  }

  get numberOfSegments(): number {
    return this.#log.numberOfSegments;
  }

  /** Bytes appended to this replica so far (monotonic while it is hosted here). */
  get appendedBytes(): number {
    return this.#appendedBytes;
  }

  /** Bytes below the high watermark so far (monotonic; counted while leading). */
  get committedBytes(): number {
    return this.#committedBytes;
  }

  /** Bytes below the last stable offset so far (monotonic; counted while leading). */
  get stableBytes(): number {
    return this.#stableBytes;
  }

  /** What this leader knows of a follower (tests, diagnostics). */
  followerState(replicaId: number): Readonly<FollowerState> | undefined {
    return this.#followers.get(replicaId);
  }

  updateConfig(config: Readonly<LogConfig>): void {
    this.#log.updateConfig(config);
  }

  // ---- the controller's state ----

  /**
   * Apply the controller's state for this partition. Returns what changed for this broker: it
   * became leader (new epoch), became or stays a follower of a new leader, or nothing. A state
   * older than one already applied (the controller's AlterPartition answer can arrive before the
   * table's watch event) is ignored.
   */
  applyState(state: PartitionState, replicas: readonly number[], now = this.#time()): StateChange {
    if (state.partitionEpoch < this.#partitionEpoch && state.leaderEpoch <= this.#leaderEpoch) return 'stale';
    const wasLeader = this.isLeader;
    const oldLeader = this.#leaderId;
    this.#replicas = replicas;
    this.#isr = state.isr;
    this.#partitionEpoch = state.partitionEpoch;
    const epochChanged = state.leaderEpoch !== this.#leaderEpoch;
    this.#leaderEpoch = state.leaderEpoch;
    this.#leaderId = state.leader;
    if (this.#pendingIsr && (epochChanged || !this.isLeader)) this.#pendingIsr = null;
    if (this.isLeader && (!wasLeader || epochChanged)) {
      // Kafka's makeLeader: the new epoch starts at the log end; in-sync followers count as caught
      // up now, their log end offsets are unknown until they fetch.
      this.#followers.clear();
      for (const r of replicas) {
        if (r !== this.nodeId) this.#followers.set(r, newFollowerState(this.#isr.includes(r) ? now : 0));
      }
      this.#leaderEpochStartOffset = this.#log.logEndOffset;
      this.#log.leaderEpochCache.assign(this.#leaderEpoch, this.#log.logEndOffset);
      // Appends from an earlier leadership are either committed or gone; consumers count from here.
      this.#uncommitted = [];
      this.#unstable = [];
      this.#committedBytes = this.#appendedBytes;
      this.#stableBytes = this.#appendedBytes;
      this.#maybeIncrementHighWatermark();
      return 'became-leader';
    }
    if (this.isLeader) {
      for (const r of replicas) {
        if (r !== this.nodeId && !this.#followers.has(r)) this.#followers.set(r, newFollowerState(0));
      }
      // The ISR may have shrunk: the high watermark can move.
      this.#maybeIncrementHighWatermark();
      return 'none';
    }
    if (wasLeader) {
      this.#followers.clear();
      this.#leaderEpochStartOffset = -1n;
      return 'became-follower';
    }
    return oldLeader !== this.#leaderId || epochChanged ? 'leader-changed' : 'none';
  }

  // ---- leader: appends ----

  /**
   * Produce: validate every batch of one partition's records, then append them all (a request is
   * all or nothing per partition as far as validation goes; records that break a record-level rule
   * come back as the InvalidRecordError's `recordErrors`, KIP-467). Idempotent and transactional
   * producers are checked against the producer state; a retried batch is answered with its original
   * offsets and not written again. Throws the typed errors of src/broker/errors.ts, the record
   * validation errors, and KafkaStorageError for a failed write.
   */
  async appendRecordsToLeader(
    records: Buffer | null,
    requiredAcks: number,
    minInsyncReplicas: number,
    opts: LeaderAppendOptions = {},
  ): Promise<LeaderAppendResult> {
    const origin = opts.origin ?? 'client';
    this.#checkLeader();
    if (!records || records.length === 0)
      throw new InvalidRecordError('INVALID_RECORD', 'Produce request carries no records');
    if (requiredAcks === -1 && this.#isr.length < minInsyncReplicas) {
      throw new NotEnoughReplicasError(
        `The size of the current ISR ${this.#isr.length} is insufficient to satisfy the min.isr requirement of ${minInsyncReplicas} for partition ${this.key}`,
      );
    }
    let batches: BatchSpan[];
    try {
      const scan = scanRecordBatches(records);
      if (scan.partial) batches = [];
      else batches = scan.batches;
    } catch {
      batches = [];
    }
    if (batches.length === 0) throw new CorruptRecordError('Produce request has a truncated record batch');
    const cfg = this.#log.config;
    const validation: AppendValidationOptions = {
      fromClient: origin === 'client',
      topicPartition: this.key,
      compacted: cfg.cleanupPolicy.includes('compact'),
      timestampType:
        cfg.messageTimestampType === 'LogAppendTime' ? TimestampType.LogAppendTime : TimestampType.CreateTime,
      timestampBeforeMaxMs: cfg.messageTimestampBeforeMaxMs,
      timestampAfterMaxMs: cfg.messageTimestampAfterMaxMs,
      nowMs: this.#time(),
      maxBatchSize: cfg.maxMessageBytes,
    };
    let recordCount = 0;
    const headers: RecordBatchHeader[] = [];
    for (const s of batches) {
      const v = await validateRecordBatchForAppend(records, s.position, validation);
      if (!v.ok) throw v.error;
      if (isControl(v.batch.header.attributes))
        throw new InvalidRecordError('INVALID_RECORD', 'control batches are written by WriteTxnMarkers only');
      recordCount += v.batch.header.recordCount;
      headers.push(v.batch.header);
    }
    // Validation awaited: leadership may have moved meanwhile.
    this.#checkLeader();
    let first: LeaderAppendResult | null = null;
    let lastOffset = -1n;
    let duplicates = 0;
    const guard = opts.verificationGuard ?? null;
    for (const [i, s] of batches.entries()) {
      const r = this.#appendBatchAsLeader(
        records.subarray(s.position, s.position + s.size),
        headers[i]!,
        origin,
        guard,
      );
      first ??= r;
      lastOffset = r.lastOffset;
      if (r.duplicate) {
        duplicates++;
        this.#ctx.metrics.duplicateBatch(this.topic);
      } else {
        this.#countAppended(s.size, r.lastOffset);
      }
    }
    this.#ctx.metrics.bytesIn(this.topic, records.length, recordCount);
    // With no other replica in the ISR the high watermark moved with the append.
    this.#advanceCommittedBytes();
    return {
      baseOffset: first!.baseOffset,
      lastOffset,
      logAppendTime: first!.logAppendTime,
      logStartOffset: this.#log.logStartOffset,
      recordCount,
      duplicate: duplicates === batches.length,
    };
  }

  /** Count bytes a leader appended; consumers see them once the high watermark (and the LSO) pass `lastOffset`. */
  #countAppended(size: number, lastOffset: bigint): void {
    this.#appendedBytes += size;
    const entry = { end: lastOffset + 1n, bytes: this.#appendedBytes };
    this.#uncommitted.push(entry);
    this.#unstable.push(entry);
  }

  /** One validated batch: producer-state check, append with this leader's epoch, HW. */
  #appendBatchAsLeader(
    batch: Buffer,
    h: RecordBatchHeader,
    origin: AppendOrigin,
    guard: object | null,
  ): LeaderAppendResult {
    const idempotent = h.producerId !== NO_PRODUCER_ID;
    const db = idempotent ? dataBatchOf(h) : null;
    if (db) {
      const check = this.#producerState.checkDataBatch(db, origin, this.#log.logEndOffset, {
        // Only client produces are verified (Kafka: the group coordinator's writes are not).
        enabled: origin === 'client' && (this.#ctx.transactionVerificationEnabled?.() ?? true),
        guard,
      });
      if (check.kind === 'error') throw producerError(check.errorName, check.message);
      if (check.kind === 'duplicate') return this.#duplicate(check.batch, h.recordCount);
    }
    let info;
    try {
      info = this.#log.append(batch, { leaderEpoch: this.#leaderEpoch, alreadyValidated: true });
    } catch (err) {
      throw this.#storageError(err, 'append');
    }
    // LogAppendTime rewrote the batch's max timestamp: the producer state keeps what the log has.
    if (db)
      this.#producerState.applyDataBatch(
        { ...db, maxTimestamp: info.maxTimestamp },
        info.firstOffset,
        info.lastOffset,
      );
    this.#maybeIncrementHighWatermark();
    return {
      baseOffset: info.firstOffset,
      lastOffset: info.lastOffset,
      logAppendTime: info.logAppendTime,
      logStartOffset: info.logStartOffset,
      recordCount: info.recordCount,
      duplicate: false,
    };
  }

  #duplicate(b: BatchMetadata, recordCount: number): LeaderAppendResult {
    return {
      baseOffset: b.firstOffset,
      lastOffset: b.lastOffset,
      logAppendTime: -1n,
      logStartOffset: this.#log.logStartOffset,
      recordCount,
      duplicate: true,
    };
  }

  // ---- leader: transactions ----

  /**
   * WriteTxnMarkers, one partition: append the COMMIT or ABORT marker that ends the producer's
   * transaction here, as a control batch with the producer's id and epoch and the coordinator's
   * epoch (Kafka appends it with acks=all, so the ISR must be at least min.insync.replicas).
   * Refused with INVALID_PRODUCER_EPOCH for an epoch older than the producer's, and
   * TRANSACTION_COORDINATOR_FENCED for a coordinator epoch older than the last marker's. An abort
   * is indexed in the segment's `.txnindex` with the LSO of the moment. Returns the marker's offset
   * (acks=all waits for the high watermark to pass it).
   */
  appendTxnMarker(m: TxnMarkerRequest, minInsyncReplicas: number, now = this.#time()): LeaderAppendResult {
    this.#checkLeader();
    if (this.#isr.length < minInsyncReplicas) {
      throw new NotEnoughReplicasError(
        `The size of the current ISR ${this.#isr.length} is insufficient to satisfy the min.isr requirement of ${minInsyncReplicas} for partition ${this.key}`,
      );
    }
    const refused = this.#producerState.checkMarker(
      m.producerId,
      m.producerEpoch,
      m.coordinatorEpoch,
      this.#log.logEndOffset,
    );
    if (refused) throw producerError(refused.errorName, refused.message);
    const timestamp = BigInt(now);
    const batch = buildControlBatch(
      m.result === 'COMMIT' ? ControlRecordType.Commit : ControlRecordType.Abort,
      {
        producerId: m.producerId,
        producerEpoch: m.producerEpoch,
        coordinatorEpoch: m.coordinatorEpoch,
        timestamp,
      },
    );
    let info;
    try {
      info = this.#log.append(batch, { leaderEpoch: this.#leaderEpoch, alreadyValidated: true, now });
    } catch (err) {
      throw this.#storageError(err, 'append marker');
    }
    this.#applyMarker(
      m.producerId,
      m.producerEpoch,
      m.coordinatorEpoch,
      m.result === 'ABORT',
      info.firstOffset,
      timestamp,
    );
    this.#countAppended(batch.length, info.lastOffset);
    this.#ctx.metrics.txnMarker?.(this.topic, m.result);
    this.#maybeIncrementHighWatermark();
    this.#advanceCommittedBytes();
    return {
      baseOffset: info.firstOffset,
      lastOffset: info.lastOffset,
      logAppendTime: info.logAppendTime,
      logStartOffset: info.logStartOffset,
      recordCount: 1,
      duplicate: false,
    };
  }

  /** A marker is in the log (leader, follower or replay): end the transaction, index an abort. */
  #applyMarker(
    producerId: bigint,
    epoch: number,
    coordinatorEpoch: number,
    isAbort: boolean,
    offset: bigint,
    timestamp: bigint,
  ): void {
    const ps = this.#producerState;
    const completed = ps.applyMarker(producerId, epoch, coordinatorEpoch, isAbort, offset, timestamp);
    if (!completed) return;
    if (completed.isAborted) {
      try {
        this.#log.appendAbortedTxn({
          producerId,
          firstOffset: completed.firstOffset,
          lastOffset: completed.lastOffset,
          lastStableOffset: ps.lastStableOffset(completed),
        });
      } catch (err) {
        throw this.#storageError(err, 'transaction index append');
      }
    }
    ps.completeTxn(completed);
  }

  /**
   * KIP-890, before a transactional batch is appended (Kafka's maybeStartTransactionVerification):
   * null when the producer's transaction is already open here at this epoch (nothing to verify),
   * else the guard the append must carry once the transaction coordinator has confirmed (or, TV2,
   * added) the partition. INVALID_PRODUCER_EPOCH at once for an epoch older than known.
   */
  maybeStartTransactionVerification(
    producerId: bigint,
    sequence: number,
    epoch: number,
    supportsEpochBump: boolean,
  ): object | null {
    this.#checkLeader();
    const known = this.#producerState.epochOlderThanKnown(producerId, epoch);
    if (known !== null)
      throw new InvalidProducerEpochError(
        `Epoch of producer ${producerId} is ${epoch}, which is smaller than the last seen epoch ${known}`,
      );
    return (
      this.#producerState.maybeStartVerification(producerId, sequence, epoch, supportsEpochBump, this.#time())
        ?.guard ?? null
    );
  }

  /** DescribeProducers (any replica): every producer this partition knows, as Kafka reports them. */
  activeProducers(): ProducerStateView[] {
    return [...this.#producerState.activeProducers()].map((e: ProducerEntry) => ({
      producerId: e.producerId,
      producerEpoch: e.epoch,
      lastSequence: e.batches.length > 0 ? e.batches[e.batches.length - 1]!.lastSeq : -1,
      lastTimestamp: BigInt(e.lastTimestamp),
      coordinatorEpoch: e.coordinatorEpoch,
      currentTxnStartOffset: e.currentTxnFirstOffset ?? -1n,
    }));
  }

  // ---- leader: reads and offset lookups ----

  /**
   * Fetch (consumers and followers): fenced by leader epoch, checked for divergence (KIP-320), then
   * raw batches from `fetchOffset` up to the bound of `isolation`. Throws NotLeaderOrFollowerError,
   * FencedLeaderEpochError, UnknownLeaderEpochError, OffsetOutOfRangeError, KafkaStorageError.
   */
  fetchRecords(f: PartitionFetchParams): PartitionReadResult {
    this.#checkLeaderEpoch(f.currentLeaderEpoch);
    const hw = this.#log.highWatermark;
    const lso = this.lastStableOffset;
    const logStartOffset = this.#log.logStartOffset;
    // KIP-320: the fetcher's last epoch ends earlier here (or is unknown): tell it where to truncate.
    if (f.lastFetchedEpoch >= 0) {
      const end = this.#log.endOffsetForEpoch(f.lastFetchedEpoch);
      if (end.epoch >= 0 && (end.epoch < f.lastFetchedEpoch || end.endOffset < f.fetchOffset)) {
        return {
          records: Buffer.alloc(0),
          highWatermark: hw,
          lastStableOffset: lso,
          logStartOffset,
          divergingEpoch: end,
        };
      }
    }
    const upper =
      f.isolation === 'log-end' ? this.#log.logEndOffset : f.isolation === 'high-watermark' ? hw : lso;
    const readCommitted = f.isolation === 'txn-committed';
    let records: Buffer;
    let aborted: PartitionReadResult['abortedTransactions'];
    try {
      const data = this.#log.read(f.fetchOffset, {
        maxBytes: f.maxBytes,
        maxOffset: upper,
        minOneMessage: f.minOneMessage || f.maxBytes > 0,
        includeAbortedTxns: readCommitted,
      });
      records = data.records;
      if (readCommitted)
        aborted = (data.abortedTransactions ?? []).map((t) => ({
          producerId: t.producerId,
          firstOffset: t.firstOffset,
        }));
    } catch (err) {
      throw this.#storageError(err, 'read');
    }
    if (records.length > f.maxBytes && !f.minOneMessage) {
      records = Buffer.alloc(0);
      if (aborted) aborted = [];
    }
    if (records.length > 0 && f.isolation !== 'log-end')
      this.#ctx.metrics.bytesOut(this.topic, records.length);
    const out: PartitionReadResult = { records, highWatermark: hw, lastStableOffset: lso, logStartOffset };
    if (aborted) out.abortedTransactions = aborted;
    return out;
  }

  /**
   * ListOffsets: the offset for a timestamp, or for the special timestamps (-1 latest: the read
   * bound of `isolation`; -2 earliest and -4 earliest local: the log start; -5 latest tiered: none
   * here). Null when no record qualifies, or the one found is past what the reader may see.
   */
  fetchOffsetForTimestamp(
    timestamp: bigint,
    isolation: FetchIsolation,
    currentLeaderEpoch: number,
  ): { offset: bigint; timestamp: bigint; leaderEpoch: number } | null {
    this.#checkLeaderEpoch(currentLeaderEpoch);
    try {
      const upper =
        isolation === 'log-end'
          ? this.#log.logEndOffset
          : isolation === 'high-watermark'
            ? this.highWatermark
            : this.lastStableOffset;
      if (timestamp === LATEST_TIMESTAMP)
        return { offset: upper, timestamp: -1n, leaderEpoch: this.#leaderEpoch };
      if (timestamp === EARLIEST_TIMESTAMP || timestamp === EARLIEST_LOCAL_TIMESTAMP) {
        const r = this.#log.fetchOffsetByTimestamp(EARLIEST_TIMESTAMP);
        return { offset: this.#log.logStartOffset, timestamp: -1n, leaderEpoch: r?.leaderEpoch ?? -1 };
      }
      if (timestamp === LATEST_TIERED_TIMESTAMP) return { offset: -1n, timestamp: -1n, leaderEpoch: -1 };
      const r = this.#log.fetchOffsetByTimestamp(timestamp);
      // Consumers must not learn of offsets past what they may read.
      if (!r || (isolation !== 'log-end' && r.offset >= upper)) return null;
      return r;
    } catch (err) {
      throw this.#storageError(err, 'offset lookup');
    }
  }

  /**
   * OffsetForLeaderEpoch (leader): the largest epoch at or below `leaderEpoch` this log knows and
   * where the next one starts; (-1, -1) when it knows none. Fenced by `currentLeaderEpoch`.
   */
  lastOffsetForLeaderEpoch(
    currentLeaderEpoch: number,
    leaderEpoch: number,
  ): { epoch: number; endOffset: bigint } {
    this.#checkLeaderEpoch(currentLeaderEpoch);
    return this.#log.endOffsetForEpoch(leaderEpoch);
  }

  /** This replica's own answer for an epoch, unfenced (a follower's truncation, the divergence check). */
  endOffsetForEpoch(leaderEpoch: number): { epoch: number; endOffset: bigint } {
    return this.#log.endOffsetForEpoch(leaderEpoch);
  }

  /**
   * DeleteRecords (leader): move the log start offset to `offset` (-1: the high watermark). Returns
   * the new log start offset (the low watermark); an offset below it changes nothing. As Kafka's
   * Partition.deleteRecordsOnLeader: PolicyViolationError unless cleanup.policy includes delete,
   * OffsetOutOfRangeError for any other negative offset and past the high watermark.
   */
  deleteRecordsOnLeader(offset: bigint): bigint {
    this.#checkLeader();
    if (!this.#log.config.cleanupPolicy.split(',').some((p) => p.trim() === 'delete'))
      throw new PolicyViolationError(
        `Records of partition ${this.key} can not be deleted due to the configured policy`,
      );
    const target = offset === DELETE_TO_HIGH_WATERMARK ? this.#log.highWatermark : offset;
    if (target < 0n)
      throw new OffsetOutOfRangeError(
        target,
        this.#log.logStartOffset,
        this.#log.highWatermark,
        `delete-records offset for partition ${this.key}:`,
      );
    try {
      const start = this.#log.deleteRecordsBefore(target);
      this.#producerState.onLogStartOffsetIncremented(start);
      return start;
    } catch (err) {
      throw this.#storageError(err, 'delete records');
    }
  }

  /**
   * Raw batches of this replica's log from `startOffset`, up to `maxBytes` (at least one batch) and
   * below `upTo` (default: the log end), with no leader or epoch check: for readers inside the
   * broker that rebuild state from a partition they lead (the group coordinator's load).
   */
  readLocal(startOffset: bigint, maxBytes: number, upTo?: bigint): Buffer {
    try {
      return this.#log.read(startOffset, { maxBytes, maxOffset: upTo, minOneMessage: true }).records;
    } catch (err) {
      throw this.#storageError(err, 'read');
    }
  }

  #checkLeader(): void {
    if (!this.isLeader)
      throw new NotLeaderOrFollowerError(`Broker ${this.nodeId} is not the leader of ${this.key}`);
  }

  /** Leader only; KIP-320: an older epoch is fenced, a newer one is not known here yet. */
  #checkLeaderEpoch(current: number): void {
    this.#checkLeader();
    if (current < 0 || current === this.#leaderEpoch) return;
    if (current < this.#leaderEpoch)
      throw new FencedLeaderEpochError(
        `Leader epoch ${current} is older than the current epoch ${this.#leaderEpoch} of ${this.key}`,
      );
    throw new UnknownLeaderEpochError(
      `Leader epoch ${current} is newer than the current epoch ${this.#leaderEpoch} of ${this.key}`,
    );
  }

  /** Typed errors pass through; anything else from the log is an I/O failure (Kafka's KafkaStorageException). */
  #storageError(err: unknown, what: string): Error {
    if (isMappedError(err)) return err;
    return new KafkaStorageError(
      `${what} on ${this.key} failed: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }

  // ---- leader: high watermark and ISR ----

  /**
   * The high watermark is the smallest log end offset among the ISR (the leader's own included).
   * While an ISR change is in flight the larger of the two ISRs counts (Kafka's "maximal ISR"), so
   * the high watermark never passes what a replica that may still be in the ISR has.
   * Returns true when it moved.
   */
  #maybeIncrementHighWatermark(): boolean {
    if (!this.isLeader) return false;
    let hw = this.#log.logEndOffset;
    for (const id of this.maximalIsr()) {
      if (id === this.nodeId) continue;
      const leo = this.#followers.get(id)?.logEndOffset ?? -1n;
      if (leo < 0n) return false; // not fetched since this broker became leader
      if (leo < hw) hw = leo;
    }
    if (!this.#log.maybeIncrementHighWatermark(hw)) return false;
    this.#advanceCommittedBytes();
    return true;
  }

  /**
   * Move appended bytes the high watermark passed into the read_uncommitted count, and those the
   * last stable offset passed into the read_committed one.
   */
  #advanceCommittedBytes(): void {
    const q = this.#uncommitted;
    if (q.length > 0) {
      const hw = this.#log.highWatermark;
      let n = 0;
      while (n < q.length && q[n]!.end <= hw) n++;
      if (n > 0) {
        this.#committedBytes = q[n - 1]!.bytes;
        q.splice(0, n);
      }
    }
    const u = this.#unstable;
    if (u.length > 0) {
      const lso = this.lastStableOffset;
      let n = 0;
      while (n < u.length && u[n]!.end <= lso) n++;
      if (n > 0) {
        this.#stableBytes = u[n - 1]!.bytes;
        u.splice(0, n);
      }
    }
  }

  /** The ISR, or while a change is in flight the union of the current and the requested one. */
  maximalIsr(): readonly number[] {
    if (!this.#pendingIsr) return this.#isr;
    return [...new Set([...this.#isr, ...this.#pendingIsr])];
  }

  /**
   * Leader: a follower fetched from `fetchOffset`, which is its log end offset. It is caught up when
   * that reaches the leader's log end now, or the leader's log end at its previous fetch (then it was
   * caught up as of that fetch). May ask the controller to add it to the ISR. Returns whether the
   * high watermark moved (waiting produces and fetches may complete).
   */
  updateFollowerFetchState(replicaId: number, fetchOffset: bigint, now = this.#time()): boolean {
    if (!this.isLeader) return false;
    let st = this.#followers.get(replicaId);
    if (!st) {
      if (!this.#replicas.includes(replicaId)) return false;
      st = newFollowerState(0);
      this.#followers.set(replicaId, st);
    }
    const leo = this.#log.logEndOffset;
    if (fetchOffset >= leo) st.lastCaughtUpMs = Math.max(st.lastCaughtUpMs, now);
    else if (st.lastFetchLeaderLogEndOffset >= 0n && fetchOffset >= st.lastFetchLeaderLogEndOffset)
      st.lastCaughtUpMs = Math.max(st.lastCaughtUpMs, st.lastFetchMs);
    st.logEndOffset = fetchOffset;
    st.lastFetchLeaderLogEndOffset = leo;
    st.lastFetchMs = now;
    const moved = this.#maybeIncrementHighWatermark();
    this.#maybeExpandIsr(now);
    return moved;
  }

  /**
   * Followers outside the ISR that have caught up to the high watermark in this leader's epoch, and
   * are fetching (fetched within `maxLagMs`: a dead follower's last state does not count).
   */
  followersToAdd(maxLagMs: number, now = this.#time()): number[] {
    if (!this.isLeader) return [];
    const out: number[] = [];
    const hw = this.highWatermark;
    for (const [id, st] of this.#followers) {
      if (this.#isr.includes(id) || !this.#replicas.includes(id)) continue;
      if (st.lastFetchMs <= 0 || now - st.lastFetchMs > maxLagMs) continue;
      if (st.logEndOffset >= hw && st.logEndOffset >= this.#leaderEpochStartOffset) out.push(id);
    }
    return out;
  }

  /** ISR followers that have not been caught up within `maxLagMs`. */
  outOfSyncFollowers(maxLagMs: number, now = this.#time()): number[] {
    if (!this.isLeader) return [];
    const out: number[] = [];
    for (const id of this.#isr) {
      if (id === this.nodeId) continue;
      const st = this.#followers.get(id);
      if (!st || now - st.lastCaughtUpMs > maxLagMs) out.push(id);
    }
    return out;
  }

  /** Expand: followers caught up and alive join the ISR, through the controller. */
  #maybeExpandIsr(now: number): void {
    if (!this.#ctx.alterPartition || this.#pendingIsr) return;
    const add = this.followersToAdd(this.#ctx.replicaLagTimeMaxMs(), now).filter((id) =>
      this.#ctx.isBrokerAlive(id),
    );
    if (add.length === 0) return;
    this.#submitAlterPartition([...this.#isr, ...add], 'expand', now);
  }

  /**
   * Shrink: ISR followers not caught up within replica.lag.time.max.ms leave the ISR, through the
   * controller. The ReplicaManager's timer calls this for every partition. Returns whether a
   * request was sent.
   */
  maybeShrinkIsr(now = this.#time()): boolean {
    if (!this.#ctx.alterPartition || !this.isLeader || this.#pendingIsr || this.isClosed) return false;
    if (now < this.#isrRetryAt) return false;
    const lagMs = this.#ctx.replicaLagTimeMaxMs();
    const out = this.outOfSyncFollowers(lagMs, now);
    if (out.length === 0) return false;
    this.#ctx.log.info(
      { topic: this.topic, partition: this.index, outOfSync: out, lagMs },
      'followers fell behind; shrinking the ISR',
    );
    return this.#submitAlterPartition(
      this.#isr.filter((r) => !out.includes(r)),
      'shrink',
      now,
    );
  }

  /**
   * Send an ISR change. Until it is answered the high watermark counts the maximal ISR; the answer
   * (the controller's new state) is applied here, a refusal or failure waits for the metadata and
   * retries no sooner than a second later.
   */
  #submitAlterPartition(newIsr: readonly number[], kind: 'shrink' | 'expand', now: number): boolean {
    const alter = this.#ctx.alterPartition;
    if (!alter || now < this.#isrRetryAt) return false;
    this.#pendingIsr = newIsr;
    const sentEpoch = this.#leaderEpoch;
    alter({
      brokerId: this.nodeId,
      topic: this.topic,
      partition: this.index,
      leaderEpoch: this.#leaderEpoch,
      partitionEpoch: this.#partitionEpoch,
      newIsr: [...newIsr],
    }).then(
      (res) => {
        if (this.#pendingIsr !== newIsr) return; // superseded by a newer state
        this.#pendingIsr = null;
        if (this.isClosed) return;
        if (res.error === 'NONE' && res.state && this.#leaderEpoch === sentEpoch) {
          this.#isrRetryAt = 0;
          this.#ctx.metrics.isrChange(kind, this.topic);
          this.#ctx.log.info(
            { topic: this.topic, partition: this.index, isr: res.state.isr, kind },
            'ISR updated',
          );
          this.applyState(res.state, this.#replicas);
        } else {
          this.#ctx.log.info(
            { topic: this.topic, partition: this.index, error: res.error, message: res.message, kind },
            'ISR change refused; waiting for the metadata',
          );
          this.#isrRetryAt = this.#time() + ALTER_PARTITION_RETRY_MS;
          // A refused change (stale epochs) is followed by the table's newer state; recompute then.
          this.#maybeIncrementHighWatermark();
        }
        this.#ctx.onStateChanged(this);
      },
      (err: unknown) => {
        if (this.#pendingIsr === newIsr) this.#pendingIsr = null;
        this.#isrRetryAt = this.#time() + ALTER_PARTITION_RETRY_MS;
        this.#ctx.log.warn(
          {
            err: err instanceof Error ? err.message : String(err),
            topic: this.topic,
            partition: this.index,
            kind,
          },
          'AlterPartition failed; will retry',
        );
        if (this.isClosed) return;
        this.#maybeIncrementHighWatermark();
        this.#ctx.onStateChanged(this);
      },
    );
    return true;
  }

  // ---- follower side ----

  /**
   * Follower append of what the leader returned: keeps the leader's offsets and epochs, records
   * idempotent producers' batches (so deduplication carries on after this replica becomes leader).
   * Only whole batches at or after the log end are appended. Returns the bytes appended.
   */
  appendRecordsAsFollower(records: Buffer): number {
    if (this.isLeader)
      throw new NotLeaderOrFollowerError(
        `Broker ${this.nodeId} leads ${this.key}; it does not append as a follower`,
      );
    const { batches } = scanRecordBatches(records);
    const end = this.#log.logEndOffset;
    // One pass over the headers: which batches are new, and (after the append) their producers.
    let first = -1;
    let last = 0;
    const appended: (RecordBatchHeader & { position: number })[] = [];
    for (const s of batches) {
      const h = readBatchHeader(records, s.position);
      if (h.baseOffset + BigInt(h.lastOffsetDelta) < end) continue;
      if (first < 0) first = s.position;
      last = s.position + s.size;
      appended.push({ ...h, position: s.position });
    }
    if (first < 0) return 0;
    const data = records.subarray(first, last);
    this.#log.appendAsFollower(data);
    for (const h of appended) this.#recordProducerBatch(h, data, h.position - first);
    this.#appendedBytes += data.length;
    this.#ctx.metrics.replicationBytesIn(data.length);
    return data.length;
  }

  /** Follower: the high watermark is the leader's, bounded by what this replica has. */
  updateFollowerHighWatermark(leaderHw: bigint): boolean {
    const leo = this.#log.logEndOffset;
    return this.#log.maybeIncrementHighWatermark(leaderHw < leo ? leaderHw : leo);
  }

  /** Follower: follow the leader's log start (DeleteRecords, retention) once it is below our high watermark. */
  maybeIncrementLogStartOffset(leaderLogStartOffset: bigint): void {
    if (leaderLogStartOffset > this.#log.logStartOffset && leaderLogStartOffset <= this.#log.highWatermark) {
      this.#log.deleteRecordsBefore(leaderLogStartOffset);
      this.#producerState.onLogStartOffsetIncremented(this.#log.logStartOffset);
    }
  }

  /**
   * Remove everything at or after `offset` (divergence from the leader). The epoch cache loses
   * entries starting at or past the new end even when no data went (an epoch this broker started as
   * leader but never wrote in), and producer state is rebuilt from the log that remains.
   */
  truncateTo(offset: bigint): void {
    this.#log.truncateTo(offset);
    this.#log.leaderEpochCache.truncateFromEnd(this.#log.logEndOffset);
    this.#reloadProducerState();
  }

  /** Follower far behind the leader's log start: start over empty there. */
  truncateFullyAndStartAt(offset: bigint): void {
    this.#log.truncateFullyAndStartAt(offset);
    this.#reloadProducerState();
  }

  // ---- producer state ----

  /**
   * A producer's batch already in the log (follower appends, replay on load): its data batch or
   * marker as the leader applied it, with no checks. `buf` holds the batch at `position`.
   */
  #recordProducerBatch(h: RecordBatchHeader, buf: Buffer, position: number): void {
    if (h.producerId === NO_PRODUCER_ID) return;
    const last = h.baseOffset + BigInt(h.lastOffsetDelta);
    if (isControl(h.attributes)) {
      const m = readTxnMarker(buf, position);
      if (!m) return;
      this.#applyMarker(
        h.producerId,
        h.producerEpoch,
        m.coordinatorEpoch,
        m.type === ControlRecordType.Abort,
        h.baseOffset,
        m.timestamp,
      );
      return;
    }
    this.#producerState.applyDataBatch(dataBatchOf(h), h.baseOffset, last);
  }

  #reloadProducerState(): void {
    this.#producerState.truncateAndReload(this.#log.logEndOffset);
    this.#rebuildProducerState();
  }

  /**
   * Load the latest producer snapshot and replay the batches after it, so deduplication, open
   * transactions and the aborted-transaction index survive restarts and truncation: the `.txnindex`
   * entries of markers past the snapshot are dropped and written again by the replay (after an
   * unclean shutdown they may be missing or describe cut data).
   */
  #rebuildProducerState(): void {
    let from = this.#producerState.loadSnapshot(this.#log.logEndOffset, this.#log.logStartOffset);
    const end = this.#log.logEndOffset;
    if (from < end) this.#log.truncateAbortedTxnsFrom(from);
    while (from < end) {
      const data = this.#log.read(from, { maxBytes: REPLAY_CHUNK_BYTES, minOneMessage: true });
      if (data.records.length === 0) break;
      const { batches } = scanRecordBatches(data.records);
      if (batches.length === 0) break;
      let next = from;
      for (const s of batches) {
        const h = readBatchHeader(data.records, s.position);
        const last = h.baseOffset + BigInt(h.lastOffsetDelta);
        if (last < from) continue;
        this.#recordProducerBatch(h, data.records, s.position);
        next = last + 1n;
      }
      if (next <= from) break;
      from = next;
    }
    this.#producerState.onHighWatermarkUpdated(this.#log.highWatermark);
  }

  /** Persist producer state at the log end (clean shutdown, periodic checkpoint). */
  snapshotProducerState(): void {
    if (this.#log.isClosed) return;
    this.#producerState.takeSnapshot(this.#log.logEndOffset);
  }
}
