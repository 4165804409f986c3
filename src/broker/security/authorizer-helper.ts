/**
 * What API handlers call to authorize (Kafka's AuthHelper), on `BrokerServices.auth`. Every method
 * allows everything when no authorizer is configured (`authorizer.class.name` empty), as Kafka does,
 * so handlers call them unconditionally:
 *
 *   if (!b.auth.authorize(ctx, 'WRITE', 'TRANSACTIONAL_ID', id)) → TRANSACTIONAL_ID_AUTHORIZATION_FAILED
 *   const ok = b.auth.filterAuthorized(ctx, 'READ', 'TOPIC', topicNames)   → the names allowed
 *   if (!b.auth.authorizeCluster(ctx, 'ALTER')) → CLUSTER_AUTHORIZATION_FAILED
 *
 * docs/security.md lists which operation each API needs.
 */
import type { RequestContext } from '../handlers/api-handler.js';
import { apiByKey } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import {
  CLUSTER_NAME,
  type CheckedOperation,
  type ConcreteResourceType,
  javaHostAddress,
  operationsBitField,
  supportedOperations,
} from './acl.js';
import type { AuthorizableRequestContext, StandardAuthorizer } from './authorizer.js';

export interface AuthorizeOptions {
  /** Log an allowed check at debug (default true: the request named the resource). */
  logIfAllowed?: boolean;
  /** Log a denial at info (default true). False for checks that only filter or compute operations. */
  logIfDenied?: boolean;
  /** How many times the request names the resource (for the audit log; default 1). */
  refCount?: number;
}

