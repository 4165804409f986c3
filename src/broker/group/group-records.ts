/**
 * The records of __consumer_offsets, in Kafka's own layouts (group-coordinator's OffsetCommitKey/
 * Value and GroupMetadataKey/Value), so Kafka tooling (kafka-console-consumer with the offsets
 * formatter, kcat with a key decoder) reads Sluice's offsets topic as it reads Kafka's.
 *
 * Every key and value starts with an int16 version. Keys:
 *   v0, v1  OffsetCommitKey:   group string, topic string, partition i32
 *   v2      GroupMetadataKey:  group string
 * OffsetCommitValue:
 *   v0  offset i64, metadata string, commitTimestamp i64
 *   v1  offset i64, metadata string, commitTimestamp i64, expireTimestamp i64
 *   v2  offset i64, metadata string, commitTimestamp i64
 *   v3  offset i64, leaderEpoch i32, metadata string, commitTimestamp i64
 * GroupMetadataValue:
 *   protocolType string, generation i32, protocol nullable string, leader nullable string,
 *   v2+: currentStateTimestamp i64, members [MemberMetadata]
 *   MemberMetadata: memberId string, v3+: groupInstanceId nullable string, clientId string,
 *   clientHost string, v1+: rebalanceTimeout i32, sessionTimeout i32, subscription bytes,
 *   assignment bytes
 * Versions 4 of both values are the flexible forms (KIP-915): decoded here too, never written.
 * A null value is a tombstone: the offset was deleted, or the group was deleted.
 */
import { ByteReader, ByteWriter, DecodeError } from '../../protocol/primitives.js';

export interface OffsetCommitKey {
  kind: 'offset';
  group: string;
  topic: string;
  partition: number;
}

export interface GroupMetadataKey {
  kind: 'group';
  group: string;
}

export type GroupRecordKey = OffsetCommitKey | GroupMetadataKey;

export interface OffsetAndMetadata {
  offset: bigint;
  /** -1 when unknown. */
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: bigint;
  /** -1 when the commit carried no explicit retention (the normal case since Kafka 2.1). */
  expireTimestamp: bigint;
}

export interface StoredMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  subscription: Buffer;
  assignment: Buffer;
}

export interface GroupMetadataValue {
  protocolType: string;
  generation: number;
  protocol: string | null;
  leader: string | null;
  currentStateTimestamp: bigint;
  members: StoredMember[];
}

export const GROUP_METADATA_VALUE_VERSION = 3;

export function encodeOffsetCommitKey(group: string, topic: string, partition: number): Buffer {
  return new ByteWriter(32 + group.length + topic.length)
    .int16(1)
    .string(group)
    .string(topic)
    .int32(partition)
    .finish();
}

export function encodeGroupMetadataKey(group: string): Buffer {
  return new ByteWriter(8 + group.length).int16(2).string(group).finish();
}

export function decodeGroupRecordKey(buf: Buffer): GroupRecordKey {
  const r = new ByteReader(buf);
  const version = r.int16();
  if (version === 0 || version === 1)
    return { kind: 'offset', group: r.string(), topic: r.string(), partition: r.int32() };
  if (version === 2) return { kind: 'group', group: r.string() };
  throw new DecodeError(`unknown __consumer_offsets key version ${version}`);
}

/** v1 when the commit has an explicit expiry (OffsetCommit v1-4 retention), else v3 with the leader epoch. */
export function encodeOffsetCommitValue(o: OffsetAndMetadata): Buffer {
  const w = new ByteWriter(40 + o.metadata.length);
  if (o.expireTimestamp >= 0n) {
    w.int16(1).int64(o.offset).string(o.metadata).int64(o.commitTimestamp).int64(o.expireTimestamp);
  } else {
    w.int16(3).int64(o.offset).int32(o.leaderEpoch).string(o.metadata).int64(o.commitTimestamp);
  }
  return w.finish();
}

export function decodeOffsetCommitValue(buf: Buffer): OffsetAndMetadata {
  const r = new ByteReader(buf);
  const version = r.int16();
  if (version < 0 || version > 4) throw new DecodeError(`unknown offset commit value version ${version}`);
  const flexible = version >= 4;
  const offset = r.int64();
  const leaderEpoch = version >= 3 ? r.int32() : -1;
  const metadata = flexible ? r.compactString() : r.string();
  const commitTimestamp = r.int64();
  const expireTimestamp = version === 1 ? r.int64() : -1n;
  return { offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp };
}

export function encodeGroupMetadataValue(
  g: GroupMetadataValue,
  version = GROUP_METADATA_VALUE_VERSION,
): Buffer {
  const w = new ByteWriter(128);
  w.int16(version)
    .string(g.protocolType)
    .int32(g.generation)
    .nullableString(g.protocol)
    .nullableString(g.leader);
  if (version >= 2) w.int64(g.currentStateTimestamp);
  w.arrayLength(g.members.length, false);
  for (const m of g.members) {
    w.string(m.memberId);
    if (version >= 3) w.nullableString(m.groupInstanceId);
    w.string(m.clientId).string(m.clientHost);
    if (version >= 1) w.int32(m.rebalanceTimeoutMs);
    w.int32(m.sessionTimeoutMs).bytes(m.subscription).bytes(m.assignment);
  }
  return w.finish();
}

function skipTaggedFields(r: ByteReader): void {
  const n = r.unsignedVarint();
  for (let i = 0; i < n; i++) {
    r.unsignedVarint();
    r.skip(r.unsignedVarint());
  }
}

export function decodeGroupMetadataValue(buf: Buffer): GroupMetadataValue {
  const r = new ByteReader(buf);
  const version = r.int16();
  if (version < 0 || version > 4) throw new DecodeError(`unknown group metadata value version ${version}`);
  const f = version >= 4;
  const str = () => (f ? r.compactString() : r.string());
  const nstr = () => (f ? r.compactNullableString() : r.nullableString());
  const bytes = () => Buffer.from(f ? r.compactBytes() : r.bytes());
  const protocolType = str();
  const generation = r.int32();
  const protocol = nstr();
  const leader = nstr();
  const currentStateTimestamp = version >= 2 ? r.int64() : -1n;
  const n = r.arrayLength(f) ?? 0;
  const members: StoredMember[] = [];
  for (let i = 0; i < n; i++) {
    const memberId = str();
    const groupInstanceId = version >= 3 ? nstr() : null;
    const clientId = str();
    const clientHost = str();
    const rebalanceTimeoutMs = version >= 1 ? r.int32() : -1;
    const sessionTimeoutMs = r.int32();
    const subscription = bytes();
    const assignment = bytes();
    if (f) skipTaggedFields(r);
    members.push({
      memberId,
      groupInstanceId,
      clientId,
      clientHost,
      rebalanceTimeoutMs: rebalanceTimeoutMs < 0 ? sessionTimeoutMs : rebalanceTimeoutMs,
      sessionTimeoutMs,
      subscription,
      assignment,
    });
  }
  return { protocolType, generation, protocol, leader, currentStateTimestamp, members };
}
