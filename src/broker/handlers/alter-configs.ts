/**
 * AlterConfigs (key 33, v0-2: replaces a resource's whole override set) and IncrementalAlterConfigs
 * (key 44, v0-1: SET / DELETE / APPEND / SUBTRACT per key). Both validate every value before writing
 * anything for a resource and answer per resource, with Kafka's errors and messages:
 *
 * - request shape (Kafka's ConfigAdminManager.preprocess): a resource named twice, a key named twice
 *   or a null value gets INVALID_REQUEST;
 * - BROKER resources (this broker's id, or "" for the cluster-wide default): a key Kafka cannot update
 *   dynamically, a per-broker key at the default level, a listener-only security key or a bad value
 *   of a dynamic key gets INVALID_REQUEST with Kafka's DynamicBrokerConfig sentence; unknown keys are
 *   accepted and stored, as Kafka does; APPEND/SUBTRACT need a LIST key (INVALID_CONFIG otherwise);
 * - TOPIC resources: Kafka's controller rules (ConfigurationControlManager, LogConfig.validate):
 *   unknown keys and bad values get INVALID_CONFIG, APPEND/SUBTRACT need a LIST key.
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
import { BROKER_CONFIG, dynamicConfigProblem } from '../../common/broker-config.js';
import { TopicOperationError } from '../../controller/topic-frontend.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';
import { configResourceDenial } from '../security/authorizer-helper.js';
import { ResourceType } from './config-describer.js';

interface ResourceResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

/** The longest config value Kafka's controller stores (ConfigurationControlManager). */
const MAX_VALUE_LENGTH = 32767;

const OpType = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;
const OP_NAME = ['SET', 'DELETE', 'APPEND', 'SUBTRACT'] as const;

interface ConfigOp {
  name: string;
  op: number;
  value: string | null;
}

const requestError = (message: string) => new TopicOperationError('INVALID_REQUEST', message);
const configError = (message: string) => new TopicOperationError('INVALID_CONFIG', message);

/** Kafka's preprocess checks on one resource's entries. */
function checkShape(ops: readonly ConfigOp[], incremental: boolean): void {
  const names = ops.map((o) => o.name);
  if (new Set(names).size !== names.length) throw requestError('Error due to duplicate config keys');
  const nulls = ops.filter((o) => o.value === null && (!incremental || o.op !== OpType.DELETE));
  if (nulls.length > 0)
    throw requestError(`Null value not supported for : ${nulls.map((o) => o.name).join(', ')}`);
  for (const o of ops) {
    if (incremental && !(o.op in OP_NAME)) throw requestError(`Unknown operations type ${o.op}`);
  }
}

/** A list value's parts, or the key's default's parts when unset (Kafka splits on ","). */
function parts(value: string | null | undefined, fallback: string | null): string[] {
  const v = value ?? fallback;
  return v === null || v === '' ? [] : v.split(',');
}

/**
 * Apply incremental ops to a broker's or the default's dynamic configs, as Kafka's
 * ConfigAdminManager.prepareIncrementalConfigs does.
 */
function applyBrokerOps(current: Record<string, string>, ops: readonly ConfigOp[]): Record<string, string> {
  const next = { ...current };
  for (const o of ops) {
    if (o.op === OpType.SET) next[o.name] = o.value!;
    else if (o.op === OpType.DELETE) delete next[o.name];
    else {
      const verb = o.op === OpType.APPEND ? 'append' : 'subtract';
      const def = BROKER_CONFIG.get(o.name);
      if (!def) throw configError(`Unknown config name: ${o.name}`);
      if (def.type !== 'list')
        throw configError(`Config value ${verb} is not allowed for config key: ${o.name}`);
      const old = parts(next[o.name], def.default);
      const vals = o.value!.split(',');
      next[o.name] = (
        o.op === OpType.APPEND
          ? [...old, ...vals.filter((x) => !old.includes(x))]
          : old.filter((x) => !vals.includes(x))
      ).join(',');
    }
  }
  return next;
}

/** Apply incremental ops to a topic's overrides, as Kafka's ConfigurationControlManager does. */
function applyTopicOps(current: Record<string, string>, ops: readonly ConfigOp[]): Record<string, string> {
  const next = { ...current };
  for (const o of ops) {
    if (o.op === OpType.SET) next[o.name] = o.value!;
    else if (o.op === OpType.DELETE) delete next[o.name];
    else {
      const def = TOPIC_CONFIG.get(o.name);
      if (def?.type !== 'list')
        throw configError(`Can't ${OP_NAME[o.op]} to key ${o.name} because its type is not LIST.`);
      const list = parts(next[o.name], def.default);
      for (const x of o.value!.split(',')) {
        if (o.op === OpType.APPEND) {
          if (!list.includes(x)) list.push(x);
        } else {
          const i = list.indexOf(x);
          if (i >= 0) list.splice(i, 1);
        }
      }
      next[o.name] = list.join(',');
    }
  }
  for (const v of Object.values(next)) {
    if (v.length > MAX_VALUE_LENGTH)
      throw configError(
        'The configuration value cannot be added because it exceeds the maximum value size of 32767 bytes.',
      );
  }
  return next;
}

/** Stored dynamic configs without the entries Kafka would ignore on load (fromPersistentProps). */
function validStored(current: Record<string, string>, perBroker: boolean): Record<string, string> {
  return Object.fromEntries(
    Object.entries(current).filter(([k, v]) => dynamicConfigProblem({ [k]: v }, perBroker) === undefined),
  );
}

