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
import { OffsetOutOfRangeError } from '../storage/errors.js';
import { readBatchHeader, TimestampType } from '../protocol/records/batch-header.js';
import { scanRecordBatches } from '../protocol/records/batch.js';
import { validateRecordBatchForAppend } from '../protocol/records/validate.js';
import { ErrorCode, KafkaError } from '../protocol/error-codes.js';
import { DelayedOperation, DelayedOperationPurgatory } from './purgatory/delayed-operation.js';
import { TimingWheelTimer } from './purgatory/timing-wheel.js';
import { Partition, PartitionError } from './partition.js';

export interface ProducePartitionResult {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: bigint;
  logAppendTime: bigint;
  logStartOffset: bigint;
  /** Per-record errors (v8+): none are produced today. */
  recordErrors: { batchIndex: number; batchIndexErrorMessage: string | null }[];
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
}

export interface FetchPartitionResult {
  topic: string;
  partition: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  records: Buffer | null;
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

export class ReplicaManager {
  readonly nodeId: number;
  readonly logManager: LogManager;
  readonly #table: MetadataTable;
  readonly #config: BrokerConfig;
  readonly #log: Logger;
  readonly #partitions = new Map<string, Partition>();
  /** Bytes appended per partition, monotonic: how waiting fetches tell that enough data arrived. */
  readonly #appendedBytes = new Map<string, number>();
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
    });
  }

  /** Effective log config of a topic: its overrides over the broker's topic defaults. */
  #logConfigFor(topic: TopicRecord | null): LogConfig {
    const props: Record<string, string> = {};
    for (const key of TOPIC_CONFIG.names()) {
      const v = topic?.configs[key] ?? this.#config.topicDefault(key).value;
      if (v !== null && v !== undefined) props[key] = v;
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
  }

  #onTopic(name: string, record: TopicRecord | null): void {
    if (!record) {
      for (const [key, p] of this.#partitions) {
        if (p.topic !== name) continue;
        this.#partitions.delete(key);
        this.#appendedBytes.delete(key);
        this.logManager.deleteLog(p.topic, p.index);
        this.fetchPurgatory.checkAndComplete(key);
        this.producePurgatory.checkAndComplete(key);
      }
      return;
    }
    const cfg = this.#logConfigFor(record);
    record.replicas.forEach((_, i) => {
      const p = this.#partitions.get(`${name}-${i}`);
      if (p) p.log.updateConfig(cfg);
      else this.#onPartition(name, i);
    });
  }

  #onPartition(topic: string, index: number): void {
    const record = this.#table.topics.get(topic);
    const state = this.#table.partitionState(topic, index);
    const replicas = record?.replicas[index];
    if (!record || !state || !replicas || !replicas.includes(this.nodeId)) return;
    const key = `${topic}-${index}`;
    let p = this.#partitions.get(key);
    if (!p) {
      const log = this.logManager.getOrCreateLog(topic, index);
      p = new Partition(topic, index, log, this.nodeId);
      this.#partitions.set(key, p);
      this.#appendedBytes.set(key, 0);
    }
    if (p.applyState(state, replicas)) {
      this.#log.info({ topic, partition: index, leaderEpoch: state.leaderEpoch }, 'became leader');
    }
    this.fetchPurgatory.checkAndComplete(key);
    this.producePurgatory.checkAndComplete(key);
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
    return new KafkaError('NOT_LEADER_OR_FOLLOWER', `Broker ${this.nodeId} is not the leader of ${topic}-${index}`);
  }

  // ---- produce ----

  /**
   * Append each partition's batch (Produce v3+ carries exactly one batch per partition from every
   * real client, but several are accepted). Resolves when acks are satisfied.
   */
  async appendRecords(acks: number, timeoutMs: number, inputs: ProduceInput[]): Promise<Map<string, ProducePartitionResult>> {
    const results = new Map<string, ProducePartitionResult>();
    const waitFor = new Map<string, { partition: Partition; requiredOffset: bigint }>();
    for (const input of inputs) {
      const key = `${input.topic}-${input.partition}`;
      const r = await this.#appendOne(acks, input);
      results.set(key, r.result);
      if (r.partition && r.result.errorCode === ErrorCode.NONE && acks === -1) {
        waitFor.set(key, { partition: r.partition, requiredOffset: r.requiredOffset });
      }
    }
    if (acks !== -1 || waitFor.size === 0) return results;
    await new Promise<void>((resolve) => {
      const op = new DelayedProduce(timeoutMs, waitFor, results, resolve);
      this.producePurgatory.tryCompleteElseWatch(op, [...waitFor.keys()]);
    });
    return results;
  }

  async #appendOne(acks: number, input: ProduceInput): Promise<{ result: ProducePartitionResult; partition?: Partition; requiredOffset: bigint }> {
    const fail = (code: number, message: string | null) => ({
      result: { errorCode: code, errorMessage: message, baseOffset: -1n, logAppendTime: -1n, logStartOffset: -1n, recordErrors: [] },
      requiredOffset: -1n,
    });
    const p = this.leaderPartition(input.topic, input.partition);
    if (p instanceof KafkaError) return fail(p.code, p.message);
    if (!input.records || input.records.length === 0) return fail(ErrorCode.INVALID_RECORD, 'Produce request carries no records');
    const cfg = p.log.config;
    if (acks === -1) {
      const minIsr = Number(this.#table.topics.get(input.topic)?.configs['min.insync.replicas'] ?? this.#config.int('min.insync.replicas'));
      if (p.isr.length < minIsr) {
        return fail(ErrorCode.NOT_ENOUGH_REPLICAS, `The size of the current ISR ${p.isr.length} is insufficient to satisfy the min.isr requirement of ${minIsr} for partition ${p.key}`);
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
    if (partial || batches.length === 0) return fail(ErrorCode.CORRUPT_MESSAGE, 'Produce request has a truncated record batch');
    const compacted = cfg.cleanupPolicy.includes('compact');
    let recordCount = 0;
    for (const s of batches) {
      const v = await validateRecordBatchForAppend(input.records, s.position, {
        fromClient: true,
        compacted,
        timestampType: cfg.messageTimestampType === 'LogAppendTime' ? TimestampType.LogAppendTime : TimestampType.CreateTime,
        maxBatchSize: cfg.maxMessageBytes,
      });
      if (!v.ok) return fail(KafkaError.codeOf(v.error), v.error.message);
      recordCount += v.batch.header.recordCount;
    }
    if (!p.isLeader) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER, null);
    try {
      let first: ReturnType<Partition['appendAsLeader']> | null = null;
      let last = -1n;
      for (const s of batches) {
        const batch = input.records.subarray(s.position, s.position + s.size);
        const h = readBatchHeader(batch);
        const r = p.appendAsLeader(batch, h.producerId, h.producerEpoch, h.baseSequence, h.recordCount);
        first ??= r;
        last = r.lastOffset;
        if (r.duplicate) this.onDuplicate(input.topic);
        else this.#appendedBytes.set(p.key, (this.#appendedBytes.get(p.key) ?? 0) + s.size);
      }
      this.onBytesIn(input.topic, input.records.length, recordCount);
      this.fetchPurgatory.checkAndComplete(p.key);
      return {
        result: { errorCode: ErrorCode.NONE, errorMessage: null, baseOffset: first!.baseOffset, logAppendTime: first!.logAppendTime, logStartOffset: p.log.logStartOffset, recordErrors: [] },
        partition: p,
        requiredOffset: last + 1n,
      };
    } catch (err) {
      if (err instanceof PartitionError) return fail(KafkaError.codeOf(err), err.message);
      const code = KafkaError.codeOf(err);
      this.#log.error({ err, topic: input.topic, partition: input.partition }, 'append failed');
      return fail(code === ErrorCode.UNKNOWN_SERVER_ERROR ? ErrorCode.KAFKA_STORAGE_ERROR : code, err instanceof Error ? err.message : String(err));
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

  #readPartition(f: FetchPartitionInput, params: FetchParams, remaining: number, minOneMessage: boolean): FetchPartitionResult {
    const base = { topic: f.topic, partition: f.partition, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, records: null };
    const p = this.leaderPartition(f.topic, f.partition);
    if (p instanceof KafkaError) return { ...base, errorCode: p.code };
    if (f.currentLeaderEpoch >= 0 && f.currentLeaderEpoch !== p.leaderEpoch) {
      return { ...base, errorCode: f.currentLeaderEpoch < p.leaderEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH };
    }
    const hw = p.highWatermark;
    const lso = p.lastStableOffset;
    const upper = params.replicaId >= 0 ? p.log.logEndOffset : params.isolationLevel === READ_UNCOMMITTED ? hw : lso;
    const meta = { highWatermark: hw, lastStableOffset: lso, logStartOffset: p.log.logStartOffset };
    try {
      const maxBytes = Math.min(f.partitionMaxBytes, remaining);
      const data = p.log.read(f.fetchOffset, { maxBytes, maxOffset: upper, minOneMessage: minOneMessage || maxBytes > 0 });
      const records = data.records.length > maxBytes && !minOneMessage ? Buffer.alloc(0) : data.records;
      if (records.length > 0 && params.replicaId < 0) this.onBytesOut(f.topic, records.length);
      return { ...base, ...meta, errorCode: ErrorCode.NONE, records };
    } catch (err) {
      if (err instanceof OffsetOutOfRangeError) return { ...base, ...meta, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
      this.#log.error({ err, topic: f.topic, partition: f.partition }, 'read failed');
      return { ...base, ...meta, errorCode: ErrorCode.KAFKA_STORAGE_ERROR };
    }
  }

  /** Answer now when there is enough (or an error, or no wait), else wait in the fetch purgatory. */
  async fetchMessages(params: FetchParams): Promise<FetchPartitionResult[]> {
    const first = this.readFromLocalLog(params);
    const hasError = first.results.some((r) => r.errorCode !== ErrorCode.NONE);
    if (params.maxWaitMs <= 0 || first.bytes >= params.minBytes || hasError || params.partitions.length === 0) return first.results;
    const start = new Map(params.partitions.map((f) => [`${f.topic}-${f.partition}`, this.#appendedBytes.get(`${f.topic}-${f.partition}`) ?? 0]));
    return new Promise<FetchPartitionResult[]>((resolve) => {
      const op = new DelayedFetch(params.maxWaitMs, () => {
        let bytes = first.bytes;
        for (const [key, at] of start) {
          const now = this.#appendedBytes.get(key);
          if (now === undefined) return Infinity; // partition gone: answer with the error now
          bytes += now - at;
        }
        return bytes;
      }, params.minBytes, () => resolve(this.readFromLocalLog(params).results));
      this.fetchPurgatory.tryCompleteElseWatch(op, [...start.keys()]);
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
    this.producePurgatory.shutdown();
    this.fetchPurgatory.shutdown();
    this.#snapshotAll();
    this.logManager.shutdown();
  }
}

/** acks=all: waits until the high watermark passes every partition's last appended offset. */
export class DelayedProduce extends DelayedOperation {
  constructor(
    timeoutMs: number,
    private readonly waitFor: Map<string, { partition: Partition; requiredOffset: bigint }>,
    private readonly results: Map<string, ProducePartitionResult>,
    private readonly done: () => void,
  ) {
    super(timeoutMs);
  }

  tryComplete(): boolean {
    for (const { partition, requiredOffset } of this.waitFor.values()) {
      if (partition.isLeader && partition.highWatermark < requiredOffset) return false;
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
    for (const [key, { partition, requiredOffset }] of this.waitFor) {
      const r = this.results.get(key)!;
      if (r.errorCode === ErrorCode.NONE && !partition.isLeader && partition.highWatermark < requiredOffset) {
        r.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
        r.errorMessage = 'Leadership moved before the in-sync replicas acknowledged the write';
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
