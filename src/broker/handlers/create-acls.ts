/**
 * CreateAcls (key 30), versions 0-3. Needs ALTER on the cluster; without an authorizer every
 * creation answers SECURITY_DISABLED (Kafka's AclApis). Each binding is validated as Kafka 4.4
 * validates it (acl.ts validateNewAcl: INVALID_REQUEST with Kafka's sentence for a bad one) and the
 * valid ones are written by the controller (forwarded in cluster mode); the answer comes once this
 * broker enforces them.
 *
 * As in Kafka's request classes: an UNKNOWN (0) code, or v0 with a pattern type other than LITERAL,
 * closes the connection (Kafka cannot parse such a request); a binding Kafka cannot build (resource
 * type ANY, pattern type ANY or MATCH, operation or permission ANY) fails the whole request with
 * UNKNOWN_SERVER_ERROR, as Kafka's handler does when it throws.
 */
import {
  decodeCreateAclsRequest,
  encodeCreateAclsResponse,
  type CreateAclsRequest,
  type CreateAclsResponse,
} from '../../protocol/messages/create-acls.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { TopicOperationError } from '../../controller/topic-frontend.js';
import { InvalidRequestError } from '../errors.js';
import { describeBinding, normalizeBinding, PatternType, unbuildableBinding } from '../security/acl.js';
import { clusterAuthorizationMessage } from '../security/authorizer-helper.js';
import type { BrokerServices } from '../broker-services.js';
import { defineHandler } from './api-handler.js';
import { codeOfName } from './controller-forward.js';

export function createAclsHandler(b: BrokerServices) {
  return defineHandler<CreateAclsRequest, CreateAclsResponse>({
    apiKey: 30,
    name: 'CreateAcls',
    minVersion: 0,
    maxVersion: 3,
    decode: decodeCreateAclsRequest,
    encode: encodeCreateAclsResponse,
    async handle(req, ctx) {
      const raw = req.creations.map((c) => ({
        resourceType: c.resourceType,
        resourceName: c.resourceName,
        patternType: c.resourcePatternType ?? PatternType.LITERAL,
        principal: c.principal,
        host: c.host,
        operation: c.operation,
        permissionType: c.permissionType,
      }));
      if (ctx.apiVersion === 0 && raw.some((c) => c.patternType !== PatternType.LITERAL))
        throw new InvalidRequestError('CreateAcls v0 only supports literal resource pattern types');
      if (raw.some((c) => !c.patternType || !c.resourceType || !c.operation || !c.permissionType))
        throw new InvalidRequestError('CreatableAcls contain unknown elements');
      const all = (errorCode: number, errorMessage: string | null): CreateAclsResponse => ({
        throttleTimeMs: 0,
        results: raw.map(() => ({ errorCode, errorMessage })),
      });
      if (!b.auth.authorizeCluster(ctx, 'ALTER'))
        return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, clusterAuthorizationMessage(ctx, 'ALTER'));
      if (!b.auth.authorizer || !b.aclAdmin)
        return all(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.');
      const bindings = raw.map(normalizeBinding);
      if (bindings.some(unbuildableBinding)) return all(ErrorCode.UNKNOWN_SERVER_ERROR, null);
      try {
        const results = await b.aclAdmin.create(bindings);
        results.forEach((r, i) => {
          if (r.error === 'NONE') b.log.info({ acl: describeBinding(bindings[i]!) }, 'ACL created');
        });
        return {
          throttleTimeMs: 0,
          results: results.map((r) => ({ errorCode: codeOfName(r.error), errorMessage: r.message })),
        };
      } catch (err) {
        if (err instanceof TopicOperationError) return all(codeOfName(err.errorName), err.message);
        throw err;
      }
    },
  });
}
