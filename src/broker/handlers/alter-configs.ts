/**
 * AlterConfigs (key 33, v0-2: replaces a resource's whole override set) and IncrementalAlterConfigs
 * (key 44, v0-1: SET / DELETE / APPEND / SUBTRACT per key). Both validate every value before writing
 * anything for a resource and answer per resource.
 */
import {
  decodeAlterConfigsRequest,
  encodeAlterConfigsResponse,
  type AlterConfigsRequest,
  type AlterConfigsResponse,
} from '../../protocol/messages/alter-configs.js';
import {
  decodeIncrementalAlterConfigsRequest,
  encodeIncrementalAlterConfigsResponse,
  type IncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
} from '../../protocol/messages/incremental-alter-configs.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { errorCodeOf } from '../error-mapping.js';
import { TOPIC_CONFIG } from '../../common/topic-config.js';
import { BROKER_CONFIG } from '../../common/broker-config.js';
import { TopicOperationError } from '../../controller/topic-frontend.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';
import { ResourceType } from './config-describer.js';

interface ResourceResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

/** Resolve the current overrides of a resource, let `change` compute the next set, and write it. */
async function alterResource(
  b: BrokerServices,
  resourceType: number,
  resourceName: string,
  validateOnly: boolean,
  change: (current: Record<string, string>) => Record<string, string>,
): Promise<ResourceResult> {
  const base = { resourceType, resourceName };
  try {
    if (resourceType === ResourceType.TOPIC) {
      const t = b.table.topics.get(resourceName);
      if (!t)
        throw new TopicOperationError('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${resourceName} does not exist.`);
      await b.topics.alterConfigs(resourceName, change({ ...t.configs }), validateOnly);
    } else if (resourceType === ResourceType.BROKER) {
      const id = resourceName === '' ? 'default' : Number(resourceName);
      if (id !== 'default' && !Number.isInteger(id)) {
        throw new TopicOperationError(
          'INVALID_REQUEST',
          `Broker id must be an integer or empty, got ${resourceName}`,
        );
      }
      await b.brokerConfigs.setBrokerConfigs(id, change(b.brokerConfigs.current(id)), validateOnly);
    } else {
      throw new TopicOperationError('INVALID_REQUEST', `Unsupported resource type ${resourceType}`);
    }
    return { ...base, errorCode: ErrorCode.NONE, errorMessage: null };
  } catch (err) {
    return {
      ...base,
      errorCode: errorCodeOf(err),
      errorMessage: err instanceof Error ? err.message : String(err),
    };
  }
}

export function alterConfigsHandler(b: BrokerServices) {
  return defineHandler<AlterConfigsRequest, AlterConfigsResponse>({
    apiKey: 33,
    name: 'AlterConfigs',
    minVersion: 0,
    maxVersion: 2,
    decode: decodeAlterConfigsRequest,
    encode: encodeAlterConfigsResponse,
    async handle(req) {
      const responses: ResourceResult[] = [];
      for (const r of req.resources) {
        responses.push(
          await alterResource(b, r.resourceType, r.resourceName, req.validateOnly, () => {
            const next: Record<string, string> = {};
            for (const c of r.configs) if (c.value !== null) next[c.name] = c.value;
            return next;
          }),
        );
      }
      return { throttleTimeMs: 0, responses };
    },
  });
}

const OpType = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export function incrementalAlterConfigsHandler(b: BrokerServices) {
  return defineHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>({
    apiKey: 44,
    name: 'IncrementalAlterConfigs',
    minVersion: 0,
    maxVersion: 1,
    decode: decodeIncrementalAlterConfigsRequest,
    encode: encodeIncrementalAlterConfigsResponse,
    async handle(req) {
      const responses: ResourceResult[] = [];
      for (const r of req.resources) {
        responses.push(
          await alterResource(b, r.resourceType, r.resourceName, req.validateOnly, (current) => {
            const next = { ...current };
            const defs = r.resourceType === ResourceType.TOPIC ? TOPIC_CONFIG : BROKER_CONFIG;
            for (const c of r.configs) {
              switch (c.configOperation) {
                case OpType.SET:
                  if (c.value === null)
                    throw new TopicOperationError(
                      'INVALID_CONFIG',
                      `Null value not supported for SET of ${c.name}`,
                    );
                  next[c.name] = c.value;
                  break;
                case OpType.DELETE:
                  delete next[c.name];
                  break;
                case OpType.APPEND:
                case OpType.SUBTRACT: {
                  if (defs.get(c.name)?.type !== 'list') {
                    throw new TopicOperationError(
                      'INVALID_CONFIG',
                      `Config value append/subtract is not allowed for config key ${c.name} which is not a list`,
                    );
                  }
                  const cur = (next[c.name] ?? defs.get(c.name)?.default ?? '')
                    .split(',')
                    .map((s) => s.trim())
                    .filter(Boolean);
                  const vals = (c.value ?? '')
                    .split(',')
                    .map((s) => s.trim())
                    .filter(Boolean);
                  const res =
                    c.configOperation === OpType.APPEND
                      ? [...cur, ...vals.filter((x) => !cur.includes(x))]
                      : cur.filter((x) => !vals.includes(x));
                  next[c.name] = res.join(',');
                  break;
                }
                default:
                  throw new TopicOperationError(
                    'INVALID_REQUEST',
                    `Unknown config operation ${c.configOperation} for ${c.name}`,
                  );
              }
            }
            return next;
          }),
        );
      }
      return { throttleTimeMs: 0, responses };
    },
  });
}
