/**
 * AlterClientQuotas (key 49), versions 0-1: set or remove quota values of user, client-id,
 * user+client-id (and ip) entities, as `kafka-configs.sh --alter --entity-type users|clients` and
 * Kafka's Admin.alterClientQuotas send. Validated and written by the controller
 * (ClientQuotaFrontend, through admin-writes.ts), which answers one result per entity with Kafka's
 * errors and sentences; validate_only checks without writing. The answer comes once this broker's
 * ClientQuotaTable has the write, so a DescribeClientQuotas right after sees it.
 */
import {
  decodeAlterClientQuotasRequest,
  encodeAlterClientQuotasResponse,
  type AlterClientQuotasRequest,
  type AlterClientQuotasResponse,
} from '../../protocol/messages/alter-client-quotas.js';
import { errorByName, ErrorCode } from '../../protocol/error-codes.js';
import { TopicOperationError } from '../../controller/topic-frontend.js';
import type { ClientQuotaAdmin } from '../../controller/admin-writes.js';
import { clusterAuthorizationMessage, type AuthHelper } from '../security/authorizer-helper.js';
import { defineHandler } from './api-handler.js';

export function alterClientQuotasHandler(admin: ClientQuotaAdmin, auth: AuthHelper) {
  return defineHandler<AlterClientQuotasRequest, AlterClientQuotasResponse>({
    apiKey: 49,
    name: 'AlterClientQuotas',
    minVersion: 0,
    maxVersion: 1,
    decode: decodeAlterClientQuotasRequest,
    encode: encodeAlterClientQuotasResponse,
    async handle(req, ctx) {
      // As Kafka's ControllerApis: ALTER_CONFIGS on the cluster, else every entity is refused.
      if (!auth.authorizeCluster(ctx, 'ALTER_CONFIGS'))
        return {
          throttleTimeMs: 0,
          entries: req.entries.map((e) => ({
            errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
            errorMessage: clusterAuthorizationMessage(ctx, 'ALTER_CONFIGS'),
            entity: e.entity.map((x) => ({ entityType: x.entityType, entityName: x.entityName })),
          })),
        };
      const alterations = req.entries.map((e) => ({
        entity: e.entity.map((x) => ({ entityType: x.entityType, entityName: x.entityName })),
        ops: e.ops.map((o) => ({ key: o.key, value: o.remove ? null : o.value })),
      }));
      try {
        const results = await admin.alter(alterations, req.validateOnly);
        return {
          throttleTimeMs: 0,
          entries: results.map((r) => ({
            errorCode: errorByName(r.error)?.code ?? ErrorCode.UNKNOWN_SERVER_ERROR,
            errorMessage: r.error === 'NONE' ? null : r.message,
            entity: r.entity,
          })),
        };
      } catch (err) {
        // The controller could not be reached or was deposed: every entity gets its error.
        const code =
          err instanceof TopicOperationError
            ? (errorByName(err.errorName)?.code ?? ErrorCode.UNKNOWN_SERVER_ERROR)
            : ErrorCode.UNKNOWN_SERVER_ERROR;
        const message = err instanceof Error ? err.message : String(err);
        return {
          throttleTimeMs: 0,
          entries: req.entries.map((e) => ({
            errorCode: code,
            errorMessage: message,
            entity: e.entity.map((x) => ({ entityType: x.entityType, entityName: x.entityName })),
          })),
        };
      }
    },
  });
}
