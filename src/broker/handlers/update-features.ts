/**
 * UpdateFeatures (key 57, v0-2): upgrade or downgrade the cluster's finalized features
 * (`kafka-features.sh upgrade|downgrade|disable`, Admin.updateFeatures). Kafka's rules
 * (FeatureControlManager, in controller/features.ts) decide, all updates or none; the new levels are
 * written to the metadata store with a compare-and-set (FeaturesTable), so every broker answers
 * ApiVersions with them. validate_only (`--dry-run`) checks and writes nothing. Reading the finalized
 * features is ApiVersions' job (Admin.describeFeatures asks ApiVersions).
 */
import {
  decodeUpdateFeaturesRequest,
  encodeUpdateFeaturesResponse,
  type UpdateFeaturesRequest,
  type UpdateFeaturesResponse,
} from '../../protocol/messages/update-features.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import {
  FeatureUpdateError,
  UpgradeType,
  applyFeatureUpdates,
  type FeatureUpdate,
} from '../../controller/features.js';
import type { FeaturesTable } from '../../controller/features-table.js';
import { defineHandler } from './api-handler.js';
import type { AuthHelper } from '../security/authorizer-helper.js';

function sameLevels(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

export function updateFeaturesHandler(nodeId: number, features: FeaturesTable, auth: AuthHelper) {
  return defineHandler<UpdateFeaturesRequest, UpdateFeaturesResponse>({
    apiKey: 57,
    name: 'UpdateFeatures',
    minVersion: 0,
    maxVersion: 2,
    decode: decodeUpdateFeaturesRequest,
    encode: encodeUpdateFeaturesResponse,
    async handle(req, ctx) {
      // Kafka: ALTER on the cluster.
      if (!auth.authorizeCluster(ctx, 'ALTER'))
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          errorMessage: null,
          results:
            ctx.apiVersion <= 1
              ? req.featureUpdates.map((u) => ({
                  feature: u.feature,
                  errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
                  errorMessage: null,
                }))
              : [],
        };
      // v0 said "allow downgrade" instead of an upgrade type (UpdateFeaturesRequest.getFeatureUpdateItem).
      const updates: FeatureUpdate[] = req.featureUpdates.map((u) => ({
        feature: u.feature,
        level: u.maxVersionLevel,
        upgradeType:
          ctx.apiVersion === 0
            ? u.allowDowngrade
              ? UpgradeType.SAFE_DOWNGRADE
              : UpgradeType.UPGRADE
            : (u.upgradeType ?? UpgradeType.UPGRADE),
      }));
      const ok = (): UpdateFeaturesResponse => ({
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        results:
          ctx.apiVersion <= 1
            ? req.featureUpdates.map((u) => ({
                feature: u.feature,
                errorCode: ErrorCode.NONE,
                errorMessage: null,
              }))
            : [],
      });
      // A concurrent change of the levels (another UpdateFeatures) makes the write fail: read again.
      for (let attempt = 0; attempt < 5; attempt++) {
        const epoch = features.epoch;
        let next: Record<string, number>;
        try {
          next = applyFeatureUpdates(features.levels, updates, `Broker ${nodeId}`);
        } catch (err) {
          if (!(err instanceof FeatureUpdateError)) throw err;
          return {
            throttleTimeMs: 0,
            errorCode: ErrorCode.INVALID_UPDATE_VERSION,
            errorMessage: `The update failed for all features since the following feature had an error: ${err.message}`,
            results: [],
          };
        }
        if (req.validateOnly === true || updates.length === 0) return ok();
        // Nothing changes (a no-op upgrade, disabling what is not finalized): nothing to write.
        if (sameLevels(features.levels, next)) return ok();
        if (await features.update(epoch, next)) return ok();
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.FEATURE_UPDATE_FAILED,
        errorMessage: 'The finalized features changed concurrently too many times; retry.',
        results: [],
      };
    },
  });
}