async function alterResource(
  b: BrokerServices,
  resourceType: number,
  resourceName: string,
  ops: readonly ConfigOp[],
  incremental: boolean,
  validateOnly: boolean,
): Promise<ResourceResult> {
  const base = { resourceType, resourceName };
  try {
    checkShape(ops, incremental);
    if (resourceType === ResourceType.TOPIC) {
      const t = b.table.topics.get(resourceName);
      if (!t)
        throw new TopicOperationError('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${resourceName} does not exist.`);
      const next = incremental
        ? applyTopicOps(t.configs, ops)
        : Object.fromEntries(ops.map((o) => [o.name, o.value!]));
      await b.topics.alterConfigs(resourceName, next, validateOnly);
    } else if (resourceType === ResourceType.BROKER) {
      let id: number | 'default' = 'default';
      if (resourceName !== '') {
        if (!/^[+-]?\d+$/.test(resourceName))
          throw requestError(`Node id must be an integer, but it is: ${resourceName}`);
        if (Number(resourceName) !== b.nodeId)
          throw requestError(`Unexpected broker id, expected ${b.nodeId}, but received ${resourceName}`);
        id = b.nodeId;
      }
      const perBroker = id !== 'default';
      const stored = b.brokerConfigs.current(id);
      // Validate what Kafka would: the stored configs it keeps plus this request's changes.
      const proposed = incremental
        ? applyBrokerOps(validStored(stored, perBroker), ops)
        : Object.fromEntries(ops.map((o) => [o.name, o.value!]));
      const problem = dynamicConfigProblem(proposed, perBroker);
      if (problem) throw requestError(problem.message);
      // Write the stored set with the changes (stored keys Kafka would ignore stay stored, as in Kafka).
      const next = incremental ? applyBrokerOps(stored, ops) : proposed;
      await b.brokerConfigs.setBrokerConfigs(id, next, validateOnly);
    } else {
      throw requestError(`Unknown resource type ${resourceType}`);
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

/** Kafka answers every copy of a resource named more than once with INVALID_REQUEST. */
function duplicates(resources: readonly { resourceType: number; resourceName: string }[]): Set<string> {
  const seen = new Map<string, number>();
  for (const r of resources) {
    const k = `${r.resourceType}/${r.resourceName}`;
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  return new Set([...seen].filter(([, n]) => n > 1).map(([k]) => k));
}

const duplicateResult = (r: { resourceType: number; resourceName: string }): ResourceResult => ({
  resourceType: r.resourceType,
  resourceName: r.resourceName,
  errorCode: ErrorCode.INVALID_REQUEST,
  errorMessage: 'Each resource must appear at most once.',
});

export function alterConfigsHandler(b: BrokerServices) {
  return defineHandler<AlterConfigsRequest, AlterConfigsResponse>({
    apiKey: 33,
    name: 'AlterConfigs',
    minVersion: 0,
    maxVersion: 2,
    decode: decodeAlterConfigsRequest,
    encode: encodeAlterConfigsResponse,
    async handle(req, ctx) {
      const dup = duplicates(req.resources);
      const responses: ResourceResult[] = [];
      for (const r of req.resources) {
        if (dup.has(`${r.resourceType}/${r.resourceName}`)) {
          responses.push(duplicateResult(r));
          continue;
        }
        // Kafka: ALTER_CONFIGS on the topic, or on the cluster for a broker.
        const denied = configResourceDenial(b.auth, ctx, 'ALTER_CONFIGS', r.resourceType, r.resourceName);
        if (denied !== null) {
          responses.push({
            resourceType: r.resourceType,
            resourceName: r.resourceName,
            errorCode: denied,
            errorMessage: null,
          });
          continue;
        }
        const ops = r.configs.map((c) => ({ name: c.name, op: OpType.SET, value: c.value }));
        responses.push(await alterResource(b, r.resourceType, r.resourceName, ops, false, req.validateOnly));
      }
      return { throttleTimeMs: 0, responses };
    },
  });
}

export function incrementalAlterConfigsHandler(b: BrokerServices) {
  return defineHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>({
    apiKey: 44,
    name: 'IncrementalAlterConfigs',
    minVersion: 0,
    maxVersion: 1,
    decode: decodeIncrementalAlterConfigsRequest,
    encode: encodeIncrementalAlterConfigsResponse,
    async handle(req, ctx) {
      const dup = duplicates(req.resources);
      const responses: ResourceResult[] = [];
      for (const r of req.resources) {
        if (dup.has(`${r.resourceType}/${r.resourceName}`)) {
          responses.push(duplicateResult(r));
          continue;
        }
        // Kafka: ALTER_CONFIGS on the topic, or on the cluster for a broker.
        const denied = configResourceDenial(b.auth, ctx, 'ALTER_CONFIGS', r.resourceType, r.resourceName);
        if (denied !== null) {
          responses.push({
            resourceType: r.resourceType,
            resourceName: r.resourceName,
            errorCode: denied,
            errorMessage: null,
          });
          continue;
        }
        const ops = r.configs.map((c) => ({ name: c.name, op: c.configOperation, value: c.value }));
        responses.push(await alterResource(b, r.resourceType, r.resourceName, ops, true, req.validateOnly));
      }
      return { throttleTimeMs: 0, responses };
    },
  });
}
