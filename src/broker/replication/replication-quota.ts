/**
 * Replication throttles (KIP-73), as Kafka's ReplicationQuotaManager: one for this broker as a leader
 * (serving follower fetches) and one as a follower (its replica fetchers).
 *
 *  - Which partitions are throttled comes from the topic configs `leader.replication.throttled.replicas`
 *    and `follower.replication.throttled.replicas`: `*` (every replica), or `partition:broker` pairs,
 *    of which this broker keeps the partitions listed with its own id (Kafka's
 *    ConfigHandler.parseThrottledPartitions). `kafka-reassign-partitions.sh --throttle` lists the
 *    current replicas of the moving partitions under leader and the replicas being added under follower.
 *  - The bound is the broker config `leader.replication.throttled.rate` / `follower.replication.throttled.rate`
 *    (bytes/s, dynamic, per broker or cluster default), read at each check.
 *  - The rate is Kafka's SimpleRate over `replication.quota.window.num` windows of
 *    `replication.quota.window.size.seconds`. Bytes of every throttled partition are recorded, in sync
 *    or not; only replicas out of sync are held back while the rate is over the bound: the leader answers
 *    their fetch with no records (ReplicaManager.shouldLeaderThrottle), the follower leaves them out of
 *    its fetch request (the fetcher's shouldFollowerThrottle).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BrokerConfig } from '../../common/broker-config.js';
import { SampledRate } from '../../common/sampled-rate.js';

export type ReplicationType = 'LeaderReplication' | 'FollowerReplication';

/** What the fetch paths ask (Kafka's ReplicaQuota). */
export interface ReplicaQuota {
  isThrottled(topic: string, partition: number): boolean;
  isQuotaExceeded(): boolean;
  record(bytes: number): void;
  /** A partition fetch was held back (for the metric). */
  markHeldBack?(): void;
}

const THROTTLED_REPLICAS_KEY: Record<ReplicationType, string> = {
  LeaderReplication: 'leader.replication.throttled.replicas',
  FollowerReplication: 'follower.replication.throttled.replicas',
};
const RATE_KEY: Record<ReplicationType, string> = {
  LeaderReplication: 'leader.replication.throttled.rate',
  FollowerReplication: 'follower.replication.throttled.rate',
};

/** The partitions of a throttled-replicas value that name `brokerId` ('all' for `*`). */
export function parseThrottledPartitions(raw: string | undefined, brokerId: number): Set<number> | 'all' {
  const v = (raw ?? '').trim();
  if (v === '') return new Set();
  if (v === '*') return 'all';
  const out = new Set<number>();
  for (const entry of v.split(',')) {
    const [p, b] = entry.split(':').map((x) => x.trim());
    if (p === undefined || b === undefined || !/^\d+$/.test(p) || !/^\d+$/.test(b)) continue;
    if (Number(b) === brokerId) out.add(Number(p));
  }
  return out;
}

export interface ReplicationQuotaOptions {
  type: ReplicationType;
  brokerId: number;
  config: Pick<BrokerConfig, 'raw'>;
  /** A topic's own configs (the metadata table's), undefined when the topic is unknown. */
  topicConfigs: (topic: string) => Readonly<Record<string, string>> | undefined;
  /** replication.quota.window.num, replication.quota.window.size.seconds (read-only keys). */
  windowSamples: number;
  windowSeconds: number;
  metrics?: ReplicationQuotaMetrics;
  now?: () => number;
}

export interface ReplicationQuotaMetrics {
  throttledBytes: Counter<'type'>;
  heldBack: Counter<'type'>;
}

/** Prometheus metrics of both managers (Kafka: kafka.server:type={Leader,Follower}Replication,name=byte-rate). */
export function replicationQuotaMetrics(
  registry: Registry | undefined,
  managers: () => ReplicationQuotaManager[],
): ReplicationQuotaMetrics {
  const registers = registry ? [registry] : [];
  new Gauge({
    name: 'sluice_replication_throttled_byte_rate',
    help: 'Bytes/s of throttled replication, as the quota measures it (Kafka: kafka.server:type=LeaderReplication|FollowerReplication,name=byte-rate)',
    labelNames: ['type'],
    registers,
    collect() {
      for (const m of managers()) this.set({ type: m.type }, m.byteRate());
    },
  });
  return {
    throttledBytes: new Counter({
      name: 'sluice_replication_throttled_bytes_total',
      help: 'Bytes of throttled partitions replicated (sent as leader, received as follower)',
      labelNames: ['type'],
      registers,
    }),
    heldBack: new Counter({
      name: 'sluice_replication_throttled_partition_fetches_total',
      help: 'Partition fetches held back because the replication quota was exceeded (answered empty as leader, left out as follower)',
      labelNames: ['type'],
      registers,
    }),
  };
}

export class ReplicationQuotaManager implements ReplicaQuota {
  readonly type: ReplicationType;
  readonly #o: ReplicationQuotaOptions;
  readonly #rate: SampledRate;
  readonly #now: () => number;
  /** topic → the raw value last parsed and its partitions. */
  readonly #parsed = new Map<string, { raw: string; partitions: Set<number> | 'all' }>();

  constructor(o: ReplicationQuotaOptions) {
    this.type = o.type;
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#rate = new SampledRate({
      samples: o.windowSamples,
      windowMs: o.windowSeconds * 1000,
      simple: true,
    });
  }

  /** The configured bound in bytes/s (Long.MAX_VALUE, i.e. none, by default). */
  upperBound(): number {
    const raw = this.#o.config.raw(RATE_KEY[this.type]);
    const n = raw === null ? NaN : Number(raw.trim());
    return Number.isFinite(n) && n >= 0 ? n : Number.MAX_SAFE_INTEGER;
  }

  isThrottled(topic: string, partition: number): boolean {
    const raw = this.#o.topicConfigs(topic)?.[THROTTLED_REPLICAS_KEY[this.type]] ?? '';
    let e = this.#parsed.get(topic);
    if (!e || e.raw !== raw) {
      e = { raw, partitions: parseThrottledPartitions(raw, this.#o.brokerId) };
      this.#parsed.set(topic, e);
    }
    return e.partitions === 'all' || e.partitions.has(partition);
  }

  isQuotaExceeded(): boolean {
    return this.#rate.exceeds(this.upperBound(), this.#now());
  }

  record(bytes: number): void {
    if (bytes <= 0) return;
    this.#rate.record(bytes, this.#now());
    this.#o.metrics?.throttledBytes.inc({ type: this.type }, bytes);
  }

  /** A partition fetch was held back by this quota (metric). */
  markHeldBack(): void {
    this.#o.metrics?.heldBack.inc({ type: this.type });
  }

  byteRate(): number {
    return this.#rate.measure(this.#now());
  }
}
