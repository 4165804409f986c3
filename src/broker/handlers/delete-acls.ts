/**
 * DeleteAcls (key 31), versions 0-3: every ACL each filter matches is removed, and listed in that
 * filter's result. Needs ALTER on the cluster; without an authorizer SECURITY_DISABLED (Kafka's
 * AclApis). A filter with an UNKNOWN code Kafka reads (one it does not know) gets INVALID_REQUEST
 * ("Unknown patternFilter." / "Unknown entryFilter."); as in Kafka's DeleteAclsRequest, a filter
 * with the UNKNOWN (0) code itself, or v0 with a pattern type other than LITERAL or ANY (read as
 * LITERAL), closes the connection.
 */
import {
  decodeDeleteAclsRequest,
  encodeDeleteAclsResponse,
  type DeleteAclsRequest,
  type DeleteAclsResponse,
} from '../../protocol/messages/delete-acls.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { TopicOperationError } from '../../controller/topic-frontend.js';
import { InvalidRequestError } from '../errors.js';
import { describeBinding, normalizeFilter, PatternType } from '../security/acl.js';
import { clusterAuthorizationMessage } from '../security/authorizer-helper.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';
import { codeOfName } from './controller-forward.js';

export function deleteAclsHandler(b: BrokerServices) {
  return defineHandler<DeleteAclsRequest, DeleteAclsResponse>({
    apiKey: 31,
    name: 'DeleteAcls',
    minVersion: 0,
    maxVersion: 3,
    decode: decodeDeleteAclsRequest,
    encode: encodeDeleteAclsResponse,
    async handle(req, ctx) {
      const raw = req.filters.map((f) => {
        let patternType = f.patternTypeFilter ?? PatternType.LITERAL;
        if (ctx.apiVersion === 0) {
          if (patternType === PatternType.ANY) patternType = PatternType.LITERAL;
          else if (patternType !== PatternType.LITERAL)
            throw new InvalidRequestError(
              `DeleteAcls v0 does not support pattern type ${patternType} (only LITERAL and ANY are supported)`,
            );
        }
        return {
          resourceType: f.resourceTypeFilter,
          resourceName: f.resourceNameFilter,
          patternType,
          principal: f.principalFilter,
          host: f.hostFilter,
          operation: f.operation,
          permissionType: f.permissionType,
        };
      });
      if (raw.some((f) => !f.patternType || !f.resourceType || !f.operation || !f.permissionType))
        throw new InvalidRequestError('Filters contain UNKNOWN elements');
      const all = (errorCode: number, errorMessage: string | null): DeleteAclsResponse => ({
        throttleTimeMs: 0,
        filterResults: raw.map(() => ({ errorCode, errorMessage, matchingAcls: [] })),
      });
      if (!b.auth.authorizeCluster(ctx, 'ALTER'))
        return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, clusterAuthorizationMessage(ctx, 'ALTER'));
      if (!b.auth.authorizer || !b.aclAdmin)
        return all(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.');
      try {
        const results = await b.aclAdmin.delete(raw.map(normalizeFilter));
        for (const r of results)
          for (const d of r.deleted) b.log.info({ acl: describeBinding(d) }, 'ACL deleted');
        return {
          throttleTimeMs: 0,
          filterResults: results.map((r) => ({
            errorCode: codeOfName(r.error),
            errorMessage: r.message,
            matchingAcls: r.deleted.map((d) => ({
              errorCode: ErrorCode.NONE,
              errorMessage: null,
              resourceType: d.resourceType,
              resourceName: d.resourceName,
              patternType: d.patternType,
              principal: d.principal,
              host: d.host,
              operation: d.operation,
              permissionType: d.permissionType,
            })),
          })),
        };
      } catch (err) {
        if (err instanceof TopicOperationError) return all(codeOfName(err.errorName), err.message);
        throw err;
      }
    },
  });
}
