/**
 * Broker configuration with Kafka's key names (KafkaConfig). Every key Kafka 4.4 defines is known
 * (the generated table, kafka-configs.generated.ts), with Kafka's type, default, validator,
 * documentation and dynamic-update mode; a few keys are Sluice's own (SLUICE_ONLY_KEYS), a few
 * defaults differ for a reason (SLUICE_DEFAULTS), and BROKER_ENFORCED says which keys Sluice acts on
 * (the rest are accepted, validated and stored, and have no effect).
 *
 * Sources, lowest precedence first: defaults, a server.properties file (--config), --override
 * key=value, the cluster-wide dynamic default and this broker's own dynamic configs from the metadata
 * store. As in Kafka (DynamicBrokerConfig.overrideProps), a key set at a higher level also hides its
 * synonyms set lower (dynamic log.retention.ms hides a static log.retention.hours). Unknown keys are
 * kept (users paste whole Kafka property files; Kafka accepts unknown dynamic keys too) and
 * DescribeConfigs reports them as Kafka does: sensitive, without a value.
 */
import {
  ConfigDef,
  InvalidConfigError,
  type ConfigKey,
  type ConfigValue,
  atLeast,
  fromKafka,
} from './config-def.js';
import { KAFKA_BROKER_CONFIGS, KAFKA_LISTENER_ONLY_SECURITY_CONFIGS } from './kafka-configs.generated.js';
import {
  TOPIC_CONFIG,
  TOPIC_TO_BROKER_SYNONYMS,
  SYNONYM_SCALE,
  SEGMENT_BYTES_DIVERGENCE,
} from './topic-config.js';
import { resolveListeners, type ListenerConfig } from './listener-config.js';
import { parseConnectionOverrides } from './connection-overrides.js';

/** Keys of Sluice's own (not in Kafka 4.4). */
const SLUICE_ONLY_KEYS: ConfigKey[] = [
  {
    name: 'cluster.id',
    type: 'string',
    default: null,
    doc: "The cluster's id. Kafka keeps it in meta.properties (kafka-storage format); Sluice reads it from here or --cluster-id, and in cluster mode it names the cluster's prefix in etcd.",
    readOnly: true,
    dynamic: 'read-only',
  },
  {
    name: 'controlled.shutdown.max.retries',
    type: 'int',
    default: '3',
    doc: 'How many times a broker asks the controller to move its leaderships away before it shuts down anyway (Kafka before 4.0 had this key).',
    validate: atLeast(1),
    dynamic: 'cluster-wide',
  },
  {
    name: 'controlled.shutdown.retry.backoff.ms',
    type: 'long',
    default: '5000',
    doc: 'How long a broker waits between controlled-shutdown attempts (Kafka before 4.0 had this key).',
    validate: atLeast(0),
    dynamic: 'cluster-wide',
  },
  {
    name: 'sluice.control.plane.secret',
    type: 'password',
    default: null,
    doc: "A secret every call to the control plane (gRPC, between brokers) must carry. Unset: one derived from the inter-broker SASL credentials, or mTLS with the inter-broker listener's keystore and truststore when that listener speaks TLS; a PLAINTEXT inter-broker listener without either leaves the control plane open.",
    sensitive: true,
    readOnly: true,
    dynamic: 'read-only',
  },
];

/** Defaults that differ from Kafka's, and why. */
export const SLUICE_DEFAULTS: Readonly<Record<string, { value: string; why: string }>> = {
  'node.id': { value: '1', why: 'a broker started with no config runs as node 1 (Kafka requires node.id)' },
  listeners: {
    value: 'PLAINTEXT://127.0.0.1:9092',
    why: 'a broker started with no config listens on loopback only',
  },
  'log.dir': { value: './data', why: 'data goes under the working directory, not /tmp' },
};

/**
 * Keys Kafka can change at runtime that Sluice cannot: it binds its listeners at startup. They are
 * read-only (DescribeConfigs says so, and a dynamic update gets Kafka's "Cannot update these configs
 * dynamically" answer) instead of being accepted with no effect.
 */
