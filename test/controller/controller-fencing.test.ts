/**
 * A deposed controller cannot change metadata: each write it makes (CreateTopics, CreatePartitions,
 * DeleteTopics, AlterConfigs on a topic and on brokers, AlterUserScramCredentials, and its own
 * partition-state writes:
 * AlterPartition, reassignment) reaches etcd and is refused there, by the controller-epoch compare,
 * while the new controller's same write succeeds.
 *
 * Two controllers run in process on one real etcd. A is elected first. Its view is then frozen (its
 * watch deliveries are held back, as for a controller that is paused or slow to hear), the
 * controller key is deleted, and B wins the new election. A still believes it is the active
 * controller, so nothing but the store's compare stands between its write and etcd.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EtcdMetadataStore } from '../../src/controller/etcd-store.js';
import { NotControllerError } from '../../src/controller/controller.js';
import type { Controller } from '../../src/controller/controller.js';
import { EtcdProcess } from '../helpers/etcd.js';
import { ControllerNode, HeldWatchStore, snapshot, waitActive, waitFor } from './harness.js';

let etcd: EtcdProcess;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  etcd = await new EtcdProcess().start();
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
});
afterAll(async () => {
  await etcd?.stop();
});

/** The error `p` rejects with, 'resolved', or 'pending' when it has not settled within `ms`. */
async function settle(p: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<string>((r) => (timer = setTimeout(() => r('pending'), ms)));
  try {
    return await Promise.race([
      p.then(
        () => 'resolved',
        (err: unknown) => err,
      ),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const DEFAULTS = { numPartitions: 1, replicationFactor: 1 };

/** One admin write, as both controllers make it, and what it must have changed when it succeeds. */
const writes: {
  name: string;
  write: (c: Controller) => Promise<unknown>;
  applied: (keys: string[], root: string) => boolean;
}[] = [
  {
    name: 'CreateTopics',
    write: (c) => c.createTopic({ name: 'created', numPartitions: 2, replicationFactor: 2 }, DEFAULTS, false),
    applied: (keys, root) => keys.some((k) => k.startsWith(`${root}/topics/created@`)),
  },
  {
    name: 'CreatePartitions',
    write: (c) => c.createPartitions('base', 3, null, false),
    applied: (keys, root) => keys.some((k) => k.startsWith(`${root}/partitions/base/2@`)),
  },
  {
    name: 'DeleteTopics',
    write: (c) => c.deleteTopic('base'),
    applied: (keys, root) => !keys.some((k) => k.startsWith(`${root}/topics/base@`)),
  },
  {
    name: 'AlterConfigs (topic)',
    write: (c) => c.alterTopicConfigs('base', { 'retention.ms': '60000' }, false),
    applied: (keys, root) =>
      keys.some((k) => k.startsWith(`${root}/topics/base@`) && k.includes('"retention.ms":"60000"')),
  },
  {
    // Partition state, written by the controller itself (an ISR shrink its leader asked for).
    name: 'AlterPartition',
    write: async (c) => {
      const r = await c.alterPartition({
        brokerId: 1,
        topic: 'base',
        partition: 0,
        leaderEpoch: 0,
        partitionEpoch: 0,
        newIsr: [1],
      });
      if (r.error !== 'NONE') throw new Error(`AlterPartition answered ${r.error}`);
    },
    applied: (keys, root) =>
      keys.some((k) => k.startsWith(`${root}/partitions/base/0@`) && k.includes('"isr":[1]')),
  },
  {
    name: 'AlterPartitionReassignments',
    write: async (c) => {
      const [r] = await c.alterReassignments([{ topic: 'base', partition: 0, replicas: [2] }]);
      if (r!.error !== 'NONE') throw new Error(`AlterPartitionReassignments answered ${r!.error}`);
    },
    applied: (keys, root) =>
      keys.some((k) => k.startsWith(`${root}/topics/base@`) && k.includes('"replicas":[[2]]')),
  },
  {
    name: 'AlterConfigs (broker default)',
    write: (c) => c.alterBrokerConfigs('default', { 'log.retention.ms': '60000' }, false),
    applied: (keys, root) => keys.some((k) => k.startsWith(`${root}/configs/brokers/default@`)),
  },
  {
    name: 'AlterUserScramCredentials',
    write: (c) =>
      c.alterUserScramCredentials(
        [],
        [
          {
            name: 'alice',
            mechanism: 2, // SCRAM-SHA-512
            iterations: 4096,
            salt: Buffer.alloc(16, 1),
            saltedPassword: Buffer.alloc(64, 2),
          },
        ],
      ),
    applied: (keys) => keys.some((k) => k.includes('SCRAM-SHA-512/alice@')),
  },
];

describe('a deposed controller', () => {
  it.each(writes)('is refused by etcd on $name; the new controller is not', async ({ write, applied }) => {
    const root = `/fencing-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    const storeA = new HeldWatchStore(new EtcdMetadataStore([etcd.endpoint]));
    const storeB = new EtcdMetadataStore([etcd.endpoint]);
    closers.push(
      () => storeA.close(),
      () => storeB.close(),
    );

    const a = await ControllerNode.start({ id: 1, store: storeA, root });
    closers.push(() => a.close());
    await waitActive(a);
    const b = await ControllerNode.start({ id: 2, store: storeB, root });
    closers.push(() => b.close());
    await waitFor('A to see B registered', () => (a.table.brokers.has(2) ? true : undefined));
    expect(b.c.isActive).toBe(false);
    const epochA = a.c.epoch;

    // The topic the writes act on, created while A is the controller (so A's frontend works).
    await a.c.createTopic(
      { name: 'base', numPartitions: -1, replicationFactor: -1, assignment: [[1, 2]] },
      DEFAULTS,
      false,
    );
    await waitFor('B to see the topic', () => (b.table.topics.has('base') ? true : undefined));

    // A's view freezes; the controller key goes; B is elected with a new epoch.
    storeA.hold();
    await storeB.txn([], [{ type: 'delete', key: `${root}/controller` }]);
    await waitActive(b);
    expect(b.c.epoch).toBeGreaterThan(epochA);
    expect(a.c.isActive).toBe(true); // A has not heard: only the store can stop it now
    expect(a.c.epoch).toBe(epochA);

    const before = await snapshot(storeB, root);
    // How A's write ends (a write etcd accepted would wait for A's frozen view: 'pending').
    const outcome = await settle(write(a.c), 5000);
    expect(await snapshot(storeB, root)).toEqual(before); // etcd refused it: nothing changed
    expect(outcome).toBeInstanceOf(NotControllerError);
    expect(a.c.isActive).toBe(false); // fenced: it stepped down at once

    await write(b.c);
    const after = await snapshot(storeB, root);
    expect(applied(before, root)).toBe(false);
    expect(applied(after, root)).toBe(true);

    storeA.release();
    // A's view catches up: B is the controller.
    await waitFor('A to see B as controller', () => (a.table.controller?.nodeId === 2 ? true : undefined));
    expect(a.c.isActive).toBe(false);
  });
});
