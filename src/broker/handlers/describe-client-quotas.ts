/**
 * DescribeClientQuotas (key 48), versions 0-1: the entities in this broker's ClientQuotaTable that
 * match the filter, with their values, as Kafka's ClientQuotasImage.describe answers (same
 * validation, errors and sentences): EXACT (0) matches a name, DEFAULT (1) the default entity of the
 * type, SPECIFIED (2) any entity that has the type; `strict` leaves out entities with other types.
 */
import {
  decodeDescribeClientQuotasRequest,
  encodeDescribeClientQuotasResponse,
  type DescribeClientQuotasRequest,
  type DescribeClientQuotasResponse,
} from '../../protocol/messages/describe-client-quotas.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { AuthHelper } from '../security/authorizer-helper.js';
import { defineHandler } from './api-handler.js';
import { entityMatches } from '../../common/client-quota.js';
import type { ClientQuotaTable } from '../../controller/client-quota-table.js';

const ENTITY_TYPES = new Set(['user', 'client-id', 'ip']);

/** Kafka's filter checks; returns the error, or null when the filter is valid. */
export function clientQuotaFilterError(
  req: DescribeClientQuotasRequest,
): { code: number; message: string } | null {
  const seen = new Set<string>();
  for (const c of req.components) {
    if (c.entityType === '')
      return { code: ErrorCode.INVALID_REQUEST, message: 'Invalid empty entity type.' };
    if (seen.has(c.entityType))
      return {
        code: ErrorCode.INVALID_REQUEST,
        message: `Entity type ${c.entityType} cannot appear more than once in the filter.`,
      };
    if (!ENTITY_TYPES.has(c.entityType))
      return { code: ErrorCode.UNSUPPORTED_VERSION, message: `Unsupported entity type ${c.entityType}` };
    seen.add(c.entityType);
    if (c.matchType === 0 && c.match === null)
      return {
        code: ErrorCode.INVALID_REQUEST,
        message: 'Request specified MATCH_TYPE_EXACT, but set match string to null.',
      };
    if (c.matchType === 1 && c.match !== null)
      return {
        code: ErrorCode.INVALID_REQUEST,
        message: 'Request specified MATCH_TYPE_DEFAULT, but also specified a match string.',
      };
    if (c.matchType === 2 && c.match !== null)
      return {
        code: ErrorCode.INVALID_REQUEST,
        message: 'Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.',
      };
    if (c.matchType < 0 || c.matchType > 2)
      return { code: ErrorCode.INVALID_REQUEST, message: `Unknown match type ${c.matchType}` };
  }
  if (seen.has('ip') && (seen.has('user') || seen.has('client-id')))
    return {
      code: ErrorCode.INVALID_REQUEST,
      message:
        'Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.',
    };
  return null;
}

/** The entities of `table` the (valid) filter matches. */
export function describeClientQuotas(
  table: ClientQuotaTable,
  req: DescribeClientQuotasRequest,
): NonNullable<DescribeClientQuotasResponse['entries']> {
  const exact = new Map<string, string | null>();
  const specified = new Set<string>();
  for (const c of req.components) {
    if (c.matchType === 0) exact.set(c.entityType, c.match);
    else if (c.matchType === 1) exact.set(c.entityType, null);
    else specified.add(c.entityType);
  }
  const out: NonNullable<DescribeClientQuotasResponse['entries']> = [];
  for (const { entity, quotas } of table.quotas.values()) {
    if (!entityMatches(entity, exact, specified, req.strict)) continue;
    out.push({
      entity: Object.keys(entity).map((t) => ({ entityType: t, entityName: entity[t] ?? null })),
      values: Object.entries(quotas).map(([key, value]) => ({ key, value })),
    });
  }
  return out;
}

export function describeClientQuotasHandler(table: ClientQuotaTable, auth: AuthHelper) {
  return defineHandler<DescribeClientQuotasRequest, DescribeClientQuotasResponse>({
    apiKey: 48,
    name: 'DescribeClientQuotas',
    minVersion: 0,
    maxVersion: 1,
    decode: decodeDescribeClientQuotasRequest,
    encode: encodeDescribeClientQuotasResponse,
    handle: (req, ctx) => {
      // As Kafka's KafkaApis: DESCRIBE_CONFIGS on the cluster, else the whole answer is refused.
      if (!auth.authorizeCluster(ctx, 'DESCRIBE_CONFIGS'))
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          errorMessage: 'Cluster authorization failed.',
          entries: null,
        };
      const err = clientQuotaFilterError(req);
      return err
        ? { throttleTimeMs: 0, errorCode: err.code, errorMessage: err.message, entries: null }
        : {
            throttleTimeMs: 0,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            entries: describeClientQuotas(table, req),
          };
    },
  });
}
