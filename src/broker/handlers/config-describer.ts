/**
 * Builds DescribeConfigs entries the way Kafka reports them: each key's effective value, its source
 * (topic override, dynamic broker, static broker, default), and with includeSynonyms the chain of
 * places it could come from, highest precedence first.
 */
import { BROKER_CONFIG } from '../../common/broker-config.js';
import type { ConfigType } from '../../common/config-def.js';
import { TOPIC_CONFIG, TOPIC_TO_BROKER_SYNONYMS, SYNONYM_SCALE } from '../../common/topic-config.js';
import type { BrokerServices } from '../broker-services.js';

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

const CONFIG_TYPE_CODE: Record<ConfigType, number> = {
  boolean: 1,
  string: 2,
  int: 3,
  long: 5,
  double: 6,
  list: 7,
  password: 9,
};

export interface DescribedConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: { name: string; value: string | null; source: number }[];
  configType: number;
  documentation: string | null;
}

function brokerSource(s: string): number {
  return s in ConfigSource ? ConfigSource[s as keyof typeof ConfigSource] : ConfigSource.UNKNOWN;
}

function scaled(brokerKey: string, v: string | null): string | null {
  const k = SYNONYM_SCALE[brokerKey];
  return v !== null && k ? String(Number(v) * k) : v;
}

/** Topic configs: override → broker synonyms → default. `keys` null = all. */
export function describeTopicConfigs(
  b: BrokerServices,
  overrides: Record<string, string>,
  keys: string[] | null,
  includeSynonyms: boolean,
  includeDocumentation = false,
): DescribedConfig[] {
  const names = keys ?? TOPIC_CONFIG.names();
  const out: DescribedConfig[] = [];
  for (const name of names) {
    const def = TOPIC_CONFIG.get(name);
    if (!def) continue;
    const synonyms: DescribedConfig['synonyms'] = [];
    if (name in overrides)
      synonyms.push({ name, value: overrides[name]!, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    for (const bk of TOPIC_TO_BROKER_SYNONYMS[name] ?? []) {
      if (b.config.isSet(bk)) {
        const s = b.config.source(bk);
        synonyms.push({ name: bk, value: s.value, source: brokerSource(s.source) });
      }
    }
    const fallback = b.config.topicDefault(name);
    if (synonyms.length === 0 || !(name in overrides)) {
      const firstBroker = (TOPIC_TO_BROKER_SYNONYMS[name] ?? []).find(
        (bk) => BROKER_CONFIG.get(bk)?.default != null,
      );
      if (firstBroker && !b.config.isSet(firstBroker)) {
        synonyms.push({
          name: firstBroker,
          value: BROKER_CONFIG.get(firstBroker)!.default,
          source: ConfigSource.DEFAULT_CONFIG,
        });
      }
    }
    const top = synonyms[0];
    const value = top
      ? top.source === ConfigSource.DYNAMIC_TOPIC_CONFIG
        ? top.value
        : scaled(top.name, top.value)
      : (fallback.value ?? def.default);
    const source = top?.source ?? ConfigSource.DEFAULT_CONFIG;
    out.push({
      name,
      value: def.sensitive ? null : value,
      readOnly: false,
      isDefault: source === ConfigSource.DEFAULT_CONFIG,
      configSource: source,
      isSensitive: def.sensitive ?? false,
      synonyms: includeSynonyms ? synonyms : [],
      configType: CONFIG_TYPE_CODE[def.type],
      documentation: includeDocumentation ? def.doc || null : null,
    });
  }
  return out;
}

/** Broker configs: dynamic per-broker → dynamic default → static → default. */
export function describeBrokerConfigs(
  b: BrokerServices,
  keys: string[] | null,
  includeSynonyms: boolean,
  includeDocumentation = false,
): DescribedConfig[] {
  const names = keys ?? BROKER_CONFIG.names();
  const out: DescribedConfig[] = [];
  for (const name of names) {
    const def = BROKER_CONFIG.get(name);
    if (!def) continue;
    let s = b.config.source(name);
    // Kafka copies node.id into broker.id when only node.id is given (KafkaConfig.populateSynonyms),
    // so broker N describes its broker.id as N, not the -1 default.
    if (name === 'broker.id' && !b.config.isSet('broker.id'))
      s = { value: String(b.nodeId), source: 'STATIC_BROKER_CONFIG' };
    const source = brokerSource(s.source);
    out.push({
      name,
      value: def.sensitive ? null : s.value,
      readOnly: def.readOnly ?? false,
      isDefault: source === ConfigSource.DEFAULT_CONFIG,
      configSource: source,
      isSensitive: def.sensitive ?? false,
      synonyms: includeSynonyms ? [{ name, value: s.value, source }] : [],
      configType: CONFIG_TYPE_CODE[def.type],
      documentation: includeDocumentation ? def.doc || null : null,
    });
  }
  return out;
}
