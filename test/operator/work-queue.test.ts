import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../src/operator/work-queue.js';

describe('WorkQueue', () => {
  it('dedups queued keys and reruns a key changed while it was processed', async () => {
    const runs: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const q = new WorkQueue(
      async (k) => {
        runs.push(k);
        if (runs.length === 1) await gate;
      },
      { workers: 1 },
    );
    q.add('a');
    q.add('a'); // running: marked dirty
    q.add('b');
    q.add('b'); // queued once
    release();
    await new Promise((r) => setTimeout(r, 20));
    await q.idle();
    expect(runs).toEqual(['a', 'b', 'a']);
    q.stop();
  });

  it('retries failures with backoff', async () => {
    let n = 0;
    const errors: number[] = [];
    const q = new WorkQueue(
      async () => {
        n++;
        if (n < 3) throw new Error('boom');
      },
      { baseBackoffMs: 10, onError: (_k, _e, ms) => errors.push(ms) },
    );
    q.add('x');
    await new Promise((r) => setTimeout(r, 150));
    expect(n).toBe(3);
    expect(errors).toEqual([10, 20]);
    q.stop();
  });
});
