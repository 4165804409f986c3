/**
 * The group state machine under fake time: the coordinator with an in-memory GroupStore and a timing
 * wheel driven by hand, so session expiry, the initial rebalance delay and the rebalance timeout
 * are exercised without waiting.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { pino } from 'pino';
import { GroupCoordinator, type JoinGroupRequestData } from '../../../src/broker/group/group-coordinator.js';
import { GroupState } from '../../../src/broker/group/group-metadata.js';
import type { GroupStore } from '../../../src/broker/group/group-metadata-manager.js';
import type { GroupMetadataValue } from '../../../src/broker/group/group-records.js';
import { TimingWheelTimer } from '../../../src/broker/purgatory/timing-wheel.js';
import { encodeAssignment, encodeSubscription } from '../../../src/broker/group/consumer-protocol.js';
import type { JoinGroupResult } from '../../../src/broker/group/member-metadata.js';

class MemStore implements GroupStore {
  readonly groups: { id: string; v: GroupMetadataValue }[] = [];
  readonly offsets: { id: string; topic: string; partition: number; offset: bigint }[] = [];
  readonly tombstones: { id: string; offsets: number; group: boolean }[] = [];
  partitionFor(): number {
    return 0;
  }
  status(): 'local' {
    return 'local';
  }
  async storeGroup(id: string, v: GroupMetadataValue): Promise<number> {
    this.groups.push({ id, v });
    return 0;
  }
  async storeOffsets(id: string, o: { topic: string; partition: number; offset: bigint }[]): Promise<number> {
    for (const x of o) this.offsets.push({ id, topic: x.topic, partition: x.partition, offset: x.offset });
    return 0;
  }
  async storeTombstones(id: string, offsets: unknown[], group: boolean): Promise<number> {
    this.tombstones.push({ id, offsets: offsets.length, group });
    return 0;
  }
}

const tick = () => new Promise((r) => setImmediate(r));

function setup(config: Partial<GroupCoordinator['config']> = {}) {
  const clock = { now: 1_000_000 };
  const now = () => clock.now;
  const timer = new TimingWheelTimer({ now });
  const store = new MemStore();
  const c = new GroupCoordinator({
    store,
    log: pino({ level: 'silent' }),
    now,
    timer,
    config: { initialRebalanceDelayMs: 0, minSessionTimeoutMs: 100, ...config },
  });
  c.startup({ cleanup: false });
  const advance = async (ms: number) => {
    for (let i = 0; i < ms; i += 10) {
      clock.now += Math.min(10, ms - i);
      timer.advance(clock.now);
    }
    await tick();
  };
  return { c, store, clock, advance };
}

const sub = (topics: string[]) => encodeSubscription({ topics });
const joinReq = (over: Partial<JoinGroupRequestData> = {}): JoinGroupRequestData => ({
  groupId: 'g',
  memberId: '',
  groupInstanceId: null,
  requireKnownMemberId: false,
  clientId: 'c',
  clientHost: '/127.0.0.1',
  rebalanceTimeoutMs: 5_000,
  sessionTimeoutMs: 1_000,
  protocolType: 'consumer',
  protocols: [{ name: 'range', metadata: sub(['t']) }],
  ...over,
});

/** Join until the join phase ends (it may wait); returns the pending promise. */
async function settle<T>(p: Promise<T>): Promise<T | 'pending'> {
  let out: T | 'pending' = 'pending';
  void p.then((v) => (out = v));
  await tick();
  return out;
}

