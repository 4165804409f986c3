/**
 * TxnOffsetCommit (key 28), versions 0-4: a transactional producer commits a consumer group's
 * offsets inside its transaction (sendOffsetsToTransaction). Sent to the group coordinator after
 * AddOffsetsToTxn put the group's `__consumer_offsets` partition in the transaction. The offsets are
 * written as the producer's transactional batch and become the group's committed offsets only when
 * the COMMIT marker lands there (an ABORT drops them). v3+ carry the consumer's generation, member
 * id and group instance id, which are checked as for OffsetCommit (KIP-447).
 */
import {
  decodeTxnOffsetCommitRequest,
  encodeTxnOffsetCommitResponse,
  type TxnOffsetCommitRequest,
  type TxnOffsetCommitResponse,
} from '../../protocol/messages/txn-offset-commit.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { offsetKey } from '../group/group-metadata.js';
import type { OffsetCommitData } from '../group/group-coordinator.js';
import type { BrokerServices } from '../broker-services.js';
import { checkTransactionalId } from '../txn/request-checks.js';
import { defineHandler } from './api-handler.js';

export function txnOffsetCommitHandler(b: BrokerServices) {
  return defineHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse>({
    apiKey: 28,
    name: 'TxnOffsetCommit',
    minVersion: 0,
    maxVersion: 4,
    decode: decodeTxnOffsetCommitRequest,
    encode: encodeTxnOffsetCommitResponse,
    async handle(req) {
      checkTransactionalId(req.transactionalId, 'TxnOffsetCommit');
      const errors = new Map<string, number>();
      const offsets: OffsetCommitData[] = [];
      for (const t of req.topics) {
        const topic = b.table.topics.get(t.name);
        for (const p of t.partitions) {
          if (!topic || p.partitionIndex < 0 || p.partitionIndex >= topic.replicas.length) {
            errors.set(offsetKey(t.name, p.partitionIndex), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
            continue;
          }
          offsets.push({
            topic: t.name,
            partition: p.partitionIndex,
            offset: p.committedOffset,
            leaderEpoch: p.committedLeaderEpoch ?? -1,
            metadata: p.committedMetadata,
            expireTimestamp: -1n,
          });
        }
      }
      if (offsets.length > 0) {
        const r = await b.groupCoordinator.handleTxnCommitOffsets({
          groupId: req.groupId,
          producerId: req.producerId,
          producerEpoch: req.producerEpoch,
          memberId: req.memberId ?? '',
          groupInstanceId: req.groupInstanceId ?? null,
          generationId: req.generationId ?? -1,
          offsets,
        });
        for (const [k, code] of r) errors.set(k, code);
      }
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: errors.get(offsetKey(t.name, p.partitionIndex)) ?? ErrorCode.NONE,
          })),
        })),
      };
    },
  });
}
