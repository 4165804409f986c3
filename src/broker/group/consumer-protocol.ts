/**
 * The "consumer" embedded protocol (Kafka's ConsumerProtocol): the bytes consumers put in JoinGroup
 * metadata (Subscription) and leaders hand out in SyncGroup (Assignment). The broker never needs them
 * to run a group; it reads them for DescribeGroups-based tooling, OffsetDelete (is the group
 * subscribed to the topic?), lag and offset expiry. Parsing is lenient: bytes that do not parse give
 * null, never an exception, because any client may put anything there.
 *
 * Wire layout (non-flexible, big-endian), version-prefixed:
 *   Subscription: version i16, topics [string], userData nullable bytes,
 *                 v1+: ownedPartitions [topic string, partitions [i32]], v2+: generationId i32,
 *                 v3+: rackId nullable string
 *   Assignment:   version i16, assignedPartitions [topic string, partitions [i32]], userData nullable bytes
 */
import { ByteReader, ByteWriter } from '../../protocol/primitives.js';

export const CONSUMER_PROTOCOL_TYPE = 'consumer';

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface ConsumerSubscription {
  version: number;
  topics: string[];
  userData: Buffer | null;
  ownedPartitions: TopicPartitions[];
  generationId: number;
  rackId: string | null;
}

export interface ConsumerAssignment {
  version: number;
  assignedPartitions: TopicPartitions[];
  userData: Buffer | null;
}

function readTopicPartitions(r: ByteReader): TopicPartitions[] {
  const n = r.arrayLength(false) ?? 0;
  const out: TopicPartitions[] = [];
  for (let i = 0; i < n; i++) {
    const topic = r.string();
    const m = r.arrayLength(false) ?? 0;
    const partitions: number[] = [];
    for (let j = 0; j < m; j++) partitions.push(r.int32());
    out.push({ topic, partitions });
  }
  return out;
}

function writeTopicPartitions(w: ByteWriter, tps: TopicPartitions[]): void {
  w.arrayLength(tps.length, false);
  for (const tp of tps) {
    w.string(tp.topic);
    w.arrayLength(tp.partitions.length, false);
    for (const p of tp.partitions) w.int32(p);
  }
}

export function parseSubscription(buf: Buffer | null | undefined): ConsumerSubscription | null {
  if (!buf || buf.length < 2) return null;
  try {
    const r = new ByteReader(buf);
    const version = r.int16();
    if (version < 0) return null;
    const n = r.arrayLength(false) ?? 0;
    const topics: string[] = [];
    for (let i = 0; i < n; i++) topics.push(r.string());
    const sub: ConsumerSubscription = {
      version,
      topics,
      userData: null,
      ownedPartitions: [],
      generationId: -1,
      rackId: null,
    };
    // Fields after the topics are optional in practice (old clients stop early): read what is there.
    if (r.remaining >= 4) sub.userData = r.nullableBytes();
    if (version >= 1 && r.remaining >= 4) sub.ownedPartitions = readTopicPartitions(r);
    if (version >= 2 && r.remaining >= 4) sub.generationId = r.int32();
    if (version >= 3 && r.remaining >= 2) sub.rackId = r.nullableString();
    return sub;
  } catch {
    return null;
  }
}

export function parseAssignment(buf: Buffer | null | undefined): ConsumerAssignment | null {
  if (!buf || buf.length < 2) return null;
  try {
    const r = new ByteReader(buf);
    const version = r.int16();
    if (version < 0) return null;
    const assignedPartitions = readTopicPartitions(r);
    const userData = r.remaining >= 4 ? r.nullableBytes() : null;
    return { version, assignedPartitions, userData };
  } catch {
    return null;
  }
}

/** Encoders, for tests and tools (the broker itself only reads these). */
export function encodeSubscription(s: Partial<ConsumerSubscription> & { topics: string[] }): Buffer {
  const version = s.version ?? 0;
  const w = new ByteWriter(64);
  w.int16(version);
  w.arrayLength(s.topics.length, false);
  for (const t of s.topics) w.string(t);
  w.nullableBytes(s.userData ?? null);
  if (version >= 1) writeTopicPartitions(w, s.ownedPartitions ?? []);
  if (version >= 2) w.int32(s.generationId ?? -1);
  if (version >= 3) w.nullableString(s.rackId ?? null);
  return w.finish();
}

export function encodeAssignment(
  a: Partial<ConsumerAssignment> & { assignedPartitions: TopicPartitions[] },
): Buffer {
  const w = new ByteWriter(64);
  w.int16(a.version ?? 0);
  writeTopicPartitions(w, a.assignedPartitions);
  w.nullableBytes(a.userData ?? null);
  return w.finish();
}
