/**
 * InitProducerId (key 22), versions 0-5. Without a transactional id (idempotent producers): a fresh
 * producer id at epoch 0; a KIP-360 epoch bump simply gets a new id, as in Kafka. With one: the
 * transaction coordinator (src/broker/txn) gives the id's producer id at its next epoch, fencing
 * older instances, after aborting a transaction they left open (CONCURRENT_TRANSACTIONS until that
 * is done). v3+ may name the producer id and epoch the client had (KIP-360): both or neither, else
 * INVALID_REQUEST. Clients before v4 do not know PRODUCER_FENCED and get INVALID_PRODUCER_EPOCH.
 * (v6, KIP-939 two-phase commit, is not offered.)
 */
import {
  decodeInitProducerIdRequest,
  encodeInitProducerIdResponse,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
} from '../../protocol/messages/init-producer-id.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { checkTransactionalId, fencedForVersion } from '../txn/request-checks.js';
import { defineHandler } from './api-handler.js';

const NO_PRODUCER_ID = -1n;
const NO_PRODUCER_EPOCH = -1;

export function initProducerIdHandler(b: BrokerServices) {
  return defineHandler<InitProducerIdRequest, InitProducerIdResponse>({
    apiKey: 22,
    name: 'InitProducerId',
    minVersion: 0,
    maxVersion: 5,
    decode: decodeInitProducerIdRequest,
    encode: encodeInitProducerIdResponse,
    async handle(req, ctx) {
      const fail = (errorCode: number): InitProducerIdResponse => ({
        throttleTimeMs: 0,
        errorCode: fencedForVersion(errorCode, ctx.apiVersion, 4),
        producerId: NO_PRODUCER_ID,
        producerEpoch: NO_PRODUCER_EPOCH,
      });
      const pid = req.producerId ?? NO_PRODUCER_ID;
      const epoch = req.producerEpoch ?? NO_PRODUCER_EPOCH;
      if ((pid === NO_PRODUCER_ID) !== (epoch === NO_PRODUCER_EPOCH)) return fail(ErrorCode.INVALID_REQUEST);
      // Kafka: a transactional producer needs WRITE on its id; an idempotent one IDEMPOTENT_WRITE on
      // the cluster, or WRITE on some topic (authorizeByResourceType).
      if (
        req.transactionalId !== null &&
        !b.auth.authorize(ctx, 'WRITE', 'TRANSACTIONAL_ID', req.transactionalId)
      )
        return fail(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      if (
        req.transactionalId === null &&
        !b.auth.authorizeCluster(ctx, 'IDEMPOTENT_WRITE', { logIfDenied: false }) &&
        !b.auth.authorizeByResourceType(ctx, 'WRITE', 'TOPIC')
      )
        return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      if (req.transactionalId === null) {
        // KIP-360: an idempotent producer that asks to bump its epoch simply gets a new id.
        try {
          return {
            throttleTimeMs: 0,
            errorCode: ErrorCode.NONE,
            producerId: await b.producerIds.generate(),
            producerEpoch: 0,
          };
        } catch (err) {
          b.log.warn({ err }, 'could not allocate a producer id');
          return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
        }
      }
      checkTransactionalId(req.transactionalId, 'InitProducerId');
      const r = await b.txnCoordinator.handleInitProducerId(
        req.transactionalId,
        req.transactionTimeoutMs,
        pid === NO_PRODUCER_ID ? null : { producerId: pid, producerEpoch: epoch },
      );
      if (r.errorCode !== ErrorCode.NONE) return fail(r.errorCode);
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        producerId: r.producerId,
        producerEpoch: r.producerEpoch,
      };
    },
  });
}
