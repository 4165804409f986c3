/**
 * ListOffsets (key 2), versions 0-9. Special timestamps: -1 latest (the high watermark, or the last
 * stable offset for read_committed), -2 earliest, -3 the record with the largest timestamp (v7+),
 * -4 earliest local (v8+, = earliest without tiered storage), -5 latest tiered (v9+, none here).
 * Other values: the first offset whose timestamp is at or after it.
 */
import {
  decodeListOffsetsRequest,
  encodeListOffsetsResponse,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
} from '../../protocol/messages/list-offsets.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { errorCodeOf } from '../error-mapping.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';

export function listOffsetsHandler(b: BrokerServices) {
  return defineHandler<ListOffsetsRequest, ListOffsetsResponse>({
    apiKey: 2,
    name: 'ListOffsets',
    minVersion: 0,
    maxVersion: 9,
    decode: decodeListOffsetsRequest,
    encode: encodeListOffsetsResponse,
    handle(req, ctx) {
      const v = ctx.apiVersion;
      const seen = new Set<string>();
      // Kafka's handleListOffsetRequest: DESCRIBE on each topic.
      const describable = b.auth.filterAuthorized(
        ctx,
        'DESCRIBE',
        'TOPIC',
        req.topics.map((t) => t.name),
      );
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => {
            // v0 answers with a list of offsets; v1+ with one offset and its timestamp (and epoch from v4).
            const out = (errorCode: number, offset = -1n, timestamp = -1n, leaderEpoch = -1) =>
              v === 0
                ? {
                    partitionIndex: p.partitionIndex,
                    errorCode,
                    oldStyleOffsets: errorCode === ErrorCode.NONE && offset >= 0n ? [offset] : [],
                  }
                : { partitionIndex: p.partitionIndex, errorCode, timestamp, offset, leaderEpoch };
            if (!describable.has(t.name)) return out(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
            const key = `${t.name}-${p.partitionIndex}`;
            if (seen.has(key) && v > 0) return out(ErrorCode.INVALID_REQUEST);
            seen.add(key);
            // Consumers read to the high watermark (read_uncommitted) or the last stable offset
            // (read_committed); a replica (debugging tools) to the log end.
            const isolation =
              req.replicaId >= 0
                ? 'log-end'
                : (req.isolationLevel ?? 0) === 1
                  ? 'txn-committed'
                  : 'high-watermark';
            try {
              const part = b.replicaManager.leaderPartition(t.name, p.partitionIndex);
              const r = part.fetchOffsetForTimestamp(p.timestamp, isolation, p.currentLeaderEpoch ?? -1);
              return r ? out(ErrorCode.NONE, r.offset, r.timestamp, r.leaderEpoch) : out(ErrorCode.NONE);
            } catch (err) {
              return out(errorCodeOf(err));
            }
          }),
        })),
      };
    },
  });
}