export const SLUICE_READ_ONLY: Readonly<Record<string, string>> = {
  listeners: 'listeners are bound at startup',
  'listener.security.protocol.map': 'listeners are bound at startup',
};

/** Broker keys Sluice acts on, and how, where that needs saying. Broker synonyms of enforced topic keys are enforced too. */
export const BROKER_ENFORCED: Readonly<Record<string, string>> = {
  'node.id': '',
  'broker.id': 'used when node.id is not set',
  listeners: '',
  'advertised.listeners': '',
  'listener.security.protocol.map': 'PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL are served',
  'inter.broker.listener.name': '',
  // Security (src/broker/security/): each may be set per listener (listener.name.<l>.<key>), the SASL
  // keys also per mechanism (listener.name.<l>.<mechanism>.<key>).
  'ssl.keystore.type':
    'PEM or PKCS12; a JKS file is refused (a PKCS12 file works under the default JKS type, as in Java)',
  'ssl.keystore.location':
    'read at startup per listener (listener.name.<l>. prefix first); the key and certificate files are re-read when they change',
  'ssl.keystore.password': '',
  'ssl.key.password': '',
  'ssl.keystore.key': '',
  'ssl.keystore.certificate.chain': '',
  'ssl.truststore.type': 'PEM (a PEM file works under the default JKS type); JKS is refused',
  'ssl.truststore.location':
    'read at startup per listener (listener.name.<l>. prefix first); the key and certificate files are re-read when they change',
  'ssl.truststore.password': '',
  'ssl.truststore.certificates': '',
  'ssl.client.auth': 'on SASL_SSL listeners only the listener-prefixed key is read, as in Kafka',
  'ssl.protocol': '',
  'ssl.enabled.protocols': 'TLSv1.2 and TLSv1.3',
  'ssl.cipher.suites': '',
  'ssl.endpoint.identification.algorithm': 'for connections this broker makes to other brokers',
  'ssl.principal.mapping.rules': '',
  'ssl.allow.dn.changes': '',
  'ssl.allow.san.changes': '',
  'sasl.enabled.mechanisms': 'PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER (GSSAPI is not supported)',
  'sasl.mechanism.inter.broker.protocol': '',
  'sasl.jaas.config': '',
  'sasl.server.max.receive.size': '',
  'connections.max.reauth.ms': '',
  'connection.failed.authentication.delay.ms': '',
  'sasl.oauthbearer.jwks.endpoint.url': '',
  'sasl.oauthbearer.jwks.endpoint.refresh.ms': '',
  'sasl.oauthbearer.expected.audience': '',
  'sasl.oauthbearer.expected.issuer': '',
  'sasl.oauthbearer.sub.claim.name': '',
  'sasl.oauthbearer.scope.claim.name': '',
  'sasl.oauthbearer.clock.skew.seconds': '',
  'sluice.control.plane.secret': '',
  'authorizer.class.name':
    'StandardAuthorizer turns ACLs on (docs/security.md: super.users, allow.everyone.if.no.acl.found)',
  'log.dirs': '',
  'log.dir': '',
  'broker.rack': '',
  'cluster.id': '',
  'num.partitions': '',
  'default.replication.factor': '',
  'auto.create.topics.enable': '',
  'delete.topic.enable': '',
  'socket.request.max.bytes': 'read at startup',
  'connections.max.idle.ms': 'read at startup',
  // Connection quotas (src/broker/network/connection-quotas.ts): read at every accepted connection,
  // so dynamic updates apply at once; max.connections and max.connection.creation.rate also per
  // listener (listener.name.<l>.<key>).
  'max.connections': 'over it the acceptor waits for a slot; the inter-broker listener is exempt',
  'max.connections.per.ip': 'excess connections are closed at once',
  'max.connections.per.ip.overrides': 'IP addresses and host names (resolved when the value changes)',
  'max.connection.creation.rate': 'connections over the rate wait in the acceptor',
  'quota.window.num':
    'samples of the connection creation rates and the produce, fetch and request quota rates (client quotas read it at startup)',
  'quota.window.size.seconds': '',
  'socket.listen.backlog.size': 'also how many connections may wait for a slot',
  // Replication throttles (src/broker/replication/replication-quota.ts), read at each fetch.
  'leader.replication.throttled.rate': '',
  'follower.replication.throttled.rate': '',
  'replication.quota.window.num': '',
  'replication.quota.window.size.seconds': '',
  'log.retention.check.interval.ms': '',
  'replica.lag.time.max.ms': '',
  'replica.fetch.max.bytes': '',
  'replica.fetch.wait.max.ms': '',
  'auto.leader.rebalance.enable': '',
  'leader.imbalance.check.interval.seconds': '',
  'broker.session.timeout.ms': 'the lease of the broker registration in etcd',
  'fetch.max.bytes': '',
  'offsets.topic.num.partitions': '',
  'offsets.topic.replication.factor': '',
  'offsets.topic.segment.bytes': '',
  'offsets.retention.minutes': '',
  'offsets.retention.check.interval.ms': '',
  'offsets.commit.timeout.ms': '',
  'offset.metadata.max.bytes': '',
  'group.initial.rebalance.delay.ms': '',
  'group.min.session.timeout.ms': '',
  'group.max.session.timeout.ms': '',
  'group.max.size': '',
  'controlled.shutdown.max.retries': '',
  'controlled.shutdown.retry.backoff.ms': '',
  'log.flush.scheduler.interval.ms': 'only as the default of flush.ms (the flush check runs every second)',
  // The log cleaner (src/storage/cleaner-config.ts reads them on every pick, so dynamic changes apply).
  'log.cleaner.enable': '',
  'log.cleaner.threads': 'worker threads',
  'log.cleaner.backoff.ms': '',
  'log.cleaner.io.max.bytes.per.second': '',
  'log.cleaner.dedupe.buffer.size': 'shared by all cleaner threads, as in Kafka',
  'log.cleaner.io.buffer.size': '',
  'log.cleaner.io.buffer.load.factor': '',
  // Client quotas (src/broker/quota/, docs/quotas.md): read at startup.
  'controller.quota.window.num': 'samples of the controller mutation quota (read at startup)',
  'controller.quota.window.size.seconds': '',
};

