/**
 * Broker configuration with Kafka's key names (KafkaConfig). Sources, lowest precedence first:
 * defaults, a server.properties file (--config), --override key=value, and dynamic broker configs
 * from the metadata store. Unknown keys are kept (and reported by DescribeConfigs as such) because
 * users paste whole Kafka property files; keys we define are validated.
 */
import { ConfigDef, InvalidConfigError, type ConfigValue, atLeast, oneOf, LONG_MAX } from './config-def.js';
import { SYNONYM_SCALE, TOPIC_CONFIG, TOPIC_TO_BROKER_SYNONYMS } from './topic-config.js';
import { DEFAULT_SECURITY_PROTOCOL_MAP, resolveListeners, type ListenerConfig } from './listener-config.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export const BROKER_CONFIG = new ConfigDef()
  .define({
    name: 'node.id',
    type: 'int',
    default: '1',
    doc: "this broker's id",
    readOnly: true,
    validate: atLeast(0),
  })
  .define({ name: 'broker.id', type: 'int', default: '-1', doc: 'alias of node.id', readOnly: true })
  // Named listeners; validated together by resolveListeners (listener-config.ts).
  .define({
    name: 'listeners',
    type: 'string',
    default: 'PLAINTEXT://127.0.0.1:9092',
    doc: 'NAME://HOST:PORT, comma separated: one socket server each',
    readOnly: true,
  })
  .define({
    name: 'advertised.listeners',
    type: 'string',
    default: null,
    doc: "NAME://HOST:PORT clients and brokers are told per listener (default: the listener's own)",
    readOnly: true,
  })
  .define({
    name: 'listener.security.protocol.map',
    type: 'string',
    default: DEFAULT_SECURITY_PROTOCOL_MAP,
    doc: 'NAME:PROTOCOL per listener (only PLAINTEXT is supported yet)',
    readOnly: true,
  })
  .define({
    name: 'inter.broker.listener.name',
    type: 'string',
    default: null,
    doc: 'the listener brokers use to reach each other (default: the first of listeners)',
    readOnly: true,
  })
  .define({ name: 'log.dirs', type: 'list', default: null, doc: 'data directories', readOnly: true })
  .define({ name: 'log.dir', type: 'string', default: './data', doc: '', readOnly: true })
  .define({ name: 'broker.rack', type: 'string', default: null, doc: '', readOnly: true })
  .define({ name: 'cluster.id', type: 'string', default: null, doc: '', readOnly: true })
  .define({ name: 'num.partitions', type: 'int', default: '1', doc: '', validate: atLeast(1) })
  .define({ name: 'default.replication.factor', type: 'int', default: '1', doc: '', validate: atLeast(1) })
  .define({ name: 'auto.create.topics.enable', type: 'boolean', default: 'true', doc: '' })
  .define({ name: 'delete.topic.enable', type: 'boolean', default: 'true', doc: '' })
  .define({
    name: 'socket.request.max.bytes',
    type: 'int',
    default: '104857600',
    doc: '',
    validate: atLeast(1),
  })
  .define({ name: 'connections.max.idle.ms', type: 'long', default: '600000', doc: '' })
  .define({ name: 'max.connections', type: 'int', default: '2147483647', doc: '', validate: atLeast(0) })
  .define({ name: 'queued.max.requests', type: 'int', default: '500', doc: '', validate: atLeast(1) })
  .define({ name: 'message.max.bytes', type: 'int', default: '1048588', doc: '', validate: atLeast(0) })
  .define({
    name: 'log.segment.bytes',
    type: 'int',
    default: String(1024 * 1024 * 1024),
    doc: '',
    validate: atLeast(14),
  })
  .define({ name: 'log.roll.ms', type: 'long', default: null, doc: '' })
  .define({ name: 'log.roll.hours', type: 'int', default: '168', doc: '', validate: atLeast(1) })
  .define({ name: 'log.roll.jitter.ms', type: 'long', default: null, doc: '' })
  .define({ name: 'log.roll.jitter.hours', type: 'int', default: '0', doc: '' })
  .define({ name: 'log.retention.ms', type: 'long', default: null, doc: '' })
  .define({ name: 'log.retention.minutes', type: 'int', default: null, doc: '' })
  .define({ name: 'log.retention.hours', type: 'int', default: '168', doc: '' })
  .define({ name: 'log.retention.bytes', type: 'long', default: '-1', doc: '' })
  .define({
    name: 'log.retention.check.interval.ms',
    type: 'long',
    default: '300000',
    doc: '',
    validate: atLeast(1),
  })
  .define({
    name: 'log.flush.interval.messages',
    type: 'long',
    default: LONG_MAX,
    doc: '',
    validate: atLeast(1),
  })
  .define({ name: 'log.flush.interval.ms', type: 'long', default: null, doc: '' })
  .define({ name: 'log.flush.scheduler.interval.ms', type: 'long', default: LONG_MAX, doc: '' })
  .define({ name: 'log.index.interval.bytes', type: 'int', default: '4096', doc: '', validate: atLeast(0) })
  .define({
    name: 'log.index.size.max.bytes',
    type: 'int',
    default: String(10 * 1024 * 1024),
    doc: '',
    validate: atLeast(4),
  })
  .define({
    name: 'log.cleanup.policy',
    type: 'list',
    default: 'delete',
    doc: '',
    validate: oneOf('delete', 'compact'),
  })
  .define({ name: 'log.cleaner.delete.retention.ms', type: 'long', default: String(DAY_MS), doc: '' })
  .define({ name: 'log.cleaner.min.compaction.lag.ms', type: 'long', default: '0', doc: '' })
  .define({ name: 'log.cleaner.max.compaction.lag.ms', type: 'long', default: LONG_MAX, doc: '' })
  .define({ name: 'log.cleaner.min.cleanable.ratio', type: 'double', default: '0.5', doc: '' })
  // The log cleaner's own settings (Kafka's CleanerConfig; src/storage/cleaner-config.ts reads them).
  .define({ name: 'log.cleaner.enable', type: 'boolean', default: 'true', doc: 'run the log cleaner' })
  .define({ name: 'log.cleaner.threads', type: 'int', default: '1', doc: '', validate: atLeast(0) })
  .define({ name: 'log.cleaner.backoff.ms', type: 'long', default: '15000', doc: '', validate: atLeast(0) })
  .define({
    name: 'log.cleaner.io.max.bytes.per.second',
    type: 'double',
    default: '1.7976931348623157E308',
    doc: '',
  })
  .define({ name: 'log.cleaner.dedupe.buffer.size', type: 'long', default: '134217728', doc: '' })
  .define({
    name: 'log.cleaner.io.buffer.size',
    type: 'int',
    default: '524288',
    doc: '',
    validate: atLeast(0),
  })
  .define({ name: 'log.cleaner.io.buffer.load.factor', type: 'double', default: '0.9', doc: '' })
  .define({ name: 'log.segment.delete.delay.ms', type: 'long', default: '60000', doc: '' })
  .define({ name: 'log.preallocate', type: 'boolean', default: 'false', doc: '' })
  .define({
    name: 'log.message.timestamp.type',
    type: 'string',
    default: 'CreateTime',
    doc: '',
    validate: oneOf('CreateTime', 'LogAppendTime'),
  })
  .define({ name: 'log.message.timestamp.difference.max.ms', type: 'long', default: LONG_MAX, doc: '' })
  .define({ name: 'log.message.timestamp.before.max.ms', type: 'long', default: LONG_MAX, doc: '' })
  .define({ name: 'log.message.timestamp.after.max.ms', type: 'long', default: LONG_MAX, doc: '' })
  .define({ name: 'log.message.downconversion.enable', type: 'boolean', default: 'true', doc: '' })
  .define({
    name: 'compression.type',
    type: 'string',
    default: 'producer',
    doc: '',
    validate: oneOf('producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'),
  })
  .define({ name: 'min.insync.replicas', type: 'int', default: '1', doc: '', validate: atLeast(1) })
  .define({ name: 'unclean.leader.election.enable', type: 'boolean', default: 'false', doc: '' })
  .define({ name: 'replica.lag.time.max.ms', type: 'long', default: '30000', doc: '' })
  .define({ name: 'replica.fetch.max.bytes', type: 'int', default: '1048576', doc: '' })
  .define({ name: 'replica.fetch.wait.max.ms', type: 'int', default: '500', doc: '' })
  .define({ name: 'auto.leader.rebalance.enable', type: 'boolean', default: 'true', doc: '' })
  .define({
    name: 'controlled.shutdown.max.retries',
    type: 'int',
    default: '3',
    doc: '',
    validate: atLeast(1),
  })
  .define({
    name: 'controlled.shutdown.retry.backoff.ms',
    type: 'long',
    default: '5000',
    doc: '',
    validate: atLeast(0),
  })
  .define({
    name: 'leader.imbalance.check.interval.seconds',
    type: 'long',
    default: '300',
    doc: 'how often the controller runs preferred leader election',
    validate: atLeast(1),
  })
  .define({
    name: 'broker.session.timeout.ms',
    type: 'int',
    default: '9000',
    doc: 'how long a broker may go silent before its registration lease ends',
    validate: atLeast(1000),
  })
  .define({
    name: 'fetch.max.bytes',
    type: 'int',
    default: String(55 * 1024 * 1024),
    doc: '',
    validate: atLeast(1024),
  })
  .define({
    name: 'offsets.topic.num.partitions',
    type: 'int',
    default: '50',
    doc: '',
    validate: atLeast(1),
    readOnly: true,
  })
  .define({
    name: 'offsets.topic.replication.factor',
    type: 'int',
    default: '3',
    doc: '',
    validate: atLeast(1),
    readOnly: true,
  })
  .define({ name: 'offsets.topic.segment.bytes', type: 'int', default: String(100 * 1024 * 1024), doc: '' })
  .define({ name: 'offsets.retention.minutes', type: 'int', default: '10080', doc: '', validate: atLeast(1) })
  .define({ name: 'offsets.retention.check.interval.ms', type: 'long', default: '600000', doc: '' })
  .define({ name: 'group.initial.rebalance.delay.ms', type: 'int', default: '3000', doc: '' })
  .define({ name: 'group.min.session.timeout.ms', type: 'int', default: '6000', doc: '' })
  .define({ name: 'group.max.session.timeout.ms', type: 'int', default: '1800000', doc: '' })
  .define({ name: 'group.max.size', type: 'int', default: '2147483647', doc: '', validate: atLeast(1) })
  .define({ name: 'producer.id.expiration.ms', type: 'int', default: String(DAY_MS), doc: '' })
  .define({ name: 'transactional.id.expiration.ms', type: 'int', default: String(7 * DAY_MS), doc: '' })
  .define({
    name: 'transaction.state.log.num.partitions',
    type: 'int',
    default: '50',
    doc: '',
    readOnly: true,
  })
  .define({
    name: 'transaction.state.log.replication.factor',
    type: 'int',
    default: '3',
    doc: '',
    readOnly: true,
  })
  .define({ name: 'transaction.state.log.min.isr', type: 'int', default: '2', doc: '' })
  .define({ name: 'transaction.max.timeout.ms', type: 'int', default: '900000', doc: '' });

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

