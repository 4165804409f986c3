/**
 * Restart decisions against real brokers (a 3-broker Sluice cluster on loopback, node ids 0..2):
 * the controller's SafeToRestart refuses a restart that would take a partition below
 * min.insync.replicas and allows a safe one; the Roller drains and "deletes" only a safe broker,
 * the controller last, never while partitions are under-replicated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withAdmin } from '../../src/operator/kafka/admin-client.js';
import { RestartGate } from '../../src/operator/restart-gate.js';
import { Roller, type BrokerPod } from '../../src/operator/roller.js';
import { waitFor } from '../helpers/kube-apiserver.js';
import { LocalSluiceCluster } from './local-cluster.js';

describe('restart gate against real brokers', () => {
  const kafka = new LocalSluiceCluster(3);
  let gate: RestartGate;

  beforeAll(async () => {
    await kafka.start();
    gate = new RestartGate(() => kafka.endpoints.control({} as never));
    await waitFor(async () => (await gate.health()).controllerId >= 0, 30_000, 'an active controller');
  }, 120_000);
  afterAll(async () => {
    gate?.close();
    await kafka.stop();
  });

  const pods = (revision: string): BrokerPod[] =>
    [0, 1, 2].map((id) => ({
      id,
      name: `c-broker-${id}`,
      ready: true,
      terminating: false,
      revision,
      manualRestart: false,
      stuck: null,
    }));

  it('finds the controller from any broker and reports health', async () => {
    const h = await gate.health();
    expect([0, 1, 2]).toContain(h.controllerId);
    expect(h.offlinePartitions).toBe(0);
  });

  it('allows a restart when every partition keeps min.insync.replicas', async () => {
    await withAdmin(kafka.bootstrap, (a) => a.createTopic('safe', 3, 3, { 'min.insync.replicas': '2' }));
    await waitFor(
      async () => (await gate.health()).underReplicatedPartitions === 0,
      20_000,
      'no under-replicated partitions',
    );
    for (const id of [0, 1, 2])
      expect(await gate.safeToRestart(id)).toMatchObject({ safe: true, reasons: [] });
  });

  it('refuses a restart that would break min.insync.replicas, and the roller does not delete the pod', async () => {
    // Replication factor 2 with min.insync.replicas 2: losing either replica stops acks=all.
    await withAdmin(kafka.bootstrap, (a) => a.createTopic('fragile', 1, 2, { 'min.insync.replicas': '2' }));
    const replicas = await withAdmin(kafka.bootstrap, async (a) => {
      await waitFor(async () => (await a.describeTopic('fragile')) !== null, 10_000, 'fragile visible');
      const r = await a.request(3, 12, {
        topics: [{ name: 'fragile', topicId: '00000000-0000-0000-0000-000000000000' }],
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      });
      return r.topics[0]!.partitions[0]!.replicaNodes;
    });
    expect(replicas).toHaveLength(2);
    for (const id of replicas) {
      const v = await gate.safeToRestart(id);
      expect(v.safe).toBe(false);
      expect(v.reasons.join('\n')).toMatch(/fragile-0: ISR \[.*\] would fall below min.insync.replicas=2/);
    }
    const outsider = [0, 1, 2].find((id) => !replicas.includes(id))!;

    // The roller asks first and deletes nothing when the gate says no.
    const deleted: string[] = [];
    const roller = new Roller(gate, async (name) => {
      deleted.push(name);
    });
    const controller = (await gate.health()).controllerId;
    const onlyFragile = pods('new').map((p) => ({
      ...p,
      revision: replicas.includes(p.id) && p.id !== controller ? 'old' : 'new',
    }));
    expect(onlyFragile.some((p) => p.revision === 'old')).toBe(true);
    const step = await roller.step(onlyFragile, 3, 'new');
    expect(step).toMatchObject({ kind: 'blocked' });
    expect(deleted).toEqual([]);
    // A broker holding no fragile replica is still safe.
    expect((await gate.safeToRestart(outsider)).safe).toBe(true);
    await withAdmin(kafka.bootstrap, (a) => a.deleteTopic('fragile'));
    await waitFor(
      async () => (await gate.safeToRestart(replicas[0]!)).safe,
      20_000,
      'fragile gone, restart safe again',
    );
  });

  it('a safe roll drains and restarts one broker at a time, controller last', async () => {
    const controller = (await gate.health()).controllerId;
    const restarted: number[] = [];
    const revisions = new Map([0, 1, 2].map((id) => [id, 'old']));
    // The gate as the roller sees it, checking the moment it asks: every broker up and no
    // under-replicated partition (the drain that follows shrinks the ISRs on purpose).
    const violations: string[] = [];
    const watched = {
      health: () => gate.health(),
      drain: (id: number) => gate.drain(id),
      safeToRestart: async (id: number) => {
        if (!kafka.brokers.every((b) => b.alive))
          violations.push(`asked about ${id} while a broker was down`);
        const h = await gate.health();
        if (h.underReplicatedPartitions > 0)
          violations.push(`asked about ${id} with ${h.underReplicatedPartitions} under-replicated`);
        return gate.safeToRestart(id);
      },
    } as unknown as RestartGate;
    const roller = new Roller(watched, async (name) => {
      // What the kubelet would do after the pod's deletion: stop the broker (controlled shutdown),
      // start it again with the new revision.
      const id = Number(name.split('-').pop());
      restarted.push(id);
      const b = kafka.brokers[id]!;
      await b.stop();
      await b.start();
      revisions.set(id, 'new');
    });
    const current = (): BrokerPod[] =>
      [0, 1, 2].map((id) => ({
        id,
        name: `c-broker-${id}`,
        ready: kafka.brokers[id]!.alive,
        terminating: false,
        revision: revisions.get(id),
        manualRestart: false,
        stuck: null,
      }));
    const deadline = Date.now() + 150_000;
    const waits: string[] = [];
    while (restarted.length < 3 && Date.now() < deadline) {
      const step = await roller.step(current(), 3, 'new');
      if (step.kind === 'wait') waits.push(step.reason);
      if (step.kind === 'blocked') throw new Error(`roll blocked: ${step.reasons.join('; ')}`);
      if (step.kind !== 'restarted') await new Promise((r) => setTimeout(r, 500));
    }
    expect(violations).toEqual([]);
    expect(restarted).toHaveLength(3);
    expect(restarted[2]).toBe(controller);
    expect(new Set(restarted).size).toBe(3);
    // Between restarts it waited (for Ready brokers and full ISRs) rather than restarting blindly.
    expect(waits.length).toBeGreaterThan(0);
    expect((await roller.step(current(), 3, 'new')).kind).toBe('idle');
  }, 200_000);
});
