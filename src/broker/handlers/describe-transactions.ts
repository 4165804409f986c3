/**
 * DescribeTransactions (key 65), version 0 (KIP-664): each transactional id's state on this broker,
 * its coordinator (kafka-transactions.sh describe finds the coordinator first). Per id: NONE with the
 * producer id and epoch, state, timeout, start time and the partitions still in the transaction;
 * NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, TRANSACTIONAL_ID_NOT_FOUND, or INVALID_REQUEST for an
 * empty id.
 */
import {
  decodeDescribeTransactionsRequest,
  encodeDescribeTransactionsResponse,
  type DescribeTransactionsRequest,
  type DescribeTransactionsResponse,
} from '../../protocol/messages/describe-transactions.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { checkTransactionalId } from '../txn/request-checks.js';
import { defineHandler } from './api-handler.js';

export function describeTransactionsHandler(b: BrokerServices) {
  return defineHandler<DescribeTransactionsRequest, DescribeTransactionsResponse>({
    apiKey: 65,
    name: 'DescribeTransactions',
    minVersion: 0,
    maxVersion: 0,
    decode: decodeDescribeTransactionsRequest,
    encode: encodeDescribeTransactionsResponse,
    handle(req, ctx) {
      for (const id of req.transactionalIds) checkTransactionalId(id, 'DescribeTransactions');
      return {
        throttleTimeMs: 0,
        transactionStates: req.transactionalIds.map((id) => {
          // Kafka: DESCRIBE on the transactional id, and only the topics the principal may DESCRIBE.
          if (!b.auth.authorize(ctx, 'DESCRIBE', 'TRANSACTIONAL_ID', id))
            return {
              errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
              transactionalId: id,
              transactionState: '',
              transactionTimeoutMs: 0,
              transactionStartTimeMs: -1n,
              producerId: -1n,
              producerEpoch: -1,
              topics: [],
            };
          const d = b.txnCoordinator.handleDescribeTransactions(id);
          const describable = b.auth.filterAuthorized(
            ctx,
            'DESCRIBE',
            'TOPIC',
            d.topics.map((t) => t.topic),
            { logIfDenied: false },
          );
          return {
            ...d,
            topics: d.topics
              .filter((t) => describable.has(t.topic))
              .map((t) => ({ topic: t.topic, partitions: t.partitions })),
          };
        }),
      };
    },
  });
}
