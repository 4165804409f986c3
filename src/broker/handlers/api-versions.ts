/**
 * ApiVersions (key 18). Advertises every handler's range with min version 0 (librdkafka's feature
 * probes match exact low versions). A request at a version we do not serve is answered at v0 with
 * UNSUPPORTED_VERSION and the full list, so clients retry at the highest version we name (KIP-511).
 *
 * From v3 it also carries the features (KIP-584), as Kafka's broker fills them: the supported range
 * of every feature whose highest supported level is above 0 (v3 leaves out those whose lowest is 0,
 * KAFKA-17011), the finalized levels above 0 and their epoch. Admin.describeFeatures and
 * kafka-features.sh read them from here.
 */
import {
  decodeApiVersionsRequest,
  encodeApiVersionsResponse,
  type ApiVersionsRequest,
  type ApiVersionsResponse,
} from '../../protocol/messages/api-versions.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { defineHandler, type ApiHandler } from './api-handler.js';
import { SUPPORTED_FEATURES } from '../../controller/features.js';

/** The finalized features as a broker knows them (FeaturesTable). */
export interface FinalizedFeaturesView {
  readonly levels: Readonly<Record<string, number>>;
  readonly epoch: number;
}

export const API_VERSIONS_KEY = 18;

function featureFields(
  version: number,
  features: FinalizedFeaturesView | undefined,
): Partial<ApiVersionsResponse> {
  if (version < 3 || !features) return {};
  return {
    supportedFeatures: Object.entries(SUPPORTED_FEATURES)
      .filter(([, r]) => r.max > 0 && (version >= 4 || r.min > 0))
      .map(([name, r]) => ({ name, minVersion: r.min, maxVersion: r.max })),
    finalizedFeaturesEpoch: BigInt(features.epoch),
    finalizedFeatures: Object.entries(features.levels)
      .filter(([, l]) => l > 0)
      .map(([name, l]) => ({ name, minVersionLevel: l, maxVersionLevel: l })),
  };
}

export function apiVersionsHandler(all: () => ApiHandler[], features?: FinalizedFeaturesView) {
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
    handle: (_req, ctx) => ({
      errorCode: ErrorCode.NONE,
      apiKeys: list(),
      throttleTimeMs: 0,
      ...featureFields(ctx.apiVersion, features),
    }),
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