describe('GroupCoordinator state machine', () => {
  it('runs two members through MEMBER_ID_REQUIRED, join, sync to Stable; the leader gets the member list', async () => {
    const { c, store } = setup();
    const first = await c.handleJoinGroup(joinReq({ requireKnownMemberId: true }));
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect(first.memberId).toMatch(/^c-/);
    const a = await c.handleJoinGroup(joinReq({ memberId: first.memberId, requireKnownMemberId: true }));
    expect(a.errorCode).toBe(0);
    expect(a.generationId).toBe(1);
    expect(a.leader).toBe(a.memberId);
    expect(a.members).toHaveLength(1);
    expect(c.groups.get('g')!.state).toBe(GroupState.CompletingRebalance);

    // A second member arrives: the group rebalances; the first must rejoin before the phase ends.
    const bJoin = c.handleJoinGroup(joinReq());
    expect(await settle(bJoin)).toBe('pending');
    expect(c.groups.get('g')!.state).toBe(GroupState.PreparingRebalance);
    const aJoin = await c.handleJoinGroup(joinReq({ memberId: a.memberId }));
    const b = (await bJoin) as JoinGroupResult;
    expect(aJoin.generationId).toBe(2);
    expect(b.generationId).toBe(2);
    expect(aJoin.leader).toBe(a.memberId);
    expect(aJoin.members.map((m) => m.memberId).sort()).toEqual([a.memberId, b.memberId].sort());
    expect(b.members).toEqual([]);

    const assignA = encodeAssignment({ assignedPartitions: [{ topic: 't', partitions: [0] }] });
    const assignB = encodeAssignment({ assignedPartitions: [{ topic: 't', partitions: [1] }] });
    const bSync = c.handleSyncGroup({
      groupId: 'g',
      generationId: 2,
      memberId: b.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    expect(await settle(bSync)).toBe('pending');
    const aSync = await c.handleSyncGroup({
      groupId: 'g',
      generationId: 2,
      memberId: a.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [
        { memberId: a.memberId, assignment: assignA },
        { memberId: b.memberId, assignment: assignB },
      ],
    });
    expect(aSync.assignment.equals(assignA)).toBe(true);
    expect((await bSync).assignment.equals(assignB)).toBe(true);
    expect(c.groups.get('g')!.state).toBe(GroupState.Stable);
    expect(store.groups.at(-1)!.v.members).toHaveLength(2);
    const d = c.describeGroup('g');
    expect(d.state).toBe('Stable');
    expect(d.members.map((m) => m.assignment.length > 0)).toEqual([true, true]);
    c.shutdown();
  });

  it('expires a member whose heartbeats stop, and the survivor rebalances into the next generation', async () => {
    const { c, advance } = setup();
    const a = await c.handleJoinGroup(joinReq({ clientId: 'a' }));
    await c.handleSyncGroup({
      groupId: 'g',
      generationId: 1,
      memberId: a.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    const bJoin = c.handleJoinGroup(joinReq({ clientId: 'b' }));
    const aRe = await c.handleJoinGroup(joinReq({ memberId: a.memberId }));
    const b = await bJoin;
    const gen = aRe.generationId;
    const aId = a.memberId;
    const bId = b.memberId;
    expect(b.generationId).toBe(gen);
    await Promise.all([
      c.handleSyncGroup({
        groupId: 'g',
        generationId: gen,
        memberId: aId,
        groupInstanceId: null,
        protocolType: null,
        protocolName: null,
        assignments: [],
      }),
      c.handleSyncGroup({
        groupId: 'g',
        generationId: gen,
        memberId: bId,
        groupInstanceId: null,
        protocolType: null,
        protocolName: null,
        assignments: [],
      }),
    ]);
    expect(c.groups.get('g')!.state).toBe(GroupState.Stable);
    // Only a heartbeats; b goes silent.
    for (let t = 0; t < 1_500; t += 300) {
      expect(
        c.handleHeartbeat({ groupId: 'g', memberId: aId, groupInstanceId: null, generationId: gen }),
      ).toBeOneOf([ErrorCode.NONE, ErrorCode.REBALANCE_IN_PROGRESS]);
      await advance(300);
    }
    const g = c.groups.get('g')!;
    expect(g.has(bId)).toBe(false);
    expect(g.state).toBe(GroupState.PreparingRebalance);
    expect(c.handleHeartbeat({ groupId: 'g', memberId: aId, groupInstanceId: null, generationId: gen })).toBe(
      ErrorCode.REBALANCE_IN_PROGRESS,
    );
    const re = await c.handleJoinGroup(joinReq({ memberId: aId }));
    expect(re.generationId).toBe(gen + 1);
    expect(re.members.map((m) => m.memberId)).toEqual([aId]);
    c.shutdown();
  });

  it('waits group.initial.rebalance.delay.ms for more members, then one generation holds all', async () => {
    const { c, advance } = setup({ initialRebalanceDelayMs: 300 });
    const joins = [c.handleJoinGroup(joinReq({ clientId: 'a' }))];
    await advance(200);
    joins.push(c.handleJoinGroup(joinReq({ clientId: 'b' })));
    await advance(200);
    // The delay restarted when b arrived: nobody answered yet.
    expect(await settle(joins[0]!)).toBe('pending');
    joins.push(c.handleJoinGroup(joinReq({ clientId: 'c' })));
    await advance(700);
    const rs = await Promise.all(joins);
    expect(new Set(rs.map((r) => r.generationId))).toEqual(new Set([1]));
    expect(rs.filter((r) => r.members.length === 3)).toHaveLength(1);
    c.shutdown();
  });

  it('drops a member that does not rejoin within the rebalance timeout', async () => {
    const { c, advance } = setup();
    const a = await c.handleJoinGroup(
      joinReq({ clientId: 'a', rebalanceTimeoutMs: 2_000, sessionTimeoutMs: 10_000 }),
    );
    await c.handleSyncGroup({
      groupId: 'g',
      generationId: 1,
      memberId: a.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    const bJoin = c.handleJoinGroup(
      joinReq({ clientId: 'b', rebalanceTimeoutMs: 2_000, sessionTimeoutMs: 10_000 }),
    );
    await advance(1_000);
    expect(await settle(bJoin)).toBe('pending');
    await advance(1_100);
    const b = await bJoin;
    expect(b.errorCode).toBe(0);
    expect(b.generationId).toBe(2);
    expect(b.leader).toBe(b.memberId);
    expect(c.groups.get('g')!.has(a.memberId)).toBe(false);
    c.shutdown();
  });

  it('static membership: a restarted static member takes its place without a rebalance; the old id is fenced', async () => {
    const { c } = setup();
    const a = await c.handleJoinGroup(joinReq({ clientId: 'a', groupInstanceId: 'ia' }));
    const bJoin = c.handleJoinGroup(joinReq({ clientId: 'b', groupInstanceId: 'ib' }));
    const aRe = await c.handleJoinGroup(joinReq({ memberId: a.memberId, groupInstanceId: 'ia' }));
    const b = await bJoin;
    expect(aRe.generationId).toBe(2);
    const assignB = encodeAssignment({ assignedPartitions: [{ topic: 't', partitions: [3] }] });
    const leaderId = c.groups.get('g')!.leaderId!;
    const followerId = leaderId === aRe.memberId ? b.memberId : aRe.memberId;
    const assignments = [{ memberId: followerId, assignment: assignB }];
    await Promise.all([
      c.handleSyncGroup({
        groupId: 'g',
        generationId: 2,
        memberId: leaderId,
        groupInstanceId: null,
        protocolType: null,
        protocolName: null,
        assignments,
      }),
      c.handleSyncGroup({
        groupId: 'g',
        generationId: 2,
        memberId: followerId,
        groupInstanceId: null,
        protocolType: null,
        protocolName: null,
        assignments: [],
      }),
    ]);
    const followerInstance = followerId === b.memberId ? 'ib' : 'ia';
    // The follower restarts: same instance id, no member id.
    const again = await c.handleJoinGroup(
      joinReq({ clientId: 'restarted', groupInstanceId: followerInstance }),
    );
    expect(again.errorCode).toBe(0);
    expect(again.generationId).toBe(2);
    expect(again.memberId).not.toBe(followerId);
    expect(c.groups.get('g')!.state).toBe(GroupState.Stable);
    const s = await c.handleSyncGroup({
      groupId: 'g',
      generationId: 2,
      memberId: again.memberId,
      groupInstanceId: followerInstance,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    expect(s.assignment.equals(assignB)).toBe(true);
    // The old incarnation is fenced.
    expect(
      c.handleHeartbeat({
        groupId: 'g',
        memberId: followerId,
        groupInstanceId: followerInstance,
        generationId: 2,
      }),
    ).toBe(ErrorCode.FENCED_INSTANCE_ID);
    // Batched leave by instance id.
    const left = c.handleLeaveGroup('g', [
      { memberId: '', groupInstanceId: followerInstance },
      { memberId: 'nobody', groupInstanceId: null },
    ]);
    expect(left.members.map((m) => m.errorCode)).toEqual([0, ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(c.groups.get('g')!.state).toBe(GroupState.PreparingRebalance);
    c.shutdown();
  });

  it('static membership: a restarted static leader is answered with skipAssignment and no rebalance', async () => {
    const { c } = setup();
    const a = await c.handleJoinGroup(joinReq({ clientId: 'a', groupInstanceId: 'ia' }));
    const assign = encodeAssignment({ assignedPartitions: [{ topic: 't', partitions: [0] }] });
    await c.handleSyncGroup({
      groupId: 'g',
      generationId: 1,
      memberId: a.memberId,
      groupInstanceId: 'ia',
      protocolType: null,
      protocolName: null,
      assignments: [{ memberId: a.memberId, assignment: assign }],
    });
    const again = await c.handleJoinGroup(joinReq({ clientId: 'a2', groupInstanceId: 'ia' }));
    expect(again).toMatchObject({ errorCode: 0, generationId: 1, skipAssignment: true });
    expect(again.leader).toBe(again.memberId);
    expect(again.members.map((m) => m.groupInstanceId)).toEqual(['ia']);
    expect(c.groups.get('g')!.state).toBe(GroupState.Stable);
    const s = await c.handleSyncGroup({
      groupId: 'g',
      generationId: 1,
      memberId: again.memberId,
      groupInstanceId: 'ia',
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    expect(s.assignment.equals(assign)).toBe(true);
    c.shutdown();
  });

  it('answers bad input with Kafka error codes and the group carries on', async () => {
    const { c } = setup();
    const a = await c.handleJoinGroup(joinReq());
    await c.handleSyncGroup({
      groupId: 'g',
      generationId: 1,
      memberId: a.memberId,
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [],
    });
    const commit = (memberId: string, generationId: number) =>
      c.handleCommitOffsets({
        groupId: 'g',
        memberId,
        groupInstanceId: null,
        generationId,
        offsets: [
          { topic: 't', partition: 0, offset: 5n, leaderEpoch: -1, metadata: null, expireTimestamp: -1n },
        ],
      });
    expect([...(await commit('ghost', 1)).values()]).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
    expect([...(await commit(a.memberId, 0)).values()]).toEqual([ErrorCode.ILLEGAL_GENERATION]);
    expect((await c.handleJoinGroup(joinReq({ protocolType: 'connect' }))).errorCode).toBe(
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    expect(
      (await c.handleJoinGroup(joinReq({ protocols: [{ name: 'other', metadata: Buffer.alloc(0) }] })))
        .errorCode,
    ).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect(
      (
        await c.handleSyncGroup({
          groupId: 'g',
          generationId: 1,
          memberId: 'ghost',
          groupInstanceId: null,
          protocolType: null,
          protocolName: null,
          assignments: [],
        })
      ).errorCode,
    ).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await c.handleJoinGroup(joinReq({ sessionTimeoutMs: 10 }))).errorCode).toBe(
      ErrorCode.INVALID_SESSION_TIMEOUT,
    );
    expect((await c.handleJoinGroup(joinReq({ groupId: '' }))).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    // Still Stable, and a good commit works.
    expect(c.groups.get('g')!.state).toBe(GroupState.Stable);
    expect([...(await commit(a.memberId, 1)).values()]).toEqual([0]);
    expect(c.handleFetchOffsets('g', [{ name: 't', partitions: [0, 1] }])).toMatchObject({
      offsets: [{ topic: 't', partition: 0, offset: 5n }],
      missing: [{ topic: 't', partition: 1 }],
    });
    expect(await c.deleteGroups(['g', 'nope'])).toEqual(
      new Map([
        ['g', ErrorCode.NON_EMPTY_GROUP],
        ['nope', ErrorCode.GROUP_ID_NOT_FOUND],
      ]),
    );
    const del = await c.deleteOffsets('g', [
      { topic: 't', partition: 0 },
      { topic: 'u', partition: 0 },
    ]);
    expect([...del.partitions.values()]).toEqual([ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, 0]);
    c.shutdown();
  });

  it('refuses a new member when the group has group.max.size members', async () => {
    const { c } = setup({ maxSize: 1 });
    expect((await c.handleJoinGroup(joinReq())).errorCode).toBe(0);
    expect((await c.handleJoinGroup(joinReq())).errorCode).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED);
    expect(c.groups.get('g')!.size).toBe(1);
    c.shutdown();
  });

  it('expires offsets of an empty group after the retention and then deletes the group', async () => {
    const { c, clock, store } = setup({ offsetsRetentionMs: 60_000 });
    const r = await c.handleCommitOffsets({
      groupId: 'simple',
      memberId: '',
      groupInstanceId: null,
      generationId: -1,
      offsets: [
        { topic: 't', partition: 0, offset: 7n, leaderEpoch: 3, metadata: 'm', expireTimestamp: -1n },
      ],
    });
    expect([...r.values()]).toEqual([0]);
    expect(c.listGroups(['empty']).groups.map((g) => g.groupId)).toEqual(['simple']);
    expect(await c.cleanupGroupMetadata(clock.now + 30_000)).toBe(0);
    expect(await c.cleanupGroupMetadata(clock.now + 61_000)).toBe(1);
    expect(c.groups.has('simple')).toBe(false);
    expect(store.tombstones).toEqual([{ id: 'simple', offsets: 1, group: true }]);
    c.shutdown();
  });
});
