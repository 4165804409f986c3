/**
 * ReplicaManager: the partitions this broker hosts, and the produce and fetch paths over them
 * (Kafka's ReplicaManager). It follows the MetadataTable: a partition assigned to this broker gets a
 * log and a Partition; leadership and ISR follow the partition state; a deleted topic's logs are
 * deleted. acks=all produces wait in the produce purgatory until the ISR has the batch; fetches that
 * find too little data wait in the fetch purgatory until enough arrives or max wait passes.
 */
import type { Logger } from '../common/logger.js';
import type { BrokerConfig } from '../common/broker-config.js';
import { TOPIC_CONFIG } from '../common/topic-config.js';
import type { MetadataTable } from '../controller/metadata-table.js';
import type { TopicRecord } from '../controller/records.js';
import { LogManager } from '../storage/log-manager.js';
import { logConfigFromProps, type LogConfig } from '../storage/log-config.js';
import { CLEANER_CONFIG_KEYS, cleanerConfigFromProps } from '../storage/cleaner-config.js';
import { OffsetOutOfRangeError } from '../storage/errors.js';
import { TimestampType, type RecordBatchHeader } from '../protocol/records/batch-header.js';
import { scanRecordBatches } from '../protocol/records/batch.js';
import { validateRecordBatchForAppend } from '../protocol/records/validate.js';
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';
import { DelayedOperation, DelayedOperationPurgatory } from './purgatory/delayed-operation.js';
import { TimingWheelTimer } from './purgatory/timing-wheel.js';
import { Partition, PartitionError } from './partition.js';
import type { PartitionState } from '../controller/records.js';
import type { AlterPartitionRequest } from '../controller/partition-state-machine.js';
import { ReplicaFetcherManager } from './replication/replica-fetcher-manager.js';

/** The controller's AlterPartition (cluster mode), as the KafkaServer wires it. */
export type AlterPartitionFn = (
  req: AlterPartitionRequest,
) => Promise<{ error: string; message: string; state?: PartitionState }>;

export interface ProducePartitionResult {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: bigint;
  logAppendTime: bigint;
  logStartOffset: bigint;
  /** Per-record errors (v8+): none are produced today. */
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

export interface ProduceInput {
  topic: string;
  partition: number;
  records: Buffer | null;
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

const READ_UNCOMMITTED = 0;
const CLEANER_KEYS = Object.values(CLEANER_CONFIG_KEYS);

export class ReplicaManager {
  readonly nodeId: number;
  readonly logManager: LogManager;
  readonly #table: MetadataTable;
  readonly #config: BrokerConfig;
  readonly #log: Logger;
  readonly #partitions = new Map<string, Partition>();
  /** Bytes appended per partition, monotonic: how waiting fetches tell that enough data arrived. */
  readonly #appendedBytes = new Map<string, number>();
  /**
   * Bytes below the high watermark per partition, monotonic (what consumers can read). Appends wait
   * in #uncommitted (end offset → #appendedBytes after it) until the high watermark passes them.
   */
  readonly #committedBytes = new Map<string, number>();
  readonly #uncommitted = new Map<string, { end: bigint; bytes: number }[]>();
  readonly fetcherManager: ReplicaFetcherManager;
  /** Set in cluster mode: ISR changes go to the controller. */
  alterPartition: AlterPartitionFn | null = null;
  readonly #isrRetryAt = new Map<string, number>();
  #isrTimer: NodeJS.Timeout | null = null;
  /** Metrics hooks. */
  onIsrChange: (kind: 'shrink' | 'expand', topic: string) => void = () => {};
  onFollowerBytes: (bytes: number) => void = () => {};
  readonly timer = new TimingWheelTimer();
  readonly producePurgatory = new DelayedOperationPurgatory<DelayedProduce>('Produce', this.timer);
  readonly fetchPurgatory = new DelayedOperationPurgatory<DelayedFetch>('Fetch', this.timer);
  #checkpointTimer: NodeJS.Timeout | null = null;
  onBytesIn: (topic: string, bytes: number, records: number) => void = () => {};
  onBytesOut: (topic: string, bytes: number) => void = () => {};
  onDuplicate: (topic: string) => void = () => {};

