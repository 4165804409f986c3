/**
 * Group protocol edge cases over the wire with exact requests (the test's raw client), against a real
 * broker process: the low versions librdkafka probes (advertised from 0), the errors Kafka gives bad
 * requests — a commit for an unknown member or a stale generation, a join with an unknown protocol
 * type, a sync from a non-member — after each of which the group carries on, and the admin APIs
 * (ListGroups state filter, DescribeGroups, OffsetFetch for several groups, batched LeaveGroup,
 * OffsetDelete, DeleteGroups).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { encodeAssignment, encodeSubscription } from '../../src/broker/group/consumer-protocol.js';

describe('group protocol errors and admin APIs over the wire', () => {
  const broker = new BrokerProcess({
    overrides: {
      'group.initial.rebalance.delay.ms': '0',
      'offsets.topic.num.partitions': '3',
      'group.min.session.timeout.ms': '1000',
    },
  });
  let c: RawClient;

  beforeAll(async () => {
    await broker.start();
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'e1', numPartitions: 2 },
        { topic: 'e2', numPartitions: 1 },
      ],
    });
    await admin.disconnect();
    c = await RawClient.connect(broker.port);
  });

  afterAll(async () => {
    c?.close();
    await broker.cleanup();
  });

  it('advertises every group API from version 0 (librdkafka feature probes)', async () => {
    const r = await c.request(18, 0, {});
    const ranges = new Map(r.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
    expect(ranges.get(8)).toEqual([0, 9]);
    expect(ranges.get(9)).toEqual([0, 9]);
    expect(ranges.get(10)).toEqual([0, 4]);
    expect(ranges.get(11)).toEqual([0, 9]);
    expect(ranges.get(12)).toEqual([0, 4]);
    expect(ranges.get(13)).toEqual([0, 5]);
    expect(ranges.get(14)).toEqual([0, 5]);
    expect(ranges.get(15)).toEqual([0, 5]);
    expect(ranges.get(16)).toEqual([0, 5]);
    expect(ranges.get(42)).toEqual([0, 2]);
    expect(ranges.get(47)).toEqual([0, 0]);
  });

  it('answers bad group requests with Kafka error codes, and the group carries on', async () => {
    const fc = await c.request(10, 0, { key: 'eg' });
    expect(fc.errorCode).toBe(0);
    expect(fc.port).toBe(broker.port);
    const fc4 = await c.request(10, 4, { keyType: 0, coordinatorKeys: ['eg', 'other'] });
    expect(fc4.coordinators!.map((x) => x.errorCode)).toEqual([0, 0]);

    const metadata = encodeSubscription({ topics: ['e1'] });
    // JoinGroup v0, as librdkafka's probe range needs: no MEMBER_ID_REQUIRED round.
    const join = await c.request(11, 0, {
      groupId: 'eg',
      sessionTimeoutMs: 10_000,
      memberId: '',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata }],
    });
    expect(join.errorCode).toBe(0);
    expect(join.generationId).toBe(1);
    expect(join.leader).toBe(join.memberId);
    const me = join.memberId;
    // v4+: a new dynamic member must come back with the id it is given (KIP-394).
    const other = await RawClient.connect(broker.port);
    const required = await other.request(11, 5, {
      groupId: 'eg2',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata }],
    });
    expect(required.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect(required.memberId).not.toBe('');
    other.close();

    const assignment = encodeAssignment({ assignedPartitions: [{ topic: 'e1', partitions: [0, 1] }] });
    const sync = await c.request(14, 0, {
      groupId: 'eg',
      generationId: 1,
      memberId: me,
      assignments: [{ memberId: me, assignment }],
    });
    expect(sync.errorCode).toBe(0);
    expect(Buffer.from(sync.assignment).equals(assignment)).toBe(true);

    const commit = (memberId: string, generation: number, offset = 10n) =>
      c.request(8, 2, {
        groupId: 'eg',
        generationIdOrMemberEpoch: generation,
        memberId,
        retentionTimeMs: -1n,
        topics: [
          {
            name: 'e1',
            partitions: [{ partitionIndex: 0, committedOffset: offset, committedMetadata: 'md' }],
          },
        ],
      });
    expect((await commit('ghost', 1)).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await commit(me, 0)).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    const badJoin = await c.request(11, 2, {
      groupId: 'eg',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: '',
      protocolType: 'connect',
      protocols: [{ name: 'default', metadata: Buffer.alloc(0) }],
    });
    expect(badJoin.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const badSync = await c.request(14, 3, {
      groupId: 'eg',
      generationId: 1,
      memberId: 'ghost',
      groupInstanceId: null,
      assignments: [],
    });
    expect(badSync.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const unknownTopic = await c.request(8, 2, {
      groupId: 'eg',
      generationIdOrMemberEpoch: 1,
      memberId: me,
      retentionTimeMs: -1n,
      topics: [
        { name: 'nope', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }] },
      ],
    });
    expect(unknownTopic.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

    // The group carries on: heartbeat, commit with leader epoch (v6+), fetch them back.
    expect((await c.request(12, 0, { groupId: 'eg', generationId: 1, memberId: me })).errorCode).toBe(0);
    const good = await c.request(8, 7, {
      groupId: 'eg',
      generationIdOrMemberEpoch: 1,
      memberId: me,
      groupInstanceId: null,
      topics: [
        {
          name: 'e1',
          partitions: [
            { partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: 0, committedMetadata: 'md' },
          ],
        },
      ],
    });
    expect(good.topics[0]!.partitions[0]!.errorCode).toBe(0);
    const fetched = await c.request(9, 8, {
      groups: [
        { groupId: 'eg', topics: null },
        { groupId: 'nobody', topics: [{ name: 'e1', partitionIndexes: [0] }] },
      ],
      requireStable: false,
    });
    expect(fetched.groups![0]).toMatchObject({
      groupId: 'eg',
      errorCode: 0,
      topics: [
        {
          name: 'e1',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 42n,
              committedLeaderEpoch: 0,
              metadata: 'md',
              errorCode: 0,
            },
          ],
        },
      ],
    });
    expect(fetched.groups![1]!.topics[0]!.partitions[0]!.committedOffset).toBe(-1n);
    const v1 = await c.request(9, 1, { groupId: 'eg', topics: [{ name: 'e1', partitionIndexes: [0, 1] }] });
    expect(v1.topics!.flatMap((t) => t.partitions.map((p) => p.committedOffset))).toEqual([42n, -1n]);

    // Admin views.
    const stable = await c.request(16, 4, { statesFilter: ['stable'] });
    expect(stable.groups.map((g) => [g.groupId, g.groupState])).toEqual([['eg', 'Stable']]);
    const desc = await c.request(15, 5, { groups: ['eg', 'missing'], includeAuthorizedOperations: false });
    expect(desc.groups[0]).toMatchObject({
      groupId: 'eg',
      groupState: 'Stable',
      protocolType: 'consumer',
      protocolData: 'range',
    });
    expect(desc.groups[0]!.members.map((m) => m.memberId)).toEqual([me]);
    expect(Buffer.from(desc.groups[0]!.members[0]!.memberAssignment).equals(assignment)).toBe(true);
    expect(desc.groups[1]).toMatchObject({ groupId: 'missing', groupState: 'Dead', errorCode: 0 });

    // OffsetDelete: subscribed topics are refused while the group has members; others go.
    await c.request(8, 2, {
      groupId: 'eg',
      generationIdOrMemberEpoch: 1,
      memberId: me,
      retentionTimeMs: -1n,
      topics: [
        { name: 'e2', partitions: [{ partitionIndex: 0, committedOffset: 5n, committedMetadata: null }] },
      ],
    });
    const od = await c.request(47, 0, {
      groupId: 'eg',
      topics: [
        { name: 'e1', partitions: [{ partitionIndex: 0 }] },
        { name: 'e2', partitions: [{ partitionIndex: 0 }] },
      ],
    });
    expect(od.errorCode).toBe(0);
    expect(od.topics.map((t) => t.partitions[0]!.errorCode)).toEqual([
      ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC,
      0,
    ]);

    // DeleteGroups refuses a group with members; batched LeaveGroup (v3+) then empties it.
    expect((await c.request(42, 0, { groupsNames: ['eg'] })).results[0]!.errorCode).toBe(
      ErrorCode.NON_EMPTY_GROUP,
    );
    const leave = await c.request(13, 3, {
      groupId: 'eg',
      members: [
        { memberId: me, groupInstanceId: null },
        { memberId: 'ghost', groupInstanceId: null },
      ],
    });
    expect(leave.errorCode).toBe(0);
    expect(leave.members!.map((m) => m.errorCode)).toEqual([0, ErrorCode.UNKNOWN_MEMBER_ID]);
    const empty = await c.request(16, 4, { statesFilter: ['Empty'] });
    expect(empty.groups.map((g) => g.groupId)).toContain('eg');
    const del = await c.request(42, 2, { groupsNames: ['eg', 'never-existed'] });
    expect(del.results.map((r) => r.errorCode)).toEqual([0, ErrorCode.GROUP_ID_NOT_FOUND]);
    const gone = await c.request(9, 1, { groupId: 'eg', topics: [{ name: 'e1', partitionIndexes: [0] }] });
    expect(gone.topics![0]!.partitions[0]!.committedOffset).toBe(-1n);
  });

  it('a deleted group stays deleted and committed offsets survive a restart', async () => {
    const commit = await c.request(8, 2, {
      groupId: 'simple',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      retentionTimeMs: -1n,
      topics: [
        { name: 'e1', partitions: [{ partitionIndex: 1, committedOffset: 77n, committedMetadata: 'keep' }] },
      ],
    });
    expect(commit.topics[0]!.partitions[0]!.errorCode).toBe(0);
    c.close();
    expect(await broker.stop()).toBe(0);
    await broker.start();
    c = await RawClient.connect(broker.port);
    const r = await c.request(9, 5, {
      groupId: 'simple',
      topics: [{ name: 'e1', partitionIndexes: [1] }],
      requireStable: false,
    });
    expect(r.errorCode).toBe(0);
    expect(r.topics![0]!.partitions[0]).toMatchObject({ committedOffset: 77n, metadata: 'keep' });
    const deleted = await c.request(9, 5, {
      groupId: 'eg',
      topics: [{ name: 'e1', partitionIndexes: [0] }],
      requireStable: false,
    });
    expect(deleted.topics![0]!.partitions[0]!.committedOffset).toBe(-1n);
    const list = await c.request(16, 3, {});
    expect(list.groups.map((g) => g.groupId).sort()).toEqual(['simple']);
  });
});
