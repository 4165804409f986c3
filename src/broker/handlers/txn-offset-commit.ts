/**
 * TxnOffsetCommit (key 28), versions 0-5: a transactional producer commits a consumer group's
 * offsets inside its transaction (sendOffsetsToTransaction). Sent to the group coordinator after
 * AddOffsetsToTxn put the group's `__consumer_offsets` partition in the transaction; v5 (v4 on the
 * wire, KIP-890 part 2) comes from a producer of transaction version 2, which sends no
 * AddOffsetsToTxn: the group coordinator has the transaction coordinator add the partition first
 * (as Kafka, by request version). The offsets are
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
import { GROUP_METADATA_TOPIC, mapAppendError } from '../group/group-metadata-manager.js';
import type { BrokerServices } from '../broker-services.js';
import { checkTransactionalId } from '../txn/request-checks.js';
import { defineHandler } from './api-handler.js';
import { offsetsOnKnownPartitions } from './offset-commit.js';

export function txnOffsetCommitHandler(b: BrokerServices) {
  return defineHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse>({
    apiKey: 28,
    name: 'TxnOffsetCommit',
    minVersion: 0,
    maxVersion: 5,
    // The generated codec knows 0-4; v5 has v4's fields.
    decode: (r, v) => decodeTxnOffsetCommitRequest(r, Math.min(v, 4)),
    encode: (w, m, v) => encodeTxnOffsetCommitResponse(w, m, Math.min(v, 4)),
    async handle(req, ctx) {
      checkTransactionalId(req.transactionalId, 'TxnOffsetCommit');
      // Kafka: WRITE on the transactional id, READ on the group (either denied fails every
      // partition), then READ on each topic.
      const whole = !b.auth.authorize(ctx, 'WRITE', 'TRANSACTIONAL_ID', req.transactionalId)
        ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        : !b.auth.authorize(ctx, 'READ', 'GROUP', req.groupId)
          ? ErrorCode.GROUP_AUTHORIZATION_FAILED
          : null;
      const readable =
        whole === null
          ? b.auth.filterAuthorized(
              ctx,
              'READ',
              'TOPIC',
              req.topics.map((t) => t.name),
            )
          : new Set<string>();
      const denied = new Map<string, number>();
      for (const t of req.topics)
        if (!readable.has(t.name))
          for (const p of t.partitions)
            denied.set(offsetKey(t.name, p.partitionIndex), whole ?? ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      const allowedTopics = req.topics.filter((t) => readable.has(t.name));
      const { errors, offsets } = offsetsOnKnownPartitions(b, allowedTopics, (topic, p) => ({
        topic,
        partition: p.partitionIndex,
        offset: p.committedOffset,
        leaderEpoch: p.committedLeaderEpoch ?? -1,
        metadata: p.committedMetadata,
        expireTimestamp: -1n,
      }));
      // KIP-890 part 2: the group's partition joins the transaction before the offsets are written.
      const addCode =
        offsets.length > 0 &&
        ctx.apiVersion >= 5 &&
        // Not this broker's group: the coordinator answers NOT_COORDINATOR / loading below.
        b.groupMetadataManager.status(req.groupId) === 'local'
          ? // Kafka's GroupCoordinatorService.handleOperationException: retriable append errors are
            // answered as COORDINATOR_NOT_AVAILABLE, the one table group answers come from.
            mapAppendError(
              await b.txnVerifier.addOffsetsPartition(
                req.transactionalId,
                req.producerId,
                req.producerEpoch,
                {
                  topic: GROUP_METADATA_TOPIC,
                  partition: b.groupMetadataManager.partitionFor(req.groupId),
                },
              ),
              true,
            )
          : ErrorCode.NONE;
      if (addCode !== ErrorCode.NONE) {
        for (const o of offsets) errors.set(offsetKey(o.topic, o.partition), addCode);
      } else if (offsets.length > 0) {
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
      for (const [k, code] of denied) errors.set(k, code);
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
