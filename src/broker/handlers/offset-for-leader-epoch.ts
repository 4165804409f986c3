/**
 * OffsetForLeaderEpoch (key 23), versions 0-4 (KIP-101; clients use it since KIP-320 to detect log
 * truncation after a leader change). For each partition the leader answers with the largest epoch
 * at or below the requested one that its log knows and the offset where the next epoch starts (its
 * log end offset for its latest epoch); (-1, -1) when it knows nothing of that epoch. The request's
 * currentLeaderEpoch (v2+) is checked like Fetch's: older → FENCED_LEADER_EPOCH, newer →
 * UNKNOWN_LEADER_EPOCH. Only the leader answers.
 */
import {
  decodeOffsetForLeaderEpochRequest,
  encodeOffsetForLeaderEpochResponse,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse,
} from '../../protocol/messages/offset-for-leader-epoch.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { errorCodeOf } from '../error-mapping.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';

export function offsetForLeaderEpochHandler(b: BrokerServices) {
  return defineHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>({
    apiKey: 23,
    name: 'OffsetForLeaderEpoch',
    minVersion: 0,
    maxVersion: 4,
    decode: decodeOffsetForLeaderEpochRequest,
    encode: encodeOffsetForLeaderEpochResponse,
    handle(req, ctx) {
      // Kafka: CLUSTER_ACTION on the cluster (followers), else DESCRIBE on each topic (consumers
      // checking for truncation, KIP-320).
      const describable = b.auth.authorizeCluster(ctx, 'CLUSTER_ACTION', { logIfDenied: false })
        ? null
        : b.auth.filterAuthorized(
            ctx,
            'DESCRIBE',
            'TOPIC',
            req.topics.map((t) => t.topic),
          );
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((q) => {
            const out = (errorCode: number, leaderEpoch = -1, endOffset = -1n) => ({
              errorCode,
              partition: q.partition,
              leaderEpoch,
              endOffset,
            });
            if (describable && !describable.has(t.topic)) return out(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
            try {
              const end = b.replicaManager
                .leaderPartition(t.topic, q.partition)
                .lastOffsetForLeaderEpoch(q.currentLeaderEpoch ?? -1, q.leaderEpoch);
              return out(ErrorCode.NONE, end.epoch, end.endOffset);
            } catch (err) {
              return out(errorCodeOf(err));
            }
          }),
        })),
      };
    },
  });
}