function brokerKeys(): ConfigDef {
  const def = new ConfigDef();
  const enforcedBySynonym = new Set<string>();
  for (const t of TOPIC_CONFIG.keys()) {
    if (!t.enforced) continue;
    for (const s of TOPIC_TO_BROKER_SYNONYMS[t.name] ?? []) enforcedBySynonym.add(s);
  }
  for (const k of KAFKA_BROKER_CONFIGS) {
    const sluiceDefault = SLUICE_DEFAULTS[k.name];
    const readOnly = k.dynamic === 'read-only' || k.name in SLUICE_READ_ONLY;
    const note = BROKER_ENFORCED[k.name];
    def.define(
      fromKafka(k, {
        readOnly,
        dynamic: k.name in SLUICE_READ_ONLY ? 'read-only' : k.dynamic,
        enforced: note !== undefined || enforcedBySynonym.has(k.name),
        ...(note ? { note } : {}),
        ...(sluiceDefault ? { default: sluiceDefault.value, hasDefault: true, kafkaDefault: k.default } : {}),
        ...(k.inConfigDef ? {} : { internal: true }),
        // Sluice keeps small segments possible (topic-config.ts says why).
        ...(k.name === 'log.segment.bytes'
          ? {
              check: TOPIC_CONFIG.get('segment.bytes')!.check!,
              validValues: TOPIC_CONFIG.get('segment.bytes')!.validValues!,
              note: SEGMENT_BYTES_DIVERGENCE,
            }
          : {}),
      }),
    );
  }
  for (const k of SLUICE_ONLY_KEYS) {
    const note = BROKER_ENFORCED[k.name];
    def.define({ ...k, sluiceOnly: true, enforced: note !== undefined, ...(note ? { note } : {}) });
  }
  return def;
}

