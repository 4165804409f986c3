/**
 * Produce (key 0), versions 0-12. v12 is v11 on the wire (KIP-890 part 2): a producer sends it only
 * inside a transaction of transaction version 2, where it has not sent AddPartitionsToTxn, so the
 * leader has the coordinator add the partition before appending (src/broker/txn/produce-verification.ts).
 * RecordBatch v2 only: v0-2 carry the old message formats, which are
 * answered per partition with UNSUPPORTED_VERSION (Kafka 4.0 does the same, while still advertising
 * min version 0 for librdkafka's feature probes). acks=0 gets no response; acks must be -1, 0 or 1.
 * Each partition's records must be exactly one batch of magic 2 (Kafka's
 * ProduceRequest.validateRecords); a batch refused for some of its records answers those records'
 * indexes and reasons in `record_errors` (v8+, KIP-467) and writes none of it.
 */
import {
  decodeProduceRequest,
  encodeProduceResponse,
  type ProduceRequest,
  type ProduceResponse,
} from '../../protocol/messages/produce.js';
import { ErrorCode, errorName } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';
import { checkTransactionalId } from '../txn/request-checks.js';
import { producePartitionError, type ProducePartitionResult } from '../replica-manager.js';
import { scanRecordBatches } from '../../protocol/records/batch.js';
import {
  CompressionType,
  MAGIC_OFFSET,
  ATTRIBUTES_OFFSET,
  compressionOf,
} from '../../protocol/records/batch-header.js';
import { CorruptRecordError } from '../../protocol/records/errors.js';

/**
 * Kafka's ProduceRequest.validateRecords (v3+), checked before any partition is touched: at least
 * one batch, magic 2, no ZStandard before v7, exactly one batch. Returns the refusal, or null. Kafka's
 * KafkaApis answers these with the error code alone (no error_message), so the message here is only
 * logged.
 */
function recordsProblem(records: Buffer | null, version: number): { code: number; message: string } | null {
  if (records === null) return null; // the partition answers it
  let batches: { position: number }[];
  try {
    batches = scanRecordBatches(records).batches;
  } catch (err) {
    if (err instanceof CorruptRecordError) return null; // the partition's validation answers it
    throw err;
  }
  const first = batches[0];
  if (!first)
    return records.length === 0
      ? {
          code: ErrorCode.INVALID_RECORD,
          message: `Produce requests with version ${version} must have at least one record batch per partition`,
        }
      : null;
  if (records[first.position + MAGIC_OFFSET] !== 2)
    return {
      code: ErrorCode.INVALID_RECORD,
      message: `Produce requests with version ${version} are only allowed to contain record batches with magic version 2`,
    };
  if (
    version < 7 &&
    compressionOf(records.readInt16BE(first.position + ATTRIBUTES_OFFSET)) === CompressionType.Zstd
  )
    return {
      code: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      message: `Produce requests with version ${version} are not allowed to use ZStandard compression`,
    };
  if (batches.length > 1)
    return {
      code: ErrorCode.INVALID_RECORD,
      message: `Produce requests with version ${version} are only allowed to contain exactly one record batch per partition`,
    };
  return null;
}

