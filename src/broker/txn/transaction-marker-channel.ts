/**
 * TransactionMarkerChannelManager: writes a finished transaction's COMMIT/ABORT markers to the
 * leader of every partition in it, then completes the transaction (Kafka's
 * TransactionMarkerChannelManager and TransactionMarkerRequestCompletionHandler).
 *
 * Lifecycle of one transaction's markers:
 *   EndTxn wrote PrepareCommit/PrepareAbort (or a load found one) → `addTxnMarkersToSend` groups its
 *   partitions by leader (the metadata table) and queues one entry per leader broker → the pump sends
 *   each broker's queued entries as one WriteTxnMarkers request, over the project's Kafka client on
 *   the inter-broker listener (also to this broker itself, so Half B's WriteTxnMarkers handler is the
 *   one code path that appends markers) → per partition: written (removed from the transaction),
 *   retriable (re-queued for the partition's current leader, after a backoff), or fatal for this
 *   transaction (a newer producer epoch or coordinator wrote since: stop) → when no partition waits,
 *   the Complete* transition is written to `__transaction_state` (retried until it is, or until this
 *   broker stops coordinating the partition).
 * A broker that cannot be reached, or does not serve WriteTxnMarkers, is a retriable failure of every
 * entry sent to it: nothing is dropped, each is re-queued with a growing backoff (100 ms to 5 s).
 * A partition with no leader waits in the unknown-destination queue; a partition that no longer
 * exists (its topic was deleted) is removed from the transaction, as in Kafka.
 */
import type { Logger } from '../../common/logger.js';
import type { MetadataTable } from '../../controller/metadata-table.js';
import { endpointFor } from '../../controller/records.js';
import { ErrorCode, errorName } from '../../protocol/error-codes.js';
import type {
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponse,
} from '../../protocol/messages/write-txn-markers.js';
import { KafkaClient, KafkaClientError, type Endpoint } from '../../client/index.js';
import type { TransactionMetadata, TxnTransitMetadata } from './transaction-metadata.js';
import { TopicPartitionSet, type TopicPartition } from './topic-partitions.js';
import type { TransactionStateManager } from './transaction-state-manager.js';

export type TransactionResult = 'COMMIT' | 'ABORT';

/** A transaction whose markers are being written, and the Complete* transition that follows. */
export interface PendingCompleteTxn {
  transactionalId: string;
  coordinatorEpoch: number;
  txnMetadata: TransactionMetadata;
  newMetadata: TxnTransitMetadata;
}

/** One transaction's markers for one destination broker. */
interface MarkerEntry {
  pending: PendingCompleteTxn;
  producerId: bigint;
  producerEpoch: number;
  coordinatorEpoch: number;
  result: TransactionResult;
  partitions: TopicPartition[];
  /** __transaction_state partition of the transaction (unloading it drops its entries). */
  txnPartition: number;
  /** Failed sends so far (backoff) and when the next may go. */
  attempts: number;
  notBefore: number;
}

/** Sends one WriteTxnMarkers request to a broker; rejects on any transport or version failure. */
export type MarkerSender = (
  brokerId: number,
  endpoint: Endpoint,
  request: WriteTxnMarkersRequest,
  timeoutMs: number,
) => Promise<WriteTxnMarkersResponse>;

/** What the channel reports (metrics). */
export interface MarkerChannelMetrics {
  markerSendError(error: string): void;
  markersWritten(n: number): void;
  transactionCompleted(result: TransactionResult): void;
}

const NO_METRICS: MarkerChannelMetrics = {
  markerSendError() {},
  markersWritten() {},
  transactionCompleted() {},
};

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;

function backoff(attempts: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, attempts - 1));
}

/** The default sender: one KafkaClient per destination broker, on its inter-broker endpoint. */
export class ClientMarkerSender {
  readonly #clients = new Map<number, KafkaClient>();
  readonly #clientId: string;

  constructor(nodeId: number) {
    this.#clientId = `sluice-txn-markers-${nodeId}`;
  }

