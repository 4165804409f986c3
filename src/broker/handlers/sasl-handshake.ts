/**
 * SaslHandshake (key 17), versions 0-1, when it reaches KafkaApis: on a listener without SASL
 * (PLAINTEXT, SSL), or on an authenticated connection that may not re-authenticate now (no session
 * lifetime, or one started within the last second). Kafka answers ILLEGAL_SASL_STATE. On SASL
 * listeners the handshake itself is handled before KafkaApis (security/sasl-server-authenticator.ts);
 * the handler is registered so ApiVersions advertises the API, as Kafka does on every listener.
 */
import {
  decodeSaslHandshakeRequest,
  encodeSaslHandshakeResponse,
  type SaslHandshakeRequest,
  type SaslHandshakeResponse,
} from '../../protocol/messages/sasl-handshake.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler } from './api-handler.js';

export function saslHandshakeHandler() {
  return defineHandler<SaslHandshakeRequest, SaslHandshakeResponse>({
    apiKey: 17,
    name: 'SaslHandshake',
    minVersion: 0,
    maxVersion: 1,
    decode: decodeSaslHandshakeRequest,
    encode: encodeSaslHandshakeResponse,
    handle: () => ({ errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] }),
  });
}
