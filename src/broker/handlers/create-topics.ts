/**
 * CreateTopics (key 19), versions 0-7. Each topic is validated and created on its own (one failing
 * topic does not fail the others), with Kafka's error codes and messages. v5+ returns the topic's
 * configs, partition count and replication factor; validateOnly checks without writing.
 */
import {
  decodeCreateTopicsRequest,
  encodeCreateTopicsResponse,
  type CreateTopicsRequest,
  type CreateTopicsResponse,
} from '../../protocol/messages/create-topics.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { errorCodeOf } from '../error-mapping.js';
import { ZERO_UUID, type CreateTopicRequest } from '../../controller/topic-frontend.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';
import { THROTTLING_QUOTA_EXCEEDED_MESSAGE } from '../quota/client-quotas.js';

/** The KRaft metadata log's topic name, which CreateTopics refuses (Kafka's Topic.CLUSTER_METADATA_TOPIC_NAME). */
const CLUSTER_METADATA_TOPIC = '__cluster_metadata';
import { describeTopicConfigs } from './config-describer.js';

export function createTopicsHandler(b: BrokerServices) {
  return defineHandler<CreateTopicsRequest, CreateTopicsResponse>({
    apiKey: 19,
    name: 'CreateTopics',
    minVersion: 0,
    maxVersion: 7,
    decode: decodeCreateTopicsRequest,
    encode: encodeCreateTopicsResponse,
    async handle(req, ctx) {
      // Kafka's ControllerApis.createTopics: CREATE on the cluster, else on each topic; the
      // configs are answered only with DESCRIBE_CONFIGS on the topic.
      const names = req.topics.map((t) => t.name);
      const creatable = b.auth.authorizeCluster(ctx, 'CREATE', { logIfDenied: false })
        ? new Set(names)
        : b.auth.filterAuthorized(ctx, 'CREATE', 'TOPIC', names);
      const describable = b.auth.filterAuthorized(ctx, 'DESCRIBE_CONFIGS', 'TOPIC', names);
      const defaults = {
        numPartitions: b.config.int('num.partitions'),
        replicationFactor: b.config.int('default.replication.factor'),
      };
      const seen = new Map<string, number>();
      for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
      const results: CreateTopicsResponse['topics'] = [];
      const refuse = (name: string, errorCode: number, errorMessage: string) =>
        results.push({
          name,
          topicId: ZERO_UUID,
          errorCode,
          errorMessage,
          numPartitions: -1,
          replicationFactor: -1,
          configs: null,
          topicConfigErrorCode: 0,
        });
      for (const t of req.topics) {
        // As Kafka's ControllerApis: a name given more than once is answered once, none of its
        // entries is created; the metadata log's own topic cannot be created.
        if (seen.get(t.name)! > 1) {
          if (!results.some((r) => r.name === t.name))
            refuse(t.name, ErrorCode.INVALID_REQUEST, 'Duplicate topic name.');
          continue;
        }
        if (t.name === CLUSTER_METADATA_TOPIC) {
          refuse(t.name, ErrorCode.INVALID_REQUEST, `Creation of internal topic ${t.name} is prohibited.`);
          continue;
        }
        if (!creatable.has(t.name)) {
          refuse(t.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.');
          continue;
        }
        const creq: CreateTopicRequest = {
          name: t.name,
          numPartitions: t.numPartitions,
          replicationFactor: t.replicationFactor,
          assignment: [...t.assignments]
            .sort((x, y) => x.partitionIndex - y.partitionIndex)
            .map((a) => a.brokerIds),
          configs: Object.fromEntries(t.configs.map((c) => [c.name, c.value])),
        };
        // Kafka's checks of the partition indexes of a manual assignment (the rest is planTopic's).
        if (t.numPartitions === -1 && t.replicationFactor === -1 && t.assignments.length > 0) {
          const indexes = t.assignments.map((a) => a.partitionIndex);
          const repeated = indexes.find((p, i) => indexes.indexOf(p) !== i);
          if (repeated !== undefined) {
            refuse(
              t.name,
              ErrorCode.INVALID_REPLICA_ASSIGNMENT,
              `Found multiple manual partition assignments for partition ${repeated}`,
            );
            continue;
          }
          if (indexes.some((p) => p < 0 || p >= indexes.length)) {
            refuse(
              t.name,
              ErrorCode.INVALID_REPLICA_ASSIGNMENT,
              'partitions should be a consecutive 0-based integer sequence',
            );
            continue;
          }
        }
        try {
          // KIP-599: the partitions a creation makes count against controller_mutation_rate.
          if (ctx.quota && !req.validateOnly) {
            const permits = b.topics.plan(creq, defaults).replicas.length;
            if (ctx.quota.recordMutations(permits, ctx.apiVersion >= 6) > 0) {
              refuse(t.name, ErrorCode.THROTTLING_QUOTA_EXCEEDED, THROTTLING_QUOTA_EXCEEDED_MESSAGE);
              continue;
            }
          }
          const record = req.validateOnly
            ? b.topics.plan(creq, defaults)
            : await b.topics.create(creq, defaults);
          results.push({
            name: t.name,
            topicId: req.validateOnly ? ZERO_UUID : record.topicId,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            numPartitions: record.replicas.length,
            replicationFactor: record.replicas[0]?.length ?? 0,
            configs: describable.has(t.name)
              ? describeTopicConfigs(b, record.configs, null, false).map((c) => ({
                  name: c.name,
                  value: c.value,
                  readOnly: c.readOnly,
                  configSource: c.configSource,
                  isSensitive: c.isSensitive,
                }))
              : null,
            topicConfigErrorCode: describable.has(t.name) ? 0 : ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          });
        } catch (err) {
          results.push({
            name: t.name,
            topicId: ZERO_UUID,
            errorCode: errorCodeOf(err),
            errorMessage: err instanceof Error ? err.message : String(err),
            numPartitions: -1,
            replicationFactor: -1,
            configs: null,
            topicConfigErrorCode: 0,
          });
        }
      }
      return { throttleTimeMs: 0, topics: results };
    },
  });
}
