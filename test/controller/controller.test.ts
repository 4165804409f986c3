/**
 * The Controller in process, on the real embedded store (persisted to a temp file): leader election
 * when a broker dies (from the ISR only, unclean only when enabled, the last ISR member kept),
 * AlterPartition checked against the leader epoch and partition epoch, controlled shutdown,
 * preferred election, reassignment, and a controller that is not active refusing everything.
 *
 * The controller runs on node 9, which is in no replica set; brokers 1-3 only register. A broker
 * "dies" when its lease is revoked: its registration disappears from the store, as in etcd.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedMetadataStore } from '../../src/controller/embedded-store.js';
import { NotControllerError } from '../../src/controller/controller.js';
import type { PartitionState } from '../../src/controller/records.js';
import { TopicOperationError } from '../../src/controller/topic-frontend.js';
import { ControllerNode, storedState, waitActive, waitFor } from './harness.js';

const ROOT = '/sluice/test';
const DEFAULTS = { numPartitions: 1, replicationFactor: 1 };
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Cluster {
  store: EmbeddedMetadataStore;
  ctl: ControllerNode;
  brokers: Map<number, ControllerNode>;
  /** The broker dies (its lease ends). */
  kill(id: number): Promise<void>;
  /** The broker comes back (registers again). */
  restart(id: number): Promise<void>;
  state(topic: string, partition?: number): Promise<PartitionState>;
  /** Wait until the stored state of the partition satisfies `ok`. */
  waitState(topic: string, ok: (s: PartitionState) => boolean, partition?: number): Promise<PartitionState>;
}

async function startCluster(config: Record<string, string> = {}, brokerIds = [1, 2, 3]): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-controller-'));
  const store = new EmbeddedMetadataStore(join(dir, '__metadata.json'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => store.close());
  const ctl = await ControllerNode.start({ id: 9, store, root: ROOT, config });
  cleanups.push(() => ctl.close());
  await waitActive(ctl);
  const brokers = new Map<number, ControllerNode>();
  const startBroker = async (id: number) => {
    const n = await ControllerNode.start({ id, store, root: ROOT, controller: false });
    cleanups.push(() => n.close());
    brokers.set(id, n);
    await waitFor(`the controller to see broker ${id}`, () => (ctl.table.brokers.has(id) ? true : undefined));
  };
  for (const id of brokerIds) await startBroker(id);
  const state = async (topic: string, partition = 0) => (await storedState(store, ROOT, topic, partition))!;
  return {
    store,
    ctl,
    brokers,
    kill: async (id) => {
      await brokers.get(id)!.kill();
      await waitFor(`the controller to see broker ${id} gone`, () =>
        ctl.table.brokers.has(id) ? undefined : true,
      );
    },
    restart: startBroker,
    state,
    waitState: (topic, ok, partition = 0) =>
      waitFor(`a state of ${topic}-${partition}`, async () => {
        const s = await state(topic, partition);
        return ok(s) ? s : undefined;
      }),
  };
}

/** Create a topic with one partition per entry of `assignment`, through the active controller. */
async function createTopic(
  c: Cluster,
  name: string,
  assignment: number[][],
  configs: Record<string, string> = {},
) {
  await c.ctl.c.createTopic(
    { name, numPartitions: -1, replicationFactor: -1, assignment, configs },
    DEFAULTS,
    false,
  );
}

