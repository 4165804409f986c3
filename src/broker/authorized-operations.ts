/**
 * KIP-430: the operations a client may perform on a resource, reported by Metadata (topics, and the
 * cluster up to v10), DescribeCluster and DescribeGroups when the request asks for them. Kafka sends
 * them as a 32-bit field with bit n set for the AclOperation whose code is n, taken from the
 * operations that resource type supports (AclEntry.supportedOperations, src/broker/security/acl.ts)
 * that the authorizer allows this request's principal (every one without an authorizer). When the
 * request does not ask, the field keeps the schema's default, Int.MinValue (OPERATIONS_NOT_REQUESTED).
 */
import type { RequestContext } from './handlers/api-handler.js';
import type { AuthHelper } from './security/authorizer-helper.js';
import { CLUSTER_NAME } from './security/acl.js';

/** The schema default of every *AuthorizedOperations field: "not requested". */
export const OPERATIONS_NOT_REQUESTED = -2147483648;

/** What this request's principal may do on the resource (Kafka's AuthHelper.authorizedOperations). */
export function authorizedOperations(
  auth: AuthHelper,
  ctx: RequestContext,
  resourceType: 'TOPIC' | 'GROUP' | 'CLUSTER',
  resourceName: string = CLUSTER_NAME,
): number {
  return auth.authorizedOperations(ctx, resourceType, resourceName);
}
