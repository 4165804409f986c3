/**
 * GroupMetadataManager: the groups' durable state in the internal topic __consumer_offsets (Kafka's
 * GroupMetadataManager). It
 *  - maps a group to its partition (abs(javaHashCode(groupId)) % offsets.topic.num.partitions, as
 *    Kafka does, so the same group lands on the same partition number as on a Kafka cluster);
 *  - creates the topic on first use (FindCoordinator), compacted, with replication factor
 *    min(offsets.topic.replication.factor, live brokers);
 *  - writes group metadata and offset commits as records (Kafka's layouts, group-records.ts) through
 *    ReplicaManager.appendRecords with acks=-1, and maps append errors to coordinator errors;
 *  - reads a partition back into groups when this broker becomes its leader (at startup on one node).
 *
 * Compaction: the topic is created with cleanup.policy=compact, but the log cleaner does not exist
 * in storage yet, so the log only grows (bounded by offsets.topic.segment.bytes segments and nothing
 * else). Loading replays every record; the last one per key wins, tombstones remove.
 */
import type { BrokerConfig } from '../../common/broker-config.js';
import type { Logger } from '../../common/logger.js';
import type { MetadataTable } from '../../controller/metadata-table.js';
import type { TopicAdmin } from '../../controller/admin-writes.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { decodeRecordBatch, encodeRecordBatchSync, scanRecordBatches } from '../../protocol/records/batch.js';
import type { RecordInput } from '../../protocol/records/record.js';
import { isTransactional } from '../../protocol/records/batch-header.js';
import { ControlRecordType, parseControlRecordKey } from '../../protocol/records/control.js';
import type { ReplicaManager } from '../replica-manager.js';
import { InternalTopic } from '../internal-topic.js';
import {
  decodeGroupMetadataValue,
  decodeGroupRecordKey,
  decodeOffsetCommitValue,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type GroupMetadataValue,
  type OffsetAndMetadata,
} from './group-records.js';
import { supersedes, type CommittedOffset } from './group-metadata.js';

export const GROUP_METADATA_TOPIC = '__consumer_offsets';

/** Java's String.hashCode over UTF-16 code units, as a signed 32-bit int. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's Utils.abs(groupId.hashCode) % partitions. */
export function partitionForGroup(groupId: string, partitions: number): number {
  const h = javaStringHash(groupId);
  const abs = h === -2147483648 ? 0 : Math.abs(h);
  return abs % partitions;
}

/** What a partition's records say, after replay: the last metadata and offsets of each group. */
export interface LoadedGroup {
  groupId: string;
  metadata: GroupMetadataValue | null;
  offsets: CommittedOffset[];
  /** Transactional offset commits whose transaction had no marker yet, by producer id. */
  pendingTxnOffsets?: Map<bigint, CommittedOffset[]>;
}

/** The coordinator's view of persistence (a fake implements it in unit tests). */
export interface GroupStore {
  partitionFor(groupId: string): number;
  /** Is this broker the coordinator for the group, and has it finished loading the partition? */
  status(groupId: string): 'local' | 'loading' | 'remote';
  storeGroup(groupId: string, value: GroupMetadataValue): Promise<number>;
  storeOffsets(groupId: string, offsets: CommittedOffset[]): Promise<number>;
  /**
   * TxnOffsetCommit: the offsets as a transactional batch of the producer (KIP-98); the marker the
   * transaction coordinator writes later commits or aborts them.
   */
  storeTxnOffsets?(
    groupId: string,
    producerId: bigint,
    producerEpoch: number,
    offsets: CommittedOffset[],
  ): Promise<number>;
  /** Tombstones for the given offsets, and for the group's metadata when `group` is set. */
  storeTombstones(
    groupId: string,
    offsets: { topic: string; partition: number }[],
    group: boolean,
  ): Promise<number>;
}

function optInt(config: BrokerConfig, name: string, def: number): number {
  const raw = config.raw(name);
  const n = raw === null ? NaN : Number(raw);
  return Number.isFinite(n) ? n : def;
}

export class GroupMetadataManager implements GroupStore {
  readonly #rm: ReplicaManager;
  readonly #log: Logger;
  readonly #now: () => number;
  /** Partitions of __consumer_offsets this broker leads and has loaded. */
  readonly owned = new Set<number>();
  readonly loading = new Set<number>();
  readonly #topic: InternalTopic;
  /** Resolves once loading/unloading triggered so far has finished (set by the group service). */
  settled: () => Promise<void> = () => Promise.resolve();
  readonly commitTimeoutMs: number;

