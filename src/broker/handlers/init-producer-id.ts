/**
 * InitProducerId (key 22), versions 0-4, for idempotent producers (transactionalId null): a fresh
 * producer id at epoch 0. Transactional ids need the transaction coordinator, which is not built yet:
 * they get a clear error rather than a half-working transaction.
 */
import {
  decodeInitProducerIdRequest,
  encodeInitProducerIdResponse,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
} from '../../protocol/messages/init-producer-id.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';

export function initProducerIdHandler(b: BrokerServices) {
  return defineHandler<InitProducerIdRequest, InitProducerIdResponse>({
    apiKey: 22,
    name: 'InitProducerId',
    minVersion: 0,
    maxVersion: 4,
    decode: decodeInitProducerIdRequest,
    encode: encodeInitProducerIdResponse,
    async handle(req) {
      if (req.transactionalId !== null) {
        b.log.warn({ transactionalId: req.transactionalId }, 'transactional producers are not supported yet');
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
          producerId: -1n,
          producerEpoch: -1,
        };
      }
      // KIP-360: an idempotent producer that asks to bump its epoch simply gets a new id.
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        producerId: await b.producerIds.generate(),
        producerEpoch: 0,
      };
    },
  });
}
