/**
 * EndTxn (key 26), versions 0-5: commit or abort the producer's transaction. The coordinator answers
 * once PrepareCommit/PrepareAbort is written; the markers follow asynchronously. v5 is KIP-890's
 * transaction version 2: the coordinator bumps the producer epoch on every EndTxn and the response
 * carries the producer id and the new epoch (clients send v5 only when the cluster finalized
 * transaction.version 2); v0-4 keep the epoch. Clients before v2 get INVALID_PRODUCER_EPOCH for
 * PRODUCER_FENCED.
 */
import {
  decodeEndTxnRequest,
  encodeEndTxnResponse,
  type EndTxnRequest,
  type EndTxnResponse,
} from '../../protocol/messages/end-txn.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { checkTransactionalId, fencedForVersion } from '../txn/request-checks.js';
import { defineHandler } from './api-handler.js';

export function endTxnHandler(b: BrokerServices) {
  return defineHandler<EndTxnRequest, EndTxnResponse>({
    apiKey: 26,
    name: 'EndTxn',
    minVersion: 0,
    maxVersion: 5,
    decode: decodeEndTxnRequest,
    encode: encodeEndTxnResponse,
    async handle(req, ctx) {
      checkTransactionalId(req.transactionalId, 'EndTxn');
      // Kafka: WRITE on the transactional id.
      if (!b.auth.authorize(ctx, 'WRITE', 'TRANSACTIONAL_ID', req.transactionalId))
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
          producerId: -1n,
          producerEpoch: -1,
        };
      const r = await b.txnCoordinator.handleEndTransaction(
        req.transactionalId,
        req.producerId,
        req.producerEpoch,
        req.committed ? 'COMMIT' : 'ABORT',
        ctx.apiVersion > 4 ? 2 : 0,
      );
      return {
        throttleTimeMs: 0,
        errorCode: fencedForVersion(r.errorCode, ctx.apiVersion, 2),
        producerId: r.producerId,
        producerEpoch: r.producerEpoch,
      };
    },
  });
}
