/**
 * ClientQuotaManager: one per quota type (Produce, Fetch, Request, ControllerMutation), as Kafka's
 * ClientQuotaManager / ClientRequestQuotaManager / ControllerMutationQuotaManager. It keeps one
 * sensor per (user, client-id) pair the quota resolution names (KIP-55 precedence, see
 * common/client-quota.ts resolveQuota): the measured rate over sampled windows and the throttle times
 * handed out, and answers how long a client that just went over its quota must be throttled.
 *
 * It owns no I/O: KafkaApis and the Produce/Fetch/CreateTopics handlers call it with the principal,
 * the client id and the amount, and mute the connection for the time it returns. Quotas are read
 * from the ClientQuotaTable at each record, so a change applies to the next request. A sensor
 * unused for an hour is dropped (Kafka's inactive sensor expiry).
 */
import type { ClientQuotaMap, QuotaKey } from '../../common/client-quota.js';
import { resolveQuota } from '../../common/client-quota.js';
import { SampledRate } from '../../common/sampled-rate.js';
import { TokenBucket, type SampleConfig } from './rate.js';

export type QuotaType = 'Produce' | 'Fetch' | 'Request' | 'ControllerMutation';

const SENSOR_EXPIRY_MS = 3600_000;

interface Sensor {
  user: string;
  clientId: string;
  /** The measured value per second (bytes, request-time percent, mutations). */
  rate: SampledRate;
  /** ControllerMutation: the strict quota's token bucket. */
  bucket: TokenBucket | null;
  /** Throttle times handed out (their average is Kafka's throttle-time metric). */
  throttle: SampledRate;
  /** The longest throttle time handed out since the sensor was made. */
  maxThrottle: number;
  lastUsed: number;
}

export interface SensorSnapshot {
  user: string;
  clientId: string;
  /** Units per second over the window (bytes/s, percent, mutations/s). */
  rate: number;
  /** Average throttle time (ms) handed out over the window. */
  throttleTimeAvgMs: number;
  throttleTimeMaxMs: number;
}

export class ClientQuotaManager {
  readonly type: QuotaType;
  readonly key: QuotaKey;
  readonly #cfg: SampleConfig;
  readonly #quotas: () => ClientQuotaMap;
  readonly #version: () => number;
  #enabled: { version: number; value: boolean } = { version: -1, value: false };
  readonly #sensors = new Map<string, Sensor>();
  /** Upper bound of a throttle time (the Request quota caps it at one window, as Kafka does). */
  readonly #maxThrottleMs: number;
  #lastSweep = 0;

  /** `version`: changes whenever the quotas do (ClientQuotaTable.version). */
  constructor(
    type: QuotaType,
    key: QuotaKey,
    cfg: SampleConfig,
    quotas: () => ClientQuotaMap,
    version: () => number,
  ) {
    this.type = type;
    this.key = key;
    this.#cfg = cfg;
    this.#quotas = quotas;
    this.#version = version;
    this.#maxThrottleMs = type === 'Request' ? cfg.windowMs : Number.POSITIVE_INFINITY;
  }

