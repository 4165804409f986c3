/**
 * DescribeUserScramCredentials (key 50) and AlterUserScramCredentials (key 51), version 0 each, as
 * Kafka answers them (`kafka-configs.sh --entity-type users --alter --add-config
 * 'SCRAM-SHA-512=[iterations=8192,password=…]'` and `--describe`). Validation and storage are the
 * ScramCredentialFrontend's. As Kafka: Describe needs CLUSTER DESCRIBE (else the whole answer is
 * CLUSTER_AUTHORIZATION_FAILED), Alter needs CLUSTER ALTER (else every user's result is).
 */
import {
  decodeDescribeUserScramCredentialsRequest,
  encodeDescribeUserScramCredentialsResponse,
  type DescribeUserScramCredentialsRequest,
  type DescribeUserScramCredentialsResponse,
} from '../../protocol/messages/describe-user-scram-credentials.js';
import {
  decodeAlterUserScramCredentialsRequest,
  encodeAlterUserScramCredentialsResponse,
  type AlterUserScramCredentialsRequest,
  type AlterUserScramCredentialsResponse,
} from '../../protocol/messages/alter-user-scram-credentials.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { describeScramCredentials } from '../../controller/scram-frontend.js';
import type { ScramAdmin } from '../../controller/scram-admin.js';
import type { ScramCredentialTable } from '../../controller/scram-table.js';
import type { AuthHelper } from '../security/authorizer-helper.js';
import { defineHandler, type ApiHandler } from './api-handler.js';

/** Kafka's message of Errors.CLUSTER_AUTHORIZATION_FAILED.exception. */
const CLUSTER_DENIED = 'Cluster authorization failed.';

export function describeUserScramCredentialsHandler(table: ScramCredentialTable, auth: AuthHelper) {
  return defineHandler<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse>({
    apiKey: 50,
    name: 'DescribeUserScramCredentials',
    minVersion: 0,
    maxVersion: 0,
    decode: decodeDescribeUserScramCredentialsRequest,
    encode: encodeDescribeUserScramCredentialsResponse,
    handle: (req, ctx) =>
      auth.authorizeCluster(ctx, 'DESCRIBE')
        ? {
            throttleTimeMs: 0,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            results: describeScramCredentials(table, req.users?.map((u) => u.name) ?? null),
          }
        : {
            throttleTimeMs: 0,
            errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
            errorMessage: CLUSTER_DENIED,
            results: [],
          },
  });
}

export function alterUserScramCredentialsHandler(scram: ScramAdmin, auth: AuthHelper) {
  return defineHandler<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse>({
    apiKey: 51,
    name: 'AlterUserScramCredentials',
    minVersion: 0,
    maxVersion: 0,
    decode: decodeAlterUserScramCredentialsRequest,
    encode: encodeAlterUserScramCredentialsResponse,
    handle: async (req, ctx) => {
      if (!auth.authorizeCluster(ctx, 'ALTER')) {
        // Kafka's getErrorResponse: every named user, once, with the error.
        const users = [...new Set([...req.deletions, ...req.upsertions].map((u) => u.name))].sort();
        return {
          throttleTimeMs: 0,
          results: users.map((user) => ({
            user,
            errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
            errorMessage: CLUSTER_DENIED,
          })),
        };
      }
      return { throttleTimeMs: 0, results: await scram.alter(req.deletions, req.upsertions) };
    },
  });
}

export function scramCredentialHandlers(
  table: ScramCredentialTable,
  scram: ScramAdmin,
  auth: AuthHelper,
): ApiHandler[] {
  return [
    describeUserScramCredentialsHandler(table, auth) as ApiHandler,
    alterUserScramCredentialsHandler(scram, auth) as ApiHandler,
  ];
}