describe('Controller: leader election when a broker dies', () => {
  it('elects the new leader from the ISR only, in assignment order', async () => {
    const c = await startCluster();
    await createTopic(c, 't', [[1, 3, 2]]);
    expect(await c.state('t')).toEqual({ leader: 1, leaderEpoch: 0, isr: [1, 3, 2], partitionEpoch: 0 });
    // 3 falls out of the ISR (its leader says so).
    const shrink = await c.ctl.c.alterPartition({
      brokerId: 1,
      topic: 't',
      partition: 0,
      leaderEpoch: 0,
      partitionEpoch: 0,
      newIsr: [1, 2],
    });
    expect(shrink.error).toBe('NONE');

    await c.kill(1);
    // 3 comes before 2 in the assignment, but is not in the ISR: 2 leads.
    const s = await c.waitState('t', (st) => st.leader !== 1);
    expect(s).toEqual({ leader: 2, leaderEpoch: 1, isr: [2], partitionEpoch: 2 });
    expect(c.ctl.c.leaderElections).toBe(1);
    expect(c.ctl.c.uncleanElections).toBe(0);
  });

  it('keeps the last ISR member and leaves the partition offline rather than elect an out-of-sync replica', async () => {
    const c = await startCluster();
    await createTopic(c, 't', [[1, 2, 3]]);
    await c.ctl.c.alterPartition({
      brokerId: 1,
      topic: 't',
      partition: 0,
      leaderEpoch: 0,
      partitionEpoch: 0,
      newIsr: [1],
    });

    await c.kill(1);
    const offline = await c.waitState('t', (st) => st.leader !== 1);
    expect(offline).toEqual({ leader: -1, leaderEpoch: 1, isr: [1], partitionEpoch: 2 });
    expect(c.ctl.c.uncleanElections).toBe(0);
    expect(c.ctl.c.health()).toMatchObject({ partitions: 1, offline: 1, underReplicated: 1 });

    // The last ISR member returns: it holds every committed message, so it leads again.
    await c.restart(1);
    const back = await c.waitState('t', (st) => st.leader === 1);
    expect(back).toEqual({ leader: 1, leaderEpoch: 2, isr: [1], partitionEpoch: 3 });
    expect(c.ctl.c.health().offline).toBe(0);
  });

  it('elects an out-of-sync replica only when unclean.leader.election.enable is set', async () => {
    const c = await startCluster();
    await createTopic(c, 'clean', [[1, 2, 3]]);
    await createTopic(c, 'unclean', [[1, 2, 3]], { 'unclean.leader.election.enable': 'true' });
    for (const topic of ['clean', 'unclean'])
      await c.ctl.c.alterPartition({
        brokerId: 1,
        topic,
        partition: 0,
        leaderEpoch: 0,
        partitionEpoch: 0,
        newIsr: [1],
      });

    await c.kill(1);
    expect(await c.waitState('unclean', (st) => st.leader !== 1)).toEqual({
      leader: 2,
      leaderEpoch: 1,
      isr: [2], // an unclean leader starts a new history
      partitionEpoch: 2,
    });
    expect(await c.waitState('clean', (st) => st.leader !== 1)).toMatchObject({ leader: -1, isr: [1] });
    expect(c.ctl.c.uncleanElections).toBe(1);
  });

  it('takes the broker default for unclean election when the topic has none', async () => {
    const c = await startCluster({ 'unclean.leader.election.enable': 'true' });
    await createTopic(c, 't', [[1, 2, 3]]);
    await c.ctl.c.alterPartition({
      brokerId: 1,
      topic: 't',
      partition: 0,
      leaderEpoch: 0,
      partitionEpoch: 0,
      newIsr: [1],
    });
    await c.kill(1);
    expect(await c.waitState('t', (st) => st.leader !== 1)).toMatchObject({ leader: 2, isr: [2] });
  });

  it('moves only the partitions the dead broker led, and drops it from every ISR', async () => {
    const c = await startCluster();
    await createTopic(c, 't', [
      [1, 2],
      [2, 3],
      [3, 1],
    ]);
    await c.kill(1);
    await c.waitState('t', (st) => st.leader === 2, 0);
    expect(await c.state('t', 0)).toEqual({ leader: 2, leaderEpoch: 1, isr: [2], partitionEpoch: 1 });
    expect(await c.state('t', 1)).toEqual({ leader: 2, leaderEpoch: 0, isr: [2, 3], partitionEpoch: 0 });
    expect(await c.waitState('t', (st) => st.isr.length === 1, 2)).toEqual({
      leader: 3,
      leaderEpoch: 0,
      isr: [3],
      partitionEpoch: 1,
    });
  });
});

