/**
 * Controlled shutdown and rolling restarts under load (RF 3, min.insync.replicas 2):
 *  - SIGTERM on a broker: before it exits, the controller has moved every leadership it held to
 *    another in-sync replica (the partition states in etcd say so while the process is still
 *    shutting down); the producer (librdkafka, acks=all, idempotent) reports no failed message;
 *  - a rolling restart of all three brokers (SIGTERM, start, wait for full ISRs) loses nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { checkDurability, consumeAll, ContinuousProducer } from './clients.js';

const TOPIC = 'rolling';

describe('controlled shutdown', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let producer: ContinuousProducer | null = null;

  beforeAll(async () => {
    cluster = await new TestCluster().start();
  }, 120_000);

  afterAll(async () => {
    producer?.kill();
    await cluster?.cleanup();
  }, 60_000);

  it('moves leaderships away before exiting, and a rolling restart under load loses nothing', async () => {
    await cluster.createTopic(TOPIC, 6, 3, { 'min.insync.replicas': '2' });

    producer = new ContinuousProducer(cluster.bootstrap, TOPIC, { idempotent: true });
    const p = producer;
    const progress = async (what: string, more = 300) => {
      const from = p.ackedCount();
      await cluster.waitFor(
        `${more} more acknowledgements ${what}`,
        () => (p.ackedCount() >= from + more ? true : undefined),
        90_000,
      );
    };
    await progress('at start', 500);

    const restartTimes: number[] = [];
    for (const id of [1, 2, 3]) {
      const before = await cluster.partitionStates(TOPIC);
      const led = [...before].filter(([, s]) => s.leader === id).map(([i]) => i);
      const b = cluster.broker(id);
      // Watch etcd while the broker shuts down: its leaderships must move while it is still alive.
      let movedWhileAlive = led.length === 0;
      const t0 = Date.now();
      const stopping = b.stop();
      const watching = (async () => {
        while (b.alive && !movedWhileAlive) {
          const s = await cluster.partitionStates(TOPIC).catch(() => null);
          if (s && b.alive && led.every((i) => s.get(i)!.leader !== id && s.get(i)!.leader >= 0))
            movedWhileAlive = true;
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const code = await stopping;
      await watching;
      expect(code).toBe(0);
      expect(b.logs.some((l) => l.includes('controlled shutdown complete'))).toBe(true);
      expect(movedWhileAlive).toBe(true);
      await progress(`with broker ${id} down`, 200);
      await b.start();
      await cluster.waitFullyReplicated(TOPIC, 6, 3);
      restartTimes.push(Date.now() - t0);
      await progress(`after broker ${id} restarted`, 200);
    }

    const result = await p.finish();
    producer = null;
    const consumed = await consumeAll(cluster.bootstrap, TOPIC);
    const check = checkDurability(result, consumed);
    console.log(
      'rolling restart figures',
      JSON.stringify({
        restartTimesMs: restartTimes,
        sent: result.sent,
        acked: check.acked,
        errors: result.errors.size,
        duplicates: check.duplicates,
      }),
    );
    expect(result.errors.size).toBe(0);
    expect(result.unflushed).toBe(0);
    expect(check.problems).toEqual([]);
    expect(check.duplicates).toBe(0);
  });
});
