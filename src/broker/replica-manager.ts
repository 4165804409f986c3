/**
 * ReplicaManager: routes produce and fetch requests to the partitions this broker hosts, runs the
 * purgatories, and keeps the set of partitions in line with the MetadataTable (Kafka's
 * ReplicaManager). A partition assigned to this broker gets a log and a Partition; the controller's
 * state for it is applied to the Partition and the replica fetchers are switched to match (leader:
 * no fetcher; follower: a fetcher from its leader); a deleted or reassigned-away replica's log is
 * deleted. Everything about one partition (appends, reads, fencing, the high watermark, the ISR and
 * AlterPartition, producer state, byte counters) is the Partition's: this class never touches a log.
 * acks=all produces wait in the produce purgatory until the high watermark passes them; fetches that
 * find too little data wait in the fetch purgatory until enough arrives or max wait passes. A timer
 * asks each partition to check its ISR for lagging followers.
 */
import type { Logger } from '../common/logger.js';
import type { BrokerConfig } from '../common/broker-config.js';
import { TOPIC_CONFIG } from '../common/topic-config.js';
import type { MetadataTable } from '../controller/metadata-table.js';
import type { PartitionState, TopicRecord } from '../controller/records.js';
import { LogManager } from '../storage/log-manager.js';
import { logConfigFromProps, type LogConfig } from '../storage/log-config.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { InvalidRecordError } from '../protocol/records/errors.js';
import { DelayedOperationPurgatory } from './purgatory/delayed-operation.js';
import { DelayedProduce } from './purgatory/delayed-produce.js';
import { DelayedFetch } from './purgatory/delayed-fetch.js';
import type { ReplicaQuota } from './replication/replication-quota.js';
import { CLEANER_CONFIG_KEYS, cleanerConfigFromProps } from '../storage/cleaner-config.js';
import { TimingWheelTimer } from './purgatory/timing-wheel.js';
import {
  NO_REPLICA_METRICS,
  Partition,
  type AlterPartitionFn,
  type FetchIsolation,
  type LeaderAppendOptions,
  type PartitionContext,
  type TxnResult,
  type ReplicaMetrics,
} from './partition.js';
import { NotLeaderOrFollowerError, UnknownTopicOrPartitionError } from './errors.js';
import { errorCodeOf } from './error-mapping.js';
import { ReplicaFetcherManager } from './replication/replica-fetcher-manager.js';
import type { ClientSecurity } from './security/client-security.js';

export type { AlterPartitionFn, ReplicaMetrics };
export { DelayedFetch, DelayedProduce };

export interface ProducePartitionResult {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: bigint;
  logAppendTime: bigint;
  logStartOffset: bigint;
  /**
   * Per-record errors (Produce v8+, KIP-467): the records of a refused batch that broke a
   * record-level rule, by index in the batch; `errorMessage` then carries Kafka's summary.
   */
  recordErrors: { batchIndex: number; batchIndexErrorMessage: string | null }[];
}

/** A produce partition result carrying only an error (no offsets). */
export function producePartitionError(code: number, message: string | null): ProducePartitionResult {
  return {
    errorCode: code,
    errorMessage: message,
    baseOffset: -1n,
    logAppendTime: -1n,
    logStartOffset: -1n,
    recordErrors: [],
  };
}

/**
 * Produce errors Kafka answers with log start offset -1 (ReplicaManager.appendToLocalLog's list of
 * expected exceptions); every other failed append reports the partition's log start offset.
 */
const NO_LOG_START_ON_ERROR: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.MESSAGE_TOO_LARGE,
  ErrorCode.RECORD_LIST_TOO_LARGE,
  ErrorCode.CORRUPT_MESSAGE,
  ErrorCode.KAFKA_STORAGE_ERROR,
]);

export interface ProduceInput {
  topic: string;
  partition: number;
  records: Buffer | null;
  /** Transactional produce: the KIP-890 verification guard (see Partition.maybeStartTransactionVerification). */
  options?: LeaderAppendOptions;
}

/** One marker of a WriteTxnMarkers request: a producer's transaction ends on these partitions. */
export interface TxnMarkerInput {
  producerId: bigint;
  producerEpoch: number;
  coordinatorEpoch: number;
  result: TxnResult;
  partitions: { topic: string; partition: number }[];
}