  readonly send: MarkerSender = (brokerId, endpoint, request, timeoutMs) => {
    let c = this.#clients.get(brokerId);
    if (!c) {
      c = new KafkaClient({ bootstrap: [endpoint], clientId: this.#clientId, connectTimeoutMs: 5000 });
      this.#clients.set(brokerId, c);
    } else c.setEndpoints([endpoint]);
    return c.request(27, { min: 0, max: 1 }, request, { timeoutMs });
  };

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}

export interface MarkerChannelOptions {
  table: MetadataTable;
  stateManager: TransactionStateManager;
  interBrokerListener: string;
  send: MarkerSender;
  requestTimeoutMs: () => number;
  log: Logger;
  metrics?: MarkerChannelMetrics;
  now?: () => number;
}

export class TransactionMarkerChannelManager {
  readonly #o: MarkerChannelOptions;
  readonly #log: Logger;
  readonly #metrics: MarkerChannelMetrics;
  readonly #now: () => number;
  /** Entries waiting per destination broker. */
  readonly #queues = new Map<number, MarkerEntry[]>();
  /** Entries whose partitions have no reachable leader yet. */
  #unknown: MarkerEntry[] = [];
  /** Brokers with a request in flight (one at a time each). */
  readonly #inFlight = new Set<number>();
  /** Complete* writes that failed and are retried. */
  #appendRetries: { pending: PendingCompleteTxn; notBefore: number; attempts: number }[] = [];
  /** Transactions with markers still to write, by transactional id. */
  readonly #pending = new Map<string, PendingCompleteTxn>();
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Infinity;
  #scheduled = false;
  #stopped = false;

  constructor(o: MarkerChannelOptions) {
    this.#o = o;
    this.#log = o.log;
    this.#metrics = o.metrics ?? NO_METRICS;
    this.#now = o.now ?? Date.now;
  }

  /** Transactions waiting for markers (or their completion write). */
  get numTxnsWithPendingMarkers(): number {
    return this.#pending.size;
  }

  /** Markers queued per destination, plus those with no known destination. */
  queueSizes(): { queued: number; unknownDestination: number; appendRetries: number } {
    let queued = 0;
    for (const q of this.#queues.values()) queued += q.length;
    return { queued, unknownDestination: this.#unknown.length, appendRetries: this.#appendRetries.length };
  }

  /**
   * Start writing the markers of a transaction that reached PrepareCommit/PrepareAbort, whose
   * completion `newMetadata` is already prepared (pendingState = Complete*).
   */
  addTxnMarkersToSend(
    coordinatorEpoch: number,
    result: TransactionResult,
    txnMetadata: TransactionMetadata,
    newMetadata: TxnTransitMetadata,
  ): void {
    if (this.#stopped) return;
    const pending: PendingCompleteTxn = {
      transactionalId: txnMetadata.transactionalId,
      coordinatorEpoch,
      txnMetadata,
      newMetadata,
    };
    const prev = this.#pending.get(pending.transactionalId);
    if (prev)
      this.#log.info({ transactionalId: pending.transactionalId }, 'replacing pending transaction markers');
    this.#pending.set(pending.transactionalId, pending);
    this.#addToBrokerQueues(
      txnMetadata.producerId,
      txnMetadata.producerEpoch,
      result,
      pending,
      [...txnMetadata.topicPartitions],
      0,
    );
    this.maybeWriteTxnCompletion(pending.transactionalId);
  }

  /** Group partitions by their leader now; queue one entry per leader. */
  #addToBrokerQueues(
    producerId: bigint,
    producerEpoch: number,
    result: TransactionResult,
    pending: PendingCompleteTxn,
    partitions: TopicPartition[],
    attempts: number,
  ): void {
    const table = this.#o.table;
    const txnPartition = this.#o.stateManager.partitionFor(pending.transactionalId);
    const byLeader = new Map<number, TopicPartition[]>();
    const gone: TopicPartition[] = [];
    for (const tp of partitions) {
      const topic = table.topics.get(tp.topic);
      if (!topic || tp.partition < 0 || tp.partition >= topic.replicas.length) {
        gone.push(tp);
        continue;
      }
      const st = table.partitionState(tp.topic, tp.partition);
      const broker = st && st.leader >= 0 ? table.brokers.get(st.leader) : undefined;
      const leader = broker && endpointFor(broker, this.#o.interBrokerListener) ? broker.nodeId : -1;
      let l = byLeader.get(leader);
      if (!l) byLeader.set(leader, (l = []));
      l.push(tp);
    }
    const notBefore = attempts > 0 ? this.#now() + backoff(attempts) : 0;
    for (const [leader, tps] of byLeader) {
      const entry: MarkerEntry = {
        pending,
        producerId,
        producerEpoch,
        coordinatorEpoch: pending.coordinatorEpoch,
        result,
        partitions: tps,
        txnPartition,
        attempts,
        notBefore,
      };
      if (leader < 0) this.#unknown.push(entry);
      else {
        let q = this.#queues.get(leader);
        if (!q) this.#queues.set(leader, (q = []));
        q.push(entry);
      }
    }
    if (gone.length > 0) {
      const found = this.#o.stateManager.getTransactionState(pending.transactionalId);
      if (found.error !== null || !found.metadata || found.coordinatorEpoch !== pending.coordinatorEpoch) {
        this.#removeMarkersForTxn(pending);
      } else {
        // The topic was deleted: nothing to mark there, as in Kafka.
        this.#log.info(
          {
            transactionalId: pending.transactionalId,
            partitions: gone.map((tp) => `${tp.topic}-${tp.partition}`),
          },
          'partitions of a transaction no longer exist; skipping their markers',
        );
        for (const tp of gone) found.metadata.removePartition(tp);
        this.maybeWriteTxnCompletion(pending.transactionalId);
      }
    }
    this.#wakeup(notBefore);
  }

  /** When every marker of the transaction is written, write its completion. */
  maybeWriteTxnCompletion(transactionalId: string): void {
    const pending = this.#pending.get(transactionalId);
    if (!pending || pending.txnMetadata.topicPartitions.size > 0) return;
    this.#pending.delete(transactionalId);
    const found = this.#o.stateManager.getTransactionState(transactionalId);
    if (found.error !== null) {
      // NOT_COORDINATOR: the new owner completes it; COORDINATOR_LOAD_IN_PROGRESS: the load does.
      this.#log.info(
        { transactionalId, error: errorName(found.error) },
        'not completing the transaction here',
      );
      return;
    }
    if (!found.metadata || found.coordinatorEpoch !== pending.coordinatorEpoch) {
      this.#log.info({ transactionalId }, 'transaction metadata changed since its markers were queued');
      return;
    }
    void this.#tryAppendToLog(pending, 0);
  }

  async #tryAppendToLog(pending: PendingCompleteTxn, attempts: number): Promise<void> {
    if (this.#stopped) return;
    const id = pending.transactionalId;
    const retriable = (c: number) =>
      c !== ErrorCode.NOT_COORDINATOR && c !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    const code = await this.#o.stateManager.appendTransactionToLog(
      id,
      pending.coordinatorEpoch,
      pending.newMetadata,
      retriable,
    );
    if (code === ErrorCode.NONE) {
      this.#metrics.transactionCompleted(
        pending.newMetadata.txnState === 'CompleteCommit' ? 'COMMIT' : 'ABORT',
      );
      this.#log.debug({ transactionalId: id, state: pending.newMetadata.txnState }, 'transaction completed');
      return;
    }
    if (!retriable(code)) {
      this.#log.info(
        { transactionalId: id, error: errorName(code) },
        'no longer completing the transaction here',
      );
      return;
    }
    // Kafka retries COORDINATOR_NOT_AVAILABLE (and fails hard on anything else); Sluice retries every
    // error that does not mean another broker took over, so a transaction never stays half-complete.
    this.#log.warn(
      { transactionalId: id, error: errorName(code) },
      'writing the transaction completion failed; retrying',
    );
    const next = attempts + 1;
    this.#appendRetries.push({ pending, attempts: next, notBefore: this.#now() + backoff(next) });
    this.#wakeup(this.#now() + backoff(next));
  }

  /** This broker stopped coordinating (or is reloading) a __transaction_state partition. */
  removeMarkersForTxnTopicPartition(txnPartition: number): void {
    const drop = (e: MarkerEntry) => {
      if (e.txnPartition !== txnPartition) return true;
      this.#removeMarkersForTxn(e.pending);
      return false;
    };
    this.#unknown = this.#unknown.filter(drop);
    for (const [b, q] of this.#queues) this.#queues.set(b, q.filter(drop));
    this.#appendRetries = this.#appendRetries.filter(
      (r) => this.#o.stateManager.partitionFor(r.pending.transactionalId) !== txnPartition,
    );
    for (const [id, p] of [...this.#pending])
      if (this.#o.stateManager.partitionFor(id) === txnPartition) this.#removeMarkersForTxn(p);
  }

  #removeMarkersForTxn(pending: PendingCompleteTxn): void {
    if (this.#pending.get(pending.transactionalId) === pending) this.#pending.delete(pending.transactionalId);
  }

  #wakeup(at = 0): void {
    if (this.#stopped) return;
    const now = this.#now();
    if (at <= now) {
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#pump();
      });
      return;
    }
    if (this.#timer && this.#timerAt <= at) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#timerAt = Infinity;
      this.#pump();
    }, at - now);
    this.#timer.unref();
  }

  /** Send what is due: completion retries, markers whose leader became known, each broker's queue. */
  #pump(): void {
    if (this.#stopped) return;
    const now = this.#now();
    let nextAt = Infinity;

    const retries = this.#appendRetries;
    this.#appendRetries = [];
    for (const r of retries) {
      if (r.notBefore > now) {
        this.#appendRetries.push(r);
        nextAt = Math.min(nextAt, r.notBefore);
      } else void this.#tryAppendToLog(r.pending, r.attempts);
    }

    const unknown = this.#unknown;
    this.#unknown = [];
    for (const e of unknown) {
      if (e.notBefore > now) {
        this.#unknown.push(e);
        nextAt = Math.min(nextAt, e.notBefore);
      } else {
        // Look for the leader again (a backoff applies if there still is none).
        this.#addToBrokerQueues(
          e.producerId,
          e.producerEpoch,
          e.result,
          e.pending,
          e.partitions,
          e.attempts + 1,
        );
      }
    }

    for (const [brokerId, q] of this.#queues) {
      if (q.length === 0 || this.#inFlight.has(brokerId)) continue;
      const due = q.filter((e) => e.notBefore <= now);
      const later = q.filter((e) => e.notBefore > now);
      for (const e of later) nextAt = Math.min(nextAt, e.notBefore);
      this.#queues.set(brokerId, later);
      if (due.length > 0) this.#send(brokerId, due);
    }
    if (nextAt < Infinity) this.#wakeup(nextAt);
  }

  #send(brokerId: number, entries: MarkerEntry[]): void {
    const broker = this.#o.table.brokers.get(brokerId);
    const ep = broker ? endpointFor(broker, this.#o.interBrokerListener) : undefined;
    if (!ep) {
      // The broker went away since the entries were queued: find the partitions' leaders again.
      for (const e of entries) this.#retry(e, e.partitions);
      return;
    }
    const request: WriteTxnMarkersRequest = {
      markers: entries.map((e) => ({
        producerId: e.producerId,
        producerEpoch: e.producerEpoch,
        transactionResult: e.result === 'COMMIT',
        coordinatorEpoch: e.coordinatorEpoch,
        topics: new TopicPartitionSet(e.partitions)
          .byTopic()
          .map(({ topic, partitions }) => ({ name: topic, partitionIndexes: partitions })),
      })),
    };
    this.#inFlight.add(brokerId);
    this.#o
      .send(brokerId, { host: ep.host, port: ep.port }, request, this.#o.requestTimeoutMs())
      .then(
        (res) => this.#onResponse(brokerId, entries, res),
        (err: unknown) => this.#onSendFailure(brokerId, entries, err),
      )
      .catch((err: unknown) => this.#log.error({ err, brokerId }, 'handling a WriteTxnMarkers answer failed'))
      .finally(() => {
        this.#inFlight.delete(brokerId);
        this.#wakeup();
      });
  }

  /** Is the entry's transaction still ours to complete? Drops it when not. */
  #stillOurs(e: MarkerEntry): TransactionMetadata | null {
    const found = this.#o.stateManager.getTransactionState(e.pending.transactionalId);
    if (
      found.error !== null ||
      found.metadata !== e.pending.txnMetadata ||
      found.coordinatorEpoch !== e.coordinatorEpoch
    ) {
      this.#log.info(
        {
          transactionalId: e.pending.transactionalId,
          error: found.error === null ? null : errorName(found.error),
        },
        'no longer the coordinator of the transaction; dropping its markers',
      );
      this.#removeMarkersForTxn(e.pending);
      return null;
    }
    return found.metadata;
  }

  #retry(e: MarkerEntry, partitions: TopicPartition[]): void {
    this.#addToBrokerQueues(e.producerId, e.producerEpoch, e.result, e.pending, partitions, e.attempts + 1);
  }

  #onSendFailure(brokerId: number, entries: MarkerEntry[], err: unknown): void {
    if (this.#stopped) return;
    const kind = err instanceof KafkaClientError ? err.errorName : 'UNKNOWN_SERVER_ERROR';
    this.#metrics.markerSendError(kind);
    this.#log.warn(
      { brokerId, err: err instanceof Error ? err.message : String(err), markers: entries.length },
      'sending transaction markers failed; retrying',
    );
    for (const e of entries) if (this.#stillOurs(e)) this.#retry(e, e.partitions);
  }

  #onResponse(brokerId: number, entries: MarkerEntry[], res: WriteTxnMarkersResponse): void {
    if (this.#stopped) return;
    const byProducer = new Map<bigint, Map<string, number>>();
    for (const m of res.markers) {
      const errors = byProducer.get(m.producerId) ?? new Map<string, number>();
      for (const t of m.topics)
        for (const p of t.partitions) errors.set(`${t.name}\u0000${p.partitionIndex}`, p.errorCode);
      byProducer.set(m.producerId, errors);
    }
    for (const e of entries) {
      const md = this.#stillOurs(e);
      if (!md) continue;
      const errors = byProducer.get(e.producerId);
      const retry: TopicPartition[] = [];
      let abandon = false;
      let written = 0;
      for (const tp of e.partitions) {
        const code = errors?.get(`${tp.topic}\u0000${tp.partition}`);
        if (code === undefined) {
          // The answer left the partition out: ask again.
          this.#metrics.markerSendError('MISSING_PARTITION_IN_RESPONSE');
          retry.push(tp);
          continue;
        }
        switch (code) {
          case ErrorCode.NONE:
            md.removePartition(tp);
            written++;
            break;
          case ErrorCode.INVALID_PRODUCER_EPOCH:
          case ErrorCode.TRANSACTION_COORDINATOR_FENCED:
            // A newer producer epoch or coordinator wrote to the partition: this transaction's
            // markers are obsolete there.
            this.#metrics.markerSendError(errorName(code));
            this.#log.info(
              {
                transactionalId: e.pending.transactionalId,
                partition: `${tp.topic}-${tp.partition}`,
                error: errorName(code),
              },
              'transaction markers permanently refused; no more markers for this transaction',
            );
            abandon = true;
            break;
          case ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT:
          case ErrorCode.UNSUPPORTED_VERSION:
            // The producer could not have written there either: nothing to mark.
            this.#metrics.markerSendError(errorName(code));
            md.removePartition(tp);
            break;
          default:
            // UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS(_AFTER_APPEND),
            // REQUEST_TIMED_OUT, KAFKA_STORAGE_ERROR are retriable in Kafka; Kafka treats anything
            // else as fatal to its sender thread. Sluice logs and retries, so the broker stays up and
            // the transaction completes once the partition accepts the marker.
            this.#metrics.markerSendError(errorName(code));
            if (
              code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION &&
              code !== ErrorCode.NOT_LEADER_OR_FOLLOWER &&
              code !== ErrorCode.NOT_ENOUGH_REPLICAS &&
              code !== ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND &&
              code !== ErrorCode.REQUEST_TIMED_OUT &&
              code !== ErrorCode.KAFKA_STORAGE_ERROR
            )
              this.#log.error(
                {
                  transactionalId: e.pending.transactionalId,
                  partition: `${tp.topic}-${tp.partition}`,
                  brokerId,
                  error: errorName(code),
                },
                'unexpected error writing a transaction marker; retrying',
              );
            retry.push(tp);
        }
      }
      if (written > 0) this.#metrics.markersWritten(written);
      if (abandon) {
        this.#removeMarkersForTxn(e.pending);
        continue;
      }
      if (retry.length > 0) this.#retry(e, retry);
      else this.maybeWriteTxnCompletion(e.pending.transactionalId);
    }
  }

  shutdown(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#queues.clear();
    this.#unknown = [];
    this.#appendRetries = [];
    this.#pending.clear();
  }
}
