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
import { THROTTLING_QUOTA_EXCEEDED_MESSAGE } from '../quota/client-quotas.js';

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
        // KIP-599: the partitions added count against controller_mutation_rate.
        const current = b.table.topics.get(t.name)?.replicas.length;
        const permits = current === undefined ? 0 : t.count - current;
        if (ctx.quota && !req.validateOnly && permits > 0) {
          if (ctx.quota.recordMutations(permits, ctx.apiVersion >= 3) > 0) {
            results.push({
              name: t.name,
              errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED,
              errorMessage: THROTTLING_QUOTA_EXCEEDED_MESSAGE,
            });
            continue;
          }
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
