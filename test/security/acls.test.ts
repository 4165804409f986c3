/**
 * ACLs on a real `sluice broker` with `authorizer.class.name` set to Kafka's StandardAuthorizer:
 *
 *  - Kafka 4.4.0's own `kafka-acls.sh` (org.apache.kafka.tools.AclCommand) adds, lists and removes
 *    LITERAL and PREFIXED ACLs over a SASL_PLAINTEXT listener as the super user `admin`;
 *  - an authorization matrix over the wire (SASL PLAIN as alice, bob or carol, then Kafka requests
 *    with exact versions): per API the principal without the ACL gets Kafka's error, with it the
 *    request succeeds; DENY beats ALLOW; PREFIXED patterns; `User:*`; implied DESCRIBE; super users;
 *    Metadata hides what the principal may not DESCRIBE; KIP-430 operations from the real ACLs;
 *  - a denied produce with a real client (kcat / librdkafka) fails with the topic authorization error;
 *  - denials are logged (without passwords) and counted in Prometheus;
 *  - `allow.everyone.if.no.acl.found=true` on a second broker.
 *
 * The broker's own inter-broker listener is PLAINTEXT, whose principal is User:ANONYMOUS: as Kafka
 * users do, it is a super user so the broker's internal requests (transaction markers) pass.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKafkaTool } from '../helpers/kafka-tools.js';
import { RawClient } from '../helpers/raw-client.js';
import { ApiKeys } from '../../src/protocol/messages/index.js';
import { buildRecordBatch } from '../../src/protocol/records/build.js';
import { ErrorCode, errorName } from '../../src/protocol/error-codes.js';
import { kcat } from './client-programs.js';
import { scrapeMetric } from './metrics.js';
import { startSecureBroker, type SecureBroker } from './secure-broker.js';
import { connectAs, plainJaas } from './sasl-raw.js';

const USERS = ['admin', 'alice', 'bob', 'carol'];
const JAAS = plainJaas(USERS);

const authorizerOverrides = (extra: Record<string, string> = {}): Record<string, string> => ({
  'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
  'super.users': 'User:admin;User:ANONYMOUS',
  'listener.name.sasl_plaintext.plain.sasl.jaas.config': JAAS,
  'listener.name.sasl_ssl.plain.sasl.jaas.config': JAAS,
  'auto.create.topics.enable': 'true',
  ...extra,
});

/** Kafka's codes (ResourceType, PatternType, AclOperation, AclPermissionType). */
const RT = { TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5 } as const;
const PT = { LITERAL: 3, PREFIXED: 4 } as const;
const OP = {
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  IDEMPOTENT_WRITE: 12,
} as const;
const ALLOW = 3;
const DENY = 2;

interface Acl {
  resourceType: number;
  resourceName: string;
  patternType?: number;
  principal: string;
  host?: string;
  operation: number;
  permissionType?: number;
}

const creation = (a: Acl) => ({
  resourceType: a.resourceType,
  resourceName: a.resourceName,
  resourcePatternType: a.patternType ?? PT.LITERAL,
  principal: a.principal,
  host: a.host ?? '*',
  operation: a.operation,
  permissionType: a.permissionType ?? ALLOW,
});

let sb: SecureBroker;
let admin: RawClient;
const clients: RawClient[] = [];

async function as(user: string): Promise<RawClient> {
  const c = await connectAs(sb.port('SASL_PLAINTEXT'), user);
  clients.push(c);
  return c;
}

async function addAcls(...acls: Acl[]): Promise<void> {
  const r = await admin.request(ApiKeys.CreateAcls, 3, { creations: acls.map(creation) });
  for (const x of r.results) expect(errorName(x.errorCode), x.errorMessage ?? '').toBe('NONE');
}

async function createTopic(name: string): Promise<void> {
  const r = await admin.request(ApiKeys.CreateTopics, 7, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
  });
  expect(errorName(r.topics[0]!.errorCode)).toBe('NONE');
}

const produce = (c: RawClient, topic: string, transactionalId: string | null = null) =>
  c
    .request(ApiKeys.Produce, 9, {
      transactionalId,
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        { name: topic, partitionData: [{ index: 0, records: buildRecordBatch([{ key: 'k', value: 'v' }]) }] },
      ],
    })
    .then((r) => errorName(r.responses[0]!.partitionResponses[0]!.errorCode));