export const BROKER_CONFIG = brokerKeys();

/** Kafka's DynamicBrokerConfig.brokerConfigSynonyms(name, false): the keys that set the same value. */
export function brokerSynonyms(name: string): string[] {
  return SYNONYMS.get(name) ?? [name];
}
const SYNONYMS = new Map(KAFKA_BROKER_CONFIGS.map((k) => [k.name, k.synonyms]));

/** Parse Java .properties text (what server.properties is): comments, `=`/`:`/space separators, continuations, escapes. */
export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // A line ending in an odd number of backslashes continues on the next one.
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.replace(/^\s+/, '');
    }
    const m = /^((?:\\.|[^=:\s\\])*)\s*[=:\s]?\s*(.*)$/.exec(line);
    if (!m) continue;
    const unescape = (s: string) =>
      s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, c: string) =>
        c.length === 5
          ? String.fromCharCode(parseInt(c.slice(1), 16))
          : ({ t: '\t', n: '\n', r: '\r', f: '\f' }[c] ?? c),
      );
    out[unescape(m[1]!)] = unescape(m[2]!);
  }
  return out;
}

/** Broker keys that may only be set per listener (listener.name.<l>.<key>), as in Kafka. */
const LISTENER_ONLY = new Set(KAFKA_LISTENER_ONLY_SECURITY_CONFIGS);
const LISTENER_PREFIX = /^listener\.name\.[^.]*\.(.*)$/;
/** Kafka's DynamicBrokerConfig: listener configs that are cluster-wide even under a listener prefix. */
const CLUSTER_LEVEL_LISTENER_CONFIGS = new Set([
  'max.connections',
  'max.connection.creation.rate',
  'num.network.threads',
]);

/** Java's HashSet.toString for the key sets in Kafka's messages (sorted here, so the text is stable). */
function javaSet(names: Iterable<string>): string {
  return `[${[...names].sort().join(', ')}]`;
}

/**
 * Why a set of dynamic broker configs may not be stored, as Kafka's DynamicBrokerConfig.validateConfigs
 * words it (ConfigAdminManager answers INVALID_REQUEST with it), or undefined when it may. Unknown keys
 * are allowed, as in Kafka (custom reporters and plugins read their own keys).
 */
export function dynamicConfigProblem(
  props: Record<string, string | null>,
  perBroker: boolean,
): { key: string; message: string } | undefined {
  const names = Object.keys(props);
  const readOnly = names.filter((k) => BROKER_CONFIG.get(k)?.readOnly === true);
  if (readOnly.length > 0)
    return { key: readOnly[0]!, message: `Cannot update these configs dynamically: ${javaSet(readOnly)}` };
  const listenerOnly = names.filter((k) => LISTENER_ONLY.has(k));
  if (listenerOnly.length > 0)
    return {
      key: listenerOnly[0]!,
      message: `These security configs can be dynamically updated only per-listener using the listener prefix: ${javaSet(listenerOnly)}`,
    };
  for (const [name, raw] of Object.entries(props)) {
    if (raw === null) continue;
    const base = LISTENER_PREFIX.exec(name)?.[1] ?? name;
    const key = BROKER_CONFIG.get(base);
    // Kafka validates the types of the dynamic keys only (DynamicConfig.Broker); others pass as strings.
    if (!key || key.dynamic === 'read-only') continue;
    try {
      BROKER_CONFIG.validate(base, raw);
    } catch (err) {
      if (err instanceof InvalidConfigError) return { key: name, message: err.message };
      throw err;
    }
  }
  // KafkaConfig's own parse of the overrides (its dynamic validation builds a whole KafkaConfig).
  const overrides = props['max.connections.per.ip.overrides'];
  if (overrides !== undefined && overrides !== null) {
    try {
      parseConnectionOverrides(overrides);
    } catch (err) {
      return { key: 'max.connections.per.ip.overrides', message: (err as Error).message };
    }
  }
  if (!perBroker) {
    const perBrokerOnly = names.filter((k) => {
      const base = LISTENER_PREFIX.exec(k)?.[1];
      if (base !== undefined) return !CLUSTER_LEVEL_LISTENER_CONFIGS.has(base);
      return BROKER_CONFIG.get(k)?.dynamic === 'per-broker';
    });
    if (perBrokerOnly.length > 0)
      return {
        key: perBrokerOnly[0]!,
        message: `Cannot update these configs at default cluster level, broker id must be specified: ${javaSet(perBrokerOnly)}`,
      };
  }
  return undefined;
}

