/** DeleteRecords (key 21), versions 0-2: move a partition's log start offset (-1 = the high watermark). */
import {
  decodeDeleteRecordsRequest,
  encodeDeleteRecordsResponse,
  type DeleteRecordsRequest,
  type DeleteRecordsResponse,
} from '../../protocol/messages/delete-records.js';
import { ErrorCode, KafkaError } from '../../protocol/error-codes.js';
import { OffsetOutOfRangeError } from '../../storage/errors.js';
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
            const part = b.replicaManager.leaderPartition(t.name, p.partitionIndex);
            if (part instanceof KafkaError)
              return { partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: part.code };
            const target = p.offset === -1n ? part.highWatermark : p.offset;
            try {
              const low = part.log.deleteRecordsBefore(target);
              return { partitionIndex: p.partitionIndex, lowWatermark: low, errorCode: ErrorCode.NONE };
            } catch (err) {
              if (err instanceof OffsetOutOfRangeError || target < 0n) {
                return {
                  partitionIndex: p.partitionIndex,
                  lowWatermark: -1n,
                  errorCode: ErrorCode.OFFSET_OUT_OF_RANGE,
                };
              }
              b.log.error({ err, topic: t.name, partition: p.partitionIndex }, 'delete records failed');
              return {
                partitionIndex: p.partitionIndex,
                lowWatermark: -1n,
                errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
              };
            }
          }),
        })),
      };
    },
  });
}
