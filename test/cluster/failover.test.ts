/**
 * Durability under failures. Topic: 6 partitions, RF 3, min.insync.replicas 2. A librdkafka producer
 * (confluent-kafka-python, acks=all, idempotent, every message unique, every acknowledgement
 * recorded) writes continuously while the test, in turn:
 *   1. SIGKILLs the leader of a partition (not the controller), waits for the new leader and for
 *      acknowledgements to continue, restarts it, waits for full ISRs;
 *   2. SIGKILLs the active controller, likewise;
 *   3. SIGSTOPs a broker for longer than replica.lag.time.max.ms (shorter than the session timeout,
 *      so the leaders, not the controller, shrink the ISRs), resumes it, waits for the ISRs to expand;
 *   4. restarts etcd.
 * Afterwards a consumer reads every partition from the beginning: every acknowledged message is at
 * its acknowledged offset, offsets are dense, and no message appears twice (idempotent producer).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { checkDurability, consumeAll, ContinuousProducer } from './clients.js';

const TOPIC = 'chaos';
const LAG_MS = 2500;
const SESSION_MS = 5000;

describe('failover under load', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let producer: ContinuousProducer | null = null;

  beforeAll(async () => {
    cluster = await new TestCluster({
      overrides: {
        'broker.session.timeout.ms': String(SESSION_MS),
        'replica.lag.time.max.ms': String(LAG_MS),
      },
    }).start();
  }, 120_000);

  afterAll(async () => {
    producer?.kill();
    await cluster?.cleanup();
  }, 60_000);

  it('loses no acknowledged message through leader, controller, follower-pause and etcd faults', async () => {
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
    const figures: Record<string, number> = {};
    await progress('at start', 500);

    // 1. SIGKILL the leader of a partition that the controller does not lead.
    const controller1 = await cluster.controller();
    const states = await cluster.partitionStates(TOPIC);
    const [victimPartition, victimState] = [...states].find(([, s]) => s.leader !== controller1)!;
    const victim = victimState.leader;
    let t0 = Date.now();
    await cluster.broker(victim).kill();
    await cluster.waitFor('a new leader', async () => {
      const s = (await cluster.partitionStates(TOPIC)).get(victimPartition)!;
      return s.leader !== victim && s.leader >= 0 ? true : undefined;
    });
    figures.leaderFailoverMs = Date.now() - t0;
    await progress('after the leader was killed');
    await cluster.broker(victim).start();
    await cluster.waitFullyReplicated(TOPIC, 6, 3);

    // 2. SIGKILL the active controller.
    const controller2 = await cluster.controller();
    t0 = Date.now();
    await cluster.broker(controller2).kill();
    const controller3 = await cluster.waitFor('a new controller', async () => {
      const c = await cluster.controller();
      return c >= 0 && c !== controller2 ? c : undefined;
    });
    await cluster.waitFor('no partition led by the dead controller', async () => {
      const s = await cluster.partitionStates(TOPIC);
      return [...s.values()].every((st) => st.leader !== controller2 && st.leader >= 0) ? true : undefined;
    });
    figures.controllerFailoverMs = Date.now() - t0;
    await progress('after the controller was killed');
    await cluster.broker(controller2).start();
    await cluster.waitFullyReplicated(TOPIC, 6, 3);

    // 3. SIGSTOP a broker (not the controller) past replica.lag.time.max.ms, within the session timeout.
    const paused = [1, 2, 3].find((id) => id !== controller3)!;
    const shrinksBefore = await Promise.all(
      [1, 2, 3].map((id) => cluster.metric(id, 'sluice_isr_shrinks_total')),
    );
    cluster.pause(paused);
    t0 = Date.now();
    try {
      await cluster.waitFor(
        'the paused broker out of some ISR',
        async () => {
          const s = await cluster.partitionStates(TOPIC);
          return [...s.values()].some((st) => !st.isr.includes(paused)) ? true : undefined;
        },
        30_000,
        100,
      );
      figures.isrShrinkMs = Date.now() - t0;
      await new Promise((r) => setTimeout(r, Math.max(0, LAG_MS + 1500 - (Date.now() - t0))));
    } finally {
      cluster.resume(paused);
    }
    // A leader counts its shrink when the controller's answer reaches it, which can come after
    // the new ISR is visible in etcd: poll the counters for a while before judging.
    const before = shrinksBefore.filter((_, i) => i + 1 !== paused).reduce((a, b) => a + b, 0);
    const shrinkDeadline = Date.now() + 10_000;
    for (;;) {
      const after = await Promise.all(
        [1, 2, 3].filter((id) => id !== paused).map((id) => cluster.metric(id, 'sluice_isr_shrinks_total')),
      );
      figures.isrShrinksByLeaders = after.reduce((a, b) => a + b, 0) - before;
      if (figures.isrShrinksByLeaders > 0 || Date.now() > shrinkDeadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    t0 = Date.now();
    await cluster.waitFullyReplicated(TOPIC, 6, 3);
    figures.isrExpandMs = Date.now() - t0;
    await progress('after the paused broker resumed');

    // 4. Restart etcd.
    t0 = Date.now();
    await cluster.etcd.restart();
    await progress('after etcd restarted');
    figures.etcdRestartToProgressMs = Date.now() - t0;
    await cluster.waitFullyReplicated(TOPIC, 6, 3);
    // The metadata still works after the restart: an ISR change or leader move would be written.
    expect(await cluster.controller()).toBeGreaterThan(0);

    const result = await p.finish();
    producer = null;
    const consumed = await consumeAll(cluster.bootstrap, TOPIC);
    const check = checkDurability(result, consumed);
    figures.sent = result.sent;
    figures.acked = check.acked;
    figures.producerErrors = result.errors.size;
    figures.duplicates = check.duplicates;
    console.log('failover figures', JSON.stringify(figures));
    expect(result.unflushed).toBe(0);
    expect(check.problems).toEqual([]);
    expect(check.duplicates).toBe(0);
    expect(check.acked).toBeGreaterThan(2000);
    expect(figures.isrShrinksByLeaders).toBeGreaterThan(0);
  });
});
