/** DeleteRecords (key 21), versions 0-2: move a partition's log start offset (-1 = the high watermark). */
import {
  decodeDeleteRecordsRequest,
  encodeDeleteRecordsResponse,
  type DeleteRecordsRequest,
  type DeleteRecordsResponse,
} from '../../protocol/messages/delete-records.js';
import { ErrorCode } from '../../protocol/error-codes.js';
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
    handle(req) {
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => {
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
