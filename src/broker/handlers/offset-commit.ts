/**
 * OffsetCommit (key 8), versions 0-9. Member and generation are checked by the coordinator (v1+);
 * v0 and generation -1 commit for a group without members (assign()-style consumers, admin tools).
 * v1 carries a commit timestamp and v2-4 a retention time (explicit expiry); v6+ the leader epoch.
 * Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION, the rest are stored together.
 */
import {
  decodeOffsetCommitRequest,
  encodeOffsetCommitResponse,
  type OffsetCommitRequest,
  type OffsetCommitResponse,
} from '../../protocol/messages/offset-commit.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { offsetKey } from '../group/group-metadata.js';
import type { OffsetCommitData } from '../group/group-coordinator.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';

/**
 * The offsets of an OffsetCommit or TxnOffsetCommit request on partitions that exist; the others are
 * answered UNKNOWN_TOPIC_OR_PARTITION, as Kafka does before the group coordinator sees them.
 */
export function offsetsOnKnownPartitions<P extends { partitionIndex: number }>(
  b: Pick<BrokerServices, 'table'>,
  topics: readonly { name: string; partitions: readonly P[] }[],
  toOffset: (topic: string, p: P) => OffsetCommitData,
): { errors: Map<string, number>; offsets: OffsetCommitData[] } {
  const errors = new Map<string, number>();
  const offsets: OffsetCommitData[] = [];
  for (const t of topics) {
    const topic = b.table.topics.get(t.name);
    for (const p of t.partitions) {
      if (!topic || p.partitionIndex < 0 || p.partitionIndex >= topic.replicas.length)
        errors.set(offsetKey(t.name, p.partitionIndex), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      else offsets.push(toOffset(t.name, p));
    }
  }
  return { errors, offsets };
}

export function offsetCommitHandler(b: BrokerServices) {
  return defineHandler<OffsetCommitRequest, OffsetCommitResponse>({
    apiKey: 8,
    name: 'OffsetCommit',
    minVersion: 0,
    maxVersion: 9,
    decode: decodeOffsetCommitRequest,
    encode: encodeOffsetCommitResponse,
    async handle(req, ctx) {
      const v = ctx.apiVersion;
      const now = BigInt(Date.now());
      const retention =
        v >= 2 && v <= 4 && req.retentionTimeMs !== undefined && req.retentionTimeMs >= 0n
          ? req.retentionTimeMs
          : -1n;
      // Kafka: READ on the group (else every partition fails), then READ on each topic.
      if (!b.auth.authorize(ctx, 'READ', 'GROUP', req.groupId))
        return {
          throttleTimeMs: 0,
          topics: req.topics.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => ({
              partitionIndex: p.partitionIndex,
              errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
            })),
          })),
        };
      const readable = b.auth.filterAuthorized(
        ctx,
        'READ',
        'TOPIC',
        req.topics.map((t) => t.name),
      );
      const denied = new Map<string, number>();
      for (const t of req.topics)
        if (!readable.has(t.name))
          for (const p of t.partitions)
            denied.set(offsetKey(t.name, p.partitionIndex), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      const { errors, offsets } = offsetsOnKnownPartitions(
        b,
        req.topics.filter((t) => readable.has(t.name)),
        (topic, p) => ({
          topic,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: v >= 6 ? (p.committedLeaderEpoch ?? -1) : -1,
          metadata: p.committedMetadata,
          expireTimestamp: retention >= 0n ? now + retention : -1n,
        }),
      );
      if (offsets.length > 0) {
        const results = await b.groupCoordinator.handleCommitOffsets({
          groupId: req.groupId,
          memberId: v >= 1 ? (req.memberId ?? '') : '',
          groupInstanceId: req.groupInstanceId ?? null,
          generationId: v >= 1 ? (req.generationIdOrMemberEpoch ?? -1) : -1,
          offsets,
        });
        for (const [k, code] of results) errors.set(k, code);
      }
      for (const [k, code] of denied) errors.set(k, code);
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: errors.get(offsetKey(t.name, p.partitionIndex)) ?? ErrorCode.NONE,
          })),
        })),
      };
    },
  });
}