  /** Whether any entity has a quota of this type (Kafka records nothing until one has). */
  get enabled(): boolean {
    const version = this.#version();
    if (this.#enabled.version !== version) {
      let value = false;
      for (const { quotas } of this.#quotas().values()) if (quotas[this.key] !== undefined) value = true;
      this.#enabled = { version, value };
    }
    return this.#enabled.value;
  }

  #resolve(user: string, clientId: string): { limit: number | null; sensor: Sensor; now: number } {
    const now = Date.now();
    const q = resolveQuota(this.#quotas(), this.key, user, clientId);
    const u = q ? q.user : '';
    const c = q ? q.clientId : clientId;
    const id = `${u}\u0000${c}`;
    let s = this.#sensors.get(id);
    if (!s) {
      s = {
        user: u,
        clientId: c,
        rate: new SampledRate(this.#cfg),
        bucket: null,
        throttle: new SampledRate(this.#cfg),
        maxThrottle: 0,
        lastUsed: now,
      };
      this.#sensors.set(id, s);
    }
    s.lastUsed = now;
    this.#sweep(now);
    return { limit: q ? q.limit : null, sensor: s, now };
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < 60_000) return;
    this.#lastSweep = now;
    for (const [id, s] of this.#sensors) if (now - s.lastUsed > SENSOR_EXPIRY_MS) this.#sensors.delete(id);
  }

  /**
   * Record `value` for the client and return the throttle time (ms) its quota asks for, 0 when
   * within it (Kafka's maybeRecordAndGetThrottleTimeMs). Nothing is recorded while no quota of this
   * type exists.
   */
  recordAndGetThrottleTimeMs(user: string, clientId: string, value: number): number {
    if (!this.enabled) return 0;
    const { limit, sensor, now } = this.#resolve(user, clientId);
    sensor.rate.record(value, now);
    if (limit === null) return 0;
    return Math.min(sensor.rate.throttleMs(limit, now), this.#maxThrottleMs);
  }

  /** Take back a recorded value (a throttled fetch answers no data, so its bytes do not count). */
  unrecord(user: string, clientId: string, value: number): void {
    if (!this.enabled) return;
    const { sensor, now } = this.#resolve(user, clientId);
    sensor.rate.record(-value, now);
  }

  /**
   * The most one response may carry without being throttled for sure (Kafka's
   * getMaxValueInQuotaWindow: quota × (samples - 1) × window); Infinity without a quota.
   */
  maxValueInQuotaWindow(user: string, clientId: string): number {
    const q = resolveQuota(this.#quotas(), this.key, user, clientId);
    if (!q) return Number.POSITIVE_INFINITY;
    return q.limit * (this.#cfg.samples - 1) * (this.#cfg.windowMs / 1000);
  }

  /**
   * ControllerMutation (KIP-599), strict (CreateTopics v6+, CreatePartitions v3+, DeleteTopics v5+):
   * refuse when the bucket is already negative (returns the throttle time, and nothing is taken);
   * else take `permits`, which may take it below zero, and return 0. Permissive (older versions):
   * always take, and return the throttle time the take causes.
   */
  recordMutations(user: string, clientId: string, permits: number, strict: boolean): number {
    if (!this.enabled) return 0;
    const { limit, sensor, now } = this.#resolve(user, clientId);
    if (limit === null) {
      sensor.rate.record(permits, now);
      return 0;
    }
    sensor.bucket ??= new TokenBucket(this.#cfg, limit, now);
    if (strict) {
      const t = sensor.bucket.throttleTimeMs(limit, now);
      if (t > 0) return t;
      sensor.bucket.record(permits, limit, now);
      sensor.rate.record(permits, now);
      return 0;
    }
    sensor.bucket.record(permits, limit, now);
    sensor.rate.record(permits, now);
    return sensor.bucket.throttleTimeMs(limit, now);
  }

  /** The mutation throttle time right now (0 when within quota), for the answers after a refusal. */
  mutationThrottleTimeMs(user: string, clientId: string): number {
    if (!this.enabled) return 0;
    const { limit, sensor, now } = this.#resolve(user, clientId);
    if (limit === null || !sensor.bucket) return 0;
    return sensor.bucket.throttleTimeMs(limit, now);
  }

  /** Count a throttle handed out by this quota (Kafka's throttle-time sensor). */
  recordThrottle(user: string, clientId: string, ms: number): void {
    if (ms <= 0) return;
    const { sensor, now } = this.#resolve(user, clientId);
    sensor.throttle.record(ms, now);
    sensor.maxThrottle = Math.max(sensor.maxThrottle, ms);
  }

  snapshot(): SensorSnapshot[] {
    const now = Date.now();
    return [...this.#sensors.values()].map((s) => ({
      user: s.user,
      clientId: s.clientId,
      rate: s.rate.measure(now),
      throttleTimeAvgMs: s.throttle.average(now),
      throttleTimeMaxMs: s.maxThrottle,
    }));
  }
}