const fetchErr = (c: RawClient, topic: string) =>
  c
    .request(ApiKeys.Fetch, 12, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic,
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: 0n,
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: 1 << 20,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    })
    .then((r) => errorName(r.responses[0]!.partitions[0]!.errorCode));

const metadata = (c: RawClient, topics: string[] | null, includeOps = false) =>
  c.request(ApiKeys.Metadata, 12, {
    topics: topics?.map((name) => ({ topicId: '00000000-0000-0000-0000-000000000000', name })) ?? null,
    allowAutoTopicCreation: true,
    includeTopicAuthorizedOperations: includeOps,
  });

beforeAll(async () => {
  sb = await startSecureBroker({ overrides: authorizerOverrides() });
  admin = await connectAs(sb.port('SASL_PLAINTEXT'), 'admin');
  for (const t of ['orders', 'secret', 'pfx-a', 'wild', 'tool-topic']) await createTopic(t);
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.close();
  admin?.close();
  const logs = sb?.broker.logs.join('\n') ?? '';
  await sb?.cleanup();
  // Audit lines name principals, never passwords.
  for (const u of USERS) expect(logs).not.toContain(`${u}-secret`);
});

describe("Kafka 4.4.0's kafka-acls.sh against Sluice", () => {
  it('adds, lists and removes LITERAL and PREFIXED ACLs as the super user', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-acls-'));
    try {
      const props = join(dir, 'admin.properties');
      writeFileSync(
        props,
        [
          'security.protocol=SASL_PLAINTEXT',
          'sasl.mechanism=PLAIN',
          'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret";',
        ].join('\n'),
      );
      const acls = (args: string[]) =>
        runKafkaTool('kafka-acls', [
          '--bootstrap-server',
          sb.bootstrap('SASL_PLAINTEXT'),
          '--command-config',
          props,
          ...args,
        ]);
      const add = await acls([
        '--add',
        '--allow-principal',
        'User:carol',
        '--operation',
        'Read',
        '--operation',
        'Describe',
        '--topic',
        'tool-topic',
        '--group',
        'tool-group',
      ]);
      expect(add.code, add.stdout + add.stderr).toBe(0);
      expect(add.stdout).toContain(
        'Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name=tool-topic, patternType=LITERAL)`',
      );
      const addPrefixed = await acls([
        '--add',
        '--allow-principal',
        'User:carol',
        '--operation',
        'Write',
        '--topic',
        'tool-',
        '--resource-pattern-type',
        'prefixed',
      ]);
      expect(addPrefixed.code, addPrefixed.stdout + addPrefixed.stderr).toBe(0);

      const list = await acls(['--list', '--topic', 'tool-topic']);
      expect(list.code, list.stdout + list.stderr).toBe(0);
      expect(list.stdout).toContain(
        'Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=tool-topic, patternType=LITERAL)`',
      );
      expect(list.stdout).toContain('(principal=User:carol, host=*, operation=READ, permissionType=ALLOW)');
      expect(list.stdout).toContain(
        '(principal=User:carol, host=*, operation=DESCRIBE, permissionType=ALLOW)',
      );
      const listPrefixed = await acls(['--list', '--topic', 'tool-', '--resource-pattern-type', 'prefixed']);
      expect(listPrefixed.stdout).toContain(
        'ResourcePattern(resourceType=TOPIC, name=tool-, patternType=PREFIXED)',
      );
      expect(listPrefixed.stdout).toContain(
        '(principal=User:carol, host=*, operation=WRITE, permissionType=ALLOW)',
      );
      // `--resource-pattern-type match` finds every ACL that applies to a name.
      const listMatch = await acls(['--list', '--topic', 'tool-topic', '--resource-pattern-type', 'match']);
      expect(listMatch.stdout).toContain('name=tool-, patternType=PREFIXED');
      expect(listMatch.stdout).toContain('name=tool-topic, patternType=LITERAL');

      // The ACLs are in force: carol may write tool-topic (prefixed) and read it (literal).
      const carol = await as('carol');
      expect(await produce(carol, 'tool-topic')).toBe('NONE');
      expect(await fetchErr(carol, 'tool-topic')).toBe('NONE');

      const remove = await acls([
        '--remove',
        '--force',
        '--allow-principal',
        'User:carol',
        '--operation',
        'Write',
        '--topic',
        'tool-',
        '--resource-pattern-type',
        'prefixed',
      ]);
      expect(remove.code, remove.stdout + remove.stderr).toBe(0);
      const after = await acls(['--list', '--topic', 'tool-', '--resource-pattern-type', 'prefixed']);
      expect(after.stdout).not.toContain('operation=WRITE');
      expect(await produce(carol, 'tool-topic')).toBe('TOPIC_AUTHORIZATION_FAILED');

      // A principal that is not a super user may not use the tool (CLUSTER ALTER / DESCRIBE).
      const bobProps = join(dir, 'bob.properties');
      writeFileSync(
        bobProps,
        [
          'security.protocol=SASL_PLAINTEXT',
          'sasl.mechanism=PLAIN',
          'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="bob" password="bob-secret";',
        ].join('\n'),
      );
      const denied = await runKafkaTool('kafka-acls', [
        '--bootstrap-server',
        sb.bootstrap('SASL_PLAINTEXT'),
        '--command-config',
        bobProps,
        '--list',
      ]);
      expect(denied.stdout + denied.stderr).toContain('ClusterAuthorizationException');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('authorization matrix', () => {
  it('Metadata hides topics the principal may not DESCRIBE; READ implies DESCRIBE; KIP-430 operations', async () => {
    const bob = await as('bob');
    const all = await metadata(bob, null);
    expect(all.topics.map((t) => t.name)).toEqual([]);
    const named = await metadata(bob, ['secret']);
    expect(errorName(named.topics[0]!.errorCode)).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(named.topics[0]!.partitions).toEqual([]);
    // Auto-creation needs CREATE, and DESCRIBE first.
    await addAcls({
      resourceType: RT.TOPIC,
      resourceName: 'auto-',
      patternType: PT.PREFIXED,
      principal: 'User:bob',
      operation: OP.DESCRIBE,
    });
    const auto = await metadata(bob, ['auto-x']);
    expect(errorName(auto.topics[0]!.errorCode)).toBe('TOPIC_AUTHORIZATION_FAILED');
    await addAcls({
      resourceType: RT.TOPIC,
      resourceName: 'auto-',
      patternType: PT.PREFIXED,
      principal: 'User:bob',
      operation: OP.CREATE,
    });
    // Allowed: the creation starts and the first answer is UNKNOWN_TOPIC_OR_PARTITION (Kafka 4.4).
    const created = await metadata(bob, ['auto-x']);
    expect(errorName(created.topics[0]!.errorCode)).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    for (let i = 0; i < 100 && (await metadata(bob, ['auto-x'])).topics[0]!.errorCode !== 0; i++)
      await new Promise((r) => setTimeout(r, 100));

    await addAcls({
      resourceType: RT.TOPIC,
      resourceName: 'orders',
      principal: 'User:bob',
      operation: OP.READ,
    });
    const visible = await metadata(bob, null, true);
    expect(visible.topics.map((t) => t.name).sort()).toEqual(['auto-x', 'orders']);
    const orders = visible.topics.find((t) => t.name === 'orders')!;
    // READ, and DESCRIBE which READ implies (bits 3 and 8).
    expect(orders.topicAuthorizedOperations).toBe((1 << OP.READ) | (1 << OP.DESCRIBE));
    // The super user sees everything.
    const adminAll = await metadata(admin, null);
    expect(adminAll.topics.map((t) => t.name)).toEqual(
      expect.arrayContaining(['orders', 'secret', 'pfx-a', 'wild']),
    );
  }, 60_000);

  it('Produce and Fetch: TOPIC_AUTHORIZATION_FAILED without the ACL, success with it', async () => {
    const bob = await as('bob');
    expect(await produce(bob, 'secret')).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await fetchErr(bob, 'secret')).toBe('TOPIC_AUTHORIZATION_FAILED');
    const lo = await bob.request(ApiKeys.ListOffsets, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        { name: 'secret', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] },
      ],
    });
    expect(errorName(lo.topics[0]!.partitions[0]!.errorCode)).toBe('TOPIC_AUTHORIZATION_FAILED');

    await addAcls(
      { resourceType: RT.TOPIC, resourceName: 'secret', principal: 'User:bob', operation: OP.WRITE },
      { resourceType: RT.TOPIC, resourceName: 'secret', principal: 'User:bob', operation: OP.READ },
    );
    expect(await produce(bob, 'secret')).toBe('NONE');
    expect(await fetchErr(bob, 'secret')).toBe('NONE');
    const lo2 = await bob.request(ApiKeys.ListOffsets, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        { name: 'secret', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] },
      ],
    });
    expect(errorName(lo2.topics[0]!.partitions[0]!.errorCode)).toBe('NONE');
    expect(lo2.topics[0]!.partitions[0]!.offset).toBe(1n);

    // A follower fetch (replica id set) needs CLUSTER_ACTION, whatever the topic ACLs say.
    const follower = await bob.request(ApiKeys.Fetch, 12, {
      replicaId: 7,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: 'secret',
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: 0n,
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: 1024,
            },
          ],
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
    expect(errorName(follower.responses[0]!.partitions[0]!.errorCode)).toBe('TOPIC_AUTHORIZATION_FAILED');
  }, 60_000);

  it('transactions and idempotence: InitProducerId, transactional produce, EndTxn', async () => {
    const carol = await as('carol');
    const init = (c: RawClient, transactionalId: string | null) =>
      c
        .request(ApiKeys.InitProducerId, 4, {
          transactionalId,
          transactionTimeoutMs: 10_000,
          producerId: -1n,
          producerEpoch: -1,
        })
        .then((r) => r);
    // carol has no WRITE on any topic (yet) and no IDEMPOTENT_WRITE: an idempotent producer is
    // refused (Kafka's authorizeByResourceType; the User:* ALLOW of the next test would allow it).
    const tx = await init(carol, 'tx-carol');
    expect(errorName(tx.errorCode)).toBe('TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
    const fcDenied = await carol.request(ApiKeys.FindCoordinator, 3, { key: 'tx-carol', keyType: 1 });
    expect(errorName(fcDenied.errorCode!)).toBe('TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
    const idem = await init(carol, null);
    expect(errorName(idem.errorCode)).toBe('CLUSTER_AUTHORIZATION_FAILED');
    await addAcls({
      resourceType: RT.CLUSTER,
      resourceName: 'kafka-cluster',
      principal: 'User:carol',
      operation: OP.IDEMPOTENT_WRITE,
    });
    expect(errorName((await init(carol, null)).errorCode)).toBe('NONE');
    const end = await carol.request(ApiKeys.EndTxn, 3, {
      transactionalId: 'tx-carol',
      producerId: 1n,
      producerEpoch: 0,
      committed: true,
    });
    expect(errorName(end.errorCode)).toBe('TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
    expect(await produce(carol, 'orders', 'tx-carol')).toBe('TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
    await addAcls({
      resourceType: RT.TRANSACTIONAL_ID,
      resourceName: 'tx-',
      patternType: PT.PREFIXED,
      principal: 'User:carol',
      operation: OP.WRITE,
    });
    // WRITE on the id implies DESCRIBE: FindCoordinator answers, then InitProducerId once the
    // coordinator has loaded.
    const fc = await carol.request(ApiKeys.FindCoordinator, 3, { key: 'tx-carol', keyType: 1 });
    expect(errorName(fc.errorCode!)).toBe('NONE');
    let tx2 = await init(carol, 'tx-carol');
    for (let i = 0; i < 100 && errorName(tx2.errorCode) !== 'NONE'; i++) {
      expect(['NOT_COORDINATOR', 'COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE']).toContain(
        errorName(tx2.errorCode),
      );
      await new Promise((r) => setTimeout(r, 200));
      tx2 = await init(carol, 'tx-carol');
    }
    expect(errorName(tx2.errorCode)).toBe('NONE');
  }, 60_000);

  it('DENY beats ALLOW; User:* and PREFIXED patterns', async () => {
    await addAcls(
      { resourceType: RT.TOPIC, resourceName: 'wild', principal: 'User:*', operation: OP.ALL },
      {
        resourceType: RT.TOPIC,
        resourceName: 'wild',
        principal: 'User:bob',
        operation: OP.WRITE,
        permissionType: DENY,
      },
      {
        resourceType: RT.TOPIC,
        resourceName: 'pfx-',
        patternType: PT.PREFIXED,
        principal: 'User:alice',
        operation: OP.WRITE,
      },
    );
    const bob = await as('bob');
    const alice = await as('alice');
    expect(await produce(alice, 'wild')).toBe('NONE');
    expect(await produce(bob, 'wild')).toBe('TOPIC_AUTHORIZATION_FAILED');
    // The DENY is of WRITE: bob's READ through User:* ALL still holds.
    expect(await fetchErr(bob, 'wild')).toBe('NONE');
    expect(await produce(alice, 'pfx-a')).toBe('NONE');
    expect(await produce(bob, 'pfx-a')).toBe('TOPIC_AUTHORIZATION_FAILED');
    // A prefixed DENY for everyone overrides alice's literal-free ALLOW on pfx-a.
    await addAcls({
      resourceType: RT.TOPIC,
      resourceName: 'pfx-a',
      patternType: PT.PREFIXED,
      principal: 'User:*',
      operation: OP.ALL,
      permissionType: DENY,
    });
    expect(await produce(alice, 'pfx-a')).toBe('TOPIC_AUTHORIZATION_FAILED');
    // The super user is allowed even so.
    expect(await produce(admin, 'pfx-a')).toBe('NONE');
  }, 60_000);

  it('groups: FindCoordinator, JoinGroup, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups', async () => {
    const carol = await as('carol');
    const fc = await carol.request(ApiKeys.FindCoordinator, 3, { key: 'g-carol', keyType: 0 });
    expect(errorName(fc.errorCode!)).toBe('GROUP_AUTHORIZATION_FAILED');
    const join1 = await carol.request(ApiKeys.JoinGroup, 5, {
      groupId: 'g-carol',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    });
    expect(errorName(join1.errorCode)).toBe('GROUP_AUTHORIZATION_FAILED');
    const commit = (c: RawClient) =>
      c
        .request(ApiKeys.OffsetCommit, 8, {
          groupId: 'g-carol',
          generationIdOrMemberEpoch: -1,
          memberId: '',
          groupInstanceId: null,
          topics: [
            {
              name: 'orders',
              partitions: [
                { partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1, committedMetadata: '' },
              ],
            },
          ],
        })
        .then((r) => errorName(r.topics[0]!.partitions[0]!.errorCode));
    expect(await commit(carol)).toBe('GROUP_AUTHORIZATION_FAILED');

    await addAcls({
      resourceType: RT.GROUP,
      resourceName: 'g-carol',
      principal: 'User:carol',
      operation: OP.READ,
    });
    // READ on the group implies DESCRIBE (FindCoordinator); the topic is still not carol's.
    const fc2 = await carol.request(ApiKeys.FindCoordinator, 3, { key: 'g-carol', keyType: 0 });
    expect(errorName(fc2.errorCode!)).toBe('NONE');
    expect(await commit(carol)).toBe('TOPIC_AUTHORIZATION_FAILED');
    await addAcls({
      resourceType: RT.TOPIC,
      resourceName: 'orders',
      principal: 'User:carol',
      operation: OP.READ,
    });
    expect(await commit(carol)).toBe('NONE');
    const fetched = await carol.request(ApiKeys.OffsetFetch, 7, {
      groupId: 'g-carol',
      topics: [
        { name: 'orders', partitionIndexes: [0] },
        { name: 'secret', partitionIndexes: [0] },
      ],
      requireStable: false,
    });
    const byTopic = Object.fromEntries(
      fetched.topics!.map((t) => [t.name, errorName(t.partitions[0]!.errorCode)]),
    );
    expect(byTopic).toEqual({ orders: 'NONE', secret: 'TOPIC_AUTHORIZATION_FAILED' });

    const dg = await carol.request(ApiKeys.DescribeGroups, 5, {
      groups: ['g-carol', 'g-other'],
      includeAuthorizedOperations: true,
    });
    expect(dg.groups.map((g) => errorName(g.errorCode))).toEqual(['NONE', 'GROUP_AUTHORIZATION_FAILED']);
    expect(dg.groups[0]!.authorizedOperations).toBe((1 << OP.READ) | (1 << OP.DESCRIBE));
    const lg = await carol.request(ApiKeys.ListGroups, 4, { statesFilter: [] });
    expect(lg.groups.map((g) => g.groupId)).toEqual(['g-carol']);
    const del = await carol.request(ApiKeys.DeleteGroups, 2, { groupsNames: ['g-carol'] });
    expect(errorName(del.results[0]!.errorCode)).toBe('GROUP_AUTHORIZATION_FAILED');
  }, 60_000);

  it('admin APIs: CreateTopics, DeleteTopics, CreatePartitions, DeleteRecords, configs, ACL APIs, cluster APIs', async () => {
    const alice = await as('alice');
    const ct = await alice.request(ApiKeys.CreateTopics, 7, {
      topics: [{ name: 'alice-new', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 10_000,
    });
    expect(errorName(ct.topics[0]!.errorCode)).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(ct.topics[0]!.errorMessage).toBe('Authorization failed.');
    const dt = await alice.request(ApiKeys.DeleteTopics, 6, {
      topics: [{ name: 'orders', topicId: '00000000-0000-0000-0000-000000000000' }],
      timeoutMs: 10_000,
    });
    expect(errorName(dt.responses[0]!.errorCode)).toBe('TOPIC_AUTHORIZATION_FAILED');
    const cp = await alice.request(ApiKeys.CreatePartitions, 3, {
      topics: [{ name: 'orders', count: 2, assignments: null }],
      timeoutMs: 10_000,
      validateOnly: true,
    });
    expect(errorName(cp.results[0]!.errorCode)).toBe('TOPIC_AUTHORIZATION_FAILED');
    const dr = await alice.request(ApiKeys.DeleteRecords, 2, {
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, offset: 0n }] }],
      timeoutMs: 5000,
    });
    expect(errorName(dr.topics[0]!.partitions[0]!.errorCode)).toBe('TOPIC_AUTHORIZATION_FAILED');
    const dc = await alice.request(ApiKeys.DescribeConfigs, 4, {
      resources: [
        { resourceType: 2, resourceName: 'orders', configurationKeys: null },
        { resourceType: 4, resourceName: '1', configurationKeys: null },
      ],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    expect(dc.results.map((r) => errorName(r.errorCode))).toEqual([
      'TOPIC_AUTHORIZATION_FAILED',
      'CLUSTER_AUTHORIZATION_FAILED',
    ]);
    const iac = await alice.request(ApiKeys.IncrementalAlterConfigs, 1, {
      resources: [
        {
          resourceType: 2,
          resourceName: 'orders',
          configs: [{ name: 'retention.ms', configOperation: 0, value: '1000' }],
        },
      ],
      validateOnly: true,
    });
    expect(errorName(iac.responses[0]!.errorCode)).toBe('TOPIC_AUTHORIZATION_FAILED');
    const ca = await alice.request(ApiKeys.CreateAcls, 3, {
      creations: [
        creation({
          resourceType: RT.TOPIC,
          resourceName: 'orders',
          principal: 'User:alice',
          operation: OP.ALL,
        }),
      ],
    });
    expect(errorName(ca.results[0]!.errorCode)).toBe('CLUSTER_AUTHORIZATION_FAILED');
    const da = await alice.request(ApiKeys.DescribeAcls, 3, {
      resourceTypeFilter: 1,
      resourceNameFilter: null,
      patternTypeFilter: 1,
      principalFilter: null,
      hostFilter: null,
      operation: 1,
      permissionType: 1,
    });
    expect(errorName(da.errorCode)).toBe('CLUSTER_AUTHORIZATION_FAILED');
    const dl = await alice.request(ApiKeys.DescribeLogDirs, 4, { topics: null });
    expect(errorName(dl.errorCode!)).toBe('CLUSTER_AUTHORIZATION_FAILED');
    const scram = await alice.request(ApiKeys.DescribeUserScramCredentials, 0, { users: null });
    expect(errorName(scram.errorCode)).toBe('CLUSTER_AUTHORIZATION_FAILED');
    const dq = await alice.request(ApiKeys.DescribeClientQuotas, 1, { components: [], strict: false });
    expect([errorName(dq.errorCode), dq.entries]).toEqual(['CLUSTER_AUTHORIZATION_FAILED', null]);
    const aq = await alice.request(ApiKeys.AlterClientQuotas, 1, {
      entries: [
        {
          entity: [{ entityType: 'client-id', entityName: 'x' }],
          ops: [{ key: 'producer_byte_rate', value: 1024, remove: false }],
        },
      ],
      validateOnly: true,
    });
    expect(errorName(aq.entries[0]!.errorCode)).toBe('CLUSTER_AUTHORIZATION_FAILED');
    const markers = await alice.request(ApiKeys.WriteTxnMarkers, 1, {
      markers: [
        {
          producerId: 1n,
          producerEpoch: 0,
          transactionResult: true,
          topics: [{ name: 'orders', partitionIndexes: [0] }],
          coordinatorEpoch: 0,
        },
      ],
    });
    expect(errorName(markers.markers[0]!.topics[0]!.partitions[0]!.errorCode)).toBe(
      'CLUSTER_AUTHORIZATION_FAILED',
    );

    // With the ACLs, the same requests succeed.
    await addAcls(
      {
        resourceType: RT.CLUSTER,
        resourceName: 'kafka-cluster',
        principal: 'User:alice',
        operation: OP.CREATE,
      },
      {
        resourceType: RT.CLUSTER,
        resourceName: 'kafka-cluster',
        principal: 'User:alice',
        operation: OP.DESCRIBE_CONFIGS,
      },
      {
        resourceType: RT.CLUSTER,
        resourceName: 'kafka-cluster',
        principal: 'User:alice',
        operation: OP.DESCRIBE,
      },
      {
        resourceType: RT.TOPIC,
        resourceName: 'orders',
        principal: 'User:alice',
        operation: OP.DESCRIBE_CONFIGS,
      },
    );
    const ct2 = await alice.request(ApiKeys.CreateTopics, 7, {
      topics: [{ name: 'alice-new', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 10_000,
    });
    expect(errorName(ct2.topics[0]!.errorCode)).toBe('NONE');
    // No DESCRIBE_CONFIGS on the new topic: created, but its configs are not shown.
    expect(errorName(ct2.topics[0]!.topicConfigErrorCode!)).toBe('TOPIC_AUTHORIZATION_FAILED');
    const dc2 = await alice.request(ApiKeys.DescribeConfigs, 4, {
      resources: [
        { resourceType: 2, resourceName: 'orders', configurationKeys: ['retention.ms'] },
        { resourceType: 4, resourceName: '1', configurationKeys: ['num.partitions'] },
      ],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    expect(dc2.results.map((r) => errorName(r.errorCode))).toEqual(['NONE', 'NONE']);
    const dl2 = await alice.request(ApiKeys.DescribeLogDirs, 4, { topics: null });
    expect(errorName(dl2.errorCode!)).toBe('NONE');
    const cluster = await alice.request(ApiKeys.DescribeCluster, 1, {
      includeClusterAuthorizedOperations: true,
      endpointType: 1,
    });
    expect(cluster.clusterAuthorizedOperations).toBe(
      (1 << OP.CREATE) | (1 << OP.DESCRIBE_CONFIGS) | (1 << OP.DESCRIBE),
    );
  }, 60_000);

  it('a real client (kcat / librdkafka) sees the topic authorization error on a denied produce', async () => {
    const r = await kcat(
      ['-P', '-b', sb.bootstrap('SASL_PLAINTEXT'), '-t', 'secret', '-p', '0'],
      {
        'security.protocol': 'SASL_PLAINTEXT',
        'sasl.mechanisms': 'PLAIN',
        'sasl.username': 'carol',
        'sasl.password': 'carol-secret',
        'message.timeout.ms': '10000',
      },
      'denied-record\n',
    );
    expect(r.stdout + r.stderr).toMatch(/Topic authorization failed|TOPIC_AUTHORIZATION_FAILED/);
  }, 60_000);

  it('denials are logged by the authorizer logger and counted in Prometheus', async () => {
    const logs = sb.broker.logs.join('\n');
    expect(logs).toContain('Principal = User:bob is Denied operation = WRITE');
    expect(logs).toContain('kafka.authorizer.logger');
    const denied = await scrapeMetric(sb.broker.metricsPort, 'sluice_authorization_denials_total', {
      api: 'PRODUCE',
      operation: 'WRITE',
      resource_type: 'TOPIC',
    });
    expect(denied).toBeGreaterThan(0);
    const acls = await scrapeMetric(sb.broker.metricsPort, 'sluice_acls');
    expect(acls).toBeGreaterThan(10);
  }, 30_000);
});

describe("CreateAcls / DescribeAcls / DeleteAcls: Kafka's validation on the wire", () => {
  it('refuses bad bindings and filters with INVALID_REQUEST, unbuildable ones with UNKNOWN_SERVER_ERROR', async () => {
    const bad = await admin.request(ApiKeys.CreateAcls, 3, {
      creations: [
        creation({
          resourceType: RT.CLUSTER,
          resourceName: 'other',
          principal: 'User:x',
          operation: OP.ALTER,
        }),
        creation({ resourceType: RT.TOPIC, resourceName: 'v', principal: 'nocolon', operation: OP.READ }),
        creation({ resourceType: RT.TOPIC, resourceName: '', principal: 'User:x', operation: OP.READ }),
        creation({
          resourceType: RT.TOPIC,
          resourceName: 'valid-acl',
          principal: 'User:x',
          operation: OP.READ,
        }),
      ],
    });
    expect(bad.results.map((r) => [errorName(r.errorCode), r.errorMessage])).toEqual([
      ['INVALID_REQUEST', 'The only valid name for the CLUSTER resource is kafka-cluster'],
      [
        'INVALID_REQUEST',
        'Could not parse principal from `nocolon` (no colon is present separating the principal type from the principal name)',
      ],
      ['INVALID_REQUEST', 'Invalid empty resource name'],
      ['NONE', null],
    ]);
    // A MATCH pattern (or ANY operation) cannot be an ACL: Kafka's handler fails the whole request.
    const unbuildable = await admin.request(ApiKeys.CreateAcls, 3, {
      creations: [
        creation({ resourceType: RT.TOPIC, resourceName: 'a', principal: 'User:x', operation: OP.READ }),
        {
          ...creation({ resourceType: RT.TOPIC, resourceName: 'b', principal: 'User:x', operation: OP.READ }),
          resourcePatternType: 2,
        },
      ],
    });
    expect(unbuildable.results.map((r) => errorName(r.errorCode))).toEqual([
      'UNKNOWN_SERVER_ERROR',
      'UNKNOWN_SERVER_ERROR',
    ]);
    // A filter with a code Kafka does not know is refused; the others in the request still work.
    const del = await admin.request(ApiKeys.DeleteAcls, 3, {
      filters: [
        {
          resourceTypeFilter: 2,
          resourceNameFilter: 'valid-acl',
          patternTypeFilter: 3,
          principalFilter: null,
          hostFilter: null,
          operation: 99,
          permissionType: 1,
        },
        {
          resourceTypeFilter: 2,
          resourceNameFilter: 'valid-acl',
          patternTypeFilter: 3,
          principalFilter: null,
          hostFilter: null,
          operation: 1,
          permissionType: 1,
        },
      ],
    });
    expect(
      del.filterResults.map((r) => [errorName(r.errorCode), r.errorMessage, r.matchingAcls.length]),
    ).toEqual([
      ['INVALID_REQUEST', 'Unknown entryFilter.', 0],
      ['NONE', null, 1],
    ]);
  }, 30_000);

  it('answers SECURITY_DISABLED without an authorizer', async () => {
    const plain = await startSecureBroker();
    const c = await RawClient.connect(plain.port('PLAINTEXT'));
    try {
      const ca = await c.request(ApiKeys.CreateAcls, 3, {
        creations: [
          creation({ resourceType: RT.TOPIC, resourceName: 't', principal: 'User:x', operation: OP.READ }),
        ],
      });
      expect(errorName(ca.results[0]!.errorCode)).toBe('SECURITY_DISABLED');
      const da = await c.request(ApiKeys.DescribeAcls, 3, {
        resourceTypeFilter: 1,
        resourceNameFilter: null,
        patternTypeFilter: 1,
        principalFilter: null,
        hostFilter: null,
        operation: 1,
        permissionType: 1,
      });
      expect(errorName(da.errorCode)).toBe('SECURITY_DISABLED');
    } finally {
      c.close();
      await plain.cleanup();
    }
  }, 120_000);
});

describe('allow.everyone.if.no.acl.found=true', () => {
  it('allows what no ACL names, denies what an ACL for someone else names', async () => {
    const other = await startSecureBroker({
      overrides: authorizerOverrides({ 'allow.everyone.if.no.acl.found': 'true' }),
    });
    const open: RawClient[] = [];
    try {
      const adm = await connectAs(other.port('SASL_PLAINTEXT'), 'admin');
      open.push(adm);
      for (const t of ['free', 'guarded']) {
        const r = await adm.request(ApiKeys.CreateTopics, 7, {
          topics: [{ name: t, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
          timeoutMs: 10_000,
        });
        expect(errorName(r.topics[0]!.errorCode)).toBe('NONE');
      }
      const ca = await adm.request(ApiKeys.CreateAcls, 3, {
        creations: [
          creation({
            resourceType: RT.TOPIC,
            resourceName: 'guarded',
            principal: 'User:alice',
            operation: OP.WRITE,
          }),
        ],
      });
      expect(ca.results[0]!.errorCode).toBe(ErrorCode.NONE);
      const bob = await connectAs(other.port('SASL_PLAINTEXT'), 'bob');
      open.push(bob);
      expect(await produce(bob, 'free')).toBe('NONE');
      expect(await produce(bob, 'guarded')).toBe('TOPIC_AUTHORIZATION_FAILED');
    } finally {
      for (const c of open) c.close();
      await other.cleanup();
    }
  }, 120_000);
});
