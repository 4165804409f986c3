/**
 * DescribeConfigs (key 32), versions 0-4: topic and broker configs with sources and synonyms
 * (config-describer.ts), the cluster-wide broker default under the resource name "".
 */
import {
  decodeDescribeConfigsRequest,
  encodeDescribeConfigsResponse,
  type DescribeConfigsRequest,
  type DescribeConfigsResponse,
} from '../../protocol/messages/describe-configs.js';
import { ErrorCode, errorByCode } from '../../protocol/error-codes.js';
import { configResourceDenial } from '../security/authorizer-helper.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';
import {
  ResourceType,
  describeBrokerConfigs,
  describeClusterDefaultConfigs,
  describeTopicConfigs,
} from './config-describer.js';

export function describeConfigsHandler(b: BrokerServices) {
  return defineHandler<DescribeConfigsRequest, DescribeConfigsResponse>({
    apiKey: 32,
    name: 'DescribeConfigs',
    minVersion: 0,
    maxVersion: 4,
    decode: decodeDescribeConfigsRequest,
    encode: encodeDescribeConfigsResponse,
    handle(req, ctx) {
      const results = req.resources.map((r) => {
        const base = { resourceType: r.resourceType, resourceName: r.resourceName };
        // Kafka: DESCRIBE_CONFIGS on the topic, or on the cluster for a broker.
        const denied = configResourceDenial(b.auth, ctx, 'DESCRIBE_CONFIGS', r.resourceType, r.resourceName);
        if (denied !== null)
          return { ...base, errorCode: denied, errorMessage: errorByCode(denied)!.message, configs: [] };
        if (r.resourceType === ResourceType.TOPIC) {
          const t = b.table.topics.get(r.resourceName);
          if (!t)
            return {
              ...base,
              errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
              errorMessage: `Topic ${r.resourceName} does not exist.`,
              configs: [],
            };
          return {
            ...base,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            configs: describeTopicConfigs(
              b,
              t.configs,
              r.configurationKeys,
              req.includeSynonyms ?? false,
              req.includeDocumentation ?? false,
            ),
          };
        }
        if (r.resourceType === ResourceType.BROKER) {
          // "" is the cluster-wide default: only what is set there (Kafka's ConfigHelper).
          if (r.resourceName === '') {
            return {
              ...base,
              errorCode: ErrorCode.NONE,
              errorMessage: null,
              configs: describeClusterDefaultConfigs(
                b.config,
                b.config.layers.dynamicDefault,
                r.configurationKeys,
                req.includeSynonyms ?? false,
                req.includeDocumentation ?? false,
              ),
            };
          }
          if (!/^[+-]?\d+$/.test(r.resourceName)) {
            return {
              ...base,
              errorCode: ErrorCode.INVALID_REQUEST,
              errorMessage: `Broker id must be an integer, but it is: ${r.resourceName}`,
              configs: [],
            };
          }
          if (Number(r.resourceName) !== b.nodeId) {
            return {
              ...base,
              errorCode: ErrorCode.INVALID_REQUEST,
              errorMessage: `Unexpected broker id, expected ${b.nodeId} or empty string, but received ${r.resourceName}`,
              configs: [],
            };
          }
          return {
            ...base,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            configs: describeBrokerConfigs(
              b.config,
              b.nodeId,
              r.configurationKeys,
              req.includeSynonyms ?? false,
              req.includeDocumentation ?? false,
            ),
          };
        }
        return {
          ...base,
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: `Unsupported resource type ${r.resourceType}`,
          configs: [],
        };
      });
      return { throttleTimeMs: 0, results };
    },
  });
}
