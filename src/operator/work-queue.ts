/**
 * A per-object work queue (client-go's workqueue, in small): a key is queued at most once, is
 * processed by one worker at a time, and a key added while it is processed runs again afterwards.
 * Failures are retried with per-key exponential backoff; `addAfter` schedules a requeue (periodic
 * resync, waiting for a broker to become ready).
 */
export interface ReconcileResult {
  /** Run again after this many milliseconds (even on success). */
  requeueAfterMs?: number;
}

export type Reconcile = (key: string) => Promise<ReconcileResult | void>;

export interface WorkQueueOptions {
  workers?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (key: string, err: unknown, retryInMs: number) => void;
  onDone?: (key: string, ms: number, ok: boolean) => void;
}

export class WorkQueue {
  readonly #reconcile: Reconcile;
  readonly #o: Required<Omit<WorkQueueOptions, 'onError' | 'onDone'>> & WorkQueueOptions;
  readonly #queue: string[] = [];
  readonly #queued = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #active = 0;
  #stopped = false;
  #idleWaiters: (() => void)[] = [];

  constructor(reconcile: Reconcile, o: WorkQueueOptions = {}) {
    this.#reconcile = reconcile;
    this.#o = {
      workers: o.workers ?? 2,
      baseBackoffMs: o.baseBackoffMs ?? 500,
      maxBackoffMs: o.maxBackoffMs ?? 300_000,
      ...o,
    };
  }

  get length(): number {
    return this.#queue.length;
  }

  add(key: string): void {
    if (this.#stopped) return;
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#queue.push(key);
    this.#pump();
  }

  /** Queue `key` after `ms` (an earlier pending requeue for the key wins). */
  addAfter(key: string, ms: number): void {
    if (this.#stopped) return;
    const existing = this.#timers.get(key);
    if (existing) return;
    const t = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    t.unref();
    this.#timers.set(key, t);
  }

  #pump(): void {
    while (!this.#stopped && this.#active < this.#o.workers && this.#queue.length > 0) {
      const key = this.#queue.shift()!;
      this.#queued.delete(key);
      this.#processing.add(key);
      this.#active++;
      void this.#run(key);
    }
    if (this.#active === 0 && this.#queue.length === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }

  async #run(key: string): Promise<void> {
    const started = Date.now();
    let ok = true;
    try {
      const res = await this.#reconcile(key);
      this.#failures.delete(key);
      if (res?.requeueAfterMs !== undefined) this.addAfter(key, res.requeueAfterMs);
    } catch (err) {
      ok = false;
      const n = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, n);
      const delay = Math.min(this.#o.baseBackoffMs * 2 ** (n - 1), this.#o.maxBackoffMs);
      this.#o.onError?.(key, err, delay);
      const t = this.#timers.get(key);
      if (t) {
        clearTimeout(t);
        this.#timers.delete(key);
      }
      this.addAfter(key, delay);
    } finally {
      this.#o.onDone?.(key, Date.now() - started, ok);
      this.#processing.delete(key);
      this.#active--;
      if (this.#dirty.delete(key)) this.add(key);
      this.#pump();
    }
  }

  /** Resolves when nothing is queued or running (tests). */
  idle(): Promise<void> {
    if (this.#active === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#queue.length = 0;
    this.#queued.clear();
  }
}
