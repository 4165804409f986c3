/**
 * ApiVersions (key 18). Advertises every handler's range with min version 0 (librdkafka's feature
 * probes match exact low versions). A request at a version we do not serve is answered at v0 with
 * UNSUPPORTED_VERSION and the full list, so clients retry at the highest version we name (KIP-511).
 */
import {
  decodeApiVersionsRequest,
  encodeApiVersionsResponse,
  type ApiVersionsRequest,
  type ApiVersionsResponse,
} from '../../protocol/messages/api-versions.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler, type ApiHandler } from './api-handler.js';

export const API_VERSIONS_KEY = 18;

export function apiVersionsHandler(all: () => ApiHandler[]) {
  const list = (): ApiVersionsResponse['apiKeys'] =>
    all()
      .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey);
  return defineHandler<ApiVersionsRequest, ApiVersionsResponse>({
    apiKey: API_VERSIONS_KEY,
    name: 'ApiVersions',
    minVersion: 0,
    maxVersion: 4,
    decode: decodeApiVersionsRequest,
    encode: encodeApiVersionsResponse,
    handle: () => ({ errorCode: ErrorCode.NONE, apiKeys: list(), throttleTimeMs: 0 }),
  });
}

/** The v0 body sent for an ApiVersions request at a version we do not serve. */
export function unsupportedApiVersionsResponse(handlers: ApiHandler[]): ApiVersionsResponse {
  return {
    errorCode: ErrorCode.UNSUPPORTED_VERSION,
    apiKeys: handlers
      .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey),
  };
}
