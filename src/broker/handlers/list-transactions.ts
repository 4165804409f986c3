/**
 * ListTransactions (key 66), versions 0-1 (KIP-664; v1 adds the duration filter, KIP-994): the
 * transactional ids this broker coordinates, filtered by state names (unknown names are returned in
 * unknownStateFilters), producer ids and, from v1, running longer than DurationFilter ms.
 * kafka-transactions.sh list asks every broker and merges. COORDINATOR_LOAD_IN_PROGRESS while a
 * __transaction_state partition loads here. (v2's transactional-id pattern, KIP-1152, is not offered.)
 */
import {
  decodeListTransactionsRequest,
  encodeListTransactionsResponse,
  type ListTransactionsRequest,
  type ListTransactionsResponse,
} from '../../protocol/messages/list-transactions.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';

export function listTransactionsHandler(b: BrokerServices) {
  return defineHandler<ListTransactionsRequest, ListTransactionsResponse>({
    apiKey: 66,
    name: 'ListTransactions',
    minVersion: 0,
    maxVersion: 1,
    decode: decodeListTransactionsRequest,
    encode: encodeListTransactionsResponse,
    handle(req, ctx) {
      const r = b.txnCoordinator.handleListTransactions(
        new Set(req.producerIdFilters),
        req.stateFilters,
        Number(req.durationFilter ?? -1n),
      );
      // Kafka: only the transactional ids the principal may DESCRIBE.
      const describable = b.auth.filterAuthorized(
        ctx,
        'DESCRIBE',
        'TRANSACTIONAL_ID',
        r.transactionStates.map((s) => s.transactionalId),
        { logIfDenied: false },
      );
      return {
        throttleTimeMs: 0,
        ...r,
        transactionStates: r.transactionStates.filter((s) => describable.has(s.transactionalId)),
      };
    },
  });
}
