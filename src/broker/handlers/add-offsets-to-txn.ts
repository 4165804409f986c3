/**
 * AddOffsetsToTxn (key 25), versions 0-4: adds the consumer group's `__consumer_offsets` partition
 * (abs(javaHashCode(groupId)) % offsets.topic.num.partitions) to the producer's transaction, so the
 * group's transactional offset commits (TxnOffsetCommit) get the transaction's marker. Always the
 * client protocol (TV0/1) on the coordinator. Clients before v2 get INVALID_PRODUCER_EPOCH for
 * PRODUCER_FENCED.
 */
import {
  decodeAddOffsetsToTxnRequest,
  encodeAddOffsetsToTxnResponse,
  type AddOffsetsToTxnRequest,
  type AddOffsetsToTxnResponse,
} from '../../protocol/messages/add-offsets-to-txn.js';
import { GROUP_METADATA_TOPIC } from '../group/group-metadata-manager.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { checkTransactionalId, fencedForVersion } from '../txn/request-checks.js';
import { defineHandler } from './api-handler.js';

export function addOffsetsToTxnHandler(b: BrokerServices) {
  return defineHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>({
    apiKey: 25,
    name: 'AddOffsetsToTxn',
    minVersion: 0,
    maxVersion: 4,
    decode: decodeAddOffsetsToTxnRequest,
    encode: encodeAddOffsetsToTxnResponse,
    async handle(req, ctx) {
      checkTransactionalId(req.transactionalId, 'AddOffsetsToTxn');
      // Kafka: WRITE on the transactional id, then READ on the group.
      if (!b.auth.authorize(ctx, 'WRITE', 'TRANSACTIONAL_ID', req.transactionalId))
        return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
      if (!b.auth.authorize(ctx, 'READ', 'GROUP', req.groupId))
        return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
      const partition = b.groupMetadataManager.partitionFor(req.groupId);
      const code = await b.txnCoordinator.handleAddPartitionsToTransaction(
        req.transactionalId,
        req.producerId,
        req.producerEpoch,
        [{ topic: GROUP_METADATA_TOPIC, partition }],
        0,
      );
      return { throttleTimeMs: 0, errorCode: fencedForVersion(code, ctx.apiVersion, 2) };
    },
  });
}
