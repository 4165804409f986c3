/**
 * The broker's client quotas: the four ClientQuotaManagers (Kafka's QuotaFactory.QuotaManagers:
 * produce, fetch, request, controllerMutation) over the ClientQuotaTable, their Prometheus metrics,
 * and the per-request RequestThrottle KafkaApis hands the handlers (ctx.quota).
 *
 * The life of a throttled request, as Kafka's:
 *  1. the handler records what it measures (Produce: the request size; Fetch: the response size,
 *     whose data is dropped when throttled; CreateTopics/CreatePartitions/DeleteTopics: partitions)
 *     and sets the bandwidth (or mutation) throttle time on ctx.quota;
 *  2. KafkaApis records the request's handler time against request_percentage, takes the larger
 *     throttle, counts it in the throttle-time sensor of the quota that asked for it, and writes it
 *     in the response's throttle_time_ms;
 *  3. the connection is muted for that long after the response is sent (KIP-219); for request
 *     versions older than KIP-219 the response itself is held back that long, as Kafka does for
 *     clients that do not back off themselves.
 */
import { Gauge, type Registry } from 'prom-client';
import type { ClientQuotaTable } from '../../controller/client-quota-table.js';
import { ClientQuotaManager, type QuotaType } from './client-quota-manager.js';
import type { SampleConfig } from './rate.js';

/** Request versions from which the client backs off itself (Kafka's shouldClientThrottle, KIP-219). */
const CLIENT_THROTTLES_SINCE: Readonly<Record<number, number>> = {
  0: 6, // Produce
  1: 8, // Fetch
  2: 3, // ListOffsets
  3: 6, // Metadata
  8: 4, // OffsetCommit
  9: 4, // OffsetFetch
  10: 2, // FindCoordinator
  11: 3, // JoinGroup
  12: 2, // Heartbeat
  13: 2, // LeaveGroup
  14: 2, // SyncGroup
  15: 2, // DescribeGroups
  16: 2, // ListGroups
  18: 2, // ApiVersions
  19: 3, // CreateTopics
  20: 2, // DeleteTopics
  21: 1, // DeleteRecords
  22: 1, // InitProducerId
  24: 1, // AddPartitionsToTxn
  25: 1, // AddOffsetsToTxn
  26: 1, // EndTxn
  28: 1, // TxnOffsetCommit
  29: 1, // DescribeAcls
  30: 1, // CreateAcls
  31: 1, // DeleteAcls
  32: 2, // DescribeConfigs
  33: 1, // AlterConfigs
  34: 1, // AlterReplicaLogDirs
  35: 1, // DescribeLogDirs
  37: 1, // CreatePartitions
  42: 1, // DeleteGroups
};

/** Kafka's message of a mutation refused by the strict controller mutation quota. */
export const THROTTLING_QUOTA_EXCEEDED_MESSAGE = 'The throttling quota has been exceeded.';

export function clientThrottles(apiKey: number, version: number): boolean {
  const since = CLIENT_THROTTLES_SINCE[apiKey];
  return since === undefined || version >= since;
}

/** The user a quota sees for a principal (Kafka keys user quotas by the principal's name). */
export interface QuotaIdentity {
  user: string;
  clientId: string;
}

export class ClientQuotas {
  readonly produce: ClientQuotaManager;
  readonly fetch: ClientQuotaManager;
  readonly request: ClientQuotaManager;
  readonly controllerMutation: ClientQuotaManager;

  /**
   * `cfg`: quota.window.num and quota.window.size.seconds; `mutationCfg`: controller.quota.window.*
   * (Kafka samples the controller mutation quota with its own pair).
   */
  constructor(table: ClientQuotaTable, cfg: SampleConfig, mutationCfg: SampleConfig) {
    const q = () => table.quotas;
    const v = () => table.version;
    this.produce = new ClientQuotaManager('Produce', 'producer_byte_rate', cfg, q, v);
    this.fetch = new ClientQuotaManager('Fetch', 'consumer_byte_rate', cfg, q, v);
    this.request = new ClientQuotaManager('Request', 'request_percentage', cfg, q, v);
    this.controllerMutation = new ClientQuotaManager(
      'ControllerMutation',
      'controller_mutation_rate',
      mutationCfg,
      q,
      v,
    );
  }

  managers(): ClientQuotaManager[] {
    return [this.produce, this.fetch, this.request, this.controllerMutation];
  }

