/**
 * Partition: one topic-partition replica on this broker (Kafka's Partition). Owns the UnifiedLog,
 * the leader state (epoch, ISR, followers' log end offsets, high watermark) and the idempotent
 * producer state. The ReplicaManager creates it and switches it between leader and follower as the
 * metadata table says; handlers reach it through the ReplicaManager.
 */
import type { UnifiedLog } from '../storage/unified-log.js';
import { scanRecordBatches } from '../protocol/records/batch.js';
import { readBatchHeader, NO_PRODUCER_ID } from '../protocol/records/batch-header.js';
import { ProducerStateManager, type BatchMetadata } from './producer-state.js';
import type { PartitionState } from '../controller/records.js';

export interface LeaderAppendResult {
  baseOffset: bigint;
  lastOffset: bigint;
  logAppendTime: bigint;
  logStartOffset: bigint;
  recordCount: number;
  /** The batch was a retry of one already in the log: nothing appended, original offsets returned. */
  duplicate: boolean;
}

export class PartitionError extends Error {
  override readonly name = 'PartitionError';
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
  }
}

export class Partition {
  readonly topic: string;
  readonly index: number;
  readonly log: UnifiedLog;
  readonly producerState: ProducerStateManager;
  readonly nodeId: number;
  leaderEpoch = -1;
  partitionEpoch = -1;
  leaderId = -1;
  isr: number[] = [];
  replicas: number[] = [];
  /** Followers' log end offsets as reported by their fetches (leader only). */
  readonly followerEndOffsets = new Map<number, { offset: bigint; lastCaughtUpMs: number }>();

  constructor(topic: string, index: number, log: UnifiedLog, nodeId: number) {
    this.topic = topic;
    this.index = index;
    this.log = log;
    this.nodeId = nodeId;
    this.producerState = new ProducerStateManager(log.dir);
    this.#rebuildProducerState();
  }

  get key(): string {
    return `${this.topic}-${this.index}`;
  }

  get isLeader(): boolean {
    return this.leaderId === this.nodeId;
  }

  get highWatermark(): bigint {
    return this.log.highWatermark;
  }

  /** The last stable offset: no transactions yet, so it is the high watermark. */
  get lastStableOffset(): bigint {
    return this.log.highWatermark;
  }

  /** Apply the controller's state for this partition. Returns true when it just became leader. */
  applyState(state: PartitionState, replicas: number[]): boolean {
    const wasLeader = this.isLeader;
    this.replicas = replicas;
    this.isr = state.isr;
    this.partitionEpoch = state.partitionEpoch;
    const epochChanged = state.leaderEpoch !== this.leaderEpoch;
    this.leaderEpoch = state.leaderEpoch;
    this.leaderId = state.leader;
    if (this.isLeader && (!wasLeader || epochChanged)) {
      this.followerEndOffsets.clear();
      this.maybeIncrementHighWatermark();
      return true;
    }
    return false;
  }

  /**
   * Leader append of one client batch (already validated). Idempotent producers are checked against
   * the producer state first; a retried batch returns its original offsets without being written.
   */
  appendAsLeader(batch: Buffer, producerId: bigint, producerEpoch: number, baseSequence: number, recordCount: number): LeaderAppendResult {
    if (!this.isLeader) {
      throw new PartitionError('NOT_LEADER_OR_FOLLOWER', `Broker ${this.nodeId} is not the leader of ${this.key}`);
    }
    if (producerId !== NO_PRODUCER_ID) {
      const check = this.producerState.check(producerId, producerEpoch, baseSequence, recordCount);
      if (check.kind === 'error') throw new PartitionError(check.errorName, check.message);
      if (check.kind === 'duplicate') return this.#duplicate(check.batch, recordCount);
    }
    const info = this.log.append(batch, { leaderEpoch: this.leaderEpoch, alreadyValidated: true });
    if (producerId !== NO_PRODUCER_ID) {
      const lastSeq = (baseSequence + recordCount - 1) % 0x80000000;
      this.producerState.update(producerId, producerEpoch, baseSequence, lastSeq, info.firstOffset, info.lastOffset, info.maxTimestamp);
    }
    this.maybeIncrementHighWatermark();
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
    return { baseOffset: b.firstOffset, lastOffset: b.lastOffset, logAppendTime: -1n, logStartOffset: this.log.logStartOffset, recordCount, duplicate: true };
  }

  /**
   * The high watermark is the smallest log end offset among the ISR (the leader's own included).
   * Returns true when it moved, so waiting fetches and acks=all produces can be completed.
   */
  maybeIncrementHighWatermark(): boolean {
    if (!this.isLeader) return false;
    let hw = this.log.logEndOffset;
    for (const id of this.isr) {
      if (id === this.nodeId) continue;
      const f = this.followerEndOffsets.get(id);
      const leo = f?.offset ?? 0n;
      if (leo < hw) hw = leo;
    }
    return this.log.maybeIncrementHighWatermark(hw);
  }

  /** Offsets in the ISR that have the given offset (for acks=all): true when all ISR members do. */
  isrHas(offset: bigint): boolean {
    return this.highWatermark >= offset;
  }

  /** Replay batch headers after the latest producer snapshot, so deduplication survives restarts. */
  #rebuildProducerState(): void {
    let from = this.producerState.loadSnapshot(this.log.logEndOffset, this.log.logStartOffset);
    const end = this.log.logEndOffset;
    while (from < end) {
      const data = this.log.read(from, { maxBytes: 4 * 1024 * 1024, minOneMessage: true });
      if (data.records.length === 0) break;
      const { batches } = scanRecordBatches(data.records);
      if (batches.length === 0) break;
      let next = from;
      for (const s of batches) {
        const h = readBatchHeader(data.records, s.position);
        const last = h.baseOffset + BigInt(h.lastOffsetDelta);
        if (last < from) continue;
        if (h.producerId !== NO_PRODUCER_ID && h.baseSequence >= 0) {
          this.producerState.update(h.producerId, h.producerEpoch, h.baseSequence, (h.baseSequence + h.lastOffsetDelta) % 0x80000000, h.baseOffset, last, h.maxTimestamp);
        }
        next = last + 1n;
      }
      if (next <= from) break;
      from = next;
    }
  }

  /** Persist producer state at the log end (clean shutdown, periodic checkpoint). */
  snapshotProducerState(): void {
    if (this.log.isClosed) return;
    this.producerState.takeSnapshot(this.log.logEndOffset);
  }
}