describe('Controller: AlterPartition', () => {
  it('applies an ISR change only against the current leader epoch and partition epoch', async () => {
    const c = await startCluster();
    await createTopic(c, 't', [[1, 2, 3]]);
    const base = { topic: 't', partition: 0, leaderEpoch: 0, partitionEpoch: 0 };
    const initial = { leader: 1, leaderEpoch: 0, isr: [1, 2, 3], partitionEpoch: 0 };

    const refused: [object, string][] = [
      [{ ...base, brokerId: 2, newIsr: [2, 3] }, 'NOT_LEADER_OR_FOLLOWER'],
      [{ ...base, brokerId: 1, leaderEpoch: 1, newIsr: [1, 2] }, 'FENCED_LEADER_EPOCH'],
      [{ ...base, brokerId: 1, partitionEpoch: 3, newIsr: [1, 2] }, 'INVALID_UPDATE_VERSION'],
      [{ ...base, brokerId: 1, newIsr: [2, 3] }, 'INELIGIBLE_REPLICA'],
      [{ ...base, brokerId: 1, newIsr: [1, 4] }, 'INELIGIBLE_REPLICA'],
      [{ ...base, partition: 5, brokerId: 1, newIsr: [1] }, 'UNKNOWN_TOPIC_OR_PARTITION'],
    ];
    for (const [req, error] of refused) {
      const r = await c.ctl.c.alterPartition(req as Parameters<typeof c.ctl.c.alterPartition>[0]);
      expect(r.error, JSON.stringify(req)).toBe(error);
      expect(await c.state('t')).toEqual(initial); // nothing written
    }

    const ok = await c.ctl.c.alterPartition({ ...base, brokerId: 1, newIsr: [1, 2] });
    expect(ok).toMatchObject({
      error: 'NONE',
      state: { leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 1 },
    });
    expect(await c.state('t')).toEqual({ leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 1 });

    // The same request again is stale now: its partition epoch has been used.
    const replay = await c.ctl.c.alterPartition({ ...base, brokerId: 1, newIsr: [1, 2] });
    expect(replay.error).toBe('INVALID_UPDATE_VERSION');
    expect(replay.state).toEqual({ leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 1 });

    // A dead broker cannot join the ISR.
    await c.kill(3);
    const dead = await c.ctl.c.alterPartition({ ...base, partitionEpoch: 1, brokerId: 1, newIsr: [1, 2, 3] });
    expect(dead.error).toBe('INELIGIBLE_REPLICA');
    expect((await c.state('t')).isr).toEqual([1, 2]);
  });

  it('refuses an ISR change from a leader of an older leader epoch after a failover', async () => {
    const c = await startCluster();
    await createTopic(c, 't', [[1, 2, 3]]);
    await c.kill(1);
    await c.waitState('t', (st) => st.leader === 2);
    // The new leader's view: epoch 1. An AlterPartition built on epoch 0 is fenced.
    const stale = await c.ctl.c.alterPartition({
      brokerId: 2,
      topic: 't',
      partition: 0,
      leaderEpoch: 0,
      partitionEpoch: 1,
      newIsr: [2],
    });
    expect(stale.error).toBe('FENCED_LEADER_EPOCH');
    const fresh = await c.ctl.c.alterPartition({
      brokerId: 2,
      topic: 't',
      partition: 0,
      leaderEpoch: 1,
      partitionEpoch: 1,
      newIsr: [2],
    });
    expect(fresh).toMatchObject({
      error: 'NONE',
      state: { leader: 2, leaderEpoch: 1, isr: [2], partitionEpoch: 2 },
    });
  });
});

describe('Controller: moving leaders on request', () => {
  it('controlled shutdown moves leaderships to another ISR member and reports those it cannot move', async () => {
    const c = await startCluster();
    await createTopic(c, 't', [
      [1, 2],
      [2, 1],
    ]);
    await createTopic(c, 'alone', [[1]]);
    const remaining = await c.ctl.c.controlledShutdown(1);
    expect(remaining).toEqual(['alone-0']);
    expect(await c.state('t', 0)).toEqual({ leader: 2, leaderEpoch: 1, isr: [2], partitionEpoch: 1 });
    expect(await c.state('t', 1)).toEqual({ leader: 2, leaderEpoch: 0, isr: [2], partitionEpoch: 1 });
    expect(await c.state('alone', 0)).toEqual({ leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch: 0 });
    // Restarting 1 would take `alone` offline.
    expect(c.ctl.c.safeToRestart(1)).toEqual({
      safe: false,
      reasons: ['alone-0: ISR [1] would fall below min.insync.replicas=1'],
    });
    expect(c.ctl.c.safeToRestart(2).safe).toBe(false);
    expect(c.ctl.c.safeToRestart(3)).toEqual({ safe: true, reasons: [] });
    expect(c.ctl.c.safeToRestart(7)).toEqual({ safe: false, reasons: ['broker 7 is not registered'] });
  });

  it('ElectLeaders: preferred election gives leadership back to the first replica', async () => {
    const c = await startCluster();
    await createTopic(c, 't', [[1, 2]]);
    await c.ctl.c.controlledShutdown(1);
    await c.ctl.c.alterPartition({
      brokerId: 2,
      topic: 't',
      partition: 0,
      leaderEpoch: 1,
      partitionEpoch: 1,
      newIsr: [1, 2],
    });
    const results = await c.ctl.c.electLeaders(0, null);
    expect(results).toEqual([{ topic: 't', partition: 0, error: 'NONE', message: '' }]);
    expect(await c.state('t')).toEqual({ leader: 1, leaderEpoch: 2, isr: [1, 2], partitionEpoch: 3 });
    const again = await c.ctl.c.electLeaders(0, [
      { topic: 't', partition: 0 },
      { topic: 'nope', partition: 0 },
    ]);
    expect(again.map((r) => r.error)).toEqual(['ELECTION_NOT_NEEDED', 'UNKNOWN_TOPIC_OR_PARTITION']);
  });

  it('reassignment: adds the new replicas, finishes when they join the ISR, then drops the old ones', async () => {
    const c = await startCluster();
    await createTopic(c, 't', [[1, 2]]);
    const started = await c.ctl.c.alterReassignments([{ topic: 't', partition: 0, replicas: [2, 3] }]);
    expect(started).toEqual([{ topic: 't', partition: 0, error: 'NONE', message: '' }]);
    expect(c.ctl.c.listReassignments(null)).toEqual([
      { topic: 't', partition: 0, replicas: [2, 3, 1], addingReplicas: [3], removingReplicas: [1] },
    ]);
    const during = await c.state('t');
    expect(during).toMatchObject({ leader: 1, isr: [2, 1], addingReplicas: [3], removingReplicas: [1] });
    // 3 caught up: the leader adds it to the ISR, and the reassignment completes.
    const r = await c.ctl.c.alterPartition({
      brokerId: 1,
      topic: 't',
      partition: 0,
      leaderEpoch: during.leaderEpoch,
      partitionEpoch: during.partitionEpoch,
      newIsr: [1, 2, 3],
    });
    expect(r.error).toBe('NONE');
    const done = await c.waitState('t', (st) => st.addingReplicas === undefined);
    expect(done).toMatchObject({ leader: 2, isr: [2, 3] });
    expect(c.ctl.table.topics.get('t')!.replicas).toEqual([[2, 3]]);
    expect(c.ctl.c.listReassignments(null)).toEqual([]);
  });
});

