/**
 * TransactionStateManager: the transaction coordinator's durable state, in the internal topic
 * `__transaction_state` (Kafka's TransactionStateManager). It
 *  - maps a transactional id to its partition (abs(javaHashCode(id)) % partitions, as Kafka does, so
 *    an id lands on the same partition number as on a Kafka cluster);
 *  - creates the topic on first use (FindCoordinator): `transaction.state.log.num.partitions`
 *    partitions, replication factor `transaction.state.log.replication.factor` capped by the live
 *    brokers (as `__consumer_offsets`), min ISR `transaction.state.log.min.isr` capped by that
 *    factor, compacted, uncompressed, `transaction.state.log.segment.bytes` segments;
 *  - keeps, per partition this broker leads and has loaded, the metadata of every transactional id
 *    on it with the coordinator epoch (the partition's leader epoch when it was loaded);
 *  - writes every transition as one record (transaction-log.ts) with acks=all through
 *    ReplicaManager.appendRecords, and applies it (`completeTransitionTo`) only once replicated and
 *    only if the partition was not unloaded or reloaded meanwhile;
 *  - loads a partition by replaying it (Partition.readLocal) when this broker becomes its leader, and
 *    forgets it when it stops leading;
 *  - finds transactions past their timeout, and expires idle transactional ids
 *    (`transactional.id.expiration.ms`) with tombstones.
 * Everything runs on the event loop; a transition's write is asynchronous, and the metadata's
 * `pendingState` keeps other requests off the id meanwhile (CONCURRENT_TRANSACTIONS).
 */
import type { BrokerConfig } from '../../common/broker-config.js';
import type { Logger } from '../../common/logger.js';
import type { MetadataTable } from '../../controller/metadata-table.js';
import type { TopicAdmin } from '../../controller/admin-writes.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { decodeRecordBatch, encodeRecordBatchSync, scanRecordBatches } from '../../protocol/records/batch.js';
import type { RecordInput } from '../../protocol/records/record.js';
import { errorCodeOf } from '../error-mapping.js';
import type { ReplicaManager } from '../replica-manager.js';
import { InternalTopic } from '../internal-topic.js';
import { partitionForGroup } from '../group/group-metadata-manager.js';
import { TransactionState, isExpirationAllowed, stateFromName } from './transaction-state.js';
import {
  TransactionMetadata,
  logValueVersion,
  type TransactionVersion,
  type TxnTransitMetadata,
} from './transaction-metadata.js';
import {
  TRANSACTION_STATE_TOPIC,
  decodeTransactionLogRecord,
  encodeTransactionLogKey,
  encodeTransactionLogValue,
} from './transaction-log.js';

export { TRANSACTION_STATE_TOPIC };

/** A transactional id's metadata and the coordinator epoch of the partition that holds it. */
export interface CoordinatorEpochAndMetadata {
  coordinatorEpoch: number;
  metadata: TransactionMetadata;
}

/** What a lookup finds: an error (not the coordinator, or still loading), or the entry if any. */
export type TransactionStateLookup =
  { error: number } | { error: null; coordinatorEpoch: number; metadata: TransactionMetadata | undefined };

/** A transaction loaded in PrepareCommit/PrepareAbort: its markers must be (re)sent. */
export interface PendingCompletion {
  transactionalId: string;
  coordinatorEpoch: number;
  result: 'COMMIT' | 'ABORT';
  metadata: TransactionMetadata;
  transit: TxnTransitMetadata;
}

export interface ListedTransaction {
  transactionalId: string;
  producerId: bigint;
  transactionState: string;
}

interface CacheEntry {
  coordinatorEpoch: number;
  byId: Map<string, TransactionMetadata>;
}

/** Kafka's mapping of `__transaction_state` append errors to what transactional clients understand. */
export function mapAppendError(code: number): number {
  switch (code) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    default:
      return code;
  }
}

