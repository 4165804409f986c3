/**
 * A deposed controller cannot change metadata. The active controller is paused (SIGSTOP) past the
 * session timeout; its lease ends, another broker becomes controller and moves the paused broker's
 * leaderships. Then the old controller is resumed and, at once, asked over its own control plane to
 * shrink an ISR (a request that is valid in its stale view). It must refuse (its writes are fenced by
 * the controller key's create revision), etcd must not change, and it must step down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callUnary, controlPlaneChannel } from '../../src/controller/grpc/methods.js';
import { TestCluster } from '../helpers/cluster.js';

const TOPIC = 'fenced';

describe('controller fencing', { timeout: 180_000 }, () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await new TestCluster().start();
  }, 120_000);

  afterAll(async () => {
    await cluster?.cleanup();
  }, 60_000);

  it('a paused, deposed controller cannot change metadata after it resumes', async () => {
    const before = await cluster.createTopic(TOPIC, 6, 3);

    const old = await cluster.controller();
    // The old controller's control-plane address, from its registration.
    const reg = await fetch(`${cluster.etcd.endpoint}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: Buffer.from(`${cluster.root}/brokers/${old}`).toString('base64') }),
    }).then((r) => r.json() as Promise<{ kvs: { value: string }[] }>);
    const controlPort = (
      JSON.parse(Buffer.from(reg.kvs[0]!.value, 'base64').toString()) as { controlPort: number }
    ).controlPort;
    // A partition led by another broker: in the old controller's (stale) view, shrinking its ISR to
    // the leader alone is a valid request.
    const [partition, state] = [...before].find(([, s]) => s.leader !== old)!;

    cluster.pause(old);
    let resumed = false;
    try {
      const t0 = Date.now();
      const next = await cluster.waitFor(
        'another controller',
        async () => {
          const c = await cluster.controller();
          return c >= 0 && c !== old ? c : undefined;
        },
        30_000,
        100,
      );
      await cluster.waitFor(
        'the paused broker out of every ISR',
        async () => {
          const s = await cluster.partitionStates(TOPIC);
          return [...s.values()].every((st) => st.leader !== old && !st.isr.includes(old)) ? true : undefined;
        },
        30_000,
        100,
      );
      const electedMs = Date.now() - t0;
      const during = await cluster.partitionStates(TOPIC);

      const client = controlPlaneChannel(`127.0.0.1:${controlPort}`);
      try {
        cluster.resume(old);
        resumed = true;
        const res = await callUnary(
          client,
          'alterPartition',
          {
            brokerId: state.leader,
            topic: TOPIC,
            partition,
            leaderEpoch: state.leaderEpoch,
            partitionEpoch: state.partitionEpoch,
            newIsr: [state.leader],
          },
          Date.now() + 20_000,
        ).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
        expect(res instanceof Error ? 'error' : res.error).not.toBe('NONE');
      } finally {
        client.close();
      }

      // Nothing the old controller did reached etcd: the controller is the new one, and the states are
      // the new controller's (or later changes by it: the resumed broker rejoining ISRs).
      await cluster.waitFor(
        'the old controller to step down',
        () =>
          cluster.broker(old).logs.some((l) => l.includes('no longer the active controller'))
            ? true
            : undefined,
        30_000,
      );
      expect(await cluster.controller()).toBe(next);
      const after = await cluster.partitionStates(TOPIC);
      for (const [i, s] of after) {
        expect(s.partitionEpoch).toBeGreaterThanOrEqual(during.get(i)!.partitionEpoch);
        expect(s.leader).not.toBe(old);
      }
      expect(after.get(partition)!.isr.length).toBeGreaterThanOrEqual(2);
      await cluster.waitFullyReplicated(TOPIC, 6, 3);
      console.log('fencing figures', JSON.stringify({ oldController: old, newController: next, electedMs }));
    } finally {
      if (!resumed) cluster.resume(old);
    }
  });
});
