/** CreatePartitions (key 37), versions 0-3: grow a topic's partition count, never shrink it. */
import {
  decodeCreatePartitionsRequest,
  encodeCreatePartitionsResponse,
  type CreatePartitionsRequest,
  type CreatePartitionsResponse,
} from '../../protocol/messages/create-partitions.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { errorCodeOf } from '../error-mapping.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';

export function createPartitionsHandler(b: BrokerServices) {
  return defineHandler<CreatePartitionsRequest, CreatePartitionsResponse>({
    apiKey: 37,
    name: 'CreatePartitions',
    minVersion: 0,
    maxVersion: 3,
    decode: decodeCreatePartitionsRequest,
    encode: encodeCreatePartitionsResponse,
    async handle(req, ctx) {
      const results: CreatePartitionsResponse['results'] = [];
      // Kafka: ALTER on each topic.
      const alterable = b.auth.filterAuthorized(
        ctx,
        'ALTER',
        'TOPIC',
        req.topics.map((t) => t.name),
      );
      for (const t of req.topics) {
        if (!alterable.has(t.name)) {
          results.push({ name: t.name, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null });
          continue;
        }
        try {
          await b.topics.createPartitions(
            t.name,
            t.count,
            t.assignments?.map((a) => a.brokerIds) ?? null,
            req.validateOnly,
          );
          results.push({ name: t.name, errorCode: ErrorCode.NONE, errorMessage: null });
        } catch (err) {
          results.push({
            name: t.name,
            errorCode: errorCodeOf(err),
            errorMessage: err instanceof Error ? err.message : String(err),
          });
        }
      }
      return { throttleTimeMs: 0, results };
    },
  });
}
