/**
 * SaslAuthenticate (key 36), versions 0-2, when it reaches KafkaApis: on a listener without SASL, or
 * after authentication completed. Kafka answers ILLEGAL_SASL_STATE with this sentence. The exchange
 * itself is handled before KafkaApis (security/sasl-server-authenticator.ts).
 */
import {
  decodeSaslAuthenticateRequest,
  encodeSaslAuthenticateResponse,
  type SaslAuthenticateRequest,
  type SaslAuthenticateResponse,
} from '../../protocol/messages/sasl-authenticate.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler } from './api-handler.js';

export function saslAuthenticateHandler() {
  return defineHandler<SaslAuthenticateRequest, SaslAuthenticateResponse>({
    apiKey: 36,
    name: 'SaslAuthenticate',
    minVersion: 0,
    maxVersion: 2,
    decode: decodeSaslAuthenticateRequest,
    encode: encodeSaslAuthenticateResponse,
    handle: () => ({
      errorCode: ErrorCode.ILLEGAL_SASL_STATE,
      errorMessage: 'SaslAuthenticate request received after successful authentication',
      authBytes: Buffer.alloc(0),
      sessionLifetimeMs: 0n,
    }),
  });
}
