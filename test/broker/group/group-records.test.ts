import { describe, expect, it } from 'vitest';
import {
  decodeGroupMetadataValue,
  decodeGroupRecordKey,
  decodeOffsetCommitValue,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
} from '../../../src/broker/group/group-records.js';
import { javaStringHash, partitionForGroup } from '../../../src/broker/group/group-metadata-manager.js';
import {
  encodeAssignment,
  encodeSubscription,
  parseAssignment,
  parseSubscription,
} from '../../../src/broker/group/consumer-protocol.js';

describe('__consumer_offsets records', () => {
  it('writes Kafka byte layouts for keys', () => {
    // version 1, "g" (len 1), "t" (len 1), partition 3
    expect(encodeOffsetCommitKey('g', 't', 3).toString('hex')).toBe(
      '0001' + '0001' + '67' + '0001' + '74' + '00000003',
    );
    expect(encodeGroupMetadataKey('g').toString('hex')).toBe('0002' + '0001' + '67');
    expect(decodeGroupRecordKey(encodeOffsetCommitKey('grp', 'topic', 7))).toEqual({
      kind: 'offset',
      group: 'grp',
      topic: 'topic',
      partition: 7,
    });
    expect(decodeGroupRecordKey(encodeGroupMetadataKey('grp'))).toEqual({ kind: 'group', group: 'grp' });
  });

  it('round-trips offset values v3 (leader epoch) and v1 (explicit expiry)', () => {
    const v3 = {
      offset: 42n,
      leaderEpoch: 5,
      metadata: 'meta',
      commitTimestamp: 1000n,
      expireTimestamp: -1n,
    };
    const b3 = encodeOffsetCommitValue(v3);
    expect(b3.readInt16BE(0)).toBe(3);
    expect(decodeOffsetCommitValue(b3)).toEqual(v3);
    const v1 = { offset: 1n, leaderEpoch: -1, metadata: '', commitTimestamp: 1000n, expireTimestamp: 2000n };
    const b1 = encodeOffsetCommitValue(v1);
    expect(b1.readInt16BE(0)).toBe(1);
    expect(decodeOffsetCommitValue(b1)).toEqual(v1);
  });

  it('round-trips group metadata values at every version it writes', () => {
    const v = {
      protocolType: 'consumer',
      generation: 9,
      protocol: 'range',
      leader: 'm1',
      currentStateTimestamp: 123n,
      members: [
        {
          memberId: 'm1',
          groupInstanceId: 'i1',
          clientId: 'c',
          clientHost: '/127.0.0.1',
          rebalanceTimeoutMs: 300,
          sessionTimeoutMs: 100,
          subscription: Buffer.from([1, 2]),
          assignment: Buffer.from([3]),
        },
      ],
    };
    expect(decodeGroupMetadataValue(encodeGroupMetadataValue(v))).toEqual(v);
    const v0 = decodeGroupMetadataValue(encodeGroupMetadataValue(v, 0));
    expect(v0.members[0]!.groupInstanceId).toBeNull();
    expect(v0.currentStateTimestamp).toBe(-1n);
  });

  it("maps groups to partitions with Java's String.hashCode", () => {
    expect(javaStringHash('')).toBe(0);
    expect(javaStringHash('hello')).toBe(99162322);
    expect(javaStringHash('polygenelubricants')).toBe(-2147483648);
    expect(partitionForGroup('polygenelubricants', 50)).toBe(0);
    expect(partitionForGroup('hello', 50)).toBe(99162322 % 50);
  });

  it('parses consumer Subscription and Assignment, and tolerates junk', () => {
    const s = encodeSubscription({
      version: 1,
      topics: ['a', 'b'],
      ownedPartitions: [{ topic: 'a', partitions: [0, 2] }],
    });
    expect(parseSubscription(s)).toMatchObject({
      version: 1,
      topics: ['a', 'b'],
      ownedPartitions: [{ topic: 'a', partitions: [0, 2] }],
    });
    const a = encodeAssignment({ assignedPartitions: [{ topic: 'a', partitions: [1] }] });
    expect(parseAssignment(a)).toMatchObject({ assignedPartitions: [{ topic: 'a', partitions: [1] }] });
    expect(parseSubscription(Buffer.from([0, 0, 0, 0, 0, 9]))).toBeNull();
    expect(parseAssignment(Buffer.alloc(0))).toBeNull();
  });
});
