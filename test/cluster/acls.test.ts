/**
 * ACLs in cluster mode (etcd): CreateAcls sent to a broker that is not the controller is forwarded
 * to the active controller, written once under `<root>/acls/` in etcd, and every broker enforces it
 * within a bounded delay (its AclTable's watch); DeleteAcls through another broker takes it away
 * everywhere again. Principals authenticate with SASL PLAIN on a SASL_PLAINTEXT listener; the
 * PLAINTEXT inter-broker listener's principal (User:ANONYMOUS) is a super user, as Kafka users
 * configure their brokers' own principal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeys } from '../../src/protocol/messages/index.js';
import { buildRecordBatch } from '../../src/protocol/records/build.js';
import { errorName } from '../../src/protocol/error-codes.js';
import { TestCluster } from '../helpers/cluster.js';
import type { RawClient } from '../helpers/raw-client.js';
import { connectAs, plainJaas } from '../security/sasl-raw.js';

/** How long a broker may take to enforce an ACL written through another broker. */
const ENFORCE_WITHIN_MS = 10_000;

const produce = (c: RawClient, topic: string) =>
  c
    .request(ApiKeys.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        { name: topic, partitionData: [{ index: 0, records: buildRecordBatch([{ value: 'v' }]) }] },
      ],
    })
    .then((r) => errorName(r.responses[0]!.partitionResponses[0]!.errorCode));

/** Metadata for one topic: TOPIC_AUTHORIZATION_FAILED until the principal may DESCRIBE it (WRITE implies it). */
const describe1 = (c: RawClient, topic: string) =>
  c
    .request(ApiKeys.Metadata, 12, {
      topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: topic }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    })
    .then((r) => ({
      error: errorName(r.topics[0]!.errorCode),
      leader: r.topics[0]!.partitions[0]?.leaderId ?? -1,
    }));

