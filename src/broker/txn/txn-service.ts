/**
 * Builds the transaction coordinator for a broker and keeps it following leadership of
 * `__transaction_state`: a partition this broker starts leading (or leads at a new leader epoch,
 * which is the coordinator epoch) is loaded and its half-complete transactions completed; one it
 * stops leading is unloaded. On a single node every partition is led from startup, so all load at
 * start. Runs the periodic work: aborting transactions past their timeout
 * (`transaction.abort.timed.out.transaction.cleanup.interval.ms`) and expiring idle transactional
 * ids (`transaction.remove.expired.transaction.cleanup.interval.ms`). Also: the handlers to
 * register and the metrics.
 */
import type { BrokerConfig } from '../../common/broker-config.js';
import type { Logger } from '../../common/logger.js';
import type { MetadataTable } from '../../controller/metadata-table.js';
import type { TopicAdmin } from '../../controller/admin-writes.js';
import type { FeaturesTable } from '../../controller/features-table.js';
import type { BrokerMetrics } from '../broker-metrics.js';
import type { BrokerServices } from '../broker-services.js';
import type { ReplicaManager } from '../replica-manager.js';
import type { ApiHandler } from '../handlers/api-handler.js';
import { addPartitionsToTxnHandler } from '../handlers/add-partitions-to-txn.js';
import { addOffsetsToTxnHandler } from '../handlers/add-offsets-to-txn.js';
import { endTxnHandler } from '../handlers/end-txn.js';
import { describeTransactionsHandler } from '../handlers/describe-transactions.js';
import { listTransactionsHandler } from '../handlers/list-transactions.js';
import { writeTxnMarkersHandler } from '../handlers/write-txn-markers.js';
import { txnOffsetCommitHandler } from '../handlers/txn-offset-commit.js';
import { describeProducersHandler } from '../handlers/describe-producers.js';
import { TransactionCoordinator } from './transaction-coordinator.js';
import { TRANSACTION_STATE_TOPIC, TransactionStateManager } from './transaction-state-manager.js';
import { ClientMarkerSender, TransactionMarkerChannelManager } from './transaction-marker-channel.js';
import { toTransactionVersion } from './transaction-metadata.js';
import { TransactionMetrics } from './txn-metrics.js';
import { ProduceVerifier } from './produce-verification.js';

export interface TransactionService {
  coordinator: TransactionCoordinator;
  /** KIP-890 verification of transactional produce (partition leader side). */
  verifier: ProduceVerifier;
  /** Load the partitions led now and follow leadership changes. Call after ReplicaManager.start(). */
  start(): Promise<void>;
  shutdown(): void;
}

