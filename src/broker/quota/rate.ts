/**
 * The client quotas' measures: rates over sampled windows are the one SampledRate
 * (src/common/sampled-rate.ts, Kafka's Rate over a SampledStat and QuotaUtils.throttleTime); the
 * controller mutation quota's token bucket (KIP-599) is here.
 *
 * Pure: the caller passes the time in milliseconds (tests drive it), nothing here reads a clock.
 */
import type { SampledRateConfig } from '../../common/sampled-rate.js';

/** quota.window.num and quota.window.size.seconds × 1000. */
export type SampleConfig = SampledRateConfig;

/**
 * The controller mutation quota's stat (KIP-599, Kafka's TokenBucket): a bucket of `samples ×
 * window seconds × rate` tokens, refilled at `rate` per second; each mutation (a partition created or
 * deleted) takes one, and the bucket may go negative. Below zero the quota is violated, and the
 * throttle time is how long the refill takes to bring it back to zero.
 */
export class TokenBucket {
  readonly #cfg: SampleConfig;
  #tokens: number;
  #last: number;

  constructor(cfg: SampleConfig, rate: number, now: number) {
    this.#cfg = cfg;
    this.#tokens = this.#burst(rate);
    this.#last = now;
  }

  #burst(rate: number): number {
    return this.#cfg.samples * (this.#cfg.windowMs / 1000) * rate;
  }

  #refill(rate: number, now: number): void {
    this.#tokens = Math.min(this.#burst(rate), this.#tokens + (rate * Math.max(0, now - this.#last)) / 1000);
    this.#last = now;
  }

  tokens(rate: number, now: number): number {
    this.#refill(rate, now);
    return this.#tokens;
  }

  record(permits: number, rate: number, now: number): void {
    this.#refill(rate, now);
    this.#tokens = Math.min(this.#burst(rate), this.#tokens - permits);
  }

  /** 0 while the bucket is not negative, else the ms its refill needs to reach zero. */
  throttleTimeMs(rate: number, now: number): number {
    const t = this.tokens(rate, now);
    return t >= 0 ? 0 : Math.round((-t / rate) * 1000);
  }
}
