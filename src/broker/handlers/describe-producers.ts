/**
 * DescribeProducers (key 61), version 0 (KIP-664): the producers a partition leader knows, with
 * their epoch, last sequence and timestamp, coordinator epoch and open transaction's first offset
 * (-1 when none). `kafka-transactions.sh describe-producers` and `find-hanging` read it. As in Kafka,
 * any replica answers from its own producer state (followers record producers' batches and markers
 * as they replicate), since `find-hanging --broker-id` asks one broker about every partition it
 * hosts; a partition this broker does not host answers NOT_LEADER_OR_FOLLOWER, an unknown one
 * UNKNOWN_TOPIC_OR_PARTITION.
 */
import {
  decodeDescribeProducersRequest,
  encodeDescribeProducersResponse,
  type DescribeProducersRequest,
  type DescribeProducersResponse,
} from '../../protocol/messages/describe-producers.js';
import { ErrorCode, errorByCode } from '../../protocol/error-codes.js';
import { errorCodeOf } from '../error-mapping.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';

export function describeProducersHandler(b: BrokerServices) {
  return defineHandler<DescribeProducersRequest, DescribeProducersResponse>({
    apiKey: 61,
    name: 'DescribeProducers',
    minVersion: 0,
    maxVersion: 0,
    decode: decodeDescribeProducersRequest,
    encode: encodeDescribeProducersResponse,
    handle(req, ctx) {
      // Kafka: READ on each topic.
      const readable = b.auth.filterAuthorized(
        ctx,
        'READ',
        'TOPIC',
        req.topics.map((t) => t.name),
      );
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitionIndexes.map((partitionIndex) => {
            if (!readable.has(t.name))
              return {
                partitionIndex,
                errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
                errorMessage: errorByCode(ErrorCode.TOPIC_AUTHORIZATION_FAILED)!.message,
                activeProducers: [],
              };
            try {
              const p =
                b.replicaManager.getPartition(t.name, partitionIndex) ??
                b.replicaManager.leaderPartition(t.name, partitionIndex);
              return {
                partitionIndex,
                errorCode: ErrorCode.NONE,
                errorMessage: null,
                activeProducers: p.activeProducers(),
              };
            } catch (err) {
              return {
                partitionIndex,
                errorCode: errorCodeOf(err),
                errorMessage: err instanceof Error ? err.message : null,
                activeProducers: [],
              };
            }
          }),
        })),
      };
    },
  });
}
