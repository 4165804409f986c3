/**
 * DescribeClientQuotas (key 48), versions 0-1: Sluice has no client quotas yet, so every valid filter
 * matches nothing, as on a Kafka cluster without quotas. It exists because `kafka-configs.sh
 * --describe --entity-type users` asks for quotas before it shows the user's SCRAM credentials. The
 * filter is validated as Kafka's ClientQuotasImage.describe does (same errors and sentences). The
 * quotas work replaces this with the real table.
 */
import {
  decodeDescribeClientQuotasRequest,
  encodeDescribeClientQuotasResponse,
  type DescribeClientQuotasRequest,
  type DescribeClientQuotasResponse,
} from '../../protocol/messages/describe-client-quotas.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler } from './api-handler.js';

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

export function describeClientQuotasHandler() {
  return defineHandler<DescribeClientQuotasRequest, DescribeClientQuotasResponse>({
    apiKey: 48,
    name: 'DescribeClientQuotas',
    minVersion: 0,
    maxVersion: 1,
    decode: decodeDescribeClientQuotasRequest,
    encode: encodeDescribeClientQuotasResponse,
    handle: (req) => {
      const err = clientQuotaFilterError(req);
      return err
        ? { throttleTimeMs: 0, errorCode: err.code, errorMessage: err.message, entries: null }
        : { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries: [] };
    },
  });
}
