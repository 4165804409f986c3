/**
 * AddPartitionsToTxn (key 24), versions 0-5.
 *  - v0-3 come from producers (TV0/1): one transaction, its partitions added before the producer
 *    writes to them. Internal topics cannot be added this way (TOPIC_AUTHORIZATION_FAILED, as Kafka's
 *    authorization filter leaves them out).
 *  - v4-5 come from partition leaders (KIP-890): a batch of transactions, each either verified
 *    (verifyOnly: is every partition already in the transaction? NONE or TRANSACTION_ABORTABLE per
 *    partition) or added on the producer's behalf under transaction version 2 (implicit add on
 *    produce). Kafka requires the CLUSTER_ACTION permission for these versions; without an
 *    authorizer (Sluice has none yet) any caller is served, as a Kafka broker without one serves it.
 * Before anything is added, every partition must exist: otherwise the transaction's unknown ones get
 * UNKNOWN_TOPIC_OR_PARTITION and the rest OPERATION_NOT_ATTEMPTED. Clients before v2 get
 * INVALID_PRODUCER_EPOCH for PRODUCER_FENCED.
 */
import {
  decodeAddPartitionsToTxnRequest,
  encodeAddPartitionsToTxnResponse,
  type AddPartitionsToTxnRequest,
  type AddPartitionsToTxnResponse,
  type AddPartitionsToTxnResponseAddPartitionsToTxnResult,
  type AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult,
} from '../../protocol/messages/add-partitions-to-txn.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { TopicPartitionSet, type TopicPartition } from '../txn/topic-partitions.js';
import { checkTransactionalId, fencedForVersion } from '../txn/request-checks.js';
import { GROUP_METADATA_TOPIC } from '../group/group-metadata-manager.js';
import { TRANSACTION_STATE_TOPIC } from '../txn/transaction-log.js';
import { defineHandler, type RequestContext } from './api-handler.js';

interface TxnToAdd {
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
  verifyOnly: boolean;
  partitions: TopicPartitionSet;
}

const INTERNAL_TOPICS = new Set([GROUP_METADATA_TOPIC, TRANSACTION_STATE_TOPIC]);

function topicResults(
  errors: Map<TopicPartition, number>,
): AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult[] {
  const byTopic = new Map<string, { partitionIndex: number; partitionErrorCode: number }[]>();
  for (const [tp, code] of errors) {
    let l = byTopic.get(tp.topic);
    if (!l) byTopic.set(tp.topic, (l = []));
    l.push({ partitionIndex: tp.partition, partitionErrorCode: code });
  }
  return [...byTopic].map(([name, resultsByPartition]) => ({ name, resultsByPartition }));
}

export function addPartitionsToTxnHandler(b: BrokerServices) {
  const exists = (tp: TopicPartition) => {
    const t = b.table.topics.get(tp.topic);
    return t !== undefined && tp.partition >= 0 && tp.partition < t.replicas.length;
  };

  const handleOne = async (
    ctx: RequestContext,
    t: TxnToAdd,
    version: number,
  ): Promise<AddPartitionsToTxnResponseAddPartitionsToTxnResult> => {
    const parts = [...t.partitions];
    const all = (code: number) => new Map(parts.map((tp) => [tp, fencedForVersion(code, version, 2)]));
    // Kafka: a client's request (v0-3) needs WRITE on the transactional id and on each topic; a
    // broker's (v4+) was authorized as CLUSTER_ACTION as a whole.
    if (version < 4 && !b.auth.authorize(ctx, 'WRITE', 'TRANSACTIONAL_ID', t.transactionalId))
      return {
        transactionalId: t.transactionalId,
        topicResults: topicResults(all(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)),
      };
    const writable =
      version < 4
        ? b.auth.filterAuthorized(
            ctx,
            'WRITE',
            'TOPIC',
            parts.filter((tp) => !INTERNAL_TOPICS.has(tp.topic)).map((tp) => tp.topic),
          )
        : null;
    const refused = new Map<TopicPartition, number>();
    for (const tp of parts) {
      if (version < 4 && (INTERNAL_TOPICS.has(tp.topic) || !writable!.has(tp.topic)))
        refused.set(tp, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      else if (!exists(tp)) refused.set(tp, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    }
    let errors: Map<TopicPartition, number>;
    if (refused.size > 0) {
      // One bad partition fails the whole transaction's request; the others were not attempted.
      errors = new Map(parts.map((tp) => [tp, refused.get(tp) ?? ErrorCode.OPERATION_NOT_ATTEMPTED]));
    } else if (t.verifyOnly) {
      errors = b.txnCoordinator.handleVerifyPartitionsInTransaction(
        t.transactionalId,
        t.producerId,
        t.producerEpoch,
        parts,
      );
    } else {
      const code = await b.txnCoordinator.handleAddPartitionsToTransaction(
        t.transactionalId,
        t.producerId,
        t.producerEpoch,
        parts,
        // Kafka's TransactionVersion.transactionVersionForAddPartitionsToTxn: v4+ (from brokers) is TV2.
        version > 3 ? 2 : 0,
      );
      errors = all(code);
    }
    return { transactionalId: t.transactionalId, topicResults: topicResults(errors) };
  };

  return defineHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>({
    apiKey: 24,
    name: 'AddPartitionsToTxn',
    minVersion: 0,
    maxVersion: 5,
    decode: decodeAddPartitionsToTxnRequest,
    encode: encodeAddPartitionsToTxnResponse,
    async handle(req, ctx) {
      const v = ctx.apiVersion;
      const txns: TxnToAdd[] =
        v < 4
          ? [
              {
                transactionalId: req.v3AndBelowTransactionalId ?? '',
                producerId: req.v3AndBelowProducerId ?? -1n,
                producerEpoch: req.v3AndBelowProducerEpoch ?? -1,
                verifyOnly: false,
                partitions: new TopicPartitionSet(
                  (req.v3AndBelowTopics ?? []).flatMap((t) =>
                    t.partitions.map((partition) => ({ topic: t.name, partition })),
                  ),
                ),
              },
            ]
          : (req.transactions ?? []).map((t) => ({
              transactionalId: t.transactionalId,
              producerId: t.producerId,
              producerEpoch: t.producerEpoch,
              verifyOnly: t.verifyOnly,
              partitions: new TopicPartitionSet(
                t.topics.flatMap((x) => x.partitions.map((partition) => ({ topic: x.name, partition }))),
              ),
            }));
      for (const t of txns) checkTransactionalId(t.transactionalId, 'AddPartitionsToTxn');
      if (v >= 4 && !b.auth.authorizeCluster(ctx, 'CLUSTER_ACTION'))
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          resultsByTransaction: [],
        };
      const results = await Promise.all(txns.map((t) => handleOne(ctx, t, v)));
      if (v < 4) return { throttleTimeMs: 0, resultsByTopicV3AndBelow: results[0]!.topicResults };
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction: results };
    },
  });
}
