/**
 * TransactionCoordinator: Kafka's transaction protocol for the transactional ids whose
 * `__transaction_state` partition this broker leads (Kafka's TransactionCoordinator, 4.4
 * semantics). It answers InitProducerId (with a transactional id), AddPartitionsToTxn (add, and the
 * partition leaders' KIP-890 verification), AddOffsetsToTxn, EndTxn, DescribeTransactions and
 * ListTransactions, aborts transactions past their timeout, and on becoming a partition's leader
 * finishes the transactions it finds half-complete.
 *
 * Each request: look the id up (NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS when it is not ours
 * or not loaded yet), decide synchronously against its TransactionMetadata (which records the
 * transition it prepares as pending, so concurrent requests get CONCURRENT_TRANSACTIONS), then await
 * the write to `__transaction_state` and answer. Error codes and their order of checks are Kafka
 * 4.4's. Transaction versions (KIP-890): a client's EndTxn v5+ / a broker's AddPartitionsToTxn v4+
 * speak TV2 (the epoch is bumped by every EndTxn and returned to the client); older versions TV0/1.
 * Transitions the coordinator makes on its own (timeouts, fencing) use the cluster's finalized
 * transaction.version.
 */
import type { Logger } from '../../common/logger.js';
import { ErrorCode, errorName } from '../../protocol/error-codes.js';
import { errorCodeOf } from '../error-mapping.js';
import { TransactionState } from './transaction-state.js';
import {
  MAX_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  TransactionMetadata,
  TransactionRefusal,
  isEpochExhausted,
  supportsEpochBump,
  type TransactionVersion,
  type TxnTransitMetadata,
} from './transaction-metadata.js';
import type { TopicPartition } from './topic-partitions.js';
import type { ListedTransaction, TransactionStateManager } from './transaction-state-manager.js';
import type { TransactionMarkerChannelManager, TransactionResult } from './transaction-marker-channel.js';

export interface ProducerIdResult {
  errorCode: number;
  producerId: bigint;
  producerEpoch: number;
}

export interface DescribedTransaction {
  errorCode: number;
  transactionalId: string;
  transactionState: string;
  transactionTimeoutMs: number;
  transactionStartTimeMs: bigint;
  producerId: bigint;
  producerEpoch: number;
  topics: { topic: string; partitions: number[] }[];
}

export interface CoordinatorMetrics {
  timedOutTransactionAborted(): void;
}

/** The decision of a request, before its write: an answer now, or a transition to write. */
type Decision =
  | { kind: 'answer'; errorCode: number; producerId?: bigint; producerEpoch?: number }
  | { kind: 'write'; coordinatorEpoch: number; transit: TxnTransitMetadata; isEpochFence?: boolean }
  | { kind: 'need-producer-id' };

const answer = (errorCode: number): Decision => ({ kind: 'answer', errorCode });
const error = (errorCode: number): ProducerIdResult => ({
  errorCode,
  producerId: NO_PRODUCER_ID,
  producerEpoch: NO_PRODUCER_EPOCH,
});

export interface TransactionCoordinatorOptions {
  stateManager: TransactionStateManager;
  markers: TransactionMarkerChannelManager;
  producerIds: { generate(): Promise<bigint> };
  log: Logger;
  now?: () => number;
  metrics?: CoordinatorMetrics;
}

export class TransactionCoordinator {
  readonly stateManager: TransactionStateManager;
  readonly markers: TransactionMarkerChannelManager;
  readonly #producerIds: { generate(): Promise<bigint> };
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #metrics: CoordinatorMetrics;
  #active = false;

  constructor(o: TransactionCoordinatorOptions) {
    this.stateManager = o.stateManager;
    this.markers = o.markers;
    this.#producerIds = o.producerIds;
    this.#log = o.log;
    this.#now = o.now ?? Date.now;
    this.#metrics = o.metrics ?? { timedOutTransactionAborted() {} };
  }

  get isActive(): boolean {
    return this.#active;
  }

  startup(): void {
    this.#active = true;
  }

  shutdown(): void {
    this.#active = false;
    this.markers.shutdown();
    this.stateManager.shutdown();
  }

  partitionFor(transactionalId: string): number {
    return this.stateManager.partitionFor(transactionalId);
  }

  // ---- InitProducerId ----

