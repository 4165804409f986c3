/**
 * DeleteRecords (key 21), versions 0-2: move a partition's log start offset (-1 = the high watermark).
 * As Kafka's ReplicaManager.deleteRecords: an internal topic is refused with INVALID_TOPIC_EXCEPTION,
 * every other answer comes from the partition (Partition.deleteRecordsOnLeader); a failed partition
 * answers low watermark -1.
 */
import {
  decodeDeleteRecordsRequest,
  encodeDeleteRecordsResponse,
  type DeleteRecordsRequest,
  type DeleteRecordsResponse,
} from '../../protocol/messages/delete-records.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { INTERNAL_TOPICS } from '../../common/topic-config.js';
import { errorCodeOf } from '../error-mapping.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';

export function deleteRecordsHandler(b: BrokerServices) {
  return defineHandler<DeleteRecordsRequest, DeleteRecordsResponse>({
    apiKey: 21,
    name: 'DeleteRecords',
    minVersion: 0,
    maxVersion: 2,
    decode: decodeDeleteRecordsRequest,
    encode: encodeDeleteRecordsResponse,
    handle(req, ctx) {
      // Kafka: DELETE on each topic.
      const deletable = b.auth.filterAuthorized(
        ctx,
        'DELETE',
        'TOPIC',
        req.topics.map((t) => t.name),
      );
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => {
            if (!deletable.has(t.name))
              return {
                partitionIndex: p.partitionIndex,
                lowWatermark: -1n,
                errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
              };
            // Kafka's KafkaApis answers a partition it does not know first (the partition does here).
            const known = (b.table.topics.get(t.name)?.replicas.length ?? 0) > p.partitionIndex;
            if (known && INTERNAL_TOPICS.has(t.name))
              return {
                partitionIndex: p.partitionIndex,
                lowWatermark: -1n,
                errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
              };
            try {
              const low = b.replicaManager
                .leaderPartition(t.name, p.partitionIndex)
                .deleteRecordsOnLeader(p.offset);
              return { partitionIndex: p.partitionIndex, lowWatermark: low, errorCode: ErrorCode.NONE };
            } catch (err) {
              const errorCode = errorCodeOf(err);
              if (errorCode === ErrorCode.KAFKA_STORAGE_ERROR || errorCode === ErrorCode.UNKNOWN_SERVER_ERROR)
                b.log.error({ err, topic: t.name, partition: p.partitionIndex }, 'delete records failed');
              return { partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode };
            }
          }),
        })),
      };
    },
  });
}