export function produceHandler(b: BrokerServices) {
  return defineHandler<ProduceRequest, ProduceResponse>({
    apiKey: 0,
    name: 'Produce',
    minVersion: 0,
    maxVersion: 12,
    // The generated codec knows 0-11; v12 has v11's fields.
    decode: (r, v) => decodeProduceRequest(r, Math.min(v, 11)),
    encode: (w, m, v) => encodeProduceResponse(w, m, Math.min(v, 11)),
    async handle(req, ctx) {
      const errorFor = producePartitionError;
      let results: Map<string, ProducePartitionResult>;
      const all = req.topicData.flatMap((t) =>
        t.partitionData.map((p) => ({ topic: t.name, partition: p.index, records: p.records })),
      );
      // Authorization as Kafka's handleProduceRequest: a transactional produce needs WRITE on its
      // transactional id (else every partition fails), then each topic needs WRITE.
      const txnDenied =
        !!req.transactionalId && !b.auth.authorize(ctx, 'WRITE', 'TRANSACTIONAL_ID', req.transactionalId);
      const writable = txnDenied
        ? new Set<string>()
        : b.auth.filterAuthorized(
            ctx,
            'WRITE',
            'TOPIC',
            all.map((i) => i.topic),
          );
      const inputs = all.filter((i) => writable.has(i.topic));
      if (txnDenied) {
        results = new Map(
          all.map((i) => [
            `${i.topic}-${i.partition}`,
            errorFor(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, null),
          ]),
        );
      } else if (ctx.apiVersion < 3) {
        results = new Map(
          inputs.map((i) => [
            `${i.topic}-${i.partition}`,
            errorFor(
              ErrorCode.UNSUPPORTED_VERSION,
              'Produce v0-2 (message format v0/v1) is not supported; use a client that sends RecordBatch v2 (Produce v3+)',
            ),
          ]),
        );
      } else if (req.acks !== -1 && req.acks !== 0 && req.acks !== 1) {
        results = new Map(
          inputs.map((i) => [
            `${i.topic}-${i.partition}`,
            errorFor(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be -1, 0 or 1, got ${req.acks}`),
          ]),
        );
      } else if (req.transactionalId) {
        // KIP-890: batches opening the producer's transaction on a partition are verified with the
        // transaction coordinator first (src/broker/txn/produce-verification.ts).
        checkTransactionalId(req.transactionalId, 'Produce');
        const v = await b.txnVerifier.verify(req.transactionalId, inputs, ctx.apiVersion);
        results = v.failed;
        if (v.append.length > 0)
          for (const [k, r] of await b.replicaManager.appendRecords(req.acks, req.timeoutMs, v.append))
            results.set(k, r);
      } else {
        results = new Map();
        const valid = inputs.filter((i) => {
          // As Kafka: a partition that does not exist is answered as such, whatever it carries.
          const exists =
            (b.table.topics.get(i.topic)?.replicas.length ?? 0) > i.partition && i.partition >= 0;
          const problem = exists ? recordsProblem(i.records, ctx.apiVersion) : null;
          if (problem) {
            b.log.debug({ topic: i.topic, partition: i.partition, why: problem.message }, 'produce refused');
            results.set(`${i.topic}-${i.partition}`, errorFor(problem.code, null));
          }
          return !problem;
        });
        for (const [key, r] of await b.replicaManager.appendRecords(req.acks, req.timeoutMs, valid))
          results.set(key, r);
      }
      for (const i of all)
        if (!writable.has(i.topic) && !txnDenied)
          results.set(`${i.topic}-${i.partition}`, errorFor(ErrorCode.TOPIC_AUTHORIZATION_FAILED, null));
      for (const [key, r] of results) {
        if (r.errorCode !== ErrorCode.NONE)
          b.metrics.failedProduce.inc({ topic: key.slice(0, key.lastIndexOf('-')) });
      }
      if (req.acks === 0) {
        // No response to carry an error: as Kafka's handleProduceRequest, the broker closes the
        // connection instead, so the client notices (and refreshes its metadata) rather than
        // losing every later record silently.
        const failed = [...results].filter(([, r]) => r.errorCode !== ErrorCode.NONE);
        if (failed.length > 0) {
          b.log.info(
            {
              correlationId: ctx.header.correlationId,
              clientId: ctx.clientId,
              errors: failed.map(([key, r]) => `${key}: ${errorName(r.errorCode)}`),
            },
            'closing connection due to an error during a produce request with acks=0',
          );
          ctx.connection.closeAfterCurrent?.();
        }
        return null;
      }
      return {
        throttleTimeMs: 0,
        responses: req.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => {
            const r = results.get(`${t.name}-${p.index}`)!;
            return {
              index: p.index,
              errorCode: r.errorCode,
              baseOffset: r.baseOffset,
              logAppendTimeMs: r.logAppendTime,
              logStartOffset: r.logStartOffset,
              recordErrors: r.recordErrors,
              errorMessage: r.errorMessage,
            };
          }),
        })),
      };
    },
  });
}