export interface ConfigEntrySource {
  value: string | null;
  source:
    'DEFAULT_CONFIG' | 'STATIC_BROKER_CONFIG' | 'DYNAMIC_BROKER_CONFIG' | 'DYNAMIC_DEFAULT_BROKER_CONFIG';
}

/** The layers a broker config value can come from, highest precedence first. */
export interface BrokerConfigLayers {
  dynamic: Readonly<Record<string, string>>;
  dynamicDefault: Readonly<Record<string, string>>;
  static: Readonly<Record<string, string>>;
}

/**
 * The broker's effective configuration. Holds raw strings per layer and parses on read, so
 * DescribeConfigs can show each value's source and synonyms exactly as Kafka does.
 */
export class BrokerConfig {
  readonly #static: Record<string, string>;
  #dynamic: Record<string, string> = {};
  #dynamicDefault: Record<string, string> = {};
  #merged: Map<string, string> | null = null;

  constructor(props: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(props)) {
      if (BROKER_CONFIG.has(k)) BROKER_CONFIG.validate(k, v);
    }
    this.#static = { ...props };
  }

  /**
   * Replace the dynamic overrides: this broker's own and the cluster-wide default (per-broker wins).
   * As Kafka's DynamicBrokerConfig.fromPersistentProps: keys that may not be dynamic at that level or
   * whose value is invalid are ignored, one by one; returns them (the caller logs them).
   */
  setDynamic(perBroker: Record<string, string>, clusterDefault: Record<string, string> = {}): string[] {
    const ignored: string[] = [];
    const keep = (props: Record<string, string>, level: boolean) =>
      Object.fromEntries(
        Object.entries(props).filter(([k, v]) => {
          const bad = dynamicConfigProblem({ [k]: v }, level) !== undefined;
          if (bad) ignored.push(k);
          return !bad;
        }),
      );
    this.#dynamic = keep(perBroker, true);
    this.#dynamicDefault = keep(clusterDefault, false);
    this.#merged = null;
    return ignored;
  }

  /** Throws InvalidConfigError when a dynamic broker config change is not allowed (see dynamicConfigProblem). */
  static validateDynamic(props: Record<string, string | null>, perBroker = true): void {
    const p = dynamicConfigProblem(props, perBroker);
    if (p) throw new InvalidConfigError(p.key, p.message);
  }

  get dynamic(): Readonly<Record<string, string>> {
    return this.#dynamic;
  }

  /** The raw layers (static includes broker.id copied from node.id, as Kafka's KafkaConfig does). */
  get layers(): BrokerConfigLayers {
    const nodeId = this.#effective().get('node.id') ?? BROKER_CONFIG.get('node.id')?.default ?? null;
    const stat =
      'broker.id' in this.#static || nodeId === null
        ? this.#static
        : { ...this.#static, 'broker.id': nodeId };
    return { dynamic: this.#dynamic, dynamicDefault: this.#dynamicDefault, static: stat };
  }

  /** Static, then the dynamic default, then this broker's dynamic configs, each hiding the synonyms it overrides. */
  #effective(): Map<string, string> {
    if (this.#merged) return this.#merged;
    const m = new Map(Object.entries(this.#static));
    for (const layer of [this.#dynamicDefault, this.#dynamic]) {
      for (const [k, v] of Object.entries(layer)) {
        for (const s of brokerSynonyms(k)) m.delete(s);
        m.set(k, v);
      }
    }
    this.#merged = m;
    return m;
  }

  /** The raw value and where it came from; null value when unset with no default. */
  source(name: string): ConfigEntrySource {
    const m = this.#effective();
    const v = m.get(name);
    if (v === undefined) return { value: BROKER_CONFIG.get(name)?.default ?? null, source: 'DEFAULT_CONFIG' };
    if (this.#dynamic[name] === v && name in this.#dynamic)
      return { value: v, source: 'DYNAMIC_BROKER_CONFIG' };
    if (name in this.#dynamicDefault && this.#dynamicDefault[name] === v)
      return { value: v, source: 'DYNAMIC_DEFAULT_BROKER_CONFIG' };
    return { value: v, source: 'STATIC_BROKER_CONFIG' };
  }

  isSet(name: string): boolean {
    return this.#effective().has(name);
  }

  /** Keys set at some level that no ConfigDef defines (or Kafka's internal ones). */
  undefinedKeys(): string[] {
    return [...this.#effective().keys()].filter((k) => {
      const d = BROKER_CONFIG.get(k);
      return !d || d.internal === true;
    });
  }

  raw(name: string): string | null {
    return this.source(name).value;
  }

  value(name: string): ConfigValue {
    const raw = this.raw(name);
    const key = BROKER_CONFIG.get(name);
    if (!key) return raw;
    return BROKER_CONFIG.validate(name, raw);
  }

  int(name: string): number {
    const v = this.value(name);
    if (typeof v !== 'number') throw new InvalidConfigError(name, `${name} is not set`);
    return v;
  }

  bool(name: string): boolean {
    return this.value(name) === true;
  }

  str(name: string): string | null {
    const v = this.value(name);
    if (v === null) return null;
    return Array.isArray(v) ? v.join(',') : String(v);
  }

  get nodeId(): number {
    const brokerId = this.int('broker.id');
    return this.isSet('node.id') || brokerId < 0 ? this.int('node.id') : brokerId;
  }

  /** The listeners, validated together; throws InvalidConfigError (a startup error). */
  get listeners(): ListenerConfig {
    return resolveListeners({
      listeners: this.str('listeners'),
      advertisedListeners: this.str('advertised.listeners'),
      securityProtocolMap: this.str('listener.security.protocol.map'),
      interBrokerListenerName: this.str('inter.broker.listener.name'),
    });
  }

  get logDirs(): string[] {
    const dirs = this.value('log.dirs');
    if (Array.isArray(dirs) && dirs.length > 0) return dirs;
    const dir = this.value('log.dir');
    return Array.isArray(dir) && dir.length > 0 ? dir : ['./data'];
  }

  /**
   * The broker's default for a topic config, as Kafka's KafkaConfig.extractLogConfigMap computes it:
   * the first broker synonym that is set, scaled to the topic key's unit, else the first synonym's
   * default, else the topic key's own default. Returns the value and the broker key it came from.
   */
  topicDefault(topicKey: string): { value: string | null; brokerKey: string | null } {
    const synonyms = TOPIC_TO_BROKER_SYNONYMS[topicKey] ?? [];
    const m = this.#effective();
    for (const b of synonyms) {
      const v = m.get(b);
      if (v !== undefined) return { value: scaleSynonym(topicKey, b, v), brokerKey: b };
    }
    for (const b of synonyms) {
      const d = BROKER_CONFIG.get(b)?.default ?? null;
      if (d !== null) return { value: scaleSynonym(topicKey, b, d), brokerKey: null };
    }
    return { value: TOPIC_CONFIG.get(topicKey)?.default ?? null, brokerKey: null };
  }
}

function scaleSynonym(topicKey: string, brokerKey: string, raw: string): string {
  const scale = SYNONYM_SCALE[brokerKey];
  const t = raw.trim();
  if (!scale || !/^[+-]?\d+$/.test(t)) return raw;
  const n = BigInt(t) * BigInt(scale);
  // KafkaConfig.logRetentionTimeMillis: any negative retention is -1 (forever).
  return topicKey === 'retention.ms' && n < 0n ? '-1' : n.toString();
}
