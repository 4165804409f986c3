import { describe, expect, it } from 'vitest';
import { TimingWheelTimer } from '../../src/broker/purgatory/timing-wheel.js';
import { DelayedOperation, DelayedOperationPurgatory } from '../../src/broker/purgatory/delayed-operation.js';

describe('TimingWheelTimer', () => {
  it('fires each task once, within one tick after its deadline, across wheel levels', () => {
    let now = 1_000;
    const timer = new TimingWheelTimer({ tickMs: 1, wheelSize: 8, now: () => now });
    const fired: [number, number][] = [];
    const deadlines = [1_002, 1_007, 1_009, 1_030, 1_100, 1_513, 5_000];
    for (const d of deadlines) timer.add({ deadlineMs: d, run: () => fired.push([d, now]) });
    expect(timer.size).toBe(deadlines.length);
    for (now = 1_000; now <= 5_010; now++) timer.advance(now);
    expect(fired.map(([d]) => d)).toEqual(deadlines);
    for (const [d, at] of fired) expect(at - d).toBeLessThanOrEqual(1);
    expect(timer.size).toBe(0);
    timer.shutdown();
  });

  it('does not fire cancelled tasks', () => {
    let now = 0;
    const timer = new TimingWheelTimer({ now: () => now });
    let ran = 0;
    const t = { deadlineMs: 50, run: () => ran++ };
    timer.add(t);
    timer.cancel(t);
    now = 100;
    timer.advance(now);
    expect(ran).toBe(0);
    timer.shutdown();
  });

  it('runs on its own Node timer', async () => {
    const timer = new TimingWheelTimer();
    const start = Date.now();
    const at = await new Promise<number>((resolve) =>
      timer.add({ deadlineMs: start + 30, run: () => resolve(Date.now()) }),
    );
    expect(at - start).toBeGreaterThanOrEqual(29);
    timer.shutdown();
  });
});

class WaitForValue extends DelayedOperation {
  result: 'completed' | 'expired' | null = null;
  #expired = false;
  constructor(
    timeoutMs: number,
    readonly state: { value: number },
    readonly want: number,
  ) {
    super(timeoutMs);
  }
  tryComplete(): boolean {
    return this.state.value >= this.want ? this.forceComplete() : false;
  }
  protected override onExpiration(): void {
    this.#expired = true;
  }
  protected onComplete(): void {
    this.result = this.#expired ? 'expired' : 'completed';
  }
}

describe('DelayedOperationPurgatory', () => {
  it('completes watched operations when their key changes, and expires the rest', async () => {
    const p = new DelayedOperationPurgatory<WaitForValue>('test');
    const state = { value: 0 };
    const a = new WaitForValue(10_000, state, 1);
    const b = new WaitForValue(40, state, 5);
    expect(p.tryCompleteElseWatch(a, ['k'])).toBe(false);
    expect(p.tryCompleteElseWatch(b, ['k'])).toBe(false);
    expect(p.size).toBe(2);
    state.value = 1;
    expect(p.checkAndComplete('k')).toBe(1);
    expect(a.result).toBe('completed');
    expect(p.size).toBe(1);
    await new Promise((r) => setTimeout(r, 80));
    expect(b.result).toBe('expired');
    expect(p.size).toBe(0);
    expect(p.watched('k')).toBe(0);
    p.shutdown();
  });

  it('completes at once when possible and never twice', () => {
    const p = new DelayedOperationPurgatory<WaitForValue>('test');
    const op = new WaitForValue(1000, { value: 9 }, 1);
    expect(p.tryCompleteElseWatch(op, ['k'])).toBe(true);
    expect(op.forceComplete()).toBe(false);
    expect(p.size).toBe(0);
    p.shutdown();
  });
});
