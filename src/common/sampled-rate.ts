/**
 * A rate measured over sampled time windows, with Kafka's arithmetic (org.apache.kafka.common.metrics:
 * SampledStat + Rate + Quota, and QuotaUtils.throttleTime). Pure: time comes in as an argument.
 *
 *  - `samples` windows of `windowMs` each are kept; a window is started at the first event after the
 *    previous one ended, and a window whose last event is older than samples × windowMs is reset.
 *  - The rate is the sum over the kept windows divided by the time since the oldest one started, but
 *    never less than (samples − 1) full windows: a fresh rate is averaged over 10 s with Kafka's
 *    defaults (11 × 1 s), which lets a burst of about (samples − 1) × windowMs × bound through before
 *    a quota is exceeded. Kafka behaves the same; it is why throttled work takes
 *    size/rate − (samples − 1) × windowMs, not size/rate.
 *  - A quota with bound B is violated when the rate after recording is above B; the throttle time is
 *    (rate − B) / B × windowSize, as QuotaUtils.throttleTime computes it.
 *
 * Used by the client quotas (src/broker/quota: byte rates, request time, and Kafka's Avg of the
 * throttle times over the same windows), the connection creation-rate quotas (KIP-612) and, as
 * Kafka's SimpleRate (at least one window, so the first burst is about one window's worth), by the
 * replication throttles (KIP-73). A negative value undoes an earlier record (Kafka's unrecord).
 */

export interface SampledRateConfig {
  /** Kafka's quota.window.num / replication.quota.window.num. */
  samples: number;
  /** Kafka's quota.window.size.seconds / replication.quota.window.size.seconds, in ms. */
  windowMs: number;
  /**
   * Kafka's SimpleRate (the replication quotas): averaged over the time since the oldest window
   * started but at least one window, instead of at least samples − 1 windows. Default false (Rate).
   */
  simple?: boolean;
}

interface Sample {
  startMs: number;
  lastEventMs: number;
  value: number;
  /** Records in the window (for the average). */
  count: number;
}

export class SampledRate {
  readonly #cfg: SampledRateConfig;
  /** samples + 1 slots, as Kafka keeps one for the window overlapping the monitored span. */
  readonly #samples: Sample[] = [];
  #current = 0;

  constructor(cfg: SampledRateConfig) {
    this.#cfg = {
      samples: Math.max(1, cfg.samples),
      windowMs: Math.max(1, cfg.windowMs),
      simple: cfg.simple ?? false,
    };
  }

  get config(): SampledRateConfig {
    return this.#cfg;
  }

  record(value: number, nowMs: number): void {
    let s = this.#currentSample(nowMs);
    if (nowMs - s.startMs >= this.#cfg.windowMs) s = this.#advance(nowMs);
    s.value += value;
    s.count++;
    s.lastEventMs = nowMs;
  }

  /** Events per second over the kept windows. */
  measure(nowMs: number): number {
    return this.total(nowMs) / (this.windowSizeMs(nowMs) / 1000);
  }

  /** The sum of the kept windows. */
  total(nowMs: number): number {
    this.#purge(nowMs);
    let sum = 0;
    for (const s of this.#samples) sum += s.value;
    return sum;
  }

  /** The mean of the values recorded in the kept windows (Kafka's Avg over the same samples). */
  average(nowMs: number): number {
    this.#purge(nowMs);
    let sum = 0;
    let count = 0;
    for (const s of this.#samples) {
      sum += s.value;
      count += s.count;
    }
    return count === 0 ? 0 : sum / count;
  }

  /** The span the rate is averaged over (Kafka's Rate.windowSize), in ms. */
  windowSizeMs(nowMs: number): number {
    this.#purge(nowMs);
    const oldest = this.#samples.length === 0 ? nowMs : Math.min(...this.#samples.map((s) => s.startMs));
    let elapsed = nowMs - oldest;
    if (this.#cfg.simple) return Math.max(elapsed, this.#cfg.windowMs);
    const fullWindows = Math.floor(elapsed / this.#cfg.windowMs);
    const minFull = this.#cfg.samples - 1;
    if (fullWindows < minFull) elapsed += (minFull - fullWindows) * this.#cfg.windowMs;
    return Math.max(elapsed, 1);
  }

  /** Whether the rate is above `bound` (Kafka's Sensor.checkQuotas with an upper-bound Quota). */
  exceeds(bound: number, nowMs: number): boolean {
    return this.measure(nowMs) > bound;
  }

  /**
   * Record `value`, then: 0 when the rate stays within `bound`, else how long to wait, in ms
   * (QuotaUtils.boundedThrottleTime: (rate − bound) / bound × window, at most `maxThrottleMs`).
   */
  recordAndThrottleMs(value: number, bound: number, nowMs: number, maxThrottleMs: number): number {
    this.record(value, nowMs);
    return this.throttleMs(bound, nowMs, maxThrottleMs);
  }

  throttleMs(bound: number, nowMs: number, maxThrottleMs = Infinity): number {
    const rate = this.measure(nowMs);
    if (!(rate > bound)) return 0;
    if (bound <= 0) return maxThrottleMs;
    const ms = Math.round(((rate - bound) / bound) * this.windowSizeMs(nowMs));
    return Math.min(Math.max(ms, 0), maxThrottleMs);
  }

  #currentSample(nowMs: number): Sample {
    if (this.#samples.length === 0)
      this.#samples.push({ startMs: nowMs, lastEventMs: nowMs, value: 0, count: 0 });
    return this.#samples[this.#current]!;
  }

  #advance(nowMs: number): Sample {
    const max = this.#cfg.samples + 1;
    this.#current = (this.#current + 1) % max;
    if (this.#current >= this.#samples.length) {
      const s = { startMs: nowMs, lastEventMs: nowMs, value: 0, count: 0 };
      this.#samples.push(s);
      return s;
    }
    const s = this.#samples[this.#current]!;
    s.startMs = nowMs;
    s.lastEventMs = nowMs;
    s.value = 0;
    s.count = 0;
    return s;
  }

  #purge(nowMs: number): void {
    const expireAge = this.#cfg.samples * this.#cfg.windowMs;
    for (const s of this.#samples) {
      if (nowMs - s.lastEventMs >= expireAge) {
        s.startMs = nowMs;
        s.lastEventMs = nowMs;
        s.value = 0;
        s.count = 0;
      }
    }
  }
}
