/**
 * A hierarchical timing wheel (Kafka's TimingWheel / SystemTimer): O(1) insert and cancel for the
 * many short timeouts a broker keeps (every long-poll Fetch, every acks=all Produce, every group
 * member's session). One Node timer drives it, armed for the earliest non-empty bucket only, instead
 * of one setTimeout per operation.
 *
 * Level 0 has `wheelSize` buckets of `tickMs`; each higher level's bucket spans the whole level below.
 * A task too far out for a level goes to the next one (created on demand) and cascades down as time
 * advances, so it fires within one tick of its deadline.
 */

export interface TimerTask {
  /** Absolute deadline in ms (the wheel's clock). */
  readonly deadlineMs: number;
  run(): void;
}

interface Entry {
  task: TimerTask;
  bucket: Set<Entry> | null;
}

class Wheel {
  readonly interval: number;
  readonly buckets: Set<Entry>[];
  readonly bucketExpiry: number[];
  currentTime: number;
  overflow: Wheel | null = null;

  constructor(
    readonly tickMs: number,
    readonly wheelSize: number,
    startMs: number,
  ) {
    this.interval = tickMs * wheelSize;
    this.buckets = Array.from({ length: wheelSize }, () => new Set<Entry>());
    this.bucketExpiry = new Array<number>(wheelSize).fill(-1);
    this.currentTime = startMs - (startMs % tickMs);
  }

  /** Place the entry; returns false when it is already due (caller runs it). */
  add(e: Entry): boolean {
    const deadline = e.task.deadlineMs;
    if (deadline < this.currentTime + this.tickMs) return false;
    if (deadline < this.currentTime + this.interval) {
      const virtualId = Math.floor(deadline / this.tickMs);
      const idx = virtualId % this.wheelSize;
      const bucket = this.buckets[idx]!;
      bucket.add(e);
      e.bucket = bucket;
      this.bucketExpiry[idx] = virtualId * this.tickMs;
      return true;
    }
    this.overflow ??= new Wheel(this.interval, this.wheelSize, this.currentTime);
    return this.overflow.add(e);
  }

  advance(timeMs: number): void {
    if (timeMs >= this.currentTime + this.tickMs) {
      this.currentTime = timeMs - (timeMs % this.tickMs);
      this.overflow?.advance(this.currentTime);
    }
  }
}

export class TimingWheelTimer {
  readonly #root: Wheel;
  readonly #now: () => number;
  #size = 0;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Infinity;
  readonly #entries = new WeakMap<TimerTask, Entry>();

  constructor(opts: { tickMs?: number; wheelSize?: number; now?: () => number } = {}) {
    this.#now = opts.now ?? Date.now;
    this.#root = new Wheel(opts.tickMs ?? 1, opts.wheelSize ?? 20, this.#now());
  }

  get size(): number {
    return this.#size;
  }

  add(task: TimerTask): void {
    const e: Entry = { task, bucket: null };
    this.#entries.set(task, e);
    if (this.#root.add(e)) {
      this.#size++;
      this.#arm();
    } else {
      // Already due: run on the next turn, never synchronously inside add().
      queueMicrotask(() => task.run());
    }
  }

  /** Remove a pending task (completed before its deadline). */
  cancel(task: TimerTask): void {
    const e = this.#entries.get(task);
    if (e?.bucket) {
      e.bucket.delete(e);
      e.bucket = null;
      this.#size--;
    }
  }

  /** Fire everything due at `nowMs`, cascading higher-level buckets down. Exposed for tests. */
  advance(nowMs = this.#now()): void {
    const due: TimerTask[] = [];
    for (;;) {
      const next = this.#earliestExpiry();
      if (next === null || next > nowMs) break;
      this.#drainBucketsUpTo(this.#root, next, due);
    }
    this.#root.advance(nowMs);
    for (const t of due) t.run();
  }

  #drainBucketsUpTo(wheel: Wheel, expiry: number, due: TimerTask[]): void {
    // Find the wheel and bucket with this expiry, advance the clock to it and re-add its entries:
    // those due run, the rest cascade into lower levels.
    for (let w: Wheel | null = wheel; w; w = w.overflow) {
      for (let i = 0; i < w.wheelSize; i++) {
        if (w.bucketExpiry[i] !== expiry || w.buckets[i]!.size === 0) continue;
        const entries = [...w.buckets[i]!];
        w.buckets[i]!.clear();
        w.bucketExpiry[i] = -1;
        this.#root.advance(expiry);
        for (const e of entries) {
          e.bucket = null;
          this.#size--;
          if (this.#root.add(e)) this.#size++;
          else due.push(e.task);
        }
        return;
      }
    }
  }

  #earliestExpiry(): number | null {
    let best: number | null = null;
    for (let w: Wheel | null = this.#root; w; w = w.overflow) {
      for (let i = 0; i < w.wheelSize; i++) {
        const exp = w.bucketExpiry[i]!;
        if (exp >= 0 && w.buckets[i]!.size > 0 && (best === null || exp < best)) best = exp;
      }
    }
    return best;
  }

  #arm(): void {
    const next = this.#earliestExpiry();
    if (next === null) return;
    if (this.#timer && this.#timerAt <= next) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = next;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        this.#timerAt = Infinity;
        this.advance();
        if (this.#size > 0) this.#arm();
      },
      Math.max(0, next - this.#now()),
    );
    this.#timer.unref();
  }

  shutdown(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