export function createTransactionService(opts: {
  nodeId: number;
  config: BrokerConfig;
  table: MetadataTable;
  topics: TopicAdmin;
  replicaManager: ReplicaManager;
  features: FeaturesTable;
  producerIds: { generate(): Promise<bigint> };
  metrics: BrokerMetrics;
  log: Logger;
}): TransactionService {
  const log = opts.log.child({ component: 'transaction-coordinator' });
  const c = opts.config;
  // The metrics' gauges read the parts built below, at scrape time.
  const metrics: TransactionMetrics = new TransactionMetrics(opts.metrics.registry, {
    transactionsByState: () => {
      const out: Record<string, number> = {};
      for (const md of stateManager.allMetadata()) out[md.state] = (out[md.state] ?? 0) + 1;
      return out;
    },
    partitions: () => ({
      owned: stateManager.ownedPartitions.size,
      loading: stateManager.loadingPartitions.size,
    }),
    markers: () => ({
      pendingTransactions: markers.numTxnsWithPendingMarkers,
      ...markers.queueSizes(),
    }),
  });
  const stateManager = new TransactionStateManager({
    replicaManager: opts.replicaManager,
    table: opts.table,
    topics: opts.topics,
    config: c,
    log,
    transactionVersionLevel: () => toTransactionVersion(opts.features.levels['transaction.version'] ?? 0),
    onPartitionLoaded: (_p, ms) => metrics.partitionLoaded(ms),
  });
  const sender = new ClientMarkerSender(opts.nodeId);
  const markers = new TransactionMarkerChannelManager({
    table: opts.table,
    stateManager,
    interBrokerListener: c.listeners.interBrokerListenerName,
    send: sender.send,
    requestTimeoutMs: () => c.int('request.timeout.ms'),
    log,
    metrics,
  });
  const txn = new TransactionCoordinator({
    stateManager,
    markers,
    producerIds: opts.producerIds,
    log,
    metrics,
  });

  /** Partition → the coordinator epoch it was loaded at (or is being loaded at). */
  const owned = new Map<number, number>();
  const state = { stopped: false };
  const stopped = (): boolean => state.stopped;

  /** Bring owned partitions in line with what this broker leads now. */
  const sync = async (): Promise<void> => {
    if (stopped()) return;
    const n = opts.table.topics.get(TRANSACTION_STATE_TOPIC)?.replicas.length ?? 0;
    for (const [p] of owned)
      if (p >= n) {
        owned.delete(p);
        txn.onResignation(p);
      }
    for (let i = 0; i < n; i++) {
      if (stopped()) return;
      const part = opts.replicaManager.getPartition(TRANSACTION_STATE_TOPIC, i);
      const leads = part?.isLeader === true;
      const epoch = part?.leaderEpoch ?? -1;
      if (leads && owned.get(i) !== epoch) {
        owned.set(i, epoch);
        try {
          if (!(await txn.onElection(i, epoch)) && owned.get(i) === epoch) owned.delete(i);
        } catch (err) {
          log.error({ err, partition: i }, `loading ${TRANSACTION_STATE_TOPIC} partition failed`);
          owned.delete(i);
          txn.onResignation(i);
        }
      } else if (!leads && owned.has(i)) {
        owned.delete(i);
        txn.onResignation(i);
      }
    }
  };
  let syncing: Promise<void> = Promise.resolve();
  const resync = () => {
    syncing = syncing.then(sync, sync);
  };
  stateManager.settled = () => syncing;

  let abortTimer: NodeJS.Timeout | null = null;
  let expireTimer: NodeJS.Timeout | null = null;
  const onTable = (topic: string) => {
    if (topic === TRANSACTION_STATE_TOPIC) resync();
  };

  const verifier = new ProduceVerifier({
    nodeId: opts.nodeId,
    table: opts.table,
    replicaManager: opts.replicaManager,
    coordinator: txn,
    interBrokerListener: c.listeners.interBrokerListenerName,
    requestTimeoutMs: () => c.int('request.timeout.ms'),
    addPartitionsRetryBackoffMs: () => c.int('add.partitions.to.txn.retry.backoff.ms'),
    addPartitionsRetryBackoffMaxMs: () => c.int('add.partitions.to.txn.retry.backoff.max.ms'),
    log,
  });

  return {
    coordinator: txn,
    verifier,
    async start() {
      txn.startup();
      opts.table.on('partition', onTable);
      opts.table.on('topic', onTable);
      abortTimer = setInterval(() => {
        try {
          txn.abortTimedOutTransactions();
        } catch (err) {
          log.error({ err }, 'aborting timed-out transactions failed');
        }
      }, c.int('transaction.abort.timed.out.transaction.cleanup.interval.ms'));
      abortTimer.unref();
      expireTimer = setInterval(() => {
        stateManager.removeExpiredTransactionalIds().catch((err: unknown) => {
          log.error({ err }, 'expiring transactional ids failed');
        });
      }, c.int('transaction.remove.expired.transaction.cleanup.interval.ms'));
      expireTimer.unref();
      resync();
      await syncing;
    },
    shutdown() {
      state.stopped = true;
      opts.table.off('partition', onTable);
      opts.table.off('topic', onTable);
      if (abortTimer) clearInterval(abortTimer);
      if (expireTimer) clearInterval(expireTimer);
      txn.shutdown();
      sender.close();
      verifier.close();
    },
  };
}

export function transactionHandlers(b: BrokerServices): ApiHandler[] {
  return [
    addPartitionsToTxnHandler(b),
    addOffsetsToTxnHandler(b),
    endTxnHandler(b),
    describeTransactionsHandler(b),
    listTransactionsHandler(b),
    writeTxnMarkersHandler(b),
    txnOffsetCommitHandler(b),
    describeProducersHandler(b),
  ] as ApiHandler[];
}
