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
import { KafkaError } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';

const LATEST = -1n;
const EARLIEST = -2n;
const EARLIEST_LOCAL = -4n;
const LATEST_TIERED = -5n;

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
            const key = `${t.name}-${p.partitionIndex}`;
            if (seen.has(key) && v > 0) return out(ErrorCode.INVALID_REQUEST);
            seen.add(key);
            const part = b.replicaManager.leaderPartition(t.name, p.partitionIndex);
            if (part instanceof KafkaError) return out(part.code);
            const cle = p.currentLeaderEpoch ?? -1;
            if (cle >= 0 && cle !== part.leaderEpoch) {
              return out(
                cle < part.leaderEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH,
              );
            }
            const consumer = req.replicaId < 0;
            const upper = consumer
              ? (req.isolationLevel ?? 0) === 1
                ? part.lastStableOffset
                : part.highWatermark
              : part.log.logEndOffset;
            const ts = p.timestamp;
            if (ts === LATEST) return out(ErrorCode.NONE, upper, -1n, part.leaderEpoch);
            if (ts === EARLIEST || ts === EARLIEST_LOCAL) {
              const r = part.log.fetchOffsetByTimestamp(EARLIEST);
              return out(ErrorCode.NONE, part.log.logStartOffset, -1n, r?.leaderEpoch ?? -1);
            }
            if (ts === LATEST_TIERED) return out(ErrorCode.NONE, -1n, -1n, -1);
            const r = part.log.fetchOffsetByTimestamp(ts);
            // Consumers must not learn of offsets past what they may read.
            if (!r || (consumer && r.offset >= upper)) return out(ErrorCode.NONE);
            return out(ErrorCode.NONE, r.offset, r.timestamp, r.leaderEpoch);
          }),
        })),
      };
    },
  });
}
