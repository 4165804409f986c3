/**
 * DescribeAcls (key 29), versions 0-3: the ACLs a filter matches, grouped by resource pattern.
 * Needs DESCRIBE on the cluster; without an authorizer SECURITY_DISABLED (Kafka's AclApis). As in
 * Kafka's DescribeAclsRequest, a filter with an UNKNOWN (0) code, or v0 with a pattern type other
 * than LITERAL (ANY reads as LITERAL there), is not a request Kafka can parse: the connection closes.
 */
import {
  decodeDescribeAclsRequest,
  encodeDescribeAclsResponse,
  type DescribeAclsRequest,
  type DescribeAclsResponse,
} from '../../protocol/messages/describe-acls.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { InvalidRequestError } from '../errors.js';
import {
  type AclBinding,
  PatternType,
  normalizeFilter,
  patternTypeName,
  resourceTypeName,
} from '../security/acl.js';
import { clusterAuthorizationMessage } from '../security/authorizer-helper.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';

/** DescribeAclsResponse.aclsResources: one entry per resource pattern with its entries. */
export function aclResources(acls: readonly AclBinding[]): DescribeAclsResponse['resources'] {
  const byPattern = new Map<string, DescribeAclsResponse['resources'][number]>();
  const sorted = [...acls].sort(
    (a, b) =>
      a.resourceType - b.resourceType ||
      (a.resourceName < b.resourceName ? -1 : a.resourceName > b.resourceName ? 1 : 0) ||
      a.patternType - b.patternType,
  );
  for (const a of sorted) {
    const key = JSON.stringify([a.resourceType, a.resourceName, a.patternType]);
    let r = byPattern.get(key);
    if (!r)
      byPattern.set(
        key,
        (r = {
          resourceType: a.resourceType,
          resourceName: a.resourceName,
          patternType: a.patternType,
          acls: [],
        }),
      );
    r.acls.push({
      principal: a.principal,
      host: a.host,
      operation: a.operation,
      permissionType: a.permissionType,
    });
  }
  return [...byPattern.values()];
}

export function describeAclsHandler(b: BrokerServices) {
  return defineHandler<DescribeAclsRequest, DescribeAclsResponse>({
    apiKey: 29,
    name: 'DescribeAcls',
    minVersion: 0,
    maxVersion: 3,
    decode: decodeDescribeAclsRequest,
    encode: encodeDescribeAclsResponse,
    handle(req, ctx) {
      let patternType = req.patternTypeFilter ?? PatternType.LITERAL;
      if (ctx.apiVersion === 0) {
        if (patternType === PatternType.ANY) patternType = PatternType.LITERAL;
        else if (patternType !== PatternType.LITERAL)
          throw new InvalidRequestError('DescribeAcls v0 only supports literal resource pattern types');
      }
      if (
        patternType === 0 ||
        req.resourceTypeFilter === 0 ||
        req.operation === 0 ||
        req.permissionType === 0
      )
        throw new InvalidRequestError('DescribeAclsRequest contains UNKNOWN elements');
      const fail = (errorCode: number, errorMessage: string): DescribeAclsResponse => ({
        throttleTimeMs: 0,
        errorCode,
        errorMessage,
        resources: [],
      });
      if (!b.auth.authorizeCluster(ctx, 'DESCRIBE'))
        return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, clusterAuthorizationMessage(ctx, 'DESCRIBE'));
      const authorizer = b.auth.authorizer;
      if (!authorizer) return fail(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured on the broker');
      const filter = normalizeFilter({
        resourceType: req.resourceTypeFilter,
        resourceName: req.resourceNameFilter,
        patternType,
        principal: req.principalFilter,
        host: req.hostFilter,
        operation: req.operation,
        permissionType: req.permissionType,
      });
      const acls = authorizer.acls(filter);
      b.log.debug(
        {
          resourceType: resourceTypeName(filter.resourceType),
          patternType: patternTypeName(filter.patternType),
          matched: acls.length,
        },
        'DescribeAcls',
      );
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        resources: aclResources(acls),
      };
    },
  });
}
