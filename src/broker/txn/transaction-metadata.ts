/**
 * TransactionMetadata: what the coordinator knows of one transactional id (Kafka's
 * TransactionMetadata), and the state machine over it. Pure: no I/O, no clock (times are passed in).
 *
 * Every change is two-phase, as in Kafka, because it must be durable before it is visible:
 *   1. `prepare…()` checks the transition is legal, records the target as `pendingState` and returns
 *      the would-be metadata (a `TxnTransitMetadata`), which the state manager writes to
 *      `__transaction_state`;
 *   2. once the write is replicated, `completeTransitionTo(transit)` makes it the current state.
 * While a transition is pending, every request for the id answers CONCURRENT_TRANSACTIONS (the
 * coordinator checks `pendingState`), so no two changes of one id overlap even though the writes
 * are asynchronous. A failed write clears `pendingState` (the state manager does it).
 *
 * Epochs (KIP-360, KIP-890): `producerEpoch` is the current epoch, `lastProducerEpoch` the one before
 * the last bump (so a retried InitProducerId or EndTxn is recognised), `prevProducerId` the producer
 * id before the transition, `nextProducerId` the id a TV2 transaction moves to when its epoch is
 * exhausted. An epoch at Short.MAX_VALUE - 1 is exhausted: the next bump rotates the producer id, so
 * the coordinator can always fence with one more bump.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { TransactionState, VALID_PREVIOUS_STATES } from './transaction-state.js';
import { TopicPartitionSet, type TopicPartition } from './topic-partitions.js';

export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
export const MAX_EPOCH = 32767;

/** The transaction.version a request or a record speaks (KIP-890): 0, 1 or 2. */
export type TransactionVersion = 0 | 1 | 2;

/** TV2: the epoch is bumped by every EndTxn, and the response carries it. */
export function supportsEpochBump(tv: TransactionVersion): boolean {
  return tv >= 2;
}

/** `__transaction_state` value version: 1 (flexible, tagged fields) once transaction.version >= 1. */
export function logValueVersion(tv: TransactionVersion): 0 | 1 {
  return tv >= 1 ? 1 : 0;
}

export function toTransactionVersion(level: number): TransactionVersion {
  return level >= 2 ? 2 : level === 1 ? 1 : 0;
}

export function isEpochExhausted(epoch: number): boolean {
  return epoch >= MAX_EPOCH - 1;
}

/** The metadata a transition would produce: written to the log, then applied. */
export interface TxnTransitMetadata {
  producerId: bigint;
  prevProducerId: bigint;
  nextProducerId: bigint;
  producerEpoch: number;
  lastProducerEpoch: number;
  txnTimeoutMs: number;
  txnState: TransactionState;
  topicPartitions: TopicPartitionSet;
  txnStartTimestamp: number;
  txnLastUpdateTimestamp: number;
  clientTransactionVersion: TransactionVersion;
}

/**
 * A transition the state machine does not allow: a bug, never a client's doing (Kafka throws
 * IllegalStateException). Not exported: nothing catches it by type; a handler that meets it closes
 * the connection, as for any bug.
 */
class IllegalTransactionTransition extends Error {
  override readonly name = 'IllegalTransactionTransition';
}

/** A request the metadata refuses with a Kafka error (PRODUCER_FENCED from an epoch check). */
export class TransactionRefusal {
  constructor(readonly errorCode: number) {}
}

export interface TransactionMetadataInit {
  transactionalId: string;
  producerId: bigint;
  prevProducerId?: bigint;
  nextProducerId?: bigint;
  producerEpoch: number;
  lastProducerEpoch?: number;
  txnTimeoutMs: number;
  state: TransactionState;
  topicPartitions?: Iterable<TopicPartition>;
  txnStartTimestamp?: number;
  txnLastUpdateTimestamp: number;
  clientTransactionVersion?: TransactionVersion;
}

