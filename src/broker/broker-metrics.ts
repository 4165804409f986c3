/**
 * The broker's Prometheus metrics. Names follow Prometheus conventions; docs/metrics.md maps each to
 * the Kafka JMX name it corresponds to. Gauges over live state (purgatory sizes, log sizes) are
 * computed at scrape time through `collect` so the hot path only bumps counters.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ReplicaMetrics } from './partition.js';

export interface LiveStateSource {
  partitions(): number;
  logSizes(): { topic: string; partition: number; bytes: number; segments: number }[];
  purgatorySizes(): Record<string, number>;
  connections(): { listener: string; count: number }[];
}

export interface GroupStateSource {
  groupsByState(): Record<string, number>;
  groupLag(): { group: string; topic: string; partition: number; lag: number }[];
}

export interface ReplicationStateSource {
  /** Partitions this broker leads whose ISR is smaller than their replica set. */
  underReplicated(): number;
  /** Partitions with no live leader (counted by the active controller only, else 0). */
  offline(): number;
  /** 1 on the active controller, else 0. */
  activeController(): number;
  /** The controller's election counters (0 on other brokers). */
  leaderElections(): number;
  uncleanElections(): number;
  /** Per source broker, the largest replica fetcher lag in messages. */
  fetcherLag(): { sourceBroker: number; maxLag: number }[];
}

/** The log cleaner's gauges (LogCleaner and its LogCleanerManager provide them). */
export interface CleanerStateSource {
  readonly logDirs: readonly string[];
  readonly maxBufferUtilizationPercent: number;
  readonly cleanerRecopyPercent: number;
  readonly maxCleanTimeSecs: number;
  readonly maxCompactionDelaySecs: number;
  readonly deadThreadCount: number;
  readonly manager: {
    readonly maxDirtyPercent: number;
    readonly timeSinceLastRunMs: number;
    uncleanablePartitionsCount(logDir: string): number;
    uncleanableBytes(logDir: string): number;
  };
}