async function within<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('ACLs across a cluster', { timeout: 180_000 }, () => {
  let cluster: TestCluster;
  const open: RawClient[] = [];

  beforeAll(async () => {
    cluster = await new TestCluster({
      brokers: 2,
      overrides: {
        'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
        'super.users': 'User:admin;User:ANONYMOUS',
        'listener.name.sasl_plaintext.plain.sasl.jaas.config': plainJaas(['admin', 'alice']),
        'sasl.enabled.mechanisms': 'PLAIN',
        'offsets.topic.replication.factor': '2',
      },
      listeners: () => ({
        listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
        'inter.broker.listener.name': 'PLAINTEXT',
      }),
    }).start();
  }, 120_000);

  afterAll(async () => {
    for (const c of open) c.close();
    await cluster?.cleanup();
  }, 60_000);

  it('an ACL created through broker A is enforced by broker B, and its deletion through B by A', async () => {
    const controller = await cluster.waitFor(
      'a controller',
      async () => {
        const c = await cluster.controller();
        return c > 0 ? c : undefined;
      },
      30_000,
    );
    const a = controller === 1 ? 2 : 1; // not the controller: its writes are forwarded
    const b = controller;
    const sasl = (id: number) => cluster.broker(id).listenerPorts.SASL_PLAINTEXT!;
    const connect = async (id: number, user: string) => {
      const c = await connectAs(sasl(id), user);
      open.push(c);
      return c;
    };
    const adminA = await connect(a, 'admin');
    const created = await adminA.request(ApiKeys.CreateTopics, 7, {
      topics: [{ name: 'acl-cluster', numPartitions: 1, replicationFactor: 2, assignments: [], configs: [] }],
      timeoutMs: 30_000,
    });
    expect(errorName(created.topics[0]!.errorCode)).toBe('NONE');
    const aliceA = await connect(a, 'alice');
    const aliceB = await connect(b, 'alice');
    const leader = await within('a leader', 10_000, async () => {
      const l = (await describe1(adminA, 'acl-cluster')).leader;
      return l > 0 ? l : undefined;
    });
    const aliceLeader = leader === a ? aliceA : aliceB;
    expect((await describe1(aliceA, 'acl-cluster')).error).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect((await describe1(aliceB, 'acl-cluster')).error).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await produce(aliceLeader, 'acl-cluster')).toBe('TOPIC_AUTHORIZATION_FAILED');

    const t0 = Date.now();
    const ca = await adminA.request(ApiKeys.CreateAcls, 3, {
      creations: [
        {
          resourceType: 2,
          resourceName: 'acl-',
          resourcePatternType: 4,
          principal: 'User:alice',
          host: '*',
          operation: 4,
          permissionType: 3,
        },
      ],
    });
    expect(errorName(ca.results[0]!.errorCode), ca.results[0]!.errorMessage ?? '').toBe('NONE');
    // Broker A answers once it enforces the ACL itself (read-your-writes).
    expect((await describe1(aliceA, 'acl-cluster')).error).toBe('NONE');
    await within('broker B enforcing the new ACL', ENFORCE_WITHIN_MS, async () =>
      (await describe1(aliceB, 'acl-cluster')).error === 'NONE' ? true : undefined,
    );
    console.log(`ACL enforced by broker ${b} ${Date.now() - t0} ms after CreateAcls on broker ${a}`);
    expect(await produce(aliceLeader, 'acl-cluster')).toBe('NONE');

    // One key in etcd, under the cluster's root, with Kafka's enum names.
    const stored = await fetch(`${cluster.etcd.endpoint}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({
        key: Buffer.from(`${cluster.root}/acls/`).toString('base64'),
        range_end: Buffer.from(`${cluster.root}/acls0`).toString('base64'),
      }),
    }).then((r) => r.json() as Promise<{ kvs?: { value: string }[] }>);
    const docs = (stored.kvs ?? []).map(
      (kv) => JSON.parse(Buffer.from(kv.value, 'base64').toString()) as unknown,
    );
    expect(docs).toEqual([
      {
        resourceType: 'TOPIC',
        resourceName: 'acl-',
        patternType: 'PREFIXED',
        principal: 'User:alice',
        host: '*',
        operation: 'WRITE',
        permissionType: 'ALLOW',
      },
    ]);

    // Both brokers describe the same set.
    for (const id of [a, b]) {
      const adm = await connect(id, 'admin');
      const d = await adm.request(ApiKeys.DescribeAcls, 3, {
        resourceTypeFilter: 1,
        resourceNameFilter: null,
        patternTypeFilter: 1,
        principalFilter: null,
        hostFilter: null,
        operation: 1,
        permissionType: 1,
      });
      expect(d.resources.map((r) => [r.resourceName, r.patternType, r.acls.length])).toEqual([
        ['acl-', 4, 1],
      ]);
    }

    // Deleted through broker B (the controller this time): broker A stops allowing.
    const adminB = await connect(b, 'admin');
    const del = await adminB.request(ApiKeys.DeleteAcls, 3, {
      filters: [
        {
          resourceTypeFilter: 2,
          resourceNameFilter: 'acl-',
          patternTypeFilter: 4,
          principalFilter: 'User:alice',
          hostFilter: null,
          operation: 1,
          permissionType: 1,
        },
      ],
    });
    expect(del.filterResults[0]!.matchingAcls.map((m) => [m.resourceName, m.operation])).toEqual([
      ['acl-', 4],
    ]);
    expect((await describe1(aliceB, 'acl-cluster')).error).toBe('TOPIC_AUTHORIZATION_FAILED');
    await within('broker A enforcing the deletion', ENFORCE_WITHIN_MS, async () =>
      (await describe1(aliceA, 'acl-cluster')).error === 'TOPIC_AUTHORIZATION_FAILED' ? true : undefined,
    );
    expect(await produce(aliceLeader, 'acl-cluster')).toBe('TOPIC_AUTHORIZATION_FAILED');
  });
});
