/**
 * The cleaner's I/O throttle (Kafka's Throttler, `log.cleaner.io.max.bytes.per.second`), shared by
 * every cleaner worker thread through one SharedArrayBuffer, so the limit is on the sum of their
 * reads and writes, as in Kafka. Each worker reports the bytes it read or wrote; once per check
 * interval (300 ms) the observed rate is compared with the desired one and the reporting thread
 * sleeps long enough to bring the average down to it, holding the lock while it sleeps so that the
 * other threads wait too (Kafka sleeps inside its lock the same way).
 *
 * The main thread creates the state and changes the rate (dynamic broker config); workers only call
 * maybeThrottle. Sleeping uses Atomics.wait, which blocks only the worker calling it.
 */

const LOCK = 0;
const SLEEPER = 1;
const OBSERVED = 1; // Float64 index
const PERIOD_START = 2;
const DESIRED_RATE = 3;
const CHECK_INTERVAL_MS = 300;

/** Wall-clock milliseconds comparable across threads (performance.now() starts per thread). */
function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export class SharedThrottler {
  readonly buffer: SharedArrayBuffer;
  readonly #ints: Int32Array;
  readonly #doubles: Float64Array;

  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(32);
    this.#ints = new Int32Array(this.buffer, 0, 2);
    this.#doubles = new Float64Array(this.buffer);
    if (!buffer) {
      this.#doubles[PERIOD_START] = nowMs();
      this.#doubles[DESIRED_RATE] = Number.MAX_VALUE;
    }
  }

  get desiredRatePerSec(): number {
    return this.#doubles[DESIRED_RATE]!;
  }

  /** Change the limit (bytes per second; Number.MAX_VALUE or Infinity for none). */
  updateDesiredRatePerSec(rate: number): void {
    this.#doubles[DESIRED_RATE] = rate > 0 ? rate : Number.MAX_VALUE;
  }

  #lock(): void {
    while (Atomics.compareExchange(this.#ints, LOCK, 0, 1) !== 0) Atomics.wait(this.#ints, LOCK, 1, 50);
  }

  #unlock(): void {
    Atomics.store(this.#ints, LOCK, 0);
    Atomics.notify(this.#ints, LOCK, 1);
  }

  /**
   * Count `observed` bytes and sleep if the rate over the current period is above the limit. Must not
   * be called on the main thread (it may block).
   */
  maybeThrottle(observed: number): number {
    const desired = this.#doubles[DESIRED_RATE]!;
    if (!(desired < Number.MAX_VALUE)) return 0;
    let slept = 0;
    this.#lock();
    try {
      this.#doubles[OBSERVED]! += observed;
      const now = nowMs();
      const elapsed = now - this.#doubles[PERIOD_START]!;
      const soFar = this.#doubles[OBSERVED]!;
      if (elapsed > CHECK_INTERVAL_MS && soFar > 0) {
        const rate = (soFar * 1000) / elapsed;
        if (rate > desired) {
          const sleepMs = Math.round(soFar / (desired / 1000) - elapsed);
          if (sleepMs > 0) {
            Atomics.wait(this.#ints, SLEEPER, 0, sleepMs);
            slept = sleepMs;
          }
        }
        this.#doubles[PERIOD_START] = nowMs();
        this.#doubles[OBSERVED] = 0;
      }
    } finally {
      this.#unlock();
    }
    return slept;
  }
}
