/**
 * A rate measured over sampled windows, as Kafka's metrics `Rate` over a `SampledStat` measure the
 * quota sensors (KIP-13): `samples` windows of `windowMs` each; a value goes into the current window,
 * a new window starts when the current one is `windowMs` old, and a window whose last record is
 * `samples × windowMs` old is forgotten (one spare slot keeps the window that overlaps the start
 * of the measured span, as Kafka 3.8+ does). The rate is the sum of the kept windows over the elapsed
 * time since the oldest one started, but never over less than `samples - 1` whole windows (so a
 * client that just started is not measured over a few milliseconds).
 *
 * The throttle time of a violation is Kafka's QuotaUtils.throttleTime: how long the client must send
 * nothing for the measured rate to fall back to the bound, `(rate - bound) / bound × windowSize`.
 *
 * Pure: the caller passes the time in milliseconds (tests drive it), nothing here reads a clock.
 */

export interface SampleConfig {
  /** quota.window.num (Kafka default 11). */
  samples: number;
  /** quota.window.size.seconds × 1000 (Kafka default 1 s). */
  windowMs: number;
}

interface Sample {
  /** When the window started. */
  start: number;
  /** The last record in it (a window is kept while it overlaps the measured span). */
  last: number;
  value: number;
  count: number;
}

function reset(s: Sample, now: number): void {
  s.start = now;
  s.last = now;
  s.value = 0;
  s.count = 0;
}

export class SampledRate {
  readonly #cfg: SampleConfig;
  readonly #samples: Sample[] = [];
  #current = 0;

  constructor(cfg: SampleConfig, now: number) {
    this.#cfg = cfg;
    this.#samples.push({ start: now, last: now, value: 0, count: 0 });
  }

  get config(): SampleConfig {
    return this.#cfg;
  }

  /** Add `value` at `now` (negative values undo an earlier record, as Kafka's unrecord does). */
  record(value: number, now: number): void {
    let s = this.#samples[this.#current]!;
    if (now - s.start >= this.#cfg.windowMs) {
      // One slot more than `samples`: the oldest window may overlap the measured span (Kafka 3.8+).
      this.#current = (this.#current + 1) % (this.#cfg.samples + 1);
      if (this.#current >= this.#samples.length) {
        s = { start: now, last: now, value: 0, count: 0 };
        this.#samples.push(s);
      } else {
        s = this.#samples[this.#current]!;
        reset(s, now);
      }
    }
    s.value += value;
    s.count++;
    s.last = now;
  }

  /** Windows with no record in the last samples × windowMs are emptied (they overlap nothing). */
  #purge(now: number): void {
    const expireAge = this.#cfg.samples * this.#cfg.windowMs;
    for (const s of this.#samples) if (now - s.last >= expireAge) reset(s, now);
  }

  /** The time the rate is measured over at `now`, in ms (Kafka's Rate.windowSize). */
  windowSizeMs(now: number): number {
    this.#purge(now);
    let oldest = now;
    for (const s of this.#samples) if (s.start < oldest) oldest = s.start;
    let elapsed = now - oldest;
    const fullWindows = Math.floor(elapsed / this.#cfg.windowMs);
    const minFull = this.#cfg.samples - 1;
    if (fullWindows < minFull) elapsed += (minFull - fullWindows) * this.#cfg.windowMs;
    return Math.max(elapsed, 1);
  }

  /** The sum of the kept windows. */
  total(now: number): number {
    this.#purge(now);
    let sum = 0;
    for (const s of this.#samples) sum += s.value;
    return sum;
  }

  /** The sum of the kept windows over their count of records (Kafka's Avg over the same windows). */
  average(now: number): number {
    this.#purge(now);
    let sum = 0;
    let count = 0;
    for (const s of this.#samples) {
      sum += s.value;
      count += s.count;
    }
    return count === 0 ? 0 : sum / count;
  }

  /** Units per second. */
  perSecond(now: number): number {
    const total = this.total(now);
    return total / (this.windowSizeMs(now) / 1000);
  }
}

/**
 * How long (ms) a client over `bound` must wait for the rate to come back to it (0 when within), as
 * Kafka's QuotaUtils.throttleTime. The rate is checked after the value is recorded: a quota is
 * acceptable while rate <= bound.
 */
export function throttleTimeMs(rate: SampledRate, bound: number, now: number): number {
  const observed = rate.perSecond(now);
  if (observed <= bound) return 0;
  return Math.round(((observed - bound) / bound) * rate.windowSizeMs(now));
}

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