/** Kafka's ApiKeys enum name (PRODUCE, OFFSET_FOR_LEADER_EPOCH, …) of a request's API key. */
function requestName(apiKey: number): string {
  const name = apiByKey(apiKey)?.name;
  return name === undefined ? `API_${apiKey}` : name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

export function authorizableContext(ctx: RequestContext): AuthorizableRequestContext {
  return {
    principal: ctx.connection.principal,
    host: javaHostAddress(ctx.connection.remoteAddress),
    requestName: requestName(ctx.header.requestApiKey),
  };
}

/** AclEntry.authorizationError: the error a denied check on a resource type answers. */
export function authorizationError(type: ConcreteResourceType): number {
  switch (type) {
    case 'TOPIC':
      return ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    case 'GROUP':
      return ErrorCode.GROUP_AUTHORIZATION_FAILED;
    case 'CLUSTER':
      return ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    case 'TRANSACTIONAL_ID':
      return ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    case 'DELEGATION_TOKEN':
      return ErrorCode.DELEGATION_TOKEN_AUTHORIZATION_FAILED;
    case 'USER':
      // Kafka has no error for USER resources; its token APIs answer DELEGATION_TOKEN_AUTHORIZATION_FAILED.
      return ErrorCode.DELEGATION_TOKEN_AUTHORIZATION_FAILED;
  }
}

/**
 * The message of a denied cluster operation (Kafka's ClusterAuthorizationException from
 * AuthHelper.authorizeClusterOperation: "Request … needs ALTER permission.").
 */
export function clusterAuthorizationMessage(ctx: RequestContext, operation: CheckedOperation): string {
  const c = authorizableContext(ctx);
  return (
    `Request ${c.requestName} (correlation id ${ctx.header.correlationId}) from ` +
    `${c.principal.principalType}:${c.principal.name} at ${c.host} needs ${operation} permission.`
  );
}

export class AuthHelper {
  /** The authorizer, or null when `authorizer.class.name` is empty. */
  readonly authorizer: StandardAuthorizer | null;

  constructor(authorizer: StandardAuthorizer | null) {
    this.authorizer = authorizer;
  }

  /** May this request `operation` the resource? Always true without an authorizer. */
  authorize(
    ctx: RequestContext,
    operation: CheckedOperation,
    resourceType: ConcreteResourceType,
    resourceName: string,
    o: AuthorizeOptions = {},
  ): boolean {
    if (!this.authorizer) return true;
    return this.authorizer.authorize(authorizableContext(ctx), [
      {
        operation,
        resourceType,
        resourceName,
        refCount: o.refCount ?? 1,
        logIfAllowed: o.logIfAllowed ?? true,
        logIfDenied: o.logIfDenied ?? true,
      },
    ])[0]!;
  }

  /** `operation` on the one CLUSTER resource (kafka-cluster). */
  authorizeCluster(ctx: RequestContext, operation: CheckedOperation, o: AuthorizeOptions = {}): boolean {
    return this.authorize(ctx, operation, 'CLUSTER', CLUSTER_NAME, o);
  }

  /**
   * Kafka's filterByAuthorized: the names among `names` (repeats allowed: each distinct name is
   * checked once, with the count as its reference count) the request may `operation`.
   */
  filterAuthorized(
    ctx: RequestContext,
    operation: CheckedOperation,
    resourceType: ConcreteResourceType,
    names: Iterable<string>,
    o: AuthorizeOptions = {},
  ): Set<string> {
    const counts = new Map<string, number>();
    for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
    if (!this.authorizer) return new Set(counts.keys());
    const entries = [...counts];
    const results = this.authorizer.authorize(
      authorizableContext(ctx),
      entries.map(([resourceName, refCount]) => ({
        operation,
        resourceType,
        resourceName,
        refCount,
        logIfAllowed: o.logIfAllowed ?? true,
        logIfDenied: o.logIfDenied ?? true,
      })),
    );
    return new Set(entries.filter((_, i) => results[i]).map(([n]) => n));
  }

  /**
   * KIP-430: the operations the request may do on a resource, as Kafka's bit field (bit n set for
   * the operation with code n), among those the resource type supports. Every supported operation
   * without an authorizer.
   */
  authorizedOperations(
    ctx: RequestContext,
    resourceType: ConcreteResourceType,
    resourceName: string,
  ): number {
    const ops = supportedOperations(resourceType);
    if (!this.authorizer) return operationsBitField(ops);
    const results = this.authorizer.authorize(
      authorizableContext(ctx),
      ops.map((operation) => ({
        operation,
        resourceType,
        resourceName,
        refCount: 1,
        logIfAllowed: false,
        logIfDenied: false,
      })),
    );
    return operationsBitField(ops.filter((_, i) => results[i]));
  }

  /** Kafka's authorizeByResourceType (see StandardAuthorizer). Always true without an authorizer. */
  authorizeByResourceType(
    ctx: RequestContext,
    operation: CheckedOperation,
    resourceType: ConcreteResourceType,
  ): boolean {
    return (
      this.authorizer?.authorizeByResourceType(authorizableContext(ctx), operation, resourceType) ?? true
    );
  }
}

/**
 * Kafka's checks on a config resource (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs):
 * a TOPIC (2) or GROUP (32) needs `operation` on itself, a BROKER (4), BROKER_LOGGER (8) or
 * CLIENT_METRICS (16) resource on the cluster. The error code a denial answers, or null when
 * allowed (or the type is one the handler refuses anyway).
 */
export function configResourceDenial(
  auth: AuthHelper,
  ctx: RequestContext,
  operation: 'DESCRIBE_CONFIGS' | 'ALTER_CONFIGS',
  configResourceType: number,
  resourceName: string,
): number | null {
  switch (configResourceType) {
    case 2:
      return auth.authorize(ctx, operation, 'TOPIC', resourceName)
        ? null
        : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    case 32:
      return auth.authorize(ctx, operation, 'GROUP', resourceName)
        ? null
        : ErrorCode.GROUP_AUTHORIZATION_FAILED;
    case 4:
    case 8:
    case 16:
      return auth.authorizeCluster(ctx, operation) ? null : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    default:
      return null;
  }
}
