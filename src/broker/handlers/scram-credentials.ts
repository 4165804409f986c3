/**
 * DescribeUserScramCredentials (key 50) and AlterUserScramCredentials (key 51), version 0 each, as
 * Kafka answers them (`kafka-configs.sh --entity-type users --alter --add-config
 * 'SCRAM-SHA-512=[iterations=8192,password=…]'` and `--describe`). Validation and storage are the
 * ScramCredentialFrontend's. Open to every principal until the authorizer lands (Kafka checks
 * CLUSTER DESCRIBE / CLUSTER ALTER).
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
import type { ScramCredentialFrontend } from '../../controller/scram-frontend.js';
import { defineHandler, type ApiHandler } from './api-handler.js';

export function describeUserScramCredentialsHandler(scram: ScramCredentialFrontend) {
  return defineHandler<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse>({
    apiKey: 50,
    name: 'DescribeUserScramCredentials',
    minVersion: 0,
    maxVersion: 0,
    decode: decodeDescribeUserScramCredentialsRequest,
    encode: encodeDescribeUserScramCredentialsResponse,
    handle: (req) => ({
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      results: scram.describe(req.users?.map((u) => u.name) ?? null),
    }),
  });
}

export function alterUserScramCredentialsHandler(scram: ScramCredentialFrontend) {
  return defineHandler<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse>({
    apiKey: 51,
    name: 'AlterUserScramCredentials',
    minVersion: 0,
    maxVersion: 0,
    decode: decodeAlterUserScramCredentialsRequest,
    encode: encodeAlterUserScramCredentialsResponse,
    handle: async (req) => ({
      throttleTimeMs: 0,
      results: await scram.alter(req.deletions, req.upsertions),
    }),
  });
}

export function scramCredentialHandlers(scram: ScramCredentialFrontend): ApiHandler[] {
  return [
    describeUserScramCredentialsHandler(scram) as ApiHandler,
    alterUserScramCredentialsHandler(scram) as ApiHandler,
  ];
}