export class BrokerMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'api' | 'version'>;
  readonly requestErrors: Counter<'api' | 'error'>;
  readonly requestLatency: Histogram<'api'>;
  readonly messagesIn: Counter<'topic'>;
  readonly bytesIn: Counter<'topic'>;
  readonly bytesOut: Counter<'topic'>;
  readonly producerDuplicates: Counter<'topic'>;
  readonly failedProduce: Counter<'topic'>;
  readonly failedFetch: Counter<'topic'>;
  readonly groupRebalances: Counter<'group'>;
  readonly offsetCommits: Counter<'group'>;
  readonly isrShrinks: Counter;
  readonly isrExpands: Counter;
  readonly replicationBytesIn: Counter;

  constructor(registry: Registry, live: LiveStateSource) {
    this.registry = registry;
    const reg = [registry];
    this.requests = new Counter({
      name: 'sluice_requests_total',
      help: 'Requests handled, by API and version',
      labelNames: ['api', 'version'],
      registers: reg,
    });
    this.requestErrors = new Counter({
      name: 'sluice_request_errors_total',
      help: 'Responses whose top-level error code is not NONE, by API and error name (per-partition errors are counted per topic by the failed_* counters)',
      labelNames: ['api', 'error'],
      registers: reg,
    });
    this.requestLatency = new Histogram({
      name: 'sluice_request_duration_seconds',
      help: 'Time from a request being read to its response being queued, by API',
      labelNames: ['api'],
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: reg,
    });
    this.messagesIn = new Counter({
      name: 'sluice_messages_in_total',
      help: 'Records appended, by topic',
      labelNames: ['topic'],
      registers: reg,
    });
    this.bytesIn = new Counter({
      name: 'sluice_bytes_in_total',
      help: 'Record batch bytes appended, by topic',
      labelNames: ['topic'],
      registers: reg,
    });
    this.bytesOut = new Counter({
      name: 'sluice_bytes_out_total',
      help: 'Record batch bytes served to consumers, by topic',
      labelNames: ['topic'],
      registers: reg,
    });
    this.producerDuplicates = new Counter({
      name: 'sluice_producer_duplicate_batches_total',
      help: 'Idempotent producer batches recognised as duplicates and not appended again',
      labelNames: ['topic'],
      registers: reg,
    });
    this.failedProduce = new Counter({
      name: 'sluice_failed_produce_requests_total',
      help: 'Produce partition requests that failed',
      labelNames: ['topic'],
      registers: reg,
    });
    this.failedFetch = new Counter({
      name: 'sluice_failed_fetch_requests_total',
      help: 'Fetch partition requests that failed',
      labelNames: ['topic'],
      registers: reg,
    });
    this.groupRebalances = new Counter({
      name: 'sluice_group_rebalances_total',
      help: 'Rebalances started (PreparingRebalance entered), by group',
      labelNames: ['group'],
      registers: reg,
    });
    this.offsetCommits = new Counter({
      name: 'sluice_group_offset_commits_total',
      help: 'Partition offsets committed, by group',
      labelNames: ['group'],
      registers: reg,
    });
    this.isrShrinks = new Counter({
      name: 'sluice_isr_shrinks_total',
      help: 'ISR shrinks this broker made as leader (followers out of sync)',
      registers: reg,
    });
    this.isrExpands = new Counter({
      name: 'sluice_isr_expands_total',
      help: 'ISR expands this broker made as leader (followers caught up)',
      registers: reg,
    });
    this.replicationBytesIn = new Counter({
      name: 'sluice_replication_bytes_in_total',
      help: 'Record batch bytes appended as a follower',
      registers: reg,
    });
    new Gauge({
      name: 'sluice_purgatory_size',
      help: 'Delayed operations waiting, by purgatory',
      labelNames: ['purgatory'],
      registers: reg,
      collect() {
        this.reset();
        for (const [k, v] of Object.entries(live.purgatorySizes())) this.set({ purgatory: k }, v);
      },
    });
    new Gauge({
      name: 'sluice_partitions',
      help: 'Partitions hosted by this broker',
      registers: reg,
      collect() {
        this.set(live.partitions());
      },
    });
    new Gauge({
      name: 'sluice_connections',
      help: 'Open client connections, per listener',
      labelNames: ['listener'],
      registers: reg,
      collect() {
        this.reset();
        for (const { listener, count } of live.connections()) this.set({ listener }, count);
      },
    });
    const sizes = () => live.logSizes();
    new Gauge({
      name: 'sluice_log_size_bytes',
      help: 'Bytes in a partition log',
      labelNames: ['topic', 'partition'],
      registers: reg,
      collect() {
        this.reset();
        for (const s of sizes()) this.set({ topic: s.topic, partition: String(s.partition) }, s.bytes);
      },
    });
    new Gauge({
      name: 'sluice_log_segments',
      help: 'Segments in a partition log',
      labelNames: ['topic', 'partition'],
      registers: reg,
      collect() {
        this.reset();
        for (const s of sizes()) this.set({ topic: s.topic, partition: String(s.partition) }, s.segments);
      },
    });
  }

  /** Replication and controller gauges, computed at scrape time. */
  registerReplicationGauges(live: ReplicationStateSource): void {
    const reg = [this.registry];
    new Gauge({
      name: 'sluice_under_replicated_partitions',
      help: 'Partitions led here whose ISR is smaller than the replica set',
      registers: reg,
      collect() {
        this.set(live.underReplicated());
      },
    });
    new Gauge({
      name: 'sluice_offline_partitions',
      help: 'Partitions without a live leader (reported by the active controller)',
      registers: reg,
      collect() {
        this.set(live.offline());
      },
    });
    new Gauge({
      name: 'sluice_active_controller',
      help: '1 when this broker is the active controller',
      registers: reg,
      collect() {
        this.set(live.activeController());
      },
    });
    new Gauge({
      name: 'sluice_leader_elections',
      help: 'Leader elections made by this broker while it was the active controller',
      registers: reg,
      collect() {
        this.set(live.leaderElections());
      },
    });
    new Gauge({
      name: 'sluice_unclean_leader_elections',
      help: 'Unclean leader elections made by this broker while it was the active controller',
      registers: reg,
      collect() {
        this.set(live.uncleanElections());
      },
    });
    new Gauge({
      name: 'sluice_replica_fetcher_max_lag',
      help: 'Largest lag (messages behind the leader high watermark) over the partitions fetched from a broker',
      labelNames: ['source_broker'],
      registers: reg,
      collect() {
        this.reset();
        for (const l of live.fetcherLag()) this.set({ source_broker: String(l.sourceBroker) }, l.maxLag);
      },
    });
  }

  /**
   * The log cleaner's gauges, Kafka's LogCleaner and LogCleanerManager metrics (kafka.log:type=
   * LogCleaner / LogCleanerManager), computed at scrape time.
   */
  registerCleanerGauges(cleaner: CleanerStateSource): void {
    const reg = [this.registry];
    const gauge = (name: string, help: string, value: () => number): void => {
      new Gauge({
        name,
        help,
        registers: reg,
        collect() {
          this.set(value());
        },
      });
    };
    gauge(
      'sluice_log_cleaner_max_dirty_percent',
      'Dirty bytes as a percentage of all bytes of the dirtiest compacted log at the last pick',
      () => cleaner.manager.maxDirtyPercent,
    );
    gauge(
      'sluice_log_cleaner_recopy_percent',
      "Bytes written as a percentage of bytes read, over every cleaner thread's last cleaning",
      () => cleaner.cleanerRecopyPercent,
    );
    gauge(
      'sluice_log_cleaner_max_clean_time_seconds',
      'The longest last cleaning of any cleaner thread',
      () => cleaner.maxCleanTimeSecs,
    );
    gauge(
      'sluice_log_cleaner_max_compaction_delay_seconds',
      'How long past max.compaction.lag.ms the latest dirty log waited, at the last pick',
      () => cleaner.maxCompactionDelaySecs,
    );
    gauge(
      'sluice_log_cleaner_max_buffer_utilization_percent',
      "The fullest offset map of any cleaner thread's last cleaning",
      () => cleaner.maxBufferUtilizationPercent,
    );
    gauge('sluice_log_cleaner_dead_threads', 'Cleaner threads that died', () => cleaner.deadThreadCount);
    gauge(
      'sluice_log_cleaner_time_since_last_run_seconds',
      'Time since the cleaner last looked for a log to clean',
      () => cleaner.manager.timeSinceLastRunMs / 1000,
    );
    new Gauge({
      name: 'sluice_log_cleaner_uncleanable_partitions',
      help: 'Partitions whose cleaning failed and that the cleaner skips, by log directory',
      labelNames: ['log_directory'],
      registers: reg,
      collect() {
        this.reset();
        for (const d of cleaner.logDirs)
          this.set({ log_directory: d }, cleaner.manager.uncleanablePartitionsCount(d));
      },
    });
    new Gauge({
      name: 'sluice_log_cleaner_uncleanable_bytes',
      help: 'Cleanable bytes of the uncleanable partitions, by log directory',
      labelNames: ['log_directory'],
      registers: reg,
      collect() {
        this.reset();
        for (const d of cleaner.logDirs) this.set({ log_directory: d }, cleaner.manager.uncleanableBytes(d));
      },
    });
  }

  /** Group coordinator gauges, computed at scrape time: groups by state and consumer lag. */
  registerGroupGauges(live: GroupStateSource): void {
    const reg = [this.registry];
    new Gauge({
      name: 'sluice_groups',
      help: 'Consumer groups this broker coordinates, by state',
      labelNames: ['state'],
      registers: reg,
      collect() {
        this.reset();
        for (const [state, n] of Object.entries(live.groupsByState())) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'sluice_group_lag',
      help: 'Consumer lag (high watermark minus committed offset), by group and partition',
      labelNames: ['group', 'topic', 'partition'],
      registers: reg,
      collect() {
        this.reset();
        for (const l of live.groupLag())
          this.set({ group: l.group, topic: l.topic, partition: String(l.partition) }, l.lag);
      },
    });
  }

  /** The counters partitions bump (handed to the ReplicaManager at construction). */
  replicaMetrics(): ReplicaMetrics {
    return {
      bytesIn: (topic, bytes, records) => {
        this.bytesIn.inc({ topic }, bytes);
        this.messagesIn.inc({ topic }, records);
      },
      bytesOut: (topic, bytes) => this.bytesOut.inc({ topic }, bytes),
      duplicateBatch: (topic) => this.producerDuplicates.inc({ topic }),
      replicationBytesIn: (bytes) => this.replicationBytesIn.inc(bytes),
      isrChange: (kind) => (kind === 'shrink' ? this.isrShrinks.inc() : this.isrExpands.inc()),
    };
  }
}
