/**
 * Cluster features (KIP-584): which versions of each Kafka feature Sluice supports, which level the
 * cluster has finalized, and Kafka's rules for changing a finalized level (FeatureControlManager).
 * Pure: the stored document lives in features-table.ts, the write in UpdateFeatures.
 *
 * Supported ranges, honestly:
 * - metadata.version 3.3-IV3 (7) to 4.4-IV2 (33), finalized at 4.4-IV2 on a new cluster. In Kafka the
 *   metadata version is the format of the KRaft metadata log and of inter-broker messages; Sluice has
 *   neither (its metadata is in etcd), so no level changes what Sluice does, and no 4.4 client gates
 *   anything on it. 4.4-IV2 is what `kafka-storage format` finalizes on a fresh 4.4 cluster, so tools
 *   (kafka-features, `upgrade --release-version 4.4-IV2`) see the cluster a 4.4 user expects.
 * - transaction.version 0-2 (KIP-890), finalized at 2 on a new cluster as `kafka-storage format`
 *   does at 4.4-IV2. A 4.4 producer uses the KIP-890 part 2 protocol (no AddPartitionsToTxn /
 *   AddOffsetsToTxn, an epoch bump per EndTxn v5) only when transaction.version >= 2 is finalized;
 *   the broker implements it (src/broker/txn, docs/transactions.md). `kafka-features.sh downgrade
 *   --feature transaction.version=1` (or 0) makes new producers use the TV1 protocol again; both
 *   kinds of producer work on the same cluster, as the coordinator records the version each
 *   transaction was started with. A cluster formed before this keeps its finalized level (0 there)
 *   until `kafka-features.sh upgrade`, as a Kafka cluster does.
 * - group.version 0 (no KIP-848 consumer groups), share.version 0 (no share groups), streams.version
 *   0 (no KIP-1071 streams groups), eligible.leader.replicas.version 0 (no ELR), kraft.version 0 (no
 *   KRaft quorum).
 * As Kafka's BrokerFeatures does, a feature whose highest supported level is 0 is not advertised at
 * all, and a finalized level of 0 is the same as not finalized.
 */
import {
  KAFKA_FEATURES,
  KAFKA_METADATA_VERSIONS,
  KAFKA_METADATA_VERSION_LATEST_PRODUCTION,
  KAFKA_METADATA_VERSION_MINIMUM,
  type KafkaFeatureDefinition,
} from '../common/kafka-configs.generated.js';

export const METADATA_VERSION = 'metadata.version';

/** The highest transaction.version Sluice's transaction coordinator implements (KIP-890: 1, 2). */
export const MAX_TRANSACTION_VERSION = 2;

export interface VersionRange {
  min: number;
  max: number;
}

/** Every feature Kafka 4.4 knows, with the range Sluice supports. */
export const SUPPORTED_FEATURES: Readonly<Record<string, VersionRange>> = {
  [METADATA_VERSION]: { min: KAFKA_METADATA_VERSION_MINIMUM, max: KAFKA_METADATA_VERSION_LATEST_PRODUCTION },
  'kraft.version': { min: 0, max: 0 },
  'transaction.version': { min: 0, max: MAX_TRANSACTION_VERSION },
  'group.version': { min: 0, max: 0 },
  'eligible.leader.replicas.version': { min: 0, max: 0 },
  'share.version': { min: 0, max: 0 },
  'streams.version': { min: 0, max: 0 },
};

/** The metadata.version a new cluster starts at (Kafka 4.4's latest production version, 4.4-IV2). */
export const BOOTSTRAP_METADATA_VERSION = KAFKA_METADATA_VERSION_LATEST_PRODUCTION;

const FEATURES = new Map<string, KafkaFeatureDefinition>(KAFKA_FEATURES.map((f) => [f.name, f]));
const MVS = new Map(KAFKA_METADATA_VERSIONS.map((m) => [m.level, m]));

/** "4.4-IV2" for 33, as FeatureCommand prints metadata.version levels. */
export function metadataVersionName(level: number): string | undefined {
  return MVS.get(level)?.version;
}

/** Kafka's Feature.defaultLevel(mv): the level `kafka-storage format` gives a feature at that metadata version. */
export function defaultLevel(feature: string, metadataVersion: number): number {
  const f = FEATURES.get(feature);
  if (!f) return 0;
  let level = f.levels[0]!.level;
  for (const v of f.levels) {
    if (v.bootstrapMetadataVersion <= metadataVersion) level = v.level;
    else break;
  }
  return level;
}

