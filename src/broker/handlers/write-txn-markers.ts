/**
 * WriteTxnMarkers (key 27), versions 0-1: the transaction coordinator (this broker's or another's)
 * asks this partition leader to end a producer's transaction with a COMMIT or ABORT control batch
 * on each partition named. Markers are appended with acks=all (the answer waits for the high
 * watermark, up to request.timeout.ms). A marker written to a `__consumer_offsets` partition also
 * applies or discards the producer's staged transactional offset commits there (the group
 * coordinator's onTransactionCompleted). This handler is the one code path that appends markers.
 */
import {
  decodeWriteTxnMarkersRequest,
  encodeWriteTxnMarkersResponse,
  type WriteTxnMarkersRequest,
  type WriteTxnMarkersResponse,
} from '../../protocol/messages/write-txn-markers.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { GROUP_METADATA_TOPIC } from '../group/group-metadata-manager.js';
import { defineHandler } from './api-handler.js';

export function writeTxnMarkersHandler(b: BrokerServices) {
  return defineHandler<WriteTxnMarkersRequest, WriteTxnMarkersResponse>({
    apiKey: 27,
    name: 'WriteTxnMarkers',
    minVersion: 0,
    maxVersion: 1,
    decode: decodeWriteTxnMarkersRequest,
    encode: encodeWriteTxnMarkersResponse,
    async handle(req, ctx) {
      // Kafka: ALTER on the cluster (logged only if CLUSTER_ACTION is denied too), else CLUSTER_ACTION.
      if (
        !b.auth.authorizeCluster(ctx, 'ALTER', { logIfDenied: false }) &&
        !b.auth.authorizeCluster(ctx, 'CLUSTER_ACTION')
      )
        return {
          markers: req.markers.map((m) => ({
            producerId: m.producerId,
            topics: m.topics.map((t) => ({
              name: t.name,
              partitions: t.partitionIndexes.map((partitionIndex) => ({
                partitionIndex,
                errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
              })),
            })),
          })),
        };
      const inputs = req.markers.map((m) => ({
        producerId: m.producerId,
        producerEpoch: m.producerEpoch,
        coordinatorEpoch: m.coordinatorEpoch,
        result: m.transactionResult ? ('COMMIT' as const) : ('ABORT' as const),
        partitions: m.topics.flatMap((t) =>
          t.partitionIndexes.map((partition) => ({ topic: t.name, partition })),
        ),
      }));
      const codes = await b.replicaManager.appendTxnMarkers(inputs, b.config.int('request.timeout.ms'));
      for (const [i, m] of inputs.entries()) {
        for (const { topic, partition } of m.partitions) {
          if (topic !== GROUP_METADATA_TOPIC) continue;
          if (codes[i]!.get(`${topic}-${partition}`) !== ErrorCode.NONE) continue;
          b.groupCoordinator.onTransactionCompleted(partition, m.producerId, m.result);
        }
      }
      return {
        markers: req.markers.map((m, i) => ({
          producerId: m.producerId,
          topics: m.topics.map((t) => ({
            name: t.name,
            partitions: t.partitionIndexes.map((partitionIndex) => ({
              partitionIndex,
              errorCode: codes[i]!.get(`${t.name}-${partitionIndex}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR,
            })),
          })),
        })),
      };
    },
  });
}
