import { describe, expect, it } from 'vitest';
import { SampledRate } from '../../src/common/sampled-rate.js';

describe('SampledRate (Kafka Rate arithmetic)', () => {
  it('averages over at least samples-1 windows, so a fresh rate allows a burst', () => {
    const r = new SampledRate({ samples: 11, windowMs: 1000 });
    // 100 events at t=0: averaged over 10 s → 10/s.
    for (let i = 0; i < 100; i++) r.record(1, 0);
    expect(r.measure(0)).toBeCloseTo(10, 6);
    expect(r.windowSizeMs(0)).toBe(10_000);
    // Bound 10/s: exactly at the bound is not a violation; one more is.
    expect(r.exceeds(10, 0)).toBe(false);
    r.record(1, 0);
    expect(r.exceeds(10, 0)).toBe(true);
  });

  it('computes Kafka throttle time: (rate - bound) / bound * window, bounded', () => {
    const r = new SampledRate({ samples: 11, windowMs: 1000 });
    // 200 events at t=0: rate 20/s over 10 s; bound 10 → (20-10)/10*10000 = 10000 ms.
    for (let i = 0; i < 199; i++) r.record(1, 0);
    expect(r.recordAndThrottleMs(1, 10, 0, Infinity)).toBe(10_000);
    expect(r.throttleMs(10, 0, 1000)).toBe(1000);
    expect(r.throttleMs(1000, 0, 1000)).toBe(0);
  });

  it('forgets windows older than samples × window', () => {
    const r = new SampledRate({ samples: 2, windowMs: 1000 });
    r.record(100, 0);
    // Window size: 500 ms elapsed plus one missing full window = 1.5 s.
    expect(r.measure(500)).toBeCloseTo(100 / 1.5, 6);
    r.record(100, 1200); // a second window
    expect(r.measure(1500)).toBeCloseTo(200 / 1.5, 6);
    // 2 s after the last event in each window, both are reset.
    expect(r.measure(3300)).toBe(0);
  });

  it('a steady flow at the bound stays within it over a long run', () => {
    const r = new SampledRate({ samples: 3, windowMs: 1000 });
    let violations = 0;
    for (let t = 0; t < 60_000; t += 100) {
      r.record(10, t); // 100/s
      // Kafka keeps one extra overlapping window, so the measure runs a few % high.
      if (t > 5000 && r.exceeds(110, t)) violations++;
    }
    expect(violations).toBe(0);
    expect(r.measure(60_000)).toBeGreaterThan(80);
  });

  it('SimpleRate (replication quotas) averages over at least one window only', () => {
    const r = new SampledRate({ samples: 11, windowMs: 1000, simple: true });
    r.record(10 * 1024 * 1024, 0);
    expect(r.windowSizeMs(0)).toBe(1000);
    expect(r.exceeds(10 * 1024 * 1024, 0)).toBe(false);
    r.record(1, 0);
    expect(r.exceeds(10 * 1024 * 1024, 0)).toBe(true);
    // 4 s later the same bytes are averaged over 4 s.
    expect(r.measure(4000)).toBeCloseTo((10 * 1024 * 1024 + 1) / 4, 3);
  });
});