  /**
   * InitProducerId for a transactional id: a new producer id (first use), or the same id at the
   * next epoch (fencing older instances), after aborting a transaction left open. `expected` is
   * the producer id and epoch the client had (v3+, KIP-360), null when it had none.
   */
  async handleInitProducerId(
    transactionalId: string,
    transactionTimeoutMs: number,
    expected: { producerId: bigint; producerEpoch: number } | null,
  ): Promise<ProducerIdResult> {
    if (transactionalId === '') return error(ErrorCode.INVALID_REQUEST);
    if (!this.stateManager.validateTransactionTimeoutMs(transactionTimeoutMs))
      return error(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    // A fresh producer id, when one is needed, is fetched (asynchronously) before deciding, and the
    // decision is taken again from the start with it: nothing else may change the id in between.
    let freshId: bigint | null = null;
    for (let round = 0; round < 4; round++) {
      let found = this.stateManager.getTransactionState(transactionalId);
      if (found.error !== null) return error(found.error);
      if (!found.metadata) {
        if (freshId === null) {
          const r = await this.#generateProducerId();
          if (typeof r === 'number') return error(r);
          freshId = r;
          continue;
        }
        found = this.stateManager.putTransactionStateIfNotExists(
          new TransactionMetadata({
            transactionalId,
            producerId: freshId,
            producerEpoch: NO_PRODUCER_EPOCH,
            txnTimeoutMs: transactionTimeoutMs,
            state: TransactionState.Empty,
            txnLastUpdateTimestamp: this.#now(),
            clientTransactionVersion: 0,
          }),
        );
        if (found.error !== null) return error(found.error);
        if (found.metadata?.producerId === freshId) freshId = null;
      }
      const md = found.metadata!;
      const d = this.#prepareInitProducerIdTransit(
        transactionalId,
        transactionTimeoutMs,
        md,
        expected,
        freshId,
        found.coordinatorEpoch,
      );
      if (d.kind === 'need-producer-id') {
        const r = await this.#generateProducerId();
        if (typeof r === 'number') return error(r);
        freshId = r;
        continue;
      }
      if (d.kind === 'answer') return error(d.errorCode);
      const t = d.transit;
      if (t.txnState === TransactionState.PrepareEpochFence) {
        // Abort the open transaction first; the client retries on CONCURRENT_TRANSACTIONS and then
        // gets the epoch bumped once more (so a fence that exhausts the epoch rotates the id).
        const r = await this.#endTransaction(
          transactionalId,
          t.producerId,
          t.producerEpoch,
          'ABORT',
          false,
          this.stateManager.transactionVersionLevel(),
        );
        return error(r.errorCode !== ErrorCode.NONE ? r.errorCode : ErrorCode.CONCURRENT_TRANSACTIONS);
      }
      const code = await this.stateManager.appendTransactionToLog(transactionalId, d.coordinatorEpoch, t);
      if (code !== ErrorCode.NONE) {
        this.#log.info({ transactionalId, error: errorName(code) }, 'InitProducerId failed');
        return error(code);
      }
      this.#log.info(
        {
          transactionalId,
          producerId: t.producerId,
          producerEpoch: t.producerEpoch,
          partition: this.stateManager.partitionFor(transactionalId),
        },
        'initialized transactional id',
      );
      return { errorCode: ErrorCode.NONE, producerId: t.producerId, producerEpoch: t.producerEpoch };
    }
    return error(ErrorCode.CONCURRENT_TRANSACTIONS);
  }

  async #generateProducerId(): Promise<bigint | number> {
    try {
      return await this.#producerIds.generate();
    } catch (err) {
      this.#log.warn({ err }, 'could not allocate a producer id');
      const code = errorCodeOf(err);
      return code === ErrorCode.UNKNOWN_SERVER_ERROR ? ErrorCode.COORDINATOR_NOT_AVAILABLE : code;
    }
  }

  #prepareInitProducerIdTransit(
    transactionalId: string,
    timeoutMs: number,
    md: TransactionMetadata,
    expected: { producerId: bigint; producerEpoch: number } | null,
    freshId: bigint | null,
    coordinatorEpoch: number,
  ): Decision {
    // Fence a producer that names an id/epoch pair unless the metadata was just created (KIP-360
    // recovery from UNKNOWN_PRODUCER_ID), the id is the current one (its epoch is checked by the
    // bump), or it is the previous id with an exhausted epoch (a retried bump that rotated the id).
    const validProducerId = (e: { producerId: bigint; producerEpoch: number }) =>
      md.producerEpoch === NO_PRODUCER_EPOCH ||
      e.producerId === md.producerId ||
      (e.producerId === md.prevProducerId && isEpochExhausted(e.producerEpoch));
    if (md.pendingTransitionInProgress) return answer(ErrorCode.CONCURRENT_TRANSACTIONS);
    if (expected && !validProducerId(expected)) return answer(ErrorCode.PRODUCER_FENCED);
    switch (md.state) {
      case TransactionState.PrepareAbort:
      case TransactionState.PrepareCommit:
        return answer(ErrorCode.CONCURRENT_TRANSACTIONS);
      case TransactionState.CompleteAbort:
      case TransactionState.CompleteCommit:
      case TransactionState.Empty: {
        if (
          md.isProducerEpochExhausted &&
          (expected === null || expected.producerEpoch === md.producerEpoch)
        ) {
          if (freshId === null) return { kind: 'need-producer-id' };
          return {
            kind: 'write',
            coordinatorEpoch,
            transit: md.prepareProducerIdRotation(freshId, timeoutMs, this.#now(), expected !== null),
          };
        }
        const t = md.prepareIncrementProducerEpoch(timeoutMs, expected?.producerEpoch ?? null, this.#now());
        if (t instanceof TransactionRefusal) return answer(t.errorCode);
        return { kind: 'write', coordinatorEpoch, transit: t };
      }
      case TransactionState.Ongoing:
        // The new epoch is never returned: the transaction is aborted and the client retries.
        return { kind: 'write', coordinatorEpoch, transit: md.prepareFenceProducerEpoch() };
      case TransactionState.Dead:
      case TransactionState.PrepareEpochFence:
        throw new Error(
          `transactional id ${transactionalId} found in state ${md.state}, which must never happen`,
        );
    }
  }

  // ---- AddPartitionsToTxn / AddOffsetsToTxn ----

  /** Add partitions to the producer's transaction (starting it if none is open). */
  async handleAddPartitionsToTransaction(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    partitions: TopicPartition[],
    clientTransactionVersion: TransactionVersion,
  ): Promise<number> {
    if (transactionalId === '') return ErrorCode.INVALID_REQUEST;
    const found = this.stateManager.getTransactionState(transactionalId);
    if (found.error !== null) return found.error;
    const md = found.metadata;
    if (!md) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (md.pendingTransitionInProgress) return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (md.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (md.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (md.state === TransactionState.PrepareCommit || md.state === TransactionState.PrepareAbort)
      return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (md.state === TransactionState.Ongoing && md.topicPartitions.containsAll(partitions))
      return ErrorCode.NONE;
    const t = md.prepareAddPartitions(partitions, this.#now(), clientTransactionVersion);
    return this.stateManager.appendTransactionToLog(transactionalId, found.coordinatorEpoch, t);
  }

  /**
   * KIP-890 verification (AddPartitionsToTxn v4+ verifyOnly, from a partition leader): is each
   * partition in the producer's open transaction? Per partition: NONE, or TRANSACTION_ABORTABLE.
   */
  handleVerifyPartitionsInTransaction(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    partitions: TopicPartition[],
  ): Map<TopicPartition, number> {
    const all = (code: number) => new Map(partitions.map((tp) => [tp, code]));
    if (transactionalId === '') return all(ErrorCode.INVALID_REQUEST);
    const found = this.stateManager.getTransactionState(transactionalId);
    if (found.error !== null) return all(found.error);
    const md = found.metadata;
    if (!md) return all(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    // The pending state is not checked: the append path checks again when it writes.
    if (md.producerId !== producerId) return all(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    if (md.producerEpoch !== producerEpoch) return all(ErrorCode.PRODUCER_FENCED);
    if (md.state === TransactionState.PrepareCommit || md.state === TransactionState.PrepareAbort)
      return all(ErrorCode.CONCURRENT_TRANSACTIONS);
    return new Map(
      partitions.map((tp) => [
        tp,
        md.topicPartitions.has(tp.topic, tp.partition) ? ErrorCode.NONE : ErrorCode.TRANSACTION_ABORTABLE,
      ]),
    );
  }

  // ---- EndTxn ----

  /** EndTxn from a client: commit or abort the open transaction (TV2: bumping the epoch). */
  handleEndTransaction(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    result: TransactionResult,
    clientTransactionVersion: TransactionVersion,
  ): Promise<ProducerIdResult> {
    return this.#endTransaction(
      transactionalId,
      producerId,
      producerEpoch,
      result,
      true,
      clientTransactionVersion,
    );
  }

  async #endTransaction(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    result: TransactionResult,
    isFromClient: boolean,
    tv: TransactionVersion,
  ): Promise<ProducerIdResult> {
    if (transactionalId === '') return error(ErrorCode.INVALID_REQUEST);
    let nextProducerId: bigint | null = null;
    for (let round = 0; round < 4; round++) {
      const found = this.stateManager.getTransactionState(transactionalId);
      if (found.error !== null) return error(found.error);
      const md = found.metadata;
      if (!md) return error(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
      const d = supportsEpochBump(tv)
        ? this.#prepareEndTxnV2(
            md,
            found.coordinatorEpoch,
            producerId,
            producerEpoch,
            result,
            isFromClient,
            tv,
            nextProducerId,
          )
        : this.#prepareEndTxnV1(md, found.coordinatorEpoch, producerId, producerEpoch, result, isFromClient);
      if (d.kind === 'need-producer-id') {
        const r = await this.#generateProducerId();
        if (typeof r === 'number') return error(r);
        nextProducerId = r;
        continue;
      }
      if (d.kind === 'answer') {
        return d.errorCode === ErrorCode.NONE
          ? {
              errorCode: ErrorCode.NONE,
              producerId: d.producerId ?? NO_PRODUCER_ID,
              producerEpoch: d.producerEpoch ?? NO_PRODUCER_EPOCH,
            }
          : error(d.errorCode);
      }
      return this.#writeEndTxn(
        transactionalId,
        d.coordinatorEpoch,
        d.transit,
        producerId,
        producerEpoch,
        result,
        tv,
        d.isEpochFence === true,
      );
    }
    return error(ErrorCode.CONCURRENT_TRANSACTIONS);
  }

  #invalidState(transactionalId: string, state: TransactionState, result: TransactionResult): Decision {
    this.#log.warn({ transactionalId, state, result }, 'EndTxn in a state that does not allow it');
    return answer(ErrorCode.INVALID_TXN_STATE);
  }

  /** TV0/TV1: the epoch stays; a retry of a finished commit/abort is answered NONE. */
  #prepareEndTxnV1(
    md: TransactionMetadata,
    coordinatorEpoch: number,
    producerId: bigint,
    producerEpoch: number,
    result: TransactionResult,
    isFromClient: boolean,
  ): Decision {
    const id = md.transactionalId;
    if (md.producerId !== producerId) return answer(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    // Clients must name the current epoch exactly; the coordinator's own aborts carry a bumped one.
    if ((isFromClient && producerEpoch !== md.producerEpoch) || producerEpoch < md.producerEpoch)
      return answer(ErrorCode.PRODUCER_FENCED);
    if (md.pendingTransitionInProgress && md.pendingState !== TransactionState.PrepareEpochFence)
      return answer(ErrorCode.CONCURRENT_TRANSACTIONS);
    switch (md.state) {
      case TransactionState.Ongoing: {
        const next = result === 'COMMIT' ? TransactionState.PrepareCommit : TransactionState.PrepareAbort;
        let isEpochFence = false;
        if (
          next === TransactionState.PrepareAbort &&
          md.pendingState === TransactionState.PrepareEpochFence
        ) {
          // Fencing: the abort is written with the bumped epoch (the fence itself is never written).
          isEpochFence = true;
          md.pendingState = null;
          md.producerEpoch = producerEpoch;
          md.lastProducerEpoch = NO_PRODUCER_EPOCH;
        }
        return {
          kind: 'write',
          coordinatorEpoch,
          transit: md.prepareAbortOrCommit(next, 0, NO_PRODUCER_ID, this.#now(), false),
          isEpochFence,
        };
      }
      case TransactionState.CompleteCommit:
        return result === 'COMMIT' ? answer(ErrorCode.NONE) : this.#invalidState(id, md.state, result);
      case TransactionState.CompleteAbort:
        return result === 'ABORT' ? answer(ErrorCode.NONE) : this.#invalidState(id, md.state, result);
      case TransactionState.PrepareCommit:
        return result === 'COMMIT'
          ? answer(ErrorCode.CONCURRENT_TRANSACTIONS)
          : this.#invalidState(id, md.state, result);
      case TransactionState.PrepareAbort:
        return result === 'ABORT'
          ? answer(ErrorCode.CONCURRENT_TRANSACTIONS)
          : this.#invalidState(id, md.state, result);
      case TransactionState.Empty:
        return this.#invalidState(id, md.state, result);
      case TransactionState.Dead:
      case TransactionState.PrepareEpochFence:
        throw new Error(`transactional id ${id} found in state ${md.state}, which must never happen`);
    }
  }

  /*
   * TV2 (KIP-890): every EndTxn bumps the epoch, so "same state, same epoch" means the next
   * transaction, and a retry is recognised by the client's epoch being one behind:
   *                     Abort               Commit
   *                  retry  current     retry  current
   *   Empty          FENCED  bump       FENCED  INVALID_TXN_STATE
   *   CompleteAbort  NONE    bump       ITS     ITS
   *   CompleteCommit ITS     bump       NONE    ITS
   */
  #prepareEndTxnV2(
    md: TransactionMetadata,
    coordinatorEpoch: number,
    producerId: bigint,
    producerEpoch: number,
    result: TransactionResult,
    isFromClient: boolean,
    tv: TransactionVersion,
    nextProducerId: bigint | null,
  ): Decision {
    const id = md.transactionalId;
    const currentId = md.producerId;
    const currentEpoch = md.producerEpoch;
    const isEpochFence = md.pendingState === TransactionState.PrepareEpochFence;
    // The client retried an EndTxn whose bump overflowed the epoch (the id moved to a new one).
    const retryOnOverflow =
      !isEpochFence &&
      md.prevProducerId === producerId &&
      producerEpoch === MAX_EPOCH - 1 &&
      md.producerEpoch === 0;
    // The client retried an EndTxn that succeeded (the metadata has the bumped epoch).
    const retryOnEpochBump = !isEpochFence && md.producerEpoch === producerEpoch + 1;
    let validEpoch: boolean;
    if (isEpochFence)
      validEpoch = (!isFromClient || producerEpoch === md.producerEpoch) && producerEpoch >= md.producerEpoch;
    else
      switch (md.state) {
        case TransactionState.PrepareCommit:
        case TransactionState.PrepareAbort:
          validEpoch = retryOnEpochBump;
          break;
        case TransactionState.CompleteCommit:
        case TransactionState.CompleteAbort:
          validEpoch = retryOnEpochBump || retryOnOverflow || producerEpoch === md.producerEpoch;
          break;
        default:
          validEpoch = producerEpoch === md.producerEpoch;
      }
    const isRetry = retryOnEpochBump || retryOnOverflow;

    const complete = (
      next: typeof TransactionState.PrepareCommit | typeof TransactionState.PrepareAbort,
      noPartitionAdded: boolean,
    ): Decision => {
      // An exhausted epoch moves to a new producer id at completion (fetched before deciding again).
      if (!isEpochFence && md.isProducerEpochExhausted && nextProducerId === null)
        return { kind: 'need-producer-id' };
      const nextId = !isEpochFence && md.isProducerEpochExhausted ? nextProducerId! : NO_PRODUCER_ID;
      if (next === TransactionState.PrepareAbort && isEpochFence) {
        md.pendingState = null;
        md.producerEpoch = producerEpoch;
        md.lastProducerEpoch = NO_PRODUCER_EPOCH;
      }
      return {
        kind: 'write',
        coordinatorEpoch,
        transit: md.prepareAbortOrCommit(next, tv, nextId, this.#now(), noPartitionAdded),
        isEpochFence,
      };
    };
    const none = (): Decision => ({
      kind: 'answer',
      errorCode: ErrorCode.NONE,
      producerId: currentId,
      producerEpoch: currentEpoch,
    });

    if (md.pendingTransitionInProgress && md.pendingState !== TransactionState.PrepareEpochFence)
      return answer(ErrorCode.CONCURRENT_TRANSACTIONS);
    if (md.producerId !== producerId && !retryOnOverflow)
      return answer(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    if (!validEpoch) return answer(ErrorCode.PRODUCER_FENCED);
    switch (md.state) {
      case TransactionState.Ongoing:
        return complete(
          result === 'COMMIT' ? TransactionState.PrepareCommit : TransactionState.PrepareAbort,
          false,
        );
      case TransactionState.CompleteCommit:
        if (result === 'COMMIT') return isRetry ? none() : this.#invalidState(id, md.state, result);
        return isRetry
          ? this.#invalidState(id, md.state, result)
          : complete(TransactionState.PrepareAbort, true);
      case TransactionState.CompleteAbort:
        if (result === 'ABORT') return isRetry ? none() : complete(TransactionState.PrepareAbort, true);
        return this.#invalidState(id, md.state, result);
      case TransactionState.PrepareCommit:
        return result === 'COMMIT'
          ? answer(ErrorCode.CONCURRENT_TRANSACTIONS)
          : this.#invalidState(id, md.state, result);
      case TransactionState.PrepareAbort:
        return result === 'ABORT'
          ? answer(ErrorCode.CONCURRENT_TRANSACTIONS)
          : this.#invalidState(id, md.state, result);
      case TransactionState.Empty:
        return result === 'ABORT'
          ? complete(TransactionState.PrepareAbort, true)
          : this.#invalidState(id, md.state, result);
      case TransactionState.Dead:
      case TransactionState.PrepareEpochFence:
        throw new Error(`transactional id ${id} found in state ${md.state}, which must never happen`);
    }
  }

  /** Write PrepareCommit/PrepareAbort; once written, answer and start the markers. */
  async #writeEndTxn(
    transactionalId: string,
    coordinatorEpoch: number,
    transit: TxnTransitMetadata,
    producerId: bigint,
    producerEpoch: number,
    result: TransactionResult,
    tv: TransactionVersion,
    isEpochFence: boolean,
  ): Promise<ProducerIdResult> {
    const code = await this.stateManager.appendTransactionToLog(transactionalId, coordinatorEpoch, transit);
    if (code !== ErrorCode.NONE) {
      this.#log.info(
        { transactionalId, result, error: errorName(code) },
        'writing the end of the transaction failed; no markers sent',
      );
      if (isEpochFence) {
        const found = this.stateManager.getTransactionState(transactionalId);
        if (found.error === null && found.metadata && found.coordinatorEpoch === coordinatorEpoch) {
          // The bumped epoch was never returned to anyone: the next fence reuses it.
          found.metadata.hasFailedEpochFence = true;
          this.#log.warn(
            { transactionalId, epoch: transit.producerEpoch, error: errorName(code) },
            'could not write an epoch fence',
          );
        }
      }
      return error(code);
    }
    const found = this.stateManager.getTransactionState(transactionalId);
    if (found.error !== null) return error(found.error);
    if (!found.metadata || found.coordinatorEpoch !== coordinatorEpoch)
      return error(ErrorCode.NOT_COORDINATOR);
    const md = found.metadata;
    if (md.producerId !== producerId) return error(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    const epochOk = supportsEpochBump(tv)
      ? md.producerEpoch === producerEpoch || md.producerEpoch === producerEpoch + 1
      : md.producerEpoch === producerEpoch;
    if (!epochOk) return error(ErrorCode.PRODUCER_FENCED);
    if (md.pendingTransitionInProgress) return error(ErrorCode.CONCURRENT_TRANSACTIONS);
    const expectedState =
      result === 'COMMIT' ? TransactionState.PrepareCommit : TransactionState.PrepareAbort;
    if (md.state !== expectedState) {
      this.#invalidState(transactionalId, md.state, result);
      return error(ErrorCode.INVALID_TXN_STATE);
    }
    const completion = md.prepareComplete(this.#now());
    // Answer now; the markers are written (and the transaction completed) after.
    this.markers.addTxnMarkersToSend(coordinatorEpoch, result, md, completion);
    // TV2: the id and epoch the completion will have, as Kafka answers (newPreSendMetadata): the
    // bumped epoch, or, when the bump exhausted the epoch, the next producer id at epoch 0, which
    // the client's next transaction must use.
    return supportsEpochBump(tv)
      ? {
          errorCode: ErrorCode.NONE,
          producerId: completion.producerId,
          producerEpoch: completion.producerEpoch,
        }
      : { errorCode: ErrorCode.NONE, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH };
  }

  // ---- Timeouts ----

  /**
   * Abort every transaction open longer than its timeout (fencing its producer with an epoch bump,
   * as Kafka does). Returns how many aborts were started.
   */
  abortTimedOutTransactions(): number {
    let started = 0;
    for (const t of this.stateManager.timedOutTransactions()) {
      const found = this.stateManager.getTransactionState(t.transactionalId);
      if (found.error !== null || !found.metadata) continue;
      const md = found.metadata;
      if (md.producerId !== t.producerId) {
        this.#log.error(
          { transactionalId: t.transactionalId },
          'timed-out transaction has another producer id now',
        );
        continue;
      }
      if (md.pendingTransitionInProgress) continue;
      const fence = md.prepareFenceProducerEpoch();
      started++;
      this.#metrics.timedOutTransactionAborted();
      void this.#endTransaction(
        t.transactionalId,
        fence.producerId,
        fence.producerEpoch,
        'ABORT',
        false,
        this.stateManager.transactionVersionLevel(),
      ).then((r) => {
        if (r.errorCode === ErrorCode.NONE)
          this.#log.info({ transactionalId: t.transactionalId }, 'aborted a transaction past its timeout');
        else
          this.#log.info(
            { transactionalId: t.transactionalId, error: errorName(r.errorCode) },
            'aborting a transaction past its timeout did not happen',
          );
      });
    }
    return started;
  }

  // ---- Describe / List ----

  handleDescribeTransactions(transactionalId: string): DescribedTransaction {
    const base: DescribedTransaction = {
      errorCode: ErrorCode.NONE,
      transactionalId,
      transactionState: '',
      transactionTimeoutMs: 0,
      transactionStartTimeMs: -1n,
      producerId: NO_PRODUCER_ID,
      producerEpoch: NO_PRODUCER_EPOCH,
      topics: [],
    };
    if (!this.#active) return { ...base, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    if (transactionalId === '') return { ...base, errorCode: ErrorCode.INVALID_REQUEST };
    const found = this.stateManager.getTransactionState(transactionalId);
    if (found.error !== null) return { ...base, errorCode: found.error };
    const md = found.metadata;
    if (!md || md.state === TransactionState.Dead)
      return { ...base, errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND };
    return {
      ...base,
      transactionState: md.state,
      transactionTimeoutMs: md.txnTimeoutMs,
      transactionStartTimeMs: BigInt(md.txnStartTimestamp),
      producerId: md.producerId,
      producerEpoch: md.producerEpoch,
      topics: md.topicPartitions.byTopic(),
    };
  }

  handleListTransactions(
    producerIds: ReadonlySet<bigint>,
    states: readonly string[],
    durationMs: number,
  ): { errorCode: number; unknownStateFilters: string[]; transactionStates: ListedTransaction[] } {
    if (!this.#active)
      return {
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        unknownStateFilters: [],
        transactionStates: [],
      };
    return this.stateManager.listTransactionStates(producerIds, states, durationMs);
  }

  // ---- Leadership of __transaction_state ----

  /**
   * This broker now leads `partition` at `coordinatorEpoch`: load it, then complete (write the
   * markers of) every transaction it finds in PrepareCommit/PrepareAbort, so none is left hanging.
   */
  async onElection(partition: number, coordinatorEpoch: number): Promise<boolean> {
    this.#log.info({ partition, coordinatorEpoch }, 'elected transaction coordinator for partition');
    this.markers.removeMarkersForTxnTopicPartition(partition);
    const pending = await this.stateManager.loadTransactionsForPartition(partition, coordinatorEpoch);
    if (pending === null) return false;
    for (const p of pending) {
      this.#log.info(
        {
          transactionalId: p.transactionalId,
          result: p.result,
          partitions: p.metadata.topicPartitions.toString(),
        },
        'completing a transaction found prepared at load',
      );
      this.markers.addTxnMarkersToSend(p.coordinatorEpoch, p.result, p.metadata, p.transit);
    }
    return true;
  }

  /** This broker no longer leads `partition`: forget it; its ids answer NOT_COORDINATOR. */
  onResignation(partition: number): void {
    this.#log.info({ partition }, 'resigned as transaction coordinator for partition');
    this.stateManager.removeTransactionsForPartition(partition);
    this.markers.removeMarkersForTxnTopicPartition(partition);
  }
}