describe('Controller: only the active controller acts', () => {
  it('a second controller stays passive, refuses with NOT_CONTROLLER, and takes over when the first dies', async () => {
    const c = await startCluster();
    const standby = await ControllerNode.start({ id: 8, store: c.store, root: ROOT });
    cleanups.push(() => standby.close());
    await waitFor('the standby to see the controller', () =>
      standby.table.controller?.nodeId === 9 ? true : undefined,
    );
    expect(standby.c.isActive).toBe(false);
    await createTopic(c, 't', [[1, 2]]);

    const refusals = [
      standby.c.alterPartition({
        brokerId: 1,
        topic: 't',
        partition: 0,
        leaderEpoch: 0,
        partitionEpoch: 0,
        newIsr: [1],
      }),
      standby.c.createTopic({ name: 'x', numPartitions: 1, replicationFactor: 1 }, DEFAULTS, false),
      standby.c.deleteTopic('t'),
      standby.c.alterBrokerConfigs('default', {}, false),
      standby.c.controlledShutdown(1),
      standby.c.electLeaders(0, null),
    ];
    for (const p of refusals) {
      const err = await p.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NotControllerError);
      expect((err as NotControllerError).controllerId).toBe(9);
    }
    expect(() => standby.c.safeToRestart(1)).toThrow(NotControllerError);
    expect(c.ctl.table.topics.has('x')).toBe(false);

    const oldEpoch = c.ctl.c.epoch;
    await c.ctl.kill(); // the controller's broker dies: its key goes with its lease
    await waitActive(standby);
    expect(standby.c.epoch).toBeGreaterThan(oldEpoch);
    await standby.c.createTopic({ name: 'x', numPartitions: 1, replicationFactor: 1 }, DEFAULTS, false);
    expect(standby.table.topics.get('x')!.replicas).toHaveLength(1);
  });

  it('passes validation failures on with Kafka error names and messages', async () => {
    const c = await startCluster();
    await createTopic(c, 't', [[1]]);
    const failures: [Promise<unknown>, string, string][] = [
      [
        c.ctl.c.createTopic({ name: 't', numPartitions: 1, replicationFactor: 1 }, DEFAULTS, false),
        'TOPIC_ALREADY_EXISTS',
        "Topic 't' already exists.",
      ],
      [
        c.ctl.c.createTopic(
          { name: 'u', numPartitions: 1, replicationFactor: 1, configs: { 'cleanup.policy': 'shred' } },
          DEFAULTS,
          false,
        ),
        'INVALID_CONFIG',
        'Invalid value shred for configuration cleanup.policy: String must be one of: compact, delete',
      ],
      [c.ctl.c.deleteTopic('nope'), 'UNKNOWN_TOPIC_OR_PARTITION', "Topic 'nope' does not exist."],
      [
        c.ctl.c.alterBrokerConfigs(1, { 'broker.id': '5' }, false),
        'INVALID_CONFIG',
        'Cannot update these configs dynamically: [broker.id]',
      ],
    ];
    for (const [p, name, message] of failures) {
      const err = await p.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TopicOperationError);
      expect(err).toMatchObject({ errorName: name, message });
    }
    // The controller is still active: validation failures are not fencing.
    expect(c.ctl.c.isActive).toBe(true);
  });
});