export class TransactionMetadata {
  readonly transactionalId: string;
  producerId: bigint;
  prevProducerId: bigint;
  nextProducerId: bigint;
  producerEpoch: number;
  lastProducerEpoch: number;
  txnTimeoutMs: number;
  state: TransactionState;
  topicPartitions: TopicPartitionSet;
  /** When the current transaction started (first partition added); -1 when none. */
  txnStartTimestamp: number;
  txnLastUpdateTimestamp: number;
  clientTransactionVersion: TransactionVersion;
  /** The state a transition in flight will reach; null when none is. */
  pendingState: TransactionState | null = null;
  /**
   * An epoch fence whose write failed: its bumped epoch was never returned to anyone, so the next
   * fence reuses it instead of bumping again.
   */
  hasFailedEpochFence = false;

  constructor(i: TransactionMetadataInit) {
    this.transactionalId = i.transactionalId;
    this.producerId = i.producerId;
    this.prevProducerId = i.prevProducerId ?? NO_PRODUCER_ID;
    this.nextProducerId = i.nextProducerId ?? NO_PRODUCER_ID;
    this.producerEpoch = i.producerEpoch;
    this.lastProducerEpoch = i.lastProducerEpoch ?? NO_PRODUCER_EPOCH;
    this.txnTimeoutMs = i.txnTimeoutMs;
    this.state = i.state;
    this.topicPartitions = new TopicPartitionSet(i.topicPartitions);
    this.txnStartTimestamp = i.txnStartTimestamp ?? -1;
    this.txnLastUpdateTimestamp = i.txnLastUpdateTimestamp;
    this.clientTransactionVersion = i.clientTransactionVersion ?? 0;
  }

  get pendingTransitionInProgress(): boolean {
    return this.pendingState !== null;
  }

  get isProducerEpochExhausted(): boolean {
    return isEpochExhausted(this.producerEpoch);
  }

  /** Ongoing or waiting for markers: a producer id cannot be rotated under it. */
  get hasPendingTransaction(): boolean {
    return (
      this.state === TransactionState.Ongoing ||
      this.state === TransactionState.PrepareAbort ||
      this.state === TransactionState.PrepareCommit
    );
  }

  /** A marker for `tp` was written (or the partition is gone): it no longer waits. */
  removePartition(tp: TopicPartition): void {
    if (this.state !== TransactionState.PrepareCommit && this.state !== TransactionState.PrepareAbort)
      throw new IllegalTransactionTransition(
        `${this.transactionalId}: removing ${tp.topic}-${tp.partition} in state ${this.state} (pending ${this.pendingState})`,
      );
    this.topicPartitions.delete(tp.topic, tp.partition);
  }

  /** The current metadata as a transit value, without preparing anything (loading, tests). */
  snapshot(): TxnTransitMetadata {
    return {
      producerId: this.producerId,
      prevProducerId: this.prevProducerId,
      nextProducerId: this.nextProducerId,
      producerEpoch: this.producerEpoch,
      lastProducerEpoch: this.lastProducerEpoch,
      txnTimeoutMs: this.txnTimeoutMs,
      txnState: this.state,
      topicPartitions: this.topicPartitions.copy(),
      txnStartTimestamp: this.txnStartTimestamp,
      txnLastUpdateTimestamp: this.txnLastUpdateTimestamp,
      clientTransactionVersion: this.clientTransactionVersion,
    };
  }

  /**
   * Fence the current producer (a new one called InitProducerId while a transaction was open, or
   * the transaction timed out): bump the epoch, unless an earlier fence's write failed.
   */
  prepareFenceProducerEpoch(): TxnTransitMetadata {
    const bumped =
      this.hasFailedEpochFence || this.producerEpoch === MAX_EPOCH
        ? this.producerEpoch
        : this.producerEpoch + 1;
    return this.#prepare({ txnState: TransactionState.PrepareEpochFence, producerEpoch: bumped });
  }

