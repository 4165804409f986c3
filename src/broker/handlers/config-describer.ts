/**
 * Builds DescribeConfigs entries the way Kafka's broker reports them (ConfigHelper): each key's
 * effective value, its source (topic override, dynamic broker, dynamic cluster default, static,
 * default), with includeSynonyms the places it could come from, highest precedence first, and with
 * includeDocumentation Kafka's documentation of the key.
 *
 * Synonyms follow Kafka's ConfigHelper.configSynonyms exactly: for a key and its synonym group
 * (log.retention.ms, log.retention.minutes, log.retention.hours), every dynamic per-broker value of
 * the group, then every dynamic default, every static value and every non-null default, with the
 * entries before the first one of the described key itself dropped. That is why, as on a Kafka
 * broker, retention.ms of a topic without overrides has no synonyms while log.retention.hours=168 is
 * only a default of a synonym.
 */
import { BROKER_CONFIG, brokerSynonyms, type BrokerConfig } from '../../common/broker-config.js';
import { canonicalValue, type ConfigKey, type ConfigType } from '../../common/config-def.js';
import { TOPIC_CONFIG, TOPIC_TO_BROKER_SYNONYMS } from '../../common/topic-config.js';

/** DescribeConfigsResponse ConfigSource values. */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

/** ConfigResource types. */
export const ResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

/** DescribeConfigsResponse ConfigType values (UNKNOWN is 0). */
const CONFIG_TYPE_CODE: Record<ConfigType, number> = {
  boolean: 1,
  string: 2,
  int: 3,
  short: 4,
  long: 5,
  double: 6,
  list: 7,
  class: 8,
  password: 9,
};

export interface DescribedSynonym {
  name: string;
  value: string | null;
  source: number;
}

export interface DescribedConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: DescribedSynonym[];
  configType: number;
  documentation: string | null;
}

/** Kafka's configSynonyms(name, synonyms): every layer's value of the group, highest first, from `name` on. */
function configSynonyms(
  config: BrokerConfig,
  name: string,
  group: string[],
  sensitive: boolean,
): DescribedSynonym[] {
  const l = config.layers;
  const out: DescribedSynonym[] = [];
  const add = (layer: Readonly<Record<string, string>>, source: number) => {
    for (const s of group) {
      const v = layer[s];
      if (v !== undefined) out.push({ name: s, value: sensitive ? null : v, source });
    }
  };
  add(l.dynamic, ConfigSource.DYNAMIC_BROKER_CONFIG);
  add(l.dynamicDefault, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
  add(l.static, ConfigSource.STATIC_BROKER_CONFIG);
  for (const s of group) {
    const d = BROKER_CONFIG.get(s)?.default ?? null;
    if (d !== null) out.push({ name: s, value: sensitive ? null : d, source: ConfigSource.DEFAULT_CONFIG });
  }
  const first = out.findIndex((s) => s.name === name);
  return first < 0 ? [] : out.slice(first);
}

/** Kafka's KafkaConfig.maybeSensitive: passwords, and keys whose type is unknown (they might be). */
function isSensitive(def: ConfigKey | undefined): boolean {
  return def === undefined || def.type === 'password';
}

function entry(
  name: string,
  def: ConfigKey | undefined,
  value: string | null,
  synonyms: DescribedSynonym[],
  readOnly: boolean,
  includeSynonyms: boolean,
  includeDocumentation: boolean,
): DescribedConfig {
  const source = synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG;
  return {
    name,
    value: isSensitive(def) ? null : value,
    readOnly,
    isDefault: source === ConfigSource.DEFAULT_CONFIG,
    configSource: source,
    isSensitive: isSensitive(def),
    synonyms: includeSynonyms ? synonyms : [],
    configType: def ? CONFIG_TYPE_CODE[def.type] : 0,
    documentation: includeDocumentation && def ? def.doc : null,
  };
}

/** Topic configs: override → broker synonyms → default, for every key Kafka's LogConfig lists. `keys` null or empty = all. */
export function describeTopicConfigs(
  b: { readonly config: BrokerConfig },
  overrides: Readonly<Record<string, string>>,
  keys: string[] | null,
  includeSynonyms: boolean,
  includeDocumentation = false,
): DescribedConfig[] {
  const config = b.config;
  const wanted = keys && keys.length > 0 ? new Set(keys) : null;
  const out: DescribedConfig[] = [];
  for (const def of TOPIC_CONFIG.keys()) {
    const name = def.name;
    if (def.internal || (wanted && !wanted.has(name))) continue;
    const sensitive = isSensitive(def);
    const primary = TOPIC_TO_BROKER_SYNONYMS[name]?.[0];
    const synonyms = primary ? configSynonyms(config, primary, brokerSynonyms(primary), sensitive) : [];
    const override = overrides[name];
    const value =
      override !== undefined
        ? canonicalValue(def, override)
        : canonicalValue(def, config.topicDefault(name).value);
    if (override !== undefined)
      synonyms.unshift({ name, value: sensitive ? null : value, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    out.push(entry(name, def, value, synonyms, false, includeSynonyms, includeDocumentation));
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * This broker's configs (resource name = its id): every key of Kafka's KafkaConfig plus Sluice's own,
 * and any other key set statically or dynamically (unknown to the ConfigDef: sensitive, no value).
 */
export function describeBrokerConfigs(
  config: BrokerConfig,
  nodeId: number,
  keys: string[] | null,
  includeSynonyms: boolean,
  includeDocumentation = false,
): DescribedConfig[] {
  const wanted = keys && keys.length > 0 ? new Set(keys) : null;
  const names = new Set<string>();
  for (const def of BROKER_CONFIG.keys()) if (!def.internal) names.add(def.name);
  for (const k of config.undefinedKeys()) names.add(k);
  const out: DescribedConfig[] = [];
  for (const name of [...names].sort()) {
    if (wanted && !wanted.has(name)) continue;
    const def = BROKER_CONFIG.get(name);
    const synonyms = configSynonyms(config, name, brokerSynonyms(name), isSensitive(def));
    let value = def ? canonicalValue(def, config.raw(name)) : null;
    // Kafka copies node.id into broker.id when only node.id is given (KafkaConfig.populateSynonyms).
    if (name === 'broker.id' && !config.isSet('broker.id')) value = String(nodeId);
    const readOnly = def?.readOnly ?? true;
    out.push(entry(name, def, value, synonyms, readOnly, includeSynonyms, includeDocumentation));
  }
  return out;
}

/**
 * The cluster-wide dynamic defaults (resource name ""): exactly the keys set there, with only their
 * DYNAMIC_DEFAULT_BROKER_CONFIG synonyms, whatever any broker overrides for itself.
 */
export function describeClusterDefaultConfigs(
  config: BrokerConfig,
  defaults: Readonly<Record<string, string>>,
  keys: string[] | null,
  includeSynonyms: boolean,
  includeDocumentation = false,
): DescribedConfig[] {
  const wanted = keys && keys.length > 0 ? new Set(keys) : null;
  const out: DescribedConfig[] = [];
  for (const name of Object.keys(defaults).sort()) {
    if (wanted && !wanted.has(name)) continue;
    const def = BROKER_CONFIG.get(name);
    const synonyms = configSynonyms(config, name, brokerSynonyms(name), isSensitive(def)).filter(
      (s) => s.source === ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
    );
    const readOnly = def?.readOnly ?? true;
    out.push(entry(name, def, defaults[name]!, synonyms, readOnly, includeSynonyms, includeDocumentation));
  }
  return out;
}