  /**
   * Per-client sensors as Prometheus gauges, named after Kafka's JMX beans through the usual JMX
   * exporter rules (kafka.server:type=Produce,user=,client-id= byte-rate → kafka_server_produce_byte_rate).
   */
  registerMetrics(registry: Registry): void {
    const labelNames = ['user', 'client_id'] as const;
    const rateName: Record<QuotaType, [string, string]> = {
      Produce: [
        'kafka_server_produce_byte_rate',
        'Bytes per second produced by the client (Produce quota sensor).',
      ],
      Fetch: ['kafka_server_fetch_byte_rate', 'Bytes per second fetched by the client (Fetch quota sensor).'],
      Request: [
        'kafka_server_request_request_time',
        'Percentage of one request handler the client used over the quota window (Request quota sensor).',
      ],
      ControllerMutation: [
        'kafka_server_controllermutation_mutation_rate',
        'Partition mutations per second by the client (ControllerMutation quota sensor).',
      ],
    };
    for (const m of this.managers()) {
      const lower = m.type.toLowerCase();
      const [name, help] = rateName[m.type];
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          for (const s of m.snapshot()) this.set({ user: s.user, client_id: s.clientId }, s.rate);
        },
      });
      new Gauge({
        name: `kafka_server_${lower}_throttle_time`,
        help: `Average throttle time (ms) handed to the client by the ${m.type} quota over the quota window.`,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          for (const s of m.snapshot())
            this.set({ user: s.user, client_id: s.clientId }, s.throttleTimeAvgMs);
        },
      });
      new Gauge({
        name: `kafka_server_${lower}_throttle_time_max`,
        help: `Longest throttle time (ms) handed to the client by the ${m.type} quota.`,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          for (const s of m.snapshot())
            this.set({ user: s.user, client_id: s.clientId }, s.throttleTimeMaxMs);
        },
      });
    }
  }

  begin(identity: QuotaIdentity): RequestThrottle {
    return new RequestThrottle(this, identity);
  }
}

/** One request's quota bookkeeping (ctx.quota); see the file comment for the order of events. */
export class RequestThrottle {
  readonly #q: ClientQuotas;
  readonly identity: QuotaIdentity;
  readonly #started = process.hrtime.bigint();
  #waitedNs = 0n;
  #requestThrottleMs: number | null = null;
  /** Set by the handler: the throttle its own quota asks for, and which quota. */
  #bandwidthMs = 0;
  #bandwidthQuota: ClientQuotaManager | null = null;
  /** Follower fetches and other broker traffic are not client requests (Kafka exempts them). */
  exempt = false;

  constructor(q: ClientQuotas, identity: QuotaIdentity) {
    this.#q = q;
    this.identity = identity;
  }

  get quotas(): ClientQuotas {
    return this.#q;
  }

  /**
   * Await `p` without counting the time against request_percentage: Kafka measures request handler
   * thread time, and a fetch's long poll waits in purgatory, not on a thread.
   */
  async waiting<T>(p: Promise<T>): Promise<T> {
    const t0 = process.hrtime.bigint();
    try {
      return await p;
    } finally {
      this.#waitedNs += process.hrtime.bigint() - t0;
    }
  }

  /** The handler's own quota asked for `ms` (Produce/Fetch bandwidth, controller mutations). */
  setBandwidthThrottle(quota: ClientQuotaManager, ms: number): void {
    if (ms > this.#bandwidthMs) {
      this.#bandwidthMs = ms;
      this.#bandwidthQuota = quota;
    }
  }

  /**
   * KIP-599: take `permits` partition mutations (created or deleted partitions) from the client's
   * controller_mutation_rate. Strict (CreateTopics v6+, CreatePartitions v3+, DeleteTopics v5+):
   * returns the throttle time when the quota is already exhausted, and the caller refuses the topic
   * with THROTTLING_QUOTA_EXCEEDED; 0 when taken. Permissive (older versions): always taken (returns
   * 0), and the request is throttled once the quota is exceeded.
   */
  recordMutations(permits: number, strict: boolean): number {
    const m = this.#q.controllerMutation;
    const t = m.recordMutations(this.identity.user, this.identity.clientId, permits, strict);
    if (t > 0) this.setBandwidthThrottle(m, t);
    return strict ? t : 0;
  }

  /** Record the handler time so far against request_percentage (once) and return its throttle. */
  requestThrottleMs(): number {
    if (this.#requestThrottleMs !== null) return this.#requestThrottleMs;
    if (this.exempt) return (this.#requestThrottleMs = 0);
    const ns = Number(process.hrtime.bigint() - this.#started - this.#waitedNs);
    // Kafka's nanosToPercentage: one second of one thread is 100 (%).
    const percentSeconds = (Math.max(0, ns) * 100) / 1e9;
    this.#requestThrottleMs = this.#q.request.recordAndGetThrottleTimeMs(
      this.identity.user,
      this.identity.clientId,
      percentSeconds,
    );
    return this.#requestThrottleMs;
  }

  /** The request's throttle time (the larger of both), counted in the sensor of the quota that set it. */
  finish(): number {
    const req = this.requestThrottleMs();
    const max = Math.max(req, this.#bandwidthMs);
    if (max <= 0) return 0;
    const by = this.#bandwidthMs > req && this.#bandwidthQuota ? this.#bandwidthQuota : this.#q.request;
    by.recordThrottle(this.identity.user, this.identity.clientId, max);
    return max;
  }
}