export interface ConfigEntrySource {
  value: string | null;
  source:
    'DEFAULT_CONFIG' | 'STATIC_BROKER_CONFIG' | 'DYNAMIC_BROKER_CONFIG' | 'DYNAMIC_DEFAULT_BROKER_CONFIG';
}

/**
 * The broker's effective configuration. Holds raw strings per layer and parses on read, so
 * DescribeConfigs can show each value's source and synonyms exactly as Kafka does.
 */
export class BrokerConfig {
  readonly #static: Record<string, string>;
  #dynamic: Record<string, string> = {};
  #dynamicDefault: Record<string, string> = {};

  constructor(props: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(props)) {
      if (BROKER_CONFIG.has(k)) BROKER_CONFIG.validate(k, v);
    }
    this.#static = { ...props };
  }

  /**
   * Replace the dynamic overrides: this broker's own and the cluster-wide default (per-broker wins).
   * Validated first, all or nothing.
   */
  setDynamic(perBroker: Record<string, string>, clusterDefault: Record<string, string> = {}): void {
    BrokerConfig.validateDynamic(perBroker);
    BrokerConfig.validateDynamic(clusterDefault);
    this.#dynamic = { ...perBroker };
    this.#dynamicDefault = { ...clusterDefault };
  }

  /** Throws InvalidConfigError when a dynamic broker config change is not allowed. */
  static validateDynamic(props: Record<string, string | null>): void {
    for (const [k, v] of Object.entries(props)) {
      const key = BROKER_CONFIG.get(k);
      if (!key) throw new InvalidConfigError(k, `Unknown broker config name: ${k}`);
      if (key.readOnly) throw new InvalidConfigError(k, `Cannot update these configs dynamically: ${k}`);
      if (v !== null) BROKER_CONFIG.validate(k, v);
    }
  }

  get dynamic(): Readonly<Record<string, string>> {
    return this.#dynamic;
  }

  /** The raw value and where it came from; null value when unset with no default. */
  source(name: string): ConfigEntrySource {
    if (name in this.#dynamic) return { value: this.#dynamic[name]!, source: 'DYNAMIC_BROKER_CONFIG' };
    if (name in this.#dynamicDefault)
      return { value: this.#dynamicDefault[name]!, source: 'DYNAMIC_DEFAULT_BROKER_CONFIG' };
    if (name in this.#static) return { value: this.#static[name]!, source: 'STATIC_BROKER_CONFIG' };
    return { value: BROKER_CONFIG.get(name)?.default ?? null, source: 'DEFAULT_CONFIG' };
  }

  isSet(name: string): boolean {
    return name in this.#dynamic || name in this.#dynamicDefault || name in this.#static;
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
    return v === null ? null : String(v);
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
    return [this.str('log.dir') ?? './data'];
  }

  /**
   * The broker's default for a topic config: the first set broker synonym, scaled to the topic key's
   * unit, else the topic key's own default. Returns the value and the broker key it came from.
   */
  topicDefault(topicKey: string): { value: string | null; brokerKey: string | null } {
    const synonyms = TOPIC_TO_BROKER_SYNONYMS[topicKey] ?? [];
    for (const b of synonyms) {
      if (this.isSet(b)) return { value: scaleSynonym(b, this.raw(b)), brokerKey: b };
    }
    // Defaults of the synonyms themselves (log.retention.hours=168, log.roll.hours=168 …).
    for (const b of synonyms) {
      const d = BROKER_CONFIG.get(b)?.default ?? null;
      if (d !== null) return { value: scaleSynonym(b, d), brokerKey: null };
    }
    return { value: TOPIC_CONFIG.get(topicKey)?.default ?? null, brokerKey: null };
  }
}

function scaleSynonym(brokerKey: string, raw: string | null): string | null {
  if (raw === null) return null;
  const scale = SYNONYM_SCALE[brokerKey];
  return scale ? String(Number(raw) * scale) : raw;
}