export interface FetchPartitionInput {
  topic: string;
  partition: number;
  fetchOffset: bigint;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
  /** Fetch v12+: the epoch of the fetcher's last batch (-1 when unknown); checked for divergence. */
  lastFetchedEpoch?: number;
}

export interface FetchPartitionResult {
  topic: string;
  partition: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  records: Buffer | null;
  /** The fetcher's log diverges from the leader's here (KIP-320): truncate, then fetch again. */
  divergingEpoch?: { epoch: number; endOffset: bigint };
  /** read_committed: aborted transactions overlapping the records. */
  abortedTransactions?: { producerId: bigint; firstOffset: bigint }[];
}

export interface FetchParams {
  /** -1 for consumers; a broker id for follower fetches. */
  replicaId: number;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  /** 0 read_uncommitted, 1 read_committed. */
  isolationLevel: number;
  partitions: FetchPartitionInput[];
}

const READ_COMMITTED = 1;

export interface ReplicaManagerOptions {
  nodeId: number;
  config: BrokerConfig;
  table: MetadataTable;
  log: Logger;
  /**
   * Cluster mode: the controller's AlterPartition, through which leaders change their ISR. Absent
   * or null on a single node, where the ISR never changes.
   */
  alterPartition?: AlterPartitionFn | null;
  /** Where partitions count bytes in and out, duplicates, ISR changes. Default: nowhere. */
  metrics?: ReplicaMetrics;
  /** The inter-broker listener's TLS/SASL, for the replica fetchers' connections. Default: PLAINTEXT. */
  clientSecurity?: ClientSecurity;
  /** Replication throttles (KIP-73): as leader for follower fetches, as follower for the fetchers. */
  replicationQuotas?: { leader: ReplicaQuota; follower: ReplicaQuota };
}
const CLEANER_KEYS = Object.values(CLEANER_CONFIG_KEYS);

export class ReplicaManager {
  readonly nodeId: number;
  readonly logManager: LogManager;
  readonly #table: MetadataTable;
  readonly #config: BrokerConfig;
  readonly #log: Logger;
  readonly #partitions = new Map<string, Partition>();
  /** Given to every Partition: this broker's collaborators. */
  readonly #partitionContext: PartitionContext;
  readonly fetcherManager: ReplicaFetcherManager;
  readonly timer = new TimingWheelTimer();
  readonly producePurgatory = new DelayedOperationPurgatory<DelayedProduce>('Produce', this.timer);
  readonly fetchPurgatory = new DelayedOperationPurgatory<DelayedFetch>('Fetch', this.timer);
  readonly #leaderQuota: ReplicaQuota | null;
  #checkpointTimer: NodeJS.Timeout | null = null;
  #isrTimer: NodeJS.Timeout | null = null;
  #started = false;
  #stopped = false;
  readonly #onTopicEvent = (name: string, record: TopicRecord | null): void => this.#onTopic(name, record);
  readonly #onPartitionEvent = (topic: string, index: number): void => this.#onPartition(topic, index);

  constructor(o: ReplicaManagerOptions) {
    const { nodeId, config, table } = o;
    this.nodeId = nodeId;
    this.#config = config;
    this.#table = table;
    this.#log = o.log.child({ component: 'replica-manager' });
    this.#leaderQuota = o.replicationQuotas?.leader ?? null;
    this.logManager = new LogManager({
      logDirs: config.logDirs,
      defaultConfig: this.#logConfigFor(null),
      topicConfig: (topic) => this.#logConfigFor(table.topics.get(topic) ?? null),
      retentionCheckIntervalMs: config.int('log.retention.check.interval.ms'),
      // The log cleaner: its log.cleaner.* settings read on every pick (dynamic configs apply), and
      // each partition's producer state, whose last batches it keeps.
      cleanerConfig: () =>
        cleanerConfigFromProps(Object.fromEntries(CLEANER_KEYS.map((k) => [k, config.raw(k)]))),
      producerLastRecords: (tp) =>
        this.#partitions.get(`${tp.topic}-${tp.partition}`)?.lastRecordsOfActiveProducers() ?? null,
      // Cleaning stops at the first offset of an open transaction (Kafka's firstUnstableOffset).
      lastStableOffset: (tp) => this.#partitions.get(`${tp.topic}-${tp.partition}`)?.lastStableOffset,
      logger: this.#log.child({ component: 'log-cleaner' }),
    });
    this.#partitionContext = {
      nodeId,
      alterPartition: o.alterPartition ?? null,
      isBrokerAlive: (id) => table.brokers.has(id),
      replicaLagTimeMaxMs: () => this.#replicaLagTimeMaxMs(),
      metrics: o.metrics ?? NO_REPLICA_METRICS,
      onStateChanged: (p) => {
        if (this.#partitions.get(p.key) === p) this.checkWaiting(p.key);
      },
      log: this.#log,
      transactionVerificationEnabled: () => config.bool('transaction.partition.verification.enable'),
    };
    this.fetcherManager = new ReplicaFetcherManager({
      nodeId,
      table,
      interBrokerListenerName: config.listeners.interBrokerListenerName,
      maxWaitMs: config.int('replica.fetch.wait.max.ms'),
      maxBytes: 10 * 1024 * 1024,
      partitionMaxBytes: config.int('replica.fetch.max.bytes'),
      backoffMs: 500,
      requestTimeoutMs: 30_000,
      log: this.#log,
      ...(o.clientSecurity ? { security: o.clientSecurity } : {}),
      ...(o.replicationQuotas ? { quota: o.replicationQuotas.follower } : {}),
    });
  }

