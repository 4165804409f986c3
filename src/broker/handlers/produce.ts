/**
 * Produce (key 0), versions 0-11. RecordBatch v2 only: v0-2 carry the old message formats, which are
 * answered per partition with UNSUPPORTED_VERSION (Kafka 4.0 does the same, while still advertising
 * min version 0 for librdkafka's feature probes). acks=0 gets no response; acks must be -1, 0 or 1.
 */
import {
  decodeProduceRequest,
  encodeProduceResponse,
  type ProduceRequest,
  type ProduceResponse,
} from '../../protocol/messages/produce.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';
import { checkTransactionalId } from '../txn/request-checks.js';
import { producePartitionError, type ProducePartitionResult } from '../replica-manager.js';

export function produceHandler(b: BrokerServices) {
  return defineHandler<ProduceRequest, ProduceResponse>({
    apiKey: 0,
    name: 'Produce',
    minVersion: 0,
    maxVersion: 11,
    decode: decodeProduceRequest,
    encode: encodeProduceResponse,
    async handle(req, ctx) {
      const errorFor = producePartitionError;
      let results: Map<string, ProducePartitionResult>;
      const inputs = req.topicData.flatMap((t) =>
        t.partitionData.map((p) => ({ topic: t.name, partition: p.index, records: p.records })),
      );
      if (ctx.apiVersion < 3) {
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
        results = await b.replicaManager.appendRecords(req.acks, req.timeoutMs, inputs);
      }
      for (const [key, r] of results) {
        if (r.errorCode !== ErrorCode.NONE)
          b.metrics.failedProduce.inc({ topic: key.slice(0, key.lastIndexOf('-')) });
      }
      if (req.acks === 0) return null;
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
