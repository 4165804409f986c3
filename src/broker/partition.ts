/**
 * Partition: one topic-partition replica on this broker (Kafka's Partition). Owns the UnifiedLog,
 * the leader state (epoch, ISR, followers' log end offsets, high watermark) and the idempotent
 * producer state. The ReplicaManager creates it and switches it between leader and follower as the
 * metadata table says; handlers reach it through the ReplicaManager.
 */
import type { UnifiedLog } from '../storage/unified-log.js';
import { scanRecordBatches } from '../protocol/records/batch.js';
import { readBatchHeader, NO_PRODUCER_ID, type RecordBatchHeader } from '../protocol/records/batch-header.js';
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
  /** Followers' fetch state as reported by their fetches (leader only). */
  readonly followerStates = new Map<number, FollowerState>();
  /** Where this leader's epoch starts in the log (a follower joins the ISR only past it). */
  leaderEpochStartOffset = -1n;
  /** The ISR asked of the controller and not answered yet (leader only); null when none in flight. */
  pendingIsr: number[] | null = null;

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

  /**
   * Apply the controller's state for this partition. Returns what changed for this broker: it
   * became leader (new epoch), became or stays a follower of a new leader, or nothing. A state
   * older than one already applied (the controller's AlterPartition answer can arrive before the
   * table's watch event) is ignored.
   */
  applyState(state: PartitionState, replicas: number[], now = Date.now()): StateChange {
    if (state.partitionEpoch < this.partitionEpoch && state.leaderEpoch <= this.leaderEpoch) return 'stale';
    const wasLeader = this.isLeader;
    const oldLeader = this.leaderId;
    this.replicas = replicas;
    this.isr = state.isr;
    this.partitionEpoch = state.partitionEpoch;
    const epochChanged = state.leaderEpoch !== this.leaderEpoch;
    this.leaderEpoch = state.leaderEpoch;
    this.leaderId = state.leader;
    if (this.pendingIsr && (epochChanged || !this.isLeader)) this.pendingIsr = null;
    if (this.isLeader && (!wasLeader || epochChanged)) {
      // Kafka's makeLeader: the new epoch starts at the log end; in-sync followers count as caught
      // up now, their log end offsets are unknown until they fetch.
      this.followerStates.clear();
      for (const r of replicas) {
        if (r === this.nodeId) continue;
        this.followerStates.set(r, {
          logEndOffset: -1n,
          lastCaughtUpMs: this.isr.includes(r) ? now : 0,
          lastFetchMs: 0,
          lastFetchLeaderLogEndOffset: -1n,
        });
      }
      this.leaderEpochStartOffset = this.log.logEndOffset;
      this.log.leaderEpochCache.assign(this.leaderEpoch, this.log.logEndOffset);
      this.maybeIncrementHighWatermark();
      return 'became-leader';
    }
    if (this.isLeader) {
      for (const r of replicas) {
        if (r !== this.nodeId && !this.followerStates.has(r))
          this.followerStates.set(r, {
            logEndOffset: -1n,
            lastCaughtUpMs: 0,
            lastFetchMs: 0,
            lastFetchLeaderLogEndOffset: -1n,
          });
      }
      // The ISR may have shrunk: the high watermark can move.
      this.maybeIncrementHighWatermark();
      return 'none';
    }
    if (wasLeader) {
      this.followerStates.clear();
      this.leaderEpochStartOffset = -1n;
      return 'became-follower';
    }
    return oldLeader !== this.leaderId || epochChanged ? 'leader-changed' : 'none';
  }

  /**
   * Leader append of one client batch (already validated). Idempotent producers are checked against
   * the producer state first; a retried batch returns its original offsets without being written.
   */
  appendAsLeader(
    batch: Buffer,
    producerId: bigint,
    producerEpoch: number,
    baseSequence: number,
    recordCount: number,
  ): LeaderAppendResult {
    if (!this.isLeader) {
      throw new PartitionError(
        'NOT_LEADER_OR_FOLLOWER',
        `Broker ${this.nodeId} is not the leader of ${this.key}`,
      );
    }
    if (producerId !== NO_PRODUCER_ID) {
      const check = this.producerState.check(producerId, producerEpoch, baseSequence, recordCount);
      if (check.kind === 'error') throw new PartitionError(check.errorName, check.message);
      if (check.kind === 'duplicate') return this.#duplicate(check.batch, recordCount);
    }
    const info = this.log.append(batch, { leaderEpoch: this.leaderEpoch, alreadyValidated: true });
    if (producerId !== NO_PRODUCER_ID) {
      const lastSeq = (baseSequence + recordCount - 1) % 0x80000000;
      this.producerState.update(
        producerId,
        producerEpoch,
        baseSequence,
        lastSeq,
        info.firstOffset,
        info.lastOffset,
        info.maxTimestamp,
      );
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
    return {
      baseOffset: b.firstOffset,
      lastOffset: b.lastOffset,
      logAppendTime: -1n,
      logStartOffset: this.log.logStartOffset,
      recordCount,
      duplicate: true,
    };
  }

  /**
   * The high watermark is the smallest log end offset among the ISR (the leader's own included).
   * While an ISR change is in flight the larger of the two ISRs counts (Kafka's "maximal ISR"), so
   * the high watermark never passes what a replica that may still be in the ISR has.
   * Returns true when it moved, so waiting fetches and acks=all produces can be completed.
   */
  maybeIncrementHighWatermark(): boolean {
    if (!this.isLeader) return false;
    let hw = this.log.logEndOffset;
    for (const id of this.maximalIsr()) {
      if (id === this.nodeId) continue;
      const leo = this.followerStates.get(id)?.logEndOffset ?? -1n;
      if (leo < 0n) return false; // not fetched since this broker became leader
      if (leo < hw) hw = leo;
    }
    return this.log.maybeIncrementHighWatermark(hw);
  }

  maximalIsr(): number[] {
    if (!this.pendingIsr) return this.isr;
    return [...new Set([...this.isr, ...this.pendingIsr])];
  }

  /**
   * Leader: a follower fetched from `fetchOffset`, which is its log end offset. It is caught up when
   * that reaches the leader's log end now, or the leader's log end at its previous fetch (then it was
   * caught up as of that fetch). Returns whether the high watermark moved.
   */
  updateFollowerFetchState(replicaId: number, fetchOffset: bigint, now = Date.now()): boolean {
    if (!this.isLeader) return false;
    let st = this.followerStates.get(replicaId);
    if (!st) {
      if (!this.replicas.includes(replicaId)) return false;
      st = { logEndOffset: -1n, lastCaughtUpMs: 0, lastFetchMs: 0, lastFetchLeaderLogEndOffset: -1n };
      this.followerStates.set(replicaId, st);
    }
    const leo = this.log.logEndOffset;
    if (fetchOffset >= leo) st.lastCaughtUpMs = Math.max(st.lastCaughtUpMs, now);
    else if (st.lastFetchLeaderLogEndOffset >= 0n && fetchOffset >= st.lastFetchLeaderLogEndOffset)
      st.lastCaughtUpMs = Math.max(st.lastCaughtUpMs, st.lastFetchMs);
    st.logEndOffset = fetchOffset;
    st.lastFetchLeaderLogEndOffset = leo;
    st.lastFetchMs = now;
    return this.maybeIncrementHighWatermark();
  }

  /**
   * Followers outside the ISR that have caught up to the high watermark in this leader's epoch, and
   * are fetching (fetched within `maxLagMs`: a dead follower's last state does not count).
   */
  followersToAdd(maxLagMs: number, now = Date.now()): number[] {
    if (!this.isLeader) return [];
    const out: number[] = [];
    for (const [id, st] of this.followerStates) {
      if (this.isr.includes(id) || !this.replicas.includes(id)) continue;
      if (st.lastFetchMs <= 0 || now - st.lastFetchMs > maxLagMs) continue;
      if (st.logEndOffset >= this.highWatermark && st.logEndOffset >= this.leaderEpochStartOffset)
        out.push(id);
    }
    return out;
  }

  /** ISR followers that have not been caught up within `maxLagMs`. */
  outOfSyncFollowers(maxLagMs: number, now = Date.now()): number[] {
    if (!this.isLeader) return [];
    const out: number[] = [];
    for (const id of this.isr) {
      if (id === this.nodeId) continue;
      const st = this.followerStates.get(id);
      if (!st || now - st.lastCaughtUpMs > maxLagMs) out.push(id);
    }
    return out;
  }

  // ---- follower side ----

  /**
   * Follower append of what the leader returned: keeps the leader's offsets and epochs, records
   * idempotent producers' batches (so deduplication carries on after this replica becomes leader).
   * Only whole batches at or after the log end are appended. Returns the bytes appended.
   */
  appendRecordsAsFollower(records: Buffer): number {
    if (this.isLeader)
      throw new PartitionError(
        'NOT_LEADER_OR_FOLLOWER',
        `Broker ${this.nodeId} leads ${this.key}; it does not append as a follower`,
      );
    const { batches } = scanRecordBatches(records);
    const end = this.log.logEndOffset;
    // One pass over the headers: which batches are new, and (after the append) their producers.
    let first = -1;
    let last = 0;
    const appended: RecordBatchHeader[] = [];
    for (const s of batches) {
      const h = readBatchHeader(records, s.position);
      if (h.baseOffset + BigInt(h.lastOffsetDelta) < end) continue;
      if (first < 0) first = s.position;
      last = s.position + s.size;
      appended.push(h);
    }
    if (first < 0) return 0;
    const data = records.subarray(first, last);
    this.log.appendAsFollower(data);
    for (const h of appended) this.#recordProducerBatch(h);
    return data.length;
  }

  /** An idempotent producer's batch, read from its header (follower appends, rebuilds on load). */
  #recordProducerBatch(h: RecordBatchHeader): void {
    if (h.producerId === NO_PRODUCER_ID || h.baseSequence < 0) return;
    this.producerState.update(
      h.producerId,
      h.producerEpoch,
      h.baseSequence,
      (h.baseSequence + h.lastOffsetDelta) % 0x80000000,
      h.baseOffset,
      h.baseOffset + BigInt(h.lastOffsetDelta),
      h.maxTimestamp,
    );
  }

  /** Follower: the high watermark is the leader's, bounded by what this replica has. */
  updateFollowerHighWatermark(leaderHw: bigint): boolean {
    const hw = leaderHw < this.log.logEndOffset ? leaderHw : this.log.logEndOffset;
    return this.log.maybeIncrementHighWatermark(hw);
  }

  /**
   * Remove everything at or after `offset` (divergence from the leader). The epoch cache loses
   * entries starting at or past the new end even when no data went (an epoch this broker started as
   * leader but never wrote in), and producer state is rebuilt from the log that remains.
   */
  truncateTo(offset: bigint): void {
    this.log.truncateTo(offset);
    this.log.leaderEpochCache.truncateFromEnd(this.log.logEndOffset);
    this.reloadProducerState();
  }

  /** Follower far behind the leader's log start: start over empty there. */
  truncateFullyAndStartAt(offset: bigint): void {
    this.log.truncateFullyAndStartAt(offset);
    this.reloadProducerState();
  }

  reloadProducerState(): void {
    this.producerState.truncateAndReload(this.log.logEndOffset);
    this.#rebuildProducerState();
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
        this.#recordProducerBatch(h);
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