  #minIsr(topic: string): number {
    return Number(
      this.#table.topics.get(topic)?.configs['min.insync.replicas'] ??
        this.#config.int('min.insync.replicas'),
    );
  }

  #replicaLagTimeMaxMs(): number {
    return Number(this.#config.raw('replica.lag.time.max.ms') ?? 30_000);
  }

  /** Effective log config of a topic: its overrides over the broker's topic defaults. */
  #logConfigFor(topic: TopicRecord | null): LogConfig {
    const props: Record<string, string> = {};
    for (const key of TOPIC_CONFIG.names()) {
      const v = topic?.configs[key] ?? this.#config.topicDefault(key).value;
      if (v !== null) props[key] = v;
    }
    // The topic's cleanup.policy list is stored as "a,b"; the log only needs to know if delete is in it.
    return logConfigFromProps(props);
  }

  /** Load the logs, create the partitions the table assigns here and follow the table from now on. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.logManager.startup();
    for (const [topic, record] of this.#table.topics) this.#onTopic(topic, record);
    this.#table.on('topic', this.#onTopicEvent);
    this.#table.on('partition', this.#onPartitionEvent);
    // Orphan logs: partitions on disk whose topic is gone (deleted while we were down).
    for (const log of this.logManager.allLogs()) {
      const { topic, partition } = log.topicPartition;
      const t = this.#table.topics.get(topic);
      if (!t || !t.replicas[partition]?.includes(this.nodeId)) {
        this.#log.info({ topic, partition }, 'deleting log of a partition this broker no longer hosts');
        this.logManager.deleteLog(topic, partition);
      }
    }
    this.#checkpointTimer = setInterval(() => this.#snapshotAll(), 60_000);
    this.#checkpointTimer.unref();
    // ISR shrink: each leader checks for followers not caught up within replica.lag.time.max.ms.
    if (this.#partitionContext.alterPartition) {
      const every = Math.max(100, Math.floor(this.#replicaLagTimeMaxMs() / 2));
      this.#isrTimer = setInterval(() => this.maybeShrinkIsr(), every);
      this.#isrTimer.unref();
    }
  }

  /** Ask every partition this broker leads whether a follower fell out of sync (the ISR timer's tick). */
  maybeShrinkIsr(now = Date.now()): void {
    for (const p of this.#partitions.values()) p.maybeShrinkIsr(now);
  }

  // ---- partition lifecycle (follows the MetadataTable) ----

  #onTopic(name: string, record: TopicRecord | null): void {
    if (this.#stopped) return;
    if (!record) {
      for (const p of [...this.#partitions.values()]) if (p.topic === name) this.#removePartition(p);
      return;
    }
    const cfg = this.#logConfigFor(record);
    record.replicas.forEach((replicas, i) => {
      const p = this.#partitions.get(`${name}-${i}`);
      // Reassigned away from this broker (KIP-455): stop fetching and delete the replica.
      if (p && !replicas.includes(this.nodeId)) this.#removePartition(p, 'reassigned to other brokers');
      else if (p) p.updateConfig(cfg);
      else this.#onPartition(name, i);
    });
  }

  /** Stop hosting a partition (topic deleted, or this broker no longer a replica) and delete its log. */
  #removePartition(p: Partition, reason?: string): void {
    const key = p.key;
    if (this.#partitions.get(key) !== p) return;
    if (reason)
      this.#log.info(
        { topic: p.topic, partition: p.index, reason },
        'deleting the replica of a partition this broker no longer hosts',
      );
    this.#partitions.delete(key);
    this.fetcherManager.remove(key);
    this.logManager.deleteLog(p.topic, p.index);
    this.checkWaiting(key);
  }

  #onPartition(topic: string, index: number): void {
    if (this.#stopped) return;
    const record = this.#table.topics.get(topic);
    const state = this.#table.partitionState(topic, index);
    const replicas = record?.replicas[index];
    const key = `${topic}-${index}`;
    if (record && replicas && !replicas.includes(this.nodeId)) {
      const old = this.#partitions.get(key);
      if (old) this.#removePartition(old, 'reassigned to other brokers');
      return;
    }
    if (!record || !state || !replicas) return;
    let p = this.#partitions.get(key);
    if (!p) {
      // A log on disk from a deleted topic of the same name (this broker was down while it was
      // deleted and re-created) must not become the new topic's: its records are not the new topic's.
      const recorded = this.logManager.recordedTopicId(topic, index);
      if (recorded !== null && recorded !== record.topicId) {
        this.#log.warn(
          { topic, partition: index, topicId: record.topicId, logTopicId: recorded },
          'deleting a stray log: it belongs to a deleted topic of the same name',
        );
        this.logManager.deleteLog(topic, index);
      }
      const log = this.logManager.getOrCreateLog(topic, index, record.topicId);
      p = new Partition(topic, index, log, this.#partitionContext);
      this.#partitions.set(key, p);
    }
    this.#applyState(p, state, replicas);
  }

  /** Apply a partition state from the table and switch fetchers. */
  #applyState(p: Partition, state: PartitionState, replicas: number[]): void {
    const change = p.applyState(state, replicas);
    if (change === 'stale') return;
    if (change === 'became-leader') {
      this.#log.info(
        {
          topic: p.topic,
          partition: p.index,
          leaderEpoch: state.leaderEpoch,
          isr: state.isr,
          logEndOffset: p.logEndOffset,
        },
        'became leader',
      );
    } else if (change === 'became-follower' || change === 'leader-changed') {
      this.#log.info(
        { topic: p.topic, partition: p.index, leader: state.leader, leaderEpoch: state.leaderEpoch },
        'following',
      );
    }
    if (p.isLeader || state.leader < 0) this.fetcherManager.remove(p.key);
    else this.fetcherManager.addOrUpdate(p);
    this.checkWaiting(p.key);
  }

  getPartition(topic: string, index: number): Partition | undefined {
    return this.#partitions.get(`${topic}-${index}`);
  }

  allPartitions(): Partition[] {
    return [...this.#partitions.values()];
  }

  /**
   * The partition when this broker leads it. Throws UnknownTopicOrPartitionError when the topic or
   * partition does not exist, NotLeaderOrFollowerError when another broker leads it.
   */
  leaderPartition(topic: string, index: number): Partition {
    const p = this.#partitions.get(`${topic}-${index}`);
    if (p?.isLeader) return p;
    const t = this.#table.topics.get(topic);
    if (!t || index < 0 || index >= t.replicas.length)
      throw new UnknownTopicOrPartitionError('This server does not host this topic-partition.');
    throw new NotLeaderOrFollowerError(`Broker ${this.nodeId} is not the leader of ${topic}-${index}`);
  }

  // ---- produce ----

  /**
   * Append each partition's batch (Produce v3+ carries exactly one batch per partition from every
   * real client, but several are accepted). Resolves when acks are satisfied.
   */
  async appendRecords(
    acks: number,
    timeoutMs: number,
    inputs: ProduceInput[],
  ): Promise<Map<string, ProducePartitionResult>> {
    const results = new Map<string, ProducePartitionResult>();
    const waitFor = new Map<string, { partition: Partition; requiredOffset: bigint; minIsr: number }>();
    for (const input of inputs) {
      const key = `${input.topic}-${input.partition}`;
      const r = await this.#appendOne(acks, input);
      results.set(key, r.result);
      if (r.wait && acks === -1) waitFor.set(key, r.wait);
    }
    if (acks !== -1 || waitFor.size === 0) return results;
    await new Promise<void>((resolve) => {
      const op = new DelayedProduce(timeoutMs, waitFor, results, resolve);
      this.producePurgatory.tryCompleteElseWatch(op, [...waitFor.keys()]);
    });
    return results;
  }

  async #appendOne(
    acks: number,
    input: ProduceInput,
  ): Promise<{
    result: ProducePartitionResult;
    wait?: { partition: Partition; requiredOffset: bigint; minIsr: number };
  }> {
    try {
      const p = this.leaderPartition(input.topic, input.partition);
      const minIsr = acks === -1 ? this.#minIsr(input.topic) : 0;
      const r = await p.appendRecordsToLeader(input.records, acks, minIsr, input.options);
      // One wake for both kinds of waiting fetch: followers read to the log end, which just moved;
      // consumers read to the high watermark, which may have moved with it.
      this.fetchPurgatory.checkAndComplete(p.key);
      return {
        result: {
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          baseOffset: r.baseOffset,
          logAppendTime: r.logAppendTime,
          logStartOffset: r.logStartOffset,
          recordErrors: [],
        },
        wait: { partition: p, requiredOffset: r.lastOffset + 1n, minIsr },
      };
    } catch (err) {
      const code = errorCodeOf(err);
      if (code === ErrorCode.UNKNOWN_SERVER_ERROR || code === ErrorCode.KAFKA_STORAGE_ERROR)
        this.#log.error({ err, topic: input.topic, partition: input.partition }, 'append failed');
      // As Kafka's ReplicaManager: only a batch refused for its records (KIP-467's record errors)
      // carries an error_message; every other failure is answered with the code alone, and the
      // client shows that code's own text.
      const withRecordErrors = err instanceof InvalidRecordError && err.recordErrors.length > 0;
      if (!withRecordErrors)
        this.#log.debug({ err, topic: input.topic, partition: input.partition }, 'append refused');
      const result = producePartitionError(code, withRecordErrors ? err.message : null);
      // Kafka's ReplicaManager reports the partition's log start offset with a failed append,
      // except for the errors it answers without looking at the log.
      if (!NO_LOG_START_ON_ERROR.has(code))
        result.logStartOffset =
          this.#partitions.get(`${input.topic}-${input.partition}`)?.logStartOffset ?? -1n;
      if (err instanceof InvalidRecordError)
        result.recordErrors = err.recordErrors.map((e) => ({
          batchIndex: e.batchIndex,
          batchIndexErrorMessage: e.message,
        }));
      return { result };
    }
  }

  // ---- transaction markers ----

  /**
   * WriteTxnMarkers: append each marker's COMMIT/ABORT control batch to every partition it names
   * that this broker leads, then wait (acks=all, as Kafka) until the high watermark passes them or
   * `timeoutMs` ends. Returns an error code per marker per partition (`topic-partition` keys).
   */
  async appendTxnMarkers(markers: TxnMarkerInput[], timeoutMs: number): Promise<Map<string, number>[]> {
    const out: Map<string, number>[] = [];
    const waitFor = new Map<string, { partition: Partition; requiredOffset: bigint; minIsr: number }>();
    const results = new Map<string, ProducePartitionResult>();
    const byMarker: Map<string, string>[] = [];
    let n = 0;
    for (const m of markers) {
      const codes = new Map<string, number>();
      const waitKeys = new Map<string, string>();
      for (const { topic, partition } of m.partitions) {
        const key = `${topic}-${partition}`;
        try {
          const p = this.leaderPartition(topic, partition);
          const minIsr = this.#minIsr(topic);
          const r = p.appendTxnMarker(
            {
              producerId: m.producerId,
              producerEpoch: m.producerEpoch,
              coordinatorEpoch: m.coordinatorEpoch,
              result: m.result,
            },
            minIsr,
          );
          this.checkWaiting(p.key);
          const wk = `${n++}`;
          waitFor.set(wk, { partition: p, requiredOffset: r.lastOffset + 1n, minIsr });
          results.set(wk, producePartitionError(ErrorCode.NONE, null));
          waitKeys.set(key, wk);
          codes.set(key, ErrorCode.NONE);
        } catch (err) {
          const code = errorCodeOf(err);
          if (code === ErrorCode.UNKNOWN_SERVER_ERROR || code === ErrorCode.KAFKA_STORAGE_ERROR)
            this.#log.error({ err, topic, partition }, 'appending a transaction marker failed');
          codes.set(key, code);
        }
      }
      out.push(codes);
      byMarker.push(waitKeys);
    }
    if (waitFor.size > 0) {
      await new Promise<void>((resolve) => {
        const op = new DelayedProduce(timeoutMs, waitFor, results, resolve);
        // The purgatory is watched by partition key; several markers may share one.
        const keys = new Set([...waitFor.values()].map((w) => w.partition.key));
        this.producePurgatory.tryCompleteElseWatch(op, [...keys]);
      });
      for (const [i, waitKeys] of byMarker.entries())
        for (const [key, wk] of waitKeys) out[i]!.set(key, results.get(wk)!.errorCode);
    }
    return out;
  }

  // ---- fetch ----

  /**
   * Read what is there now for each partition, within the response and partition byte limits. On
   * the first read of a follower fetch, the follower's fetch state is recorded (its log end offset),
   * which may move the high watermark and expand the ISR.
   */
  #readFromLocalLog(
    params: FetchParams,
    firstRead: boolean,
  ): { results: FetchPartitionResult[]; bytes: number } {
    const isolation: FetchIsolation =
      params.replicaId >= 0
        ? 'log-end'
        : params.isolationLevel === READ_COMMITTED
          ? 'txn-committed'
          : 'high-watermark';
    const followerId = firstRead ? params.replicaId : -1;
    let remaining = params.maxBytes;
    let bytes = 0;
    const results = params.partitions.map((f) => {
      const res = this.#readPartition(f, isolation, followerId, remaining, bytes === 0);
      // Kafka's shouldLeaderThrottle: a throttled replica out of the ISR gets no records while the
      // leader's replication quota is exceeded (its fetch state was still recorded above).
      if (
        res.records &&
        res.records.length > 0 &&
        this.#shouldLeaderThrottle(f.topic, f.partition, params.replicaId)
      ) {
        res.records = Buffer.alloc(0);
        this.#leaderQuota?.markHeldBack?.();
      }
      const n = res.records?.length ?? 0;
      remaining = Math.max(0, remaining - n);
      bytes += n;
      return res;
    });
    return { results, bytes };
  }

  #readPartition(
    f: FetchPartitionInput,
    isolation: FetchIsolation,
    followerId: number,
    remaining: number,
    minOneMessage: boolean,
  ): FetchPartitionResult {
    let p: Partition | undefined;
    try {
      p = this.leaderPartition(f.topic, f.partition);
      const r = p.fetchRecords({
        fetchOffset: f.fetchOffset,
        currentLeaderEpoch: f.currentLeaderEpoch,
        lastFetchedEpoch: f.lastFetchedEpoch ?? -1,
        maxBytes: Math.min(f.partitionMaxBytes, remaining),
        minOneMessage,
        isolation,
      });
      const out: FetchPartitionResult = {
        topic: f.topic,
        partition: f.partition,
        errorCode: ErrorCode.NONE,
        highWatermark: r.highWatermark,
        lastStableOffset: r.lastStableOffset,
        logStartOffset: r.logStartOffset,
        records: r.records,
      };
      if (r.abortedTransactions) out.abortedTransactions = r.abortedTransactions;
      if (r.divergingEpoch) out.divergingEpoch = r.divergingEpoch;
      // Leader: a follower's fetch offset is its log end offset; the HW may move, the ISR expand.
      else if (followerId >= 0 && p.updateFollowerFetchState(followerId, f.fetchOffset))
        this.checkWaiting(p.key);
      return out;
    } catch (err) {
      const code = errorCodeOf(err);
      if (code === ErrorCode.UNKNOWN_SERVER_ERROR || code === ErrorCode.KAFKA_STORAGE_ERROR)
        this.#log.error({ err, topic: f.topic, partition: f.partition }, 'read failed');
      // Offsets are only reported by a leader that accepted the request's epoch.
      const known =
        p !== undefined &&
        code !== ErrorCode.NOT_LEADER_OR_FOLLOWER &&
        code !== ErrorCode.FENCED_LEADER_EPOCH &&
        code !== ErrorCode.UNKNOWN_LEADER_EPOCH;
      return {
        topic: f.topic,
        partition: f.partition,
        errorCode: code,
        highWatermark: known ? p!.highWatermark : -1n,
        lastStableOffset: known ? p!.lastStableOffset : -1n,
        logStartOffset: known ? p!.logStartOffset : -1n,
        records: null,
      };
    }
  }

  /** Whether a follower fetch of this partition is held back by the leader's replication quota. */
  #shouldLeaderThrottle(topic: string, partition: number, replicaId: number): boolean {
    const q = this.#leaderQuota;
    if (!q || replicaId < 0 || !q.isThrottled(topic, partition)) return false;
    const p = this.#partitions.get(`${topic}-${partition}`);
    if (p?.isr.includes(replicaId)) return false;
    return q.isQuotaExceeded();
  }

  /** Leader: record the bytes sent to a follower for throttled partitions (Kafka: quotas.leader.record). */
  #recordReplication(params: FetchParams, results: FetchPartitionResult[]): FetchPartitionResult[] {
    const q = this.#leaderQuota;
    if (!q || params.replicaId < 0) return results;
    let n = 0;
    for (const r of results)
      if (r.records && r.records.length > 0 && q.isThrottled(r.topic, r.partition)) n += r.records.length;
    q.record(n);
    return results;
  }

  /** Answer now when there is enough (or an error, or no wait), else wait in the fetch purgatory. */
  async fetchMessages(params: FetchParams): Promise<FetchPartitionResult[]> {
    return this.#recordReplication(params, await this.#fetchMessages(params));
  }

  async #fetchMessages(params: FetchParams): Promise<FetchPartitionResult[]> {
    const first = this.#readFromLocalLog(params, true);
    const hasError = first.results.some(
      (r) => r.errorCode !== ErrorCode.NONE || r.divergingEpoch !== undefined,
    );
    if (params.maxWaitMs <= 0 || first.bytes >= params.minBytes || hasError || params.partitions.length === 0)
      return first.results;
    // Followers wait for appended bytes; consumers for bytes below the high watermark, or below the
    // last stable offset for read_committed.
    const follower = params.replicaId >= 0;
    const committed = params.isolationLevel === READ_COMMITTED;
    const visible = (p: Partition) =>
      follower ? p.appendedBytes : committed ? p.stableBytes : p.committedBytes;
    const watched: { p: Partition; at: number }[] = [];
    for (const f of params.partitions) {
      const p = this.#partitions.get(`${f.topic}-${f.partition}`);
      if (!p) return first.results;
      watched.push({ p, at: visible(p) });
    }
    return new Promise<FetchPartitionResult[]>((resolve) => {
      const op = new DelayedFetch(
        params.maxWaitMs,
        () => {
          let bytes = first.bytes;
          for (const { p, at } of watched) {
            if (p.isClosed) return Infinity; // partition gone: answer with the error now
            // Kafka's DelayedFetch: bytes a throttled follower would not be given do not count.
            if (follower && this.#shouldLeaderThrottle(p.topic, p.index, params.replicaId)) continue;
            bytes += visible(p) - at;
          }
          return bytes;
        },
        params.minBytes,
        () => resolve(this.#readFromLocalLog(params, false).results),
      );
      this.fetchPurgatory.tryCompleteElseWatch(
        op,
        watched.map((w) => w.p.key),
      );
    });
  }

  /** Partition key changed in a way waiting operations care about (HW moved, leadership changed). */
  checkWaiting(key: string): void {
    this.fetchPurgatory.checkAndComplete(key);
    this.producePurgatory.checkAndComplete(key);
  }

  #snapshotAll(): void {
    for (const p of this.#partitions.values()) {
      try {
        p.snapshotProducerState();
      } catch (err) {
        this.#log.warn({ err, partition: p.key }, 'producer state snapshot failed');
      }
    }
  }

  /**
   * Clean shutdown, in order: stop following the table; stop the replica fetchers and wait for their
   * loops to end (no follower append may race the logs closing); answer waiting produces and
   * fetches; snapshot producer state at the final log ends; flush and close the logs (writing the
   * clean-shutdown marker).
   */
  async shutdown(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#table.off('topic', this.#onTopicEvent);
    this.#table.off('partition', this.#onPartitionEvent);
    if (this.#checkpointTimer) clearInterval(this.#checkpointTimer);
    if (this.#isrTimer) clearInterval(this.#isrTimer);
    await this.fetcherManager.shutdown();
    this.producePurgatory.shutdown();
    this.fetchPurgatory.shutdown();
    if (!this.#started) return;
    this.#snapshotAll();
    this.logManager.shutdown();
  }
}