/** What a new cluster finalizes: the defaults of the bootstrap metadata version, within what Sluice supports. */
export function bootstrapLevels(): Record<string, number> {
  const levels: Record<string, number> = { [METADATA_VERSION]: BOOTSTRAP_METADATA_VERSION };
  for (const name of Object.keys(SUPPORTED_FEATURES)) {
    if (name === METADATA_VERSION) continue;
    const l = Math.min(defaultLevel(name, BOOTSTRAP_METADATA_VERSION), SUPPORTED_FEATURES[name]!.max);
    if (l > 0) levels[name] = l;
  }
  return levels;
}

/** Kafka's FeatureUpdate.UpgradeType codes. */
export const UpgradeType = { UNKNOWN: 0, UPGRADE: 1, SAFE_DOWNGRADE: 2, UNSAFE_DOWNGRADE: 3 } as const;

export interface FeatureUpdate {
  feature: string;
  level: number;
  upgradeType: number;
}

/** VersionRange.toString: "7-33", "0" when min = max. */
function rangeText(r: VersionRange): string {
  return r.min === r.max ? String(r.min) : `${r.min}-${r.max}`;
}

/** MetadataVersion.checkIfMetadataChanged: does any version in (low, high] change the metadata format? */
function metadataChangedBetween(a: number, b: number): boolean {
  const [low, high] = a < b ? [a, b] : [b, a];
  for (let l = high; l > low; l--) if (MVS.get(l)?.didMetadataChange) return true;
  return false;
}

export class FeatureUpdateError extends Error {
  override readonly name = 'FeatureUpdateError';
}

/**
 * Apply `updates` to the finalized `current` levels as Kafka's FeatureControlManager.updateFeatures
 * does, all or nothing: returns the new levels, or throws FeatureUpdateError with Kafka's message
 * (answered as INVALID_UPDATE_VERSION). `who` names the node whose support is checked ("Broker 1").
 */
export function applyFeatureUpdates(
  current: Readonly<Record<string, number>>,
  updates: readonly FeatureUpdate[],
  who: string,
): Record<string, number> {
  const next: Record<string, number> = { ...current };
  for (const u of updates) next[u.feature] = u.level;
  const invalid = (u: FeatureUpdate, why: string) =>
    new FeatureUpdateError(`Invalid update version ${u.level} for feature ${u.feature}. ${why}`);
  for (const u of updates) {
    if (u.upgradeType < UpgradeType.UPGRADE || u.upgradeType > UpgradeType.UNSAFE_DOWNGRADE)
      throw invalid(u, 'The controller does not support the given upgrade type.');
    const have = current[u.feature] ?? 0;
    if (u.level < 0) throw invalid(u, 'A feature version cannot be less than 0.');
    const range = SUPPORTED_FEATURES[u.feature] ?? { min: 0, max: 0 };
    if (u.level < range.min || u.level > range.max)
      throw invalid(
        u,
        range.max === 0
          ? `${who} does not support this feature.`
          : `${who} only supports versions ${rangeText(range)}`,
      );
    if (u.level < have && u.upgradeType === UpgradeType.UPGRADE)
      throw invalid(
        u,
        "Can't downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade.",
      );
    if (u.level > have && u.upgradeType !== UpgradeType.UPGRADE)
      throw invalid(u, "Can't downgrade to a newer version.");
    if (u.feature === METADATA_VERSION) {
      if (u.level < have && metadataChangedBetween(have, u.level)) {
        throw new FeatureUpdateError(
          `Unsupported metadata.version downgrade from ${have} to ${u.level}. ` +
            (u.upgradeType === UpgradeType.UNSAFE_DOWNGRADE
              ? 'Unsafe metadata downgrade is not supported in this version.'
              : 'Refusing to perform the requested downgrade because it might delete metadata information.'),
        );
      }
      continue;
    }
    const f = FEATURES.get(u.feature);
    const version = f?.levels.find((v) => v.level === u.level);
    if (!f) throw invalid(u, `Feature ${u.feature} not found.`);
    if (!version) throw invalid(u, `No feature:${u.feature} with feature level ${u.level}`);
    // Feature.validateVersion: levels >= 1 need a metadata.version and the dependencies they name.
    const mv = next[METADATA_VERSION];
    if (u.level >= 1 && (mv === undefined || mv < KAFKA_METADATA_VERSION_MINIMUM))
      throw invalid(
        u,
        `${u.feature} could not be set to ${u.level} because it depends on metadata.version=${KAFKA_METADATA_VERSION_MINIMUM} (${metadataVersionName(KAFKA_METADATA_VERSION_MINIMUM)})`,
      );
    for (const [dep, need] of Object.entries(version.dependencies)) {
      if ((next[dep] ?? 0) < need)
        throw invalid(
          u,
          `${u.feature} could not be set to ${u.level} because it depends on ${dep} level ${need}`,
        );
    }
  }
  for (const [k, v] of Object.entries(next)) if (v === 0) delete next[k];
  return next;
}