  constructor(nodeId: number, config: BrokerConfig, table: MetadataTable, log: Logger) {
    this.nodeId = nodeId;
    this.#config = config;
    this.#table = table;
    this.#log = log.child({ component: 'replica-manager' });
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
        this.#partitions.get(`${tp.topic}-${tp.partition}`)?.producerState.lastRecordsOfActiveProducers() ??
        null,
      logger: this.#log.child({ component: 'log-cleaner' }),
    });
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
      onAppended: (p, bytes) => {
        if (bytes > 0) {
          this.#appendedBytes.set(p.key, (this.#appendedBytes.get(p.key) ?? 0) + bytes);
          this.onFollowerBytes(bytes);
        }
      },
    });
  }

  #minIsr(topic: string): number {
    return Number(
      this.#table.topics.get(topic)?.configs['min.insync.replicas'] ??
        this.#config.int('min.insync.replicas'),
    );
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

  start(): void {
    this.logManager.startup();
    for (const [topic, record] of this.#table.topics) this.#onTopic(topic, record);
    this.#table.on('topic', (name, record) => this.#onTopic(name, record));
    this.#table.on('partition', (topic, index) => this.#onPartition(topic, index));
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
    // ISR shrink: followers not caught up within replica.lag.time.max.ms leave the ISR.
    const lagMs = Number(this.#config.raw('replica.lag.time.max.ms') ?? 30_000);
    this.#isrTimer = setInterval(() => this.#maybeShrinkIsr(), Math.max(100, Math.floor(lagMs / 2)));
    this.#isrTimer.unref();
  }

  #onTopic(name: string, record: TopicRecord | null): void {
    if (!record) {
      for (const p of [...this.#partitions.values()]) if (p.topic === name) this.#removePartition(p);
      return;
    }
    const cfg = this.#logConfigFor(record);
    record.replicas.forEach((replicas, i) => {
      const p = this.#partitions.get(`${name}-${i}`);
      // Reassigned away from this broker (KIP-455): stop fetching and delete the replica.
      if (p && !replicas.includes(this.nodeId)) this.#removePartition(p, 'reassigned to other brokers');
      else if (p) p.log.updateConfig(cfg);
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
    this.#appendedBytes.delete(key);
    this.#committedBytes.delete(key);
    this.#uncommitted.delete(key);
    this.#isrRetryAt.delete(key);
    this.logManager.deleteLog(p.topic, p.index);
    this.fetchPurgatory.checkAndComplete(key);
    this.producePurgatory.checkAndComplete(key);
  }

  #onPartition(topic: string, index: number): void {
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
      const log = this.logManager.getOrCreateLog(topic, index);
      p = new Partition(topic, index, log, this.nodeId);
      this.#partitions.set(key, p);
      this.#appendedBytes.set(key, 0);
      this.#committedBytes.set(key, 0);
    }
    this.#applyState(p, state, replicas);
  }

  /** Apply a partition state (from the table or an AlterPartition answer) and switch fetchers. */
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
          logEndOffset: p.log.logEndOffset,
        },
        'became leader',
      );
      // Appends from an earlier leadership are either committed or gone; consumers count from here.
      this.#uncommitted.delete(p.key);
      this.#committedBytes.set(p.key, this.#appendedBytes.get(p.key) ?? 0);
    } else if (change === 'became-follower' || change === 'leader-changed') {
      this.#log.info(
        { topic: p.topic, partition: p.index, leader: state.leader, leaderEpoch: state.leaderEpoch },
        'following',
      );
    }
    if (p.isLeader || state.leader < 0) this.fetcherManager.remove(p.key);
    else this.fetcherManager.addOrUpdate(p);
    this.#onHighWatermarkMaybeMoved(p);
    this.fetchPurgatory.checkAndComplete(p.key);
    this.producePurgatory.checkAndComplete(p.key);
  }

  /** Move appends the high watermark passed into the consumer-visible byte count. */
  #onHighWatermarkMaybeMoved(p: Partition): void {
    if (this.#advanceCommittedBytes(p)) this.fetchPurgatory.checkAndComplete(p.key);
  }

  /** Move appended bytes below the high watermark to the committed count; true when any moved. */
  #advanceCommittedBytes(p: Partition): boolean {
    const q = this.#uncommitted.get(p.key);
    if (!q || q.length === 0) return false;
    const hw = p.highWatermark;
    let moved = false;
    while (q.length > 0 && q[0]!.end <= hw) {
      this.#committedBytes.set(p.key, q.shift()!.bytes);
      moved = true;
    }
    return moved;
  }

  // ---- ISR management (leader) ----

  #maybeExpandIsr(p: Partition): void {
    if (!this.alterPartition || p.pendingIsr) return;
    const lagMs = Number(this.#config.raw('replica.lag.time.max.ms') ?? 30_000);
    const add = p.followersToAdd(lagMs).filter((id) => this.#table.brokers.has(id));
    if (add.length === 0) return;
    this.#sendAlterPartition(p, [...p.isr, ...add], 'expand');
  }

  #maybeShrinkIsr(): void {
    if (!this.alterPartition) return;
    const lagMs = Number(this.#config.raw('replica.lag.time.max.ms') ?? 30_000);
    const now = Date.now();
    for (const p of this.#partitions.values()) {
      if (!p.isLeader || p.pendingIsr || p.log.isClosed) continue;
      const out = p.outOfSyncFollowers(lagMs, now);
      if (out.length === 0) continue;
      this.#log.info(
        { topic: p.topic, partition: p.index, outOfSync: out, lagMs },
        'followers fell behind; shrinking the ISR',
      );
      this.#sendAlterPartition(
        p,
        p.isr.filter((r) => !out.includes(r)),
        'shrink',
      );
    }
  }

  #sendAlterPartition(p: Partition, newIsr: number[], kind: 'shrink' | 'expand'): void {
    const alter = this.alterPartition;
    if (!alter) return;
    const retryAt = this.#isrRetryAt.get(p.key) ?? 0;
    if (Date.now() < retryAt) return;
    p.pendingIsr = newIsr;
    const sentEpoch = p.leaderEpoch;
    alter({
      brokerId: this.nodeId,
      topic: p.topic,
      partition: p.index,
      leaderEpoch: p.leaderEpoch,
      partitionEpoch: p.partitionEpoch,
      newIsr,
    }).then(
      (res) => {
        if (p.pendingIsr !== newIsr) return; // superseded by a newer state
        p.pendingIsr = null;
        if (
          res.error === 'NONE' &&
          res.state &&
          this.#partitions.get(p.key) === p &&
          p.leaderEpoch === sentEpoch
        ) {
          this.#isrRetryAt.delete(p.key);
          this.onIsrChange(kind, p.topic);
          this.#log.info({ topic: p.topic, partition: p.index, isr: res.state.isr, kind }, 'ISR updated');
          this.#applyState(p, res.state, p.replicas);
        } else {
          this.#log.info(
            { topic: p.topic, partition: p.index, error: res.error, message: res.message, kind },
            'ISR change refused; waiting for the metadata',
          );
          this.#isrRetryAt.set(p.key, Date.now() + 1000);
          // A refused change (stale epochs) is followed by the table's newer state; recompute then.
          this.#onHighWatermarkMaybeMoved(p);
          this.checkWaiting(p.key);
        }
      },
      (err: unknown) => {
        if (p.pendingIsr === newIsr) p.pendingIsr = null;
        this.#isrRetryAt.set(p.key, Date.now() + 1000);
        this.#log.warn(
          { err: (err as Error).message, topic: p.topic, partition: p.index, kind },
          'AlterPartition failed; will retry',
        );
        if (p.maybeIncrementHighWatermark()) this.#onHighWatermarkMaybeMoved(p);
        this.checkWaiting(p.key);
      },
    );
  }

  getPartition(topic: string, index: number): Partition | undefined {
    return this.#partitions.get(`${topic}-${index}`);
  }

  allPartitions(): Partition[] {
    return [...this.#partitions.values()];
  }

  /** The partition when this broker leads it, else the Kafka error a client should see. */
  leaderPartition(topic: string, index: number): Partition | KafkaError {
    const p = this.#partitions.get(`${topic}-${index}`);
    if (p?.isLeader) return p;
    const t = this.#table.topics.get(topic);
    if (!t || index < 0 || index >= t.replicas.length) return new KafkaError('UNKNOWN_TOPIC_OR_PARTITION');
    return new KafkaError(
      'NOT_LEADER_OR_FOLLOWER',
      `Broker ${this.nodeId} is not the leader of ${topic}-${index}`,
    );
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
      if (r.partition && r.result.errorCode === ErrorCode.NONE && acks === -1) {
        waitFor.set(key, {
          partition: r.partition,
          requiredOffset: r.requiredOffset,
          minIsr: this.#minIsr(input.topic),
        });
      }
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
  ): Promise<{ result: ProducePartitionResult; partition?: Partition; requiredOffset: bigint }> {
    const fail = (code: number, message: string | null) => ({
      result: producePartitionError(code, message),
      requiredOffset: -1n,
    });
    const p = this.leaderPartition(input.topic, input.partition);
    if (p instanceof KafkaError) return fail(p.code, p.message);
    if (!input.records || input.records.length === 0)
      return fail(ErrorCode.INVALID_RECORD, 'Produce request carries no records');
    const cfg = p.log.config;
    if (acks === -1) {
      const minIsr = this.#minIsr(input.topic);
      if (p.isr.length < minIsr) {
        return fail(
          ErrorCode.NOT_ENOUGH_REPLICAS,
          `The size of the current ISR ${p.isr.length} is insufficient to satisfy the min.isr requirement of ${minIsr} for partition ${p.key}`,
        );
      }
    }
    // Validate every batch before appending any of them: a request is all or nothing per partition.
    const { batches, partial } = (() => {
      try {
        return scanRecordBatches(input.records);
      } catch {
        return { batches: [], partial: { position: 0, available: input.records.length, size: -1 } };
      }
    })();
    if (partial || batches.length === 0)
      return fail(ErrorCode.CORRUPT_MESSAGE, 'Produce request has a truncated record batch');
    const compacted = cfg.cleanupPolicy.includes('compact');
    let recordCount = 0;
    const headers: RecordBatchHeader[] = [];
    for (const s of batches) {
      const v = await validateRecordBatchForAppend(input.records, s.position, {
        fromClient: true,
        compacted,
        timestampType:
          cfg.messageTimestampType === 'LogAppendTime'
            ? TimestampType.LogAppendTime
            : TimestampType.CreateTime,
        maxBatchSize: cfg.maxMessageBytes,
      });
      if (!v.ok) return fail(KafkaError.codeOf(v.error), v.error.message);
      recordCount += v.batch.header.recordCount;
      headers.push(v.batch.header);
    }
    if (!p.isLeader) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER, null);
    try {
      let first: ReturnType<Partition['appendAsLeader']> | null = null;
      let last = -1n;
      for (const [i, s] of batches.entries()) {
        const batch = input.records.subarray(s.position, s.position + s.size);
        const h = headers[i]!;
        const r = p.appendAsLeader(batch, h.producerId, h.producerEpoch, h.baseSequence, h.recordCount);
        first ??= r;
        last = r.lastOffset;
        if (r.duplicate) this.onDuplicate(input.topic);
        else {
          const total = (this.#appendedBytes.get(p.key) ?? 0) + s.size;
          this.#appendedBytes.set(p.key, total);
          let q = this.#uncommitted.get(p.key);
          if (!q) this.#uncommitted.set(p.key, (q = []));
          q.push({ end: r.lastOffset + 1n, bytes: total });
        }
      }
      this.onBytesIn(input.topic, input.records.length, recordCount);
      // One wake for both kinds of waiting fetch: followers read to the log end, which just moved;
      // consumers read to the high watermark, which may have moved with it.
      this.#advanceCommittedBytes(p);
      this.fetchPurgatory.checkAndComplete(p.key);
      return {
        result: {
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          baseOffset: first!.baseOffset,
          logAppendTime: first!.logAppendTime,
          logStartOffset: p.log.logStartOffset,
          recordErrors: [],
        },
        partition: p,
        requiredOffset: last + 1n,
      };
    } catch (err) {
      if (err instanceof PartitionError) return fail(KafkaError.codeOf(err), err.message);
      const code = KafkaError.codeOf(err);
      this.#log.error({ err, topic: input.topic, partition: input.partition }, 'append failed');
      return fail(
        code === ErrorCode.UNKNOWN_SERVER_ERROR ? ErrorCode.KAFKA_STORAGE_ERROR : code,
        err instanceof Error ? err.message : String(err),
      );
    }
  }

  // ---- fetch ----

  /** Read what is there now for each partition, within the response and partition byte limits. */
  readFromLocalLog(params: FetchParams): { results: FetchPartitionResult[]; bytes: number } {
    let remaining = params.maxBytes;
    let bytes = 0;
    const results = params.partitions.map((f) => {
      const res = this.#readPartition(f, params, remaining, bytes === 0);
      const n = res.records?.length ?? 0;
      remaining = Math.max(0, remaining - n);
      bytes += n;
      return res;
    });
    return { results, bytes };
  }

  #readPartition(
    f: FetchPartitionInput,
    params: FetchParams,
    remaining: number,
    minOneMessage: boolean,
  ): FetchPartitionResult {
    const base = {
      topic: f.topic,
      partition: f.partition,
      highWatermark: -1n,
      lastStableOffset: -1n,
      logStartOffset: -1n,
      records: null,
    };
    const p = this.leaderPartition(f.topic, f.partition);
    if (p instanceof KafkaError) return { ...base, errorCode: p.code };
    if (f.currentLeaderEpoch >= 0 && f.currentLeaderEpoch !== p.leaderEpoch) {
      return {
        ...base,
        errorCode:
          f.currentLeaderEpoch < p.leaderEpoch
            ? ErrorCode.FENCED_LEADER_EPOCH
            : ErrorCode.UNKNOWN_LEADER_EPOCH,
      };
    }
    const hw = p.highWatermark;
    const lso = p.lastStableOffset;
    const upper =
      params.replicaId >= 0 ? p.log.logEndOffset : params.isolationLevel === READ_UNCOMMITTED ? hw : lso;
    const meta = { highWatermark: hw, lastStableOffset: lso, logStartOffset: p.log.logStartOffset };
    // KIP-320: the fetcher's last epoch ends earlier here (or is unknown): tell it where to truncate.
    if (f.lastFetchedEpoch !== undefined && f.lastFetchedEpoch >= 0) {
      const end = p.log.endOffsetForEpoch(f.lastFetchedEpoch);
      if (end.epoch >= 0 && (end.epoch < f.lastFetchedEpoch || end.endOffset < f.fetchOffset)) {
        return { ...base, ...meta, errorCode: ErrorCode.NONE, records: Buffer.alloc(0), divergingEpoch: end };
      }
    }
    try {
      const maxBytes = Math.min(f.partitionMaxBytes, remaining);
      const data = p.log.read(f.fetchOffset, {
        maxBytes,
        maxOffset: upper,
        minOneMessage: minOneMessage || maxBytes > 0,
      });
      const records = data.records.length > maxBytes && !minOneMessage ? Buffer.alloc(0) : data.records;
      if (records.length > 0 && params.replicaId < 0) this.onBytesOut(f.topic, records.length);
      return { ...base, ...meta, errorCode: ErrorCode.NONE, records };
    } catch (err) {
      if (err instanceof OffsetOutOfRangeError)
        return { ...base, ...meta, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
      this.#log.error({ err, topic: f.topic, partition: f.partition }, 'read failed');
      return { ...base, ...meta, errorCode: ErrorCode.KAFKA_STORAGE_ERROR };
    }
  }

  /** Answer now when there is enough (or an error, or no wait), else wait in the fetch purgatory. */
  async fetchMessages(params: FetchParams): Promise<FetchPartitionResult[]> {
    const first = this.readFromLocalLog(params);
    if (params.replicaId >= 0) this.#updateFollowerFetchStates(params, first.results);
    const hasError = first.results.some(
      (r) => r.errorCode !== ErrorCode.NONE || r.divergingEpoch !== undefined,
    );
    if (params.maxWaitMs <= 0 || first.bytes >= params.minBytes || hasError || params.partitions.length === 0)
      return first.results;
    // Followers wait for appended bytes; consumers for bytes below the high watermark.
    const counter = params.replicaId >= 0 ? this.#appendedBytes : this.#committedBytes;
    const start = new Map(
      params.partitions.map((f) => [
        `${f.topic}-${f.partition}`,
        counter.get(`${f.topic}-${f.partition}`) ?? 0,
      ]),
    );
    return new Promise<FetchPartitionResult[]>((resolve) => {
      const op = new DelayedFetch(
        params.maxWaitMs,
        () => {
          let bytes = first.bytes;
          for (const [key, at] of start) {
            const now = counter.get(key);
            if (now === undefined) return Infinity; // partition gone: answer with the error now
            bytes += now - at;
          }
          return bytes;
        },
        params.minBytes,
        () => resolve(this.readFromLocalLog(params).results),
      );
      this.fetchPurgatory.tryCompleteElseWatch(op, [...start.keys()]);
    });
  }

  /** Leader: a follower's fetch offsets are its log end offsets; advance the HW, expand the ISR. */
  #updateFollowerFetchStates(params: FetchParams, results: FetchPartitionResult[]): void {
    const now = Date.now();
    params.partitions.forEach((f, i) => {
      const r = results[i];
      if (!r || r.errorCode !== ErrorCode.NONE || r.divergingEpoch) return;
      const p = this.#partitions.get(`${f.topic}-${f.partition}`);
      if (!p?.isLeader) return;
      if (p.updateFollowerFetchState(params.replicaId, f.fetchOffset, now)) {
        this.#onHighWatermarkMaybeMoved(p);
        this.producePurgatory.checkAndComplete(p.key);
      }
      this.#maybeExpandIsr(p);
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

  /** Clean shutdown: answer waiting operations, snapshot producer state, flush and close logs. */
  shutdown(): void {
    if (this.#checkpointTimer) clearInterval(this.#checkpointTimer);
    if (this.#isrTimer) clearInterval(this.#isrTimer);
    void this.fetcherManager.shutdown();
    this.producePurgatory.shutdown();
    this.fetchPurgatory.shutdown();
    this.#snapshotAll();
    this.logManager.shutdown();
  }
}

/**
 * acks=all: waits until the high watermark passes every partition's last appended offset. When it
 * does but the ISR shrank below min.insync.replicas meanwhile, the answer is
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND (the data is written, but not as durably as asked).
 */
export class DelayedProduce extends DelayedOperation {
  constructor(
    timeoutMs: number,
    private readonly waitFor: Map<string, { partition: Partition; requiredOffset: bigint; minIsr: number }>,
    private readonly results: Map<string, ProducePartitionResult>,
    private readonly done: () => void,
  ) {
    super(timeoutMs);
  }

  tryComplete(): boolean {
    for (const { partition, requiredOffset } of this.waitFor.values()) {
      if (partition.isLeader && !partition.log.isClosed && partition.highWatermark < requiredOffset)
        return false;
    }
    return this.forceComplete();
  }

  protected override onExpiration(): void {
    for (const [key, { partition, requiredOffset }] of this.waitFor) {
      if (partition.highWatermark < requiredOffset) {
        const r = this.results.get(key)!;
        r.errorCode = ErrorCode.REQUEST_TIMED_OUT;
        r.errorMessage = 'Timed out waiting for the in-sync replicas';
      }
    }
  }

  protected onComplete(): void {
    for (const [key, { partition, requiredOffset, minIsr }] of this.waitFor) {
      const r = this.results.get(key)!;
      if (r.errorCode !== ErrorCode.NONE) continue;
      if (partition.highWatermark < requiredOffset) {
        r.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
        r.errorMessage = 'Leadership moved before the in-sync replicas acknowledged the write';
      } else if (partition.isLeader && partition.isr.length < minIsr) {
        r.errorCode = ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
        r.errorMessage = `The ISR of ${partition.key} shrank to ${partition.isr.length}, below min.insync.replicas ${minIsr}, before the write was acknowledged`;
      }
    }
    this.done();
  }
}

/** A fetch waiting for min bytes or max wait. */
export class DelayedFetch extends DelayedOperation {
  constructor(
    timeoutMs: number,
    private readonly availableBytes: () => number,
    private readonly minBytes: number,
    private readonly done: () => void,
  ) {
    super(timeoutMs);
  }

  tryComplete(): boolean {
    return this.availableBytes() >= this.minBytes ? this.forceComplete() : false;
  }

  protected onComplete(): void {
    this.done();
  }
}
