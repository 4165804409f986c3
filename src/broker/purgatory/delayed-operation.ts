/**
 * DelayedOperation and DelayedOperationPurgatory, as in Kafka: an operation that cannot complete
 * now (a Fetch waiting for min bytes, a Produce with acks=all waiting for the ISR, a JoinGroup
 * waiting for members) waits in a purgatory, watched under one or more keys (a topic-partition, a
 * group). Whoever changes the state behind a key calls checkAndComplete(key); the timing wheel
 * expires what is still waiting at its deadline. Each operation completes exactly once.
 */
import { TimingWheelTimer, type TimerTask } from './timing-wheel.js';

export abstract class DelayedOperation implements TimerTask {
  readonly deadlineMs: number;
  #completed = false;

  constructor(timeoutMs: number, now = Date.now()) {
    this.deadlineMs = now + Math.max(0, timeoutMs);
  }

  get isCompleted(): boolean {
    return this.#completed;
  }

  /** Check whether the operation can complete now; if so call forceComplete() and return true. */
  abstract tryComplete(): boolean;
  /** Called exactly once, on completion or expiry. */
  protected abstract onComplete(): void;
  /** Called before onComplete when the deadline passed. */
  protected onExpiration(): void {}

  /** Complete now, whatever the state; false when someone else already completed it. */
  forceComplete(): boolean {
    if (this.#completed) return false;
    this.#completed = true;
    this.onComplete();
    return true;
  }

  /** Timer callback. */
  run(): void {
    if (this.#completed) return;
    this.onExpiration();
    this.forceComplete();
  }
}

export class DelayedOperationPurgatory<T extends DelayedOperation> {
  readonly name: string;
  readonly #timer: TimingWheelTimer;
  readonly #watchers = new Map<string, Set<T>>();
  /** Per waiting operation: removes it from watchers and timer once it completed either way. */
  readonly #settlers = new WeakMap<T, () => void>();
  #pending = 0;
  #expired = 0;

  constructor(name: string, timer = new TimingWheelTimer()) {
    this.name = name;
    this.#timer = timer;
  }

  /** Operations waiting (Kafka's PurgatorySize). */
  get size(): number {
    return this.#pending;
  }

  get expiredCount(): number {
    return this.#expired;
  }

  /**
   * Try to complete `op` now; if it cannot, watch it under `keys` and start its timer. Returns true
   * when it completed immediately. Like Kafka, it tries again after watching, closing the race with
   * a state change between the first try and the watch.
   */
  tryCompleteElseWatch(op: T, keys: string[]): boolean {
    if (op.tryComplete()) return true;
    for (const k of keys) {
      let set = this.#watchers.get(k);
      if (!set) this.#watchers.set(k, (set = new Set()));
      set.add(op);
    }
    if (op.tryComplete()) {
      this.#unwatch(op, keys);
      return true;
    }
    this.#pending++;
    const onDone = () => {
      this.#pending--;
      this.#unwatch(op, keys);
      this.#timer.cancel(op);
    };
    // The timer holds a small task rather than the op, so expiry and early completion share one settle.
    const task: TimerTask = {
      deadlineMs: op.deadlineMs,
      run: () => {
        if (!op.isCompleted) {
          this.#expired++;
          op.run();
        }
        settle();
      },
    };
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      onDone();
      this.#timer.cancel(task);
    };
    this.#settlers.set(op, settle);
    this.#timer.add(task);
    return false;
  }

  #unwatch(op: T, keys: string[]): void {
    for (const k of keys) {
      const set = this.#watchers.get(k);
      if (!set) continue;
      set.delete(op);
      if (set.size === 0) this.#watchers.delete(k);
    }
  }

  /** Something changed under `key`: complete every operation there that now can. Returns how many did. */
  checkAndComplete(key: string): number {
    const set = this.#watchers.get(key);
    if (!set) return 0;
    let n = 0;
    for (const op of [...set]) {
      if (op.isCompleted || op.tryComplete()) {
        n++;
        this.#settlers.get(op)?.();
      }
    }
    return n;
  }

  /** Number of operations watched under key (tests, metrics). */
  watched(key: string): number {
    return this.#watchers.get(key)?.size ?? 0;
  }

  /** Complete everything (shutdown): each operation's onComplete runs with whatever state it has. */
  completeAll(): void {
    for (const set of [...this.#watchers.values()]) {
      for (const op of [...set]) {
        op.forceComplete();
        this.#settlers.get(op)?.();
      }
    }
  }

  shutdown(): void {
    this.completeAll();
    this.#timer.shutdown();
  }
}
