/**
 * Crash safety of log compaction: a real broker process cleaning a compacted topic is SIGKILLed at
 * random moments (while the worker writes `.cleaned` files, between swaps, idle), and — to hit the
 * microseconds the swap itself takes — at each step of UnifiedLog.replaceSegments through the
 * SLUICE_TEST_CRASH_AT_SWAP_STEP hook (the broker kills itself there). After every restart the
 * partition must read back, by Fetch from its log start to its high watermark, exactly the key →
 * value map of everything acknowledged, each record at the offset it was written at.
 *
 * CLEANER_CRASH_RUNS sets the number of kills (default 8: the six swap steps and two random ones;
 * the full variant is CLEANER_CRASH_RUNS=50, see the README). CLEANER_CRASH_SEED replays a run.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.js';
import {
  type KV,
  createTopic,
  fetchAll,
  offsetsIncrease,
  produce,
  toMap,
  withClient,
} from './compaction-helpers.js';

const RUNS = Number(process.env.CLEANER_CRASH_RUNS ?? 8);
const SEED = Number(process.env.CLEANER_CRASH_SEED ?? Date.now() % 1_000_000);
const SWAP_STEPS = 6;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('log cleaner crash safety (real broker, SIGKILL)', { timeout: RUNS * 90_000 + 120_000 }, () => {
  let broker: BrokerProcess | undefined;
  afterAll(async () => {
    await broker?.cleanup();
  });

  it(`keeps every acknowledged key's latest value through ${RUNS} kills during cleaning (seed ${SEED})`, async () => {
    const random = mulberry32(SEED);
    const topic = 'crash-compacted';
    broker = new BrokerProcess({
      overrides: {
        'log.cleaner.backoff.ms': '50',
        // Slow enough that a random kill often lands while a worker writes .cleaned files.
        'log.cleaner.io.max.bytes.per.second': '1500000',
        'num.partitions': '1',
      },
    });
    await broker.start();
    await createTopic(broker.port, topic, {
      'cleanup.policy': 'compact',
      'segment.bytes': '16384',
      'min.cleanable.dirty.ratio': '0.01',
      'delete.retention.ms': '3600000',
    });
    const written = new Map<bigint, KV>();
    const model = new Map<string, string>();
    const dir = join(broker.dataDir, `${topic}-0`);
    const observed = { midCleaning: 0, swapFilesSeen: 0, selfKilled: 0 };

    const verify = async (when: string): Promise<void> => {
      const { records } = await fetchAll(broker!.port, topic);
      expect(offsetsIncrease(records), `${when}: offsets increase`).toBe(true);
      for (const r of records) {
        const w = written.get(r.offset);
        expect(w, `${when}: record at ${r.offset} was written`).toBeDefined();
        expect({ key: r.key, value: r.value }, `${when}: record at ${r.offset}`).toEqual(w);
      }
      expect(toMap(records), `${when}: key -> value map`).toEqual(model);
    };

    // A batch in flight when the broker killed itself at a swap step: acknowledged or not, it may
    // be in the log. After the restart the high watermark says which (whole batch or nothing).
    let pending: { base: bigint; recs: KV[] } | null = null;
    const apply = (base: bigint, recs: KV[]): void => {
      recs.forEach((r, i) => {
        written.set(base + BigInt(i), r);
        if (r.value === null) model.delete(r.key);
        else model.set(r.key, r.value);
      });
    };
    const resolvePending = async (): Promise<void> => {
      if (!pending) return;
      const { highWatermark } = await fetchAll(broker!.port, topic);
      if (highWatermark === pending.base + BigInt(pending.recs.length)) apply(pending.base, pending.recs);
      else
        expect(highWatermark, 'an unacknowledged batch is in the log whole or not at all').toBe(pending.base);
      pending = null;
    };
    const exitOf = (ms: number): Promise<boolean> => {
      const child = broker!.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
      return Promise.race([
        new Promise<boolean>((resolve) => child.once('exit', () => resolve(true))),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms)),
      ]);
    };

    for (let run = 0; run < RUNS; run++) {
      const step = run < SWAP_STEPS ? run + 1 : 0;
      if (run > 0) {
        // Verify without the crash hook: with it, the cleaning of what the last run left dirty could
        // kill the broker in the middle of the check.
        broker.setEnv(undefined);
        await broker.start();
        await resolvePending();
        await verify(`after kill ${run}`);
      }
      if (step) {
        await broker.stop();
        broker.setEnv({ SLUICE_TEST_CRASH_AT_SWAP_STEP: String(step) });
        await broker.start();
      }
      // A burst of updates and deletes over 400 keys: ~17 segments of new dirty data.
      // With a crash hook armed the broker may kill itself during the burst: the burst ends there.
      let inFlight: KV[] | null = null;
      try {
        await withClient(broker.port, async (c) => {
          for (let b = 0; b < 60; b++) {
            const recs: KV[] = [];
            for (let i = 0; i < 20; i++) {
              const key = `key-${Math.floor(random() * 400)}`;
              const value = random() < 0.1 ? null : `run${run}-b${b}-i${i}-`.padEnd(180, 'x');
              recs.push({ key, value });
            }
            inFlight = recs;
            const base = await produce(c, topic, recs);
            inFlight = null;
            apply(base, recs);
          }
        });
      } catch (err) {
        if (!step || !(await exitOf(10_000))) throw err;
        if (inFlight) pending = { base: BigInt(written.size), recs: inFlight };
      }
      if (step) {
        // The broker kills itself at this step of its first swap.
        const exited = await exitOf(60_000);
        expect(exited, `the broker reached swap step ${step}`).toBe(true);
        observed.selfKilled++;
        await broker.kill(); // reap
      } else {
        await new Promise((r) => setTimeout(r, Math.floor(random() * 1500)));
        await broker.kill();
      }
      const files = readdirSync(dir);
      if (files.some((f) => f.endsWith('.cleaned') || f.endsWith('.swap'))) observed.midCleaning++;
      if (files.some((f) => f.endsWith('.swap'))) observed.swapFilesSeen++;
    }
    broker.setEnv(undefined);
    await broker.start();
    await resolvePending();
    await verify('after the last kill');
    // The log was really compacted along the way.
    const { records } = await fetchAll(broker.port, topic);
    expect(records.length).toBeLessThan(written.size);
    console.log(
      `cleaner crash test: ${RUNS} kills (seed ${SEED}), ${observed.selfKilled} at swap steps, ` +
        `${observed.midCleaning} left .cleaned/.swap files, ${observed.swapFilesSeen} left .swap files; ` +
        `${written.size} records written, ${records.length} remain, ${model.size} keys`,
    );
  });
});