  /**
   * InitProducerId on an id with no open transaction: bump the epoch. With an expected epoch
   * (KIP-360): the current one bumps (recovery), the last one answers the current without bumping
   * (a retry of a bump that succeeded), anything else is a fenced producer (PRODUCER_FENCED).
   */
  prepareIncrementProducerEpoch(
    newTxnTimeoutMs: number,
    expectedProducerEpoch: number | null,
    now: number,
  ): TxnTransitMetadata | TransactionRefusal {
    let producerEpoch: number;
    let lastProducerEpoch: number;
    const bumped = this.producerEpoch + 1;
    if (expectedProducerEpoch === null) {
      // A new producer instance: bump, and forget the last epoch so the old instance cannot retry.
      producerEpoch = bumped;
      lastProducerEpoch = NO_PRODUCER_EPOCH;
    } else if (this.producerEpoch === NO_PRODUCER_EPOCH || expectedProducerEpoch === this.producerEpoch) {
      producerEpoch = bumped;
      lastProducerEpoch = this.producerEpoch;
    } else if (expectedProducerEpoch === this.lastProducerEpoch) {
      producerEpoch = this.producerEpoch;
      lastProducerEpoch = this.lastProducerEpoch;
    } else {
      return new TransactionRefusal(ErrorCode.PRODUCER_FENCED);
    }
    // The caller rotates the producer id instead of bumping an exhausted epoch (Kafka checks this
    // before anything else; here a retry that bumps nothing is still answered).
    if (producerEpoch !== this.producerEpoch && this.isProducerEpochExhausted)
      throw new IllegalTransactionTransition(
        `cannot bump the exhausted epoch of producer ${this.producerId}`,
      );
    return this.#prepare({
      txnState: TransactionState.Empty,
      producerEpoch,
      lastProducerEpoch,
      txnTimeoutMs: newTxnTimeoutMs,
      topicPartitions: new TopicPartitionSet(),
      txnStartTimestamp: -1,
      txnLastUpdateTimestamp: now,
    });
  }

  /** The epoch is exhausted: continue under a new producer id at epoch 0. */
  prepareProducerIdRotation(
    newProducerId: bigint,
    newTxnTimeoutMs: number,
    now: number,
    recordLastEpoch: boolean,
  ): TxnTransitMetadata {
    if (this.hasPendingTransaction)
      throw new IllegalTransactionTransition('cannot rotate the producer id while a transaction is pending');
    return this.#prepare({
      txnState: TransactionState.Empty,
      producerId: newProducerId,
      producerEpoch: 0,
      lastProducerEpoch: recordLastEpoch ? this.producerEpoch : NO_PRODUCER_EPOCH,
      txnTimeoutMs: newTxnTimeoutMs,
      topicPartitions: new TopicPartitionSet(),
      txnStartTimestamp: -1,
      txnLastUpdateTimestamp: now,
    });
  }

  prepareAddPartitions(
    added: Iterable<TopicPartition>,
    now: number,
    clientTransactionVersion: TransactionVersion,
  ): TxnTransitMetadata {
    const starting =
      this.state === TransactionState.Empty ||
      this.state === TransactionState.CompleteAbort ||
      this.state === TransactionState.CompleteCommit;
    const topicPartitions = this.topicPartitions.copy();
    topicPartitions.addAll(added);
    return this.#prepare({
      txnState: TransactionState.Ongoing,
      topicPartitions,
      txnStartTimestamp: starting ? now : this.txnStartTimestamp,
      txnLastUpdateTimestamp: now,
      clientTransactionVersion,
    });
  }

  /**
   * EndTxn: PrepareCommit or PrepareAbort. Under TV2 the epoch is bumped here (the markers and the
   * next transaction use the new one), except an abort at Short.MAX_VALUE, which must still go
   * through. `noPartitionAdded`: a TV2 abort from Empty/Complete*, which starts and ends now.
   */
  prepareAbortOrCommit(
    newState: typeof TransactionState.PrepareCommit | typeof TransactionState.PrepareAbort,
    clientTransactionVersion: TransactionVersion,
    nextProducerId: bigint,
    now: number,
    noPartitionAdded: boolean,
  ): TxnTransitMetadata {
    let producerEpoch = this.producerEpoch;
    let lastProducerEpoch = this.lastProducerEpoch;
    if (supportsEpochBump(clientTransactionVersion)) {
      if (!(this.producerEpoch === MAX_EPOCH && newState === TransactionState.PrepareAbort))
        producerEpoch = this.producerEpoch + 1;
      lastProducerEpoch = this.producerEpoch;
    }
    return this.#prepare({
      txnState: newState,
      producerEpoch,
      lastProducerEpoch,
      nextProducerId,
      txnStartTimestamp: noPartitionAdded ? now : this.txnStartTimestamp,
      txnLastUpdateTimestamp: now,
      clientTransactionVersion,
    });
  }

  /** Every marker is written: CompleteCommit / CompleteAbort (TV2 overflow moves to nextProducerId). */
  prepareComplete(now: number): TxnTransitMetadata {
    this.hasFailedEpochFence = false;
    const rotate = supportsEpochBump(this.clientTransactionVersion) && this.nextProducerId !== NO_PRODUCER_ID;
    return this.#prepare({
      txnState:
        this.state === TransactionState.PrepareCommit
          ? TransactionState.CompleteCommit
          : TransactionState.CompleteAbort,
      producerId: rotate ? this.nextProducerId : this.producerId,
      producerEpoch: rotate ? 0 : this.producerEpoch,
      nextProducerId: NO_PRODUCER_ID,
      topicPartitions: new TopicPartitionSet(),
      txnLastUpdateTimestamp: now,
    });
  }

  /** The id expires (a tombstone will be written). */
  prepareDead(): TxnTransitMetadata {
    return this.#prepare({ txnState: TransactionState.Dead, topicPartitions: new TopicPartitionSet() });
  }

  #prepare(change: Partial<TxnTransitMetadata> & { txnState: TransactionState }): TxnTransitMetadata {
    if (this.pendingState !== null)
      throw new IllegalTransactionTransition(
        `${this.transactionalId}: preparing ${change.txnState} while ${this.pendingState} is pending`,
      );
    const t: TxnTransitMetadata = {
      producerId: change.producerId ?? this.producerId,
      // The producer id before this transition (Kafka stores it as PreviousProducerId).
      prevProducerId: this.producerId,
      nextProducerId: change.nextProducerId ?? this.nextProducerId,
      producerEpoch: change.producerEpoch ?? this.producerEpoch,
      lastProducerEpoch: change.lastProducerEpoch ?? this.lastProducerEpoch,
      txnTimeoutMs: change.txnTimeoutMs ?? this.txnTimeoutMs,
      txnState: change.txnState,
      topicPartitions: change.topicPartitions ?? this.topicPartitions.copy(),
      txnStartTimestamp: change.txnStartTimestamp ?? this.txnStartTimestamp,
      txnLastUpdateTimestamp: change.txnLastUpdateTimestamp ?? this.txnLastUpdateTimestamp,
      clientTransactionVersion: change.clientTransactionVersion ?? this.clientTransactionVersion,
    };
    if (t.producerId < 0n) throw new IllegalTransactionTransition(`illegal producer id ${t.producerId}`);
    if (t.txnState !== TransactionState.Dead && t.producerEpoch < 0)
      throw new IllegalTransactionTransition(`illegal producer epoch ${t.producerEpoch}`);
    if (!VALID_PREVIOUS_STATES[t.txnState].has(this.state))
      throw new IllegalTransactionTransition(
        `${this.transactionalId}: ${this.state} → ${t.txnState} is not a valid transition`,
      );
    this.pendingState = t.txnState;
    return t;
  }

  /**
   * Apply a transition whose record is now in the log. Checks it is the one prepared and is
   * consistent with the current metadata (Kafka's invariants); a mismatch is a bug and throws.
   */
  completeTransitionTo(t: TxnTransitMetadata): void {
    const to = this.pendingState;
    const fail = (why: string): never => {
      throw new IllegalTransactionTransition(
        `${this.transactionalId}: completing ${this.state} → ${t.txnState} failed: ${why}`,
      );
    };
    if (to === null) return fail('no transition is pending');
    if (to !== t.txnState) fail(`the pending state is ${to}`);
    switch (to) {
      case TransactionState.Empty:
        if (
          (this.producerEpoch !== t.producerEpoch && !this.#validEpochBump(t)) ||
          t.topicPartitions.size !== 0 ||
          t.txnStartTimestamp !== -1
        )
          fail('not a valid producer id/epoch initialisation');
        break;
      case TransactionState.Ongoing:
        if (
          !this.#validProducerEpoch(t) ||
          !t.topicPartitions.containsAll(this.topicPartitions) ||
          this.txnTimeoutMs !== t.txnTimeoutMs
        )
          fail('partitions or epoch do not match');
        break;
      case TransactionState.PrepareAbort:
      case TransactionState.PrepareCommit: {
        const emptyAbortV2 =
          to === TransactionState.PrepareAbort &&
          supportsEpochBump(t.clientTransactionVersion) &&
          (this.state === TransactionState.Empty ||
            this.state === TransactionState.CompleteCommit ||
            this.state === TransactionState.CompleteAbort);
        if (
          !this.#validProducerEpoch(t) ||
          !this.topicPartitions.equals(t.topicPartitions) ||
          this.txnTimeoutMs !== t.txnTimeoutMs ||
          !(this.txnStartTimestamp === t.txnStartTimestamp || emptyAbortV2)
        )
          fail('partitions, timeout, start time or epoch do not match');
        break;
      }
      case TransactionState.CompleteAbort:
      case TransactionState.CompleteCommit:
        if (
          !this.#validProducerEpoch(t) ||
          this.txnTimeoutMs !== t.txnTimeoutMs ||
          t.txnStartTimestamp === -1
        )
          fail('epoch, timeout or start time do not match');
        break;
      case TransactionState.PrepareEpochFence:
        // Never written: a fence goes straight on to PrepareAbort.
        fail('PrepareEpochFence is never completed');
        break;
      case TransactionState.Dead:
        // An expired id is removed from the cache, never completed.
        fail('Dead is never completed');
        break;
    }
    this.producerId = t.producerId;
    this.prevProducerId = t.prevProducerId;
    this.nextProducerId = t.nextProducerId;
    this.producerEpoch = t.producerEpoch;
    this.lastProducerEpoch = t.lastProducerEpoch;
    this.txnTimeoutMs = t.txnTimeoutMs;
    this.topicPartitions = t.topicPartitions;
    this.txnStartTimestamp = t.txnStartTimestamp;
    this.txnLastUpdateTimestamp = t.txnLastUpdateTimestamp;
    this.clientTransactionVersion = t.clientTransactionVersion;
    this.pendingState = null;
    this.state = to;
  }

  #validProducerEpoch(t: TxnTransitMetadata): boolean {
    const v2 = supportsEpochBump(t.clientTransactionVersion);
    const complete =
      t.txnState === TransactionState.CompleteCommit || t.txnState === TransactionState.CompleteAbort;
    // TV2 overflow: completion moved to the next producer id at epoch 0.
    if (v2 && complete && t.producerEpoch === 0)
      return t.lastProducerEpoch === this.lastProducerEpoch && t.prevProducerId === this.producerId;
    // TV2 EndTxn bumped the epoch.
    if (v2 && (t.txnState === TransactionState.PrepareCommit || t.txnState === TransactionState.PrepareAbort))
      return t.lastProducerEpoch === this.producerEpoch && t.producerId === this.producerId;
    return t.producerEpoch === this.producerEpoch && t.producerId === this.producerId;
  }

  #validEpochBump(t: TxnTransitMetadata): boolean {
    return (
      t.producerEpoch === this.producerEpoch + 1 ||
      (t.producerEpoch === 0 && t.producerId !== this.producerId)
    );
  }

  toString(): string {
    return (
      `TransactionMetadata(${this.transactionalId}, producerId=${this.producerId}, epoch=${this.producerEpoch}, ` +
      `lastEpoch=${this.lastProducerEpoch}, state=${this.state}, pending=${this.pendingState}, ` +
      `partitions=${this.topicPartitions.toString()}, tv=${this.clientTransactionVersion})`
    );
  }
}
