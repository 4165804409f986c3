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
    handle(req) {
      for (const id of req.transactionalIds) checkTransactionalId(id, 'DescribeTransactions');
      return {
        throttleTimeMs: 0,
        transactionStates: req.transactionalIds.map((id) => {
          const d = b.txnCoordinator.handleDescribeTransactions(id);
          return { ...d, topics: d.topics.map((t) => ({ topic: t.topic, partitions: t.partitions })) };
        }),
      };
    },
  });
}