  constructor(opts: {
    replicaManager: ReplicaManager;
    table: MetadataTable;
    topics: TopicAdmin;
    config: BrokerConfig;
    log: Logger;
    now?: () => number;
  }) {
    this.#rm = opts.replicaManager;
    this.#log = opts.log;
    this.#now = opts.now ?? Date.now;
    this.commitTimeoutMs = optInt(opts.config, 'offsets.commit.timeout.ms', 5000);
    const config = opts.config;
    this.#topic = new InternalTopic({
      name: GROUP_METADATA_TOPIC,
      table: opts.table,
      topics: opts.topics,
      log: opts.log,
      numPartitions: () => config.int('offsets.topic.num.partitions'),
      replicationFactor: () => config.int('offsets.topic.replication.factor'),
      configs: () => ({
        'cleanup.policy': 'compact',
        'compression.type': 'producer',
        'segment.bytes': String(config.int('offsets.topic.segment.bytes')),
      }),
    });
  }

  /** The topic's partition count: the existing topic's, else the configured one. */
  get numPartitions(): number {
    return this.#topic.numPartitions;
  }

  partitionFor(groupId: string): number {
    return partitionForGroup(groupId, this.numPartitions);
  }

  status(groupId: string): 'local' | 'loading' | 'remote' {
    const p = this.partitionFor(groupId);
    if (this.loading.has(p)) return 'loading';
    return this.owned.has(p) ? 'local' : 'remote';
  }

  /** Create __consumer_offsets if it does not exist yet (once, even with concurrent callers). */
  async ensureTopic(): Promise<void> {
    await this.#topic.ensure();
  }

  /** The leader broker of the group's partition, or -1. */
  leaderFor(groupId: string): number {
    return this.#topic.leaderOf(this.partitionFor(groupId));
  }

  async #append(
    groupId: string,
    records: RecordInput[],
    forOffsets: boolean,
    txn?: { producerId: bigint; producerEpoch: number },
    written?: CommittedOffset[],
  ): Promise<number> {
    const partition = this.partitionFor(groupId);
    const now = BigInt(this.#now());
    const batch = encodeRecordBatchSync(
      records.map((r) => ({ ...r, timestamp: now })),
      txn
        ? {
            producerId: txn.producerId,
            producerEpoch: txn.producerEpoch,
            baseSequence: -1,
            transactional: true,
          }
        : {},
    );
    const results = await this.#rm.appendRecords(-1, this.commitTimeoutMs, [
      {
        topic: GROUP_METADATA_TOPIC,
        partition,
        records: batch,
        ...(txn ? { options: { origin: 'coordinator' as const } } : {}),
      },
    ]);
    const r = results.get(`${GROUP_METADATA_TOPIC}-${partition}`);
    const code = r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    // The coordinator orders commits of one partition by where they sit in the log (supersedes()).
    if (code === ErrorCode.NONE && r && r.baseOffset >= 0n)
      (written ?? []).forEach((o, i) => (o.recordOffset = r.baseOffset + BigInt(i)));
    if (code !== ErrorCode.NONE)
      this.#log.warn(
        { groupId, partition, error: code, message: r?.errorMessage },
        'writing group records failed',
      );
    return mapAppendError(code, forOffsets);
  }

  storeGroup(groupId: string, value: GroupMetadataValue): Promise<number> {
    return this.#append(
      groupId,
      [{ key: encodeGroupMetadataKey(groupId), value: encodeGroupMetadataValue(value) }],
      false,
    );
  }

  storeOffsets(groupId: string, offsets: CommittedOffset[]): Promise<number> {
    return this.#append(
      groupId,
      offsets.map((o) => ({
        key: encodeOffsetCommitKey(groupId, o.topic, o.partition),
        value: encodeOffsetCommitValue(o),
      })),
      true,
      undefined,
      offsets,
    );
  }

  storeTxnOffsets(
    groupId: string,
    producerId: bigint,
    producerEpoch: number,
    offsets: CommittedOffset[],
  ): Promise<number> {
    return this.#append(
      groupId,
      offsets.map((o) => ({
        key: encodeOffsetCommitKey(groupId, o.topic, o.partition),
        value: encodeOffsetCommitValue(o),
      })),
      true,
      { producerId, producerEpoch },
      offsets,
    );
  }

  storeTombstones(
    groupId: string,
    offsets: { topic: string; partition: number }[],
    group: boolean,
  ): Promise<number> {
    const records: RecordInput[] = offsets.map((o) => ({
      key: encodeOffsetCommitKey(groupId, o.topic, o.partition),
      value: null,
    }));
    if (group) records.push({ key: encodeGroupMetadataKey(groupId), value: null });
    if (records.length === 0) return Promise.resolve(ErrorCode.NONE);
    return this.#append(groupId, records, false);
  }

  /**
   * Replay one partition from its log start to its high watermark. Returns the groups found; the
   * caller installs them. The partition counts as loading until then (requests get
   * COORDINATOR_LOAD_IN_PROGRESS).
   */
  async loadPartition(partition: number): Promise<LoadedGroup[]> {
    const p = this.#rm.getPartition(GROUP_METADATA_TOPIC, partition);
    if (!p) return [];
    const started = this.#now();
    const groups = new Map<
      string,
      { metadata: GroupMetadataValue | null; offsets: Map<string, CommittedOffset> }
    >();
    const entry = (g: string) => {
      let e = groups.get(g);
      if (!e) groups.set(g, (e = { metadata: null, offsets: new Map() }));
      return e;
    };
    /** Transactional offset commits waiting for their marker: producer id → group → offsets. */
    const pendingTxn = new Map<bigint, Map<string, Map<string, CommittedOffset>>>();
    let from = p.logStartOffset;
    // To the log end, not the high watermark (as Kafka does): a new leader's high watermark trails
    // the old leader's by a fetch round, and commits acknowledged just before a failover sit there.
    const end = p.logEndOffset;
    let records = 0;
    while (from < end) {
      const data = p.readLocal(from, 4 * 1024 * 1024, end);
      if (data.length === 0) break;
      const { batches } = scanRecordBatches(data);
      if (batches.length === 0) break;
      let next = from;
      for (const span of batches) {
        const b = await decodeRecordBatch(data, span.position);
        const last = b.header.baseOffset + BigInt(b.header.lastOffsetDelta);
        next = last + 1n;
        if (b.control) {
          // A transaction marker: its producer's staged offsets are committed or dropped.
          const staged = pendingTxn.get(b.header.producerId);
          const rec = b.records[0];
          if (!staged || !rec?.key) continue;
          pendingTxn.delete(b.header.producerId);
          try {
            if (parseControlRecordKey(rec.key).type !== ControlRecordType.Commit) continue;
          } catch {
            continue;
          }
          for (const [g, offs] of staged) {
            const e = entry(g);
            for (const [k, o] of offs) if (supersedes(o, e.offsets.get(k))) e.offsets.set(k, o);
          }
          continue;
        }
        const transactional = isTransactional(b.header.attributes);
        for (const rec of b.records) {
          if (rec.offset < from || !rec.key) continue;
          records++;
          try {
            const key = decodeGroupRecordKey(rec.key);
            if (key.kind === 'offset') {
              const e = entry(key.group);
              const k = `${key.topic}\u0000${key.partition}`;
              if (transactional && rec.value !== null) {
                const v: OffsetAndMetadata = decodeOffsetCommitValue(rec.value);
                let byGroup = pendingTxn.get(b.header.producerId);
                if (!byGroup) pendingTxn.set(b.header.producerId, (byGroup = new Map()));
                let offs = byGroup.get(key.group);
                if (!offs) byGroup.set(key.group, (offs = new Map()));
                offs.set(k, {
                  ...v,
                  topic: key.topic,
                  partition: key.partition,
                  recordOffset: rec.offset,
                });
              } else if (rec.value === null) e.offsets.delete(k);
              else {
                const v: OffsetAndMetadata = decodeOffsetCommitValue(rec.value);
                e.offsets.set(k, {
                  ...v,
                  topic: key.topic,
                  partition: key.partition,
                  recordOffset: rec.offset,
                });
              }
            } else {
              const e = entry(key.group);
              if (rec.value === null) {
                // The group was deleted: its metadata and (Kafka writes them first) offsets are gone.
                groups.delete(key.group);
              } else e.metadata = decodeGroupMetadataValue(rec.value);
            }
          } catch (err) {
            this.#log.warn(
              { err, partition, offset: rec.offset },
              `skipping a ${GROUP_METADATA_TOPIC} record that does not decode`,
            );
          }
        }
      }
      if (next <= from) break;
      from = next;
    }
    for (const byGroup of pendingTxn.values()) for (const g of byGroup.keys()) entry(g);
    const out = [...groups].map(([groupId, e]): LoadedGroup => {
      const l: LoadedGroup = { groupId, metadata: e.metadata, offsets: [...e.offsets.values()] };
      for (const [pid, byGroup] of pendingTxn) {
        const offs = byGroup.get(groupId);
        if (!offs) continue;
        l.pendingTxnOffsets ??= new Map();
        l.pendingTxnOffsets.set(pid, [...offs.values()]);
      }
      return l;
    });
    this.#log.info(
      { partition, groups: out.length, records, ms: this.#now() - started },
      `loaded ${GROUP_METADATA_TOPIC} partition`,
    );
    return out;
  }
}

/** Kafka's mapping of append errors to what group clients understand. */
export function mapAppendError(code: number, forOffsets: boolean): number {
  switch (code) {
    case ErrorCode.NONE:
      return code;
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
    case ErrorCode.INVALID_FETCH_SIZE:
      return forOffsets ? ErrorCode.INVALID_COMMIT_OFFSET_SIZE : ErrorCode.UNKNOWN_SERVER_ERROR;
    default:
      return forOffsets ? code : ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}
