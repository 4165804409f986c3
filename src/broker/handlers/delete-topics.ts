/**
 * DeleteTopics (key 20), versions 0-6. Topics named (v0-5) or by name or id (v6). The topic's
 * partitions and logs go with it: the ReplicaManager deletes logs when the table drops the topic.
 */
import {
  decodeDeleteTopicsRequest,
  encodeDeleteTopicsResponse,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
} from '../../protocol/messages/delete-topics.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { errorCodeOf } from '../error-mapping.js';
import { ZERO_UUID } from '../../controller/topic-frontend.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';
import { THROTTLING_QUOTA_EXCEEDED_MESSAGE } from '../quota/client-quotas.js';

export function deleteTopicsHandler(b: BrokerServices) {
  return defineHandler<DeleteTopicsRequest, DeleteTopicsResponse>({
    apiKey: 20,
    name: 'DeleteTopics',
    minVersion: 0,
    maxVersion: 6,
    decode: decodeDeleteTopicsRequest,
    encode: encodeDeleteTopicsResponse,
    async handle(req, ctx) {
      const wanted: { name: string | null; topicId: string }[] =
        req.topics && req.topics.length > 0
          ? req.topics
          : (req.topicNames ?? []).map((name) => ({ name, topicId: ZERO_UUID }));
      // Kafka's ControllerApis.deleteTopics: DELETE on the cluster, else DELETE on each topic (and
      // DESCRIBE to learn that a named topic exists, or the name of one given by id).
      const names = wanted.map((w) => w.name ?? b.table.topicsById.get(w.topicId)?.name ?? null);
      const known = names.filter((n): n is string => n !== null);
      const clusterDelete = b.auth.authorizeCluster(ctx, 'DELETE', { logIfDenied: false });
      const describable = clusterDelete
        ? new Set(known)
        : b.auth.filterAuthorized(ctx, 'DESCRIBE', 'TOPIC', known);
      const deletable = clusterDelete
        ? new Set(known)
        : b.auth.filterAuthorized(ctx, 'DELETE', 'TOPIC', known);
      const responses: DeleteTopicsResponse['responses'] = [];
      for (const w of wanted) {
        let name = w.name;
        if (name === null) {
          name = b.table.topicsById.get(w.topicId)?.name ?? null;
          if (name === null) {
            responses.push({
              name: null,
              topicId: w.topicId,
              errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
              errorMessage: `Topic id ${w.topicId} does not exist.`,
            });
            continue;
          }
        }
        if (!deletable.has(name)) {
          const byId = w.name === null;
          responses.push({
            name: byId && !describable.has(name) ? null : name,
            topicId: byId ? w.topicId : ZERO_UUID,
            errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
            errorMessage: null,
          });
          continue;
        }
        const topicId = b.table.topics.get(name)?.topicId ?? ZERO_UUID;
        if (!b.config.bool('delete.topic.enable')) {
          responses.push({
            name,
            topicId,
            errorCode: ErrorCode.TOPIC_DELETION_DISABLED,
            errorMessage: 'Topic deletion is disabled (delete.topic.enable=false).',
          });
          continue;
        }
        // KIP-599: the partitions a deletion removes count against controller_mutation_rate.
        const permits = b.table.topics.get(name)?.replicas.length ?? 0;
        if (ctx.quota && permits > 0 && ctx.quota.recordMutations(permits, ctx.apiVersion >= 5) > 0) {
          responses.push({
            name,
            topicId,
            errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED,
            errorMessage: THROTTLING_QUOTA_EXCEEDED_MESSAGE,
          });
          continue;
        }
        try {
          await b.topics.delete(name);
          responses.push({ name, topicId, errorCode: ErrorCode.NONE, errorMessage: null });
        } catch (err) {
          responses.push({
            name,
            topicId,
            errorCode: errorCodeOf(err),
            errorMessage: err instanceof Error ? err.message : String(err),
          });
        }
      }
      return { throttleTimeMs: 0, responses };
    },
  });
}