export interface TransactionStateManagerOptions {
  replicaManager: ReplicaManager;
  table: MetadataTable;
  topics: TopicAdmin;
  config: BrokerConfig;
  log: Logger;
  /** The cluster's finalized transaction.version (which value version records are written at). */
  transactionVersionLevel: () => TransactionVersion;
  now?: () => number;
  /** A partition finished loading, after `ms`. */
  onPartitionLoaded?: (partition: number, ms: number, transactionalIds: number) => void;
}

export class TransactionStateManager {
  readonly #rm: ReplicaManager;
  readonly #config: BrokerConfig;
  readonly #log: Logger;
  readonly #tvLevel: () => TransactionVersion;
  readonly #now: () => number;
  readonly #onLoaded: (partition: number, ms: number, ids: number) => void;
  /** Partitions this broker leads and has loaded. */
  readonly #cache = new Map<number, CacheEntry>();
  /** Partitions being loaded: partition → the coordinator epoch being loaded. */
  readonly #loading = new Map<number, number>();
  readonly #topic: InternalTopic;
  #shuttingDown = false;
  /** Resolves once loading/unloading triggered so far has finished (set by the transaction service). */
  settled: () => Promise<void> = () => Promise.resolve();

  constructor(o: TransactionStateManagerOptions) {
    this.#rm = o.replicaManager;
    this.#config = o.config;
    this.#log = o.log;
    this.#tvLevel = o.transactionVersionLevel;
    this.#now = o.now ?? Date.now;
    this.#onLoaded = o.onPartitionLoaded ?? (() => {});
    const config = o.config;
    this.#topic = new InternalTopic({
      name: TRANSACTION_STATE_TOPIC,
      table: o.table,
      topics: o.topics,
      log: o.log,
      numPartitions: () => config.int('transaction.state.log.num.partitions'),
      replicationFactor: () => config.int('transaction.state.log.replication.factor'),
      configs: (rf) => ({
        'cleanup.policy': 'compact',
        'compression.type': 'uncompressed',
        'unclean.leader.election.enable': 'false',
        // Capped by the replication factor: with fewer brokers than the configured factor the topic
        // is created smaller (see InternalTopic), and a min ISR above its factor would refuse every
        // write.
        'min.insync.replicas': String(Math.max(1, Math.min(config.int('transaction.state.log.min.isr'), rf))),
        'segment.bytes': String(config.int('transaction.state.log.segment.bytes')),
      }),
    });
  }

  /** The topic's partition count: the existing topic's, else the configured one. */
  get numPartitions(): number {
    return this.#topic.numPartitions;
  }

  partitionFor(transactionalId: string): number {
    return partitionForGroup(transactionalId, this.numPartitions);
  }

  transactionVersionLevel(): TransactionVersion {
    return this.#tvLevel();
  }

  /** transaction.max.timeout.ms bounds what a producer may ask for (and it must be positive). */
  validateTransactionTimeoutMs(ms: number): boolean {
    return ms > 0 && ms <= this.#config.int('transaction.max.timeout.ms');
  }

  /** Partitions loaded here (owned) and being loaded. */
  get ownedPartitions(): ReadonlyMap<number, number> {
    return new Map([...this.#cache].map(([p, e]) => [p, e.coordinatorEpoch]));
  }

  get loadingPartitions(): ReadonlyMap<number, number> {
    return this.#loading;
  }

  /** Every loaded transactional id (metrics, tests). */
  *allMetadata(): IterableIterator<TransactionMetadata> {
    for (const e of this.#cache.values()) yield* e.byId.values();
  }

  /** Create __transaction_state if it does not exist yet (once, even with concurrent callers). */
  async ensureTopic(): Promise<void> {
    await this.#topic.ensure();
  }

  /** The leader broker of the id's partition, or -1. */
  leaderFor(transactionalId: string): number {
    return this.#topic.leaderOf(this.partitionFor(transactionalId));
  }

  /**
   * The id's metadata, or why there is none here: COORDINATOR_LOAD_IN_PROGRESS while its partition
   * loads, NOT_COORDINATOR when this broker does not own the partition.
   */
  getTransactionState(transactionalId: string): TransactionStateLookup {
    const p = this.partitionFor(transactionalId);
    if (this.#loading.has(p)) return { error: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    const e = this.#cache.get(p);
    if (!e) return { error: ErrorCode.NOT_COORDINATOR };
    return { error: null, coordinatorEpoch: e.coordinatorEpoch, metadata: e.byId.get(transactionalId) };
  }

  /** Install new metadata unless the id has some already; returns what is there now. */
  putTransactionStateIfNotExists(metadata: TransactionMetadata): TransactionStateLookup {
    const found = this.getTransactionState(metadata.transactionalId);
    if (found.error !== null) return found;
    if (found.metadata) return found;
    this.#cache
      .get(this.partitionFor(metadata.transactionalId))!
      .byId.set(metadata.transactionalId, metadata);
    return { error: null, coordinatorEpoch: found.coordinatorEpoch, metadata };
  }

  /**
   * Write a prepared transition and, once replicated, apply it. Resolves with the error for the
   * client (NONE when applied). On failure the pending state is cleared, unless `retryOnError` says
   * the caller will retry the same write (marker completion does).
   */
  async appendTransactionToLog(
    transactionalId: string,
    coordinatorEpoch: number,
    transit: TxnTransitMetadata,
    retryOnError: (code: number) => boolean = () => false,
  ): Promise<number> {
    const before = this.getTransactionState(transactionalId);
    if (before.error !== null) return before.error;
    if (!before.metadata || before.coordinatorEpoch !== coordinatorEpoch) return ErrorCode.NOT_COORDINATOR;

    const partition = this.partitionFor(transactionalId);
    const now = this.#now();
    const batch = encodeRecordBatchSync([
      {
        key: encodeTransactionLogKey(transactionalId),
        value: encodeTransactionLogValue(transit, logValueVersion(this.#tvLevel())),
        timestamp: BigInt(now),
      },
    ]);
    let code: number;
    try {
      const results = await this.#rm.appendRecords(-1, transit.txnTimeoutMs, [
        { topic: TRANSACTION_STATE_TOPIC, partition, records: batch },
      ]);
      code =
        results.get(`${TRANSACTION_STATE_TOPIC}-${partition}`)?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    } catch (err) {
      code = errorCodeOf(err);
    }
    if (code !== ErrorCode.NONE) {
      this.#log.debug({ transactionalId, partition, error: code }, 'writing transaction state failed');
      code = mapAppendError(code);
    }

    const after = this.getTransactionState(transactionalId);
    if (code === ErrorCode.NONE) {
      if (after.error !== null) return after.error;
      if (!after.metadata || after.coordinatorEpoch !== coordinatorEpoch) {
        // The partition was unloaded (and maybe loaded again) while the record was written: the new
        // owner replays it; this one must not answer for it.
        this.#log.info(
          { transactionalId, coordinatorEpoch, now: after.metadata ? after.coordinatorEpoch : null },
          'coordinator epoch changed while writing transaction state',
        );
        return ErrorCode.NOT_COORDINATOR;
      }
      after.metadata.completeTransitionTo(transit);
      return ErrorCode.NONE;
    }
    if (after.error === null && after.metadata && after.coordinatorEpoch === coordinatorEpoch) {
      if (!retryOnError(code)) after.metadata.pendingState = null;
    }
    return code;
  }

  /**
   * Replay a partition this broker now leads, at `coordinatorEpoch`. Requests for its ids answer
   * COORDINATOR_LOAD_IN_PROGRESS meanwhile. Returns the transactions found between PrepareCommit/
   * PrepareAbort and complete, prepared for completion (their markers must be sent), or null when
   * the load was cancelled (leadership moved on, or shutdown).
   */
  async loadTransactionsForPartition(
    partition: number,
    coordinatorEpoch: number,
  ): Promise<PendingCompletion[] | null> {
    this.#loading.set(partition, coordinatorEpoch);
    const started = this.#now();
    const loaded = new Map<string, TransactionMetadata>();
    const stillLoading = () => !this.#shuttingDown && this.#loading.get(partition) === coordinatorEpoch;
    const p = this.#rm.getPartition(TRANSACTION_STATE_TOPIC, partition);
    let records = 0;
    try {
      if (p) {
        let from = p.logStartOffset;
        // To the log end, as Kafka (and the group loader): a new leader's high watermark may trail.
        const end = p.logEndOffset;
        const chunk = Math.max(64 * 1024, this.#config.int('transaction.state.log.load.buffer.size'));
        while (from < end && stillLoading()) {
          const data = p.readLocal(from, chunk, end);
          if (data.length === 0) break;
          const { batches } = scanRecordBatches(data);
          if (batches.length === 0) break;
          let next = from;
          for (const span of batches) {
            const b = await decodeRecordBatch(data, span.position);
            next = b.header.baseOffset + BigInt(b.header.lastOffsetDelta) + 1n;
            if (b.control) continue;
            for (const rec of b.records) {
              if (rec.offset < from || !rec.key) continue;
              records++;
              try {
                const r = decodeTransactionLogRecord(rec.key, rec.value);
                if (r.kind === 'metadata') loaded.set(r.transactionalId, r.metadata);
                else if (r.kind === 'tombstone') loaded.delete(r.transactionalId);
                else
                  this.#log.warn(
                    { partition, offset: rec.offset, record: r },
                    `skipping a ${TRANSACTION_STATE_TOPIC} record of an unknown version`,
                  );
              } catch (err) {
                this.#log.warn(
                  { err, partition, offset: rec.offset },
                  `skipping a ${TRANSACTION_STATE_TOPIC} record that does not decode`,
                );
              }
            }
          }
          if (next <= from) break;
          from = next;
        }
      } else {
        this.#log.warn({ partition }, `no local log for ${TRANSACTION_STATE_TOPIC} partition to load`);
      }
    } catch (err) {
      this.#log.error({ err, partition }, `loading ${TRANSACTION_STATE_TOPIC} partition failed`);
    }
    if (!stillLoading()) return null;

    const previous = this.#cache.get(partition);
    if (previous)
      this.#log.info(
        { partition, previousEpoch: previous.coordinatorEpoch, coordinatorEpoch },
        'replacing loaded transaction metadata',
      );
    this.#cache.set(partition, { coordinatorEpoch, byId: loaded });
    const pending: PendingCompletion[] = [];
    const now = this.#now();
    for (const [transactionalId, md] of loaded) {
      if (md.state === TransactionState.PrepareAbort || md.state === TransactionState.PrepareCommit)
        pending.push({
          transactionalId,
          coordinatorEpoch,
          result: md.state === TransactionState.PrepareCommit ? 'COMMIT' : 'ABORT',
          metadata: md,
          transit: md.prepareComplete(now),
        });
    }
    // Requests are served from now on; the markers are sent after (the completion's write must not
    // meet COORDINATOR_LOAD_IN_PROGRESS).
    this.#loading.delete(partition);
    const ms = this.#now() - started;
    this.#onLoaded(partition, ms, loaded.size);
    this.#log.info(
      {
        partition,
        coordinatorEpoch,
        transactionalIds: loaded.size,
        records,
        pendingCompletion: pending.length,
        ms,
      },
      `loaded ${TRANSACTION_STATE_TOPIC} partition`,
    );
    return pending;
  }

  /** This broker no longer leads the partition (or leads it at a new epoch): forget what it loaded. */
  removeTransactionsForPartition(partition: number): void {
    this.#loading.delete(partition);
    if (this.#cache.delete(partition))
      this.#log.info({ partition }, `unloaded ${TRANSACTION_STATE_TOPIC} partition`);
  }

  /** Ongoing transactions past their timeout (best effort: the abort re-checks under the state machine). */
  timedOutTransactions(): { transactionalId: string; producerId: bigint; producerEpoch: number }[] {
    const now = this.#now();
    const out: { transactionalId: string; producerId: bigint; producerEpoch: number }[] = [];
    for (const e of this.#cache.values())
      for (const md of e.byId.values())
        if (
          !md.pendingTransitionInProgress &&
          md.state === TransactionState.Ongoing &&
          md.txnStartTimestamp + md.txnTimeoutMs < now
        )
          out.push({
            transactionalId: md.transactionalId,
            producerId: md.producerId,
            producerEpoch: md.producerEpoch,
          });
    return out;
  }

  /**
   * Forget transactional ids idle for transactional.id.expiration.ms with no transaction open:
   * write tombstones (acks=all), then drop them from the cache. Returns how many expired.
   */
  async removeExpiredTransactionalIds(): Promise<number> {
    const expirationMs = this.#config.int('transactional.id.expiration.ms');
    let removed = 0;
    for (const [partition, entry] of [...this.#cache]) {
      const now = this.#now();
      const expired: { md: TransactionMetadata; transit: TxnTransitMetadata }[] = [];
      for (const md of entry.byId.values())
        if (
          md.pendingState === null &&
          isExpirationAllowed(md.state) &&
          md.txnLastUpdateTimestamp <= now - expirationMs
        )
          expired.push({ md, transit: md.prepareDead() });
      // A batch of tombstones per 500 ids keeps each under the topic's max.message.bytes.
      for (let i = 0; i < expired.length; i += 500) {
        const slice = expired.slice(i, i + 500);
        const records: RecordInput[] = slice.map(({ md }) => ({
          key: encodeTransactionLogKey(md.transactionalId),
          value: null,
          timestamp: BigInt(now),
        }));
        let code: number;
        try {
          const results = await this.#rm.appendRecords(-1, this.#config.int('request.timeout.ms'), [
            { topic: TRANSACTION_STATE_TOPIC, partition, records: encodeRecordBatchSync(records) },
          ]);
          code =
            results.get(`${TRANSACTION_STATE_TOPIC}-${partition}`)?.errorCode ??
            ErrorCode.UNKNOWN_SERVER_ERROR;
        } catch (err) {
          code = errorCodeOf(err);
        }
        const current = this.#cache.get(partition);
        for (const { md, transit } of slice) {
          if (
            code === ErrorCode.NONE &&
            current?.coordinatorEpoch === entry.coordinatorEpoch &&
            md.pendingState === TransactionState.Dead &&
            md.producerEpoch === transit.producerEpoch
          ) {
            current.byId.delete(md.transactionalId);
            removed++;
          } else {
            this.#log.warn(
              { transactionalId: md.transactionalId, error: code, pendingState: md.pendingState },
              'could not expire transactional id',
            );
            md.pendingState = null;
          }
        }
      }
    }
    if (removed > 0) this.#log.info({ removed }, 'expired transactional ids');
    return removed;
  }

  /**
   * ListTransactions on this broker: every id it coordinates, filtered by state names, producer ids
   * and running time (> durationMs when durationMs >= 0). COORDINATOR_LOAD_IN_PROGRESS while any
   * partition loads (as Kafka).
   */
  listTransactionStates(
    producerIds: ReadonlySet<bigint>,
    stateNames: readonly string[],
    durationMs: number,
  ): { errorCode: number; unknownStateFilters: string[]; transactionStates: ListedTransaction[] } {
    if (this.#loading.size > 0)
      return {
        errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        unknownStateFilters: [],
        transactionStates: [],
      };
    const states = new Set<TransactionState>();
    const unknownStateFilters: string[] = [];
    for (const name of stateNames) {
      const s = stateFromName(name);
      if (s === undefined) unknownStateFilters.push(name);
      else states.add(s);
    }
    const now = this.#now();
    const transactionStates: ListedTransaction[] = [];
    for (const md of this.allMetadata()) {
      if (md.state === TransactionState.Dead) continue;
      if (producerIds.size > 0 && !producerIds.has(md.producerId)) continue;
      if (stateNames.length > 0 && !states.has(md.state)) continue;
      if (durationMs >= 0 && now - md.txnStartTimestamp <= durationMs) continue;
      transactionStates.push({
        transactionalId: md.transactionalId,
        producerId: md.producerId,
        transactionState: md.state,
      });
    }
    return { errorCode: ErrorCode.NONE, unknownStateFilters, transactionStates };
  }

  shutdown(): void {
    this.#shuttingDown = true;
    this.#loading.clear();
    this.#cache.clear();
  }
}
