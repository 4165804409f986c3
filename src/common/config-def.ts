/**
 * Config definitions as data, in Kafka's terms (ConfigDef): every key has a type, a default, a
 * validator and documentation. Values are kept as strings on the wire (DescribeConfigs, CreateTopics)
 * and parsed into typed values for the code that uses them.
 *
 * Kafka's own keys come from the generated table (kafka-configs.generated.ts, made from Kafka's
 * classes by tools/kafka-configs-gen): `fromKafka` turns one of its rows into a ConfigKey with Kafka's
 * type, default, documentation and validator, so parse errors and validator messages read as Kafka's
 * ConfigDef writes them ("Invalid value x for configuration y: Value must be at least 1").
 */
import type { KafkaConfigDefinition, KafkaValidator } from './kafka-configs.generated.js';

/** Kafka's ConfigDef.Type, lower case. */
export type ConfigType =
  'boolean' | 'string' | 'int' | 'short' | 'long' | 'double' | 'list' | 'class' | 'password';

/** Where a dynamic broker config may be set (Kafka's DynamicBrokerConfig), or read-only. */
export type DynamicUpdateMode = 'read-only' | 'per-broker' | 'cluster-wide';

export interface ConfigKey {
  name: string;
  type: ConfigType;
  /** Default as Kafka prints it in DescribeConfigs; null = no default. */
  default: string | null;
  /** false: Kafka has no default at all (a required key). Default true. */
  hasDefault?: boolean;
  doc: string;
  /** Returns the reason (after "Invalid value v for configuration k: ") when the parsed value is not allowed. */
  validate?: (value: ConfigValue) => string | undefined;
  /** Kafka's validator: returns the whole error sentence, as Kafka's ConfigDef words it. */
  check?: (name: string, value: ConfigValue) => string | undefined;
  /** Kafka's description of the valid values (ConfigDef's "Valid Values" column). */
  validValues?: string;
  /** Read-only at runtime (DescribeConfigs readOnly; AlterConfigs rejects it). */
  readOnly?: boolean;
  /** Broker keys: where a dynamic update may be made (Kafka's DynamicBrokerConfig). */
  dynamic?: DynamicUpdateMode;
  sensitive?: boolean;
  /** Kafka's defineInternal: accepted, never listed by DescribeConfigs. */
  internal?: boolean;
  importance?: 'high' | 'medium' | 'low';
  /** Sluice acts on this key (false: accepted and stored, no effect). */
  enforced?: boolean;
  /** How Sluice applies it, where that needs saying (docs/configuration.md). */
  note?: string;
  /** A key of Sluice's own, not Kafka's. */
  sluiceOnly?: boolean;
  /** Kafka's default, when Sluice's differs (docs/configuration.md says why). */
  kafkaDefault?: string | null;
}

export type ConfigValue = boolean | number | bigint | string | string[] | null;

export class InvalidConfigError extends Error {
  override readonly name = 'InvalidConfigError';
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

/** Long.MAX_VALUE as Kafka prints it: the default of every "never" setting (flush.ms, ...). Parsed, it
 *  clamps to Number.MAX_SAFE_INTEGER like any other huge long. */
export const LONG_MAX = '9223372036854775807';

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fFdD]?$/;

/** Kafka's ConfigException message: "Invalid value <v> for configuration <k>: <reason>". */
export function invalidValue(name: string, value: unknown, reason?: string): string {
  return `Invalid value ${formatJava(value)} for configuration ${name}${reason === undefined ? '' : `: ${reason}`}`;
}

/** A parsed value as Java's String.valueOf prints it (lists as [a, b], doubles as 1.0). */
function formatJava(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(String).join(', ')}]`;
  if (typeof v === 'number' && !Number.isInteger(v)) return javaDouble(v);
  return String(v);
}

/** Double.toString for the values configs hold: 0.5, 1.0, 1.0E21. */
function javaDouble(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  const a = Math.abs(n);
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) {
    const [m, e] = n.toExponential().split('e');
    return `${m!.includes('.') ? m : `${m}.0`}E${Number(e)}`;
  }
  return Number.isInteger(n) ? n.toFixed(1) : String(n);
}

/** Parse a string as Kafka's ConfigDef.parseType would, throwing InvalidConfigError with Kafka's sentence. */
export function parseValue(key: ConfigKey, raw: string | null): ConfigValue {
  if (raw === null) return null;
  const s = raw.trim();
  const bad = (what: string) => new InvalidConfigError(key.name, invalidValue(key.name, raw, what));
  switch (key.type) {
    case 'boolean':
      if (s.toLowerCase() === 'true') return true;
      if (s.toLowerCase() === 'false') return false;
      throw bad('Expected value to be either true or false');
    case 'short':
    case 'int': {
      const [lo, hi, name] = key.type === 'int' ? [INT_MIN, INT_MAX, 'INT'] : [-32768, 32767, 'SHORT'];
      if (!/^[+-]?\d+$/.test(s)) throw bad(`Not a number of type ${name}`);
      const n = Number(s);
      if (n < lo || n > hi) throw bad(`Not a number of type ${name}`);
      return n;
    }
    case 'long': {
      if (!/^[+-]?\d+$/.test(s)) throw bad('Not a number of type LONG');
      const n = BigInt(s);
      if (n < -(2n ** 63n) || n > 2n ** 63n - 1n) throw bad('Not a number of type LONG');
      // Longs that fit in a double's integer range become numbers: that covers every real value of
      // ms/bytes settings and keeps arithmetic simple. Only the extremes (Long.MAX_VALUE) stay bigint-free
      // by clamping to Number.MAX_SAFE_INTEGER, which means "forever" just as well.
      if (n > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
      if (n < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
      return Number(n);
    }
    case 'double': {
      if (s === 'NaN') return NaN;
      if (/^[+-]?Infinity$/.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
      if (!DECIMAL.test(s)) throw bad('Not a number of type DOUBLE');
      return Number(s.replace(/[fFdD]$/, ''));
    }
    case 'list':
      // Kafka splits on commas with the whitespace around them and keeps empty entries ("a,,b").
      return s === '' ? [] : s.split(/\s*,\s*/);
    case 'class':
    case 'string':
    case 'password':
      return s;
  }
}

/**
 * A value in the form DescribeConfigs prints it (Kafka's ConfigDef.convertToString of the parsed value):
 * trimmed, lists joined with ",", numbers without leading zeros, longs at full precision. A value that
 * does not parse is returned as it was given.
 */
export function canonicalValue(key: ConfigKey, raw: string | null): string | null {
  if (raw === null) return null;
  try {
    const v = parseValue(key, raw);
    switch (key.type) {
      case 'long':
      case 'int':
      case 'short':
        return BigInt(raw.trim()).toString();
      case 'double':
        return javaDouble(v as number);
      case 'list':
        return (v as string[]).join(',');
      case 'boolean':
        return String(v);
      case 'class':
      case 'string':
      case 'password':
        return v as string;
    }
  } catch {
    return raw;
  }
}

export function atLeast(min: number) {
  return (v: ConfigValue) => (typeof v === 'number' && v < min ? `Value must be at least ${min}` : undefined);
}

export function between(min: number, max: number) {
  return (v: ConfigValue) =>
    typeof v === 'number' && (v < min || v > max) ? `Value must be between ${min} and ${max}` : undefined;
}

export function oneOf(...allowed: string[]) {
  return (v: ConfigValue) => {
    const vals = Array.isArray(v) ? v : [String(v)];
    const badOne = vals.find((x) => !allowed.includes(String(x)));
    return badOne !== undefined ? `String must be one of: ${allowed.join(', ')}` : undefined;
  };
}

type Check = (name: string, value: ConfigValue) => string | undefined;

/**
 * Kafka's validators whose logic is a lambda (not data), by their description. The ones missing here
 * are not checked by Sluice (controller.quorum.* lists: Sluice has no KRaft quorum).
 */
const OPAQUE_VALIDATORS: Record<string, Check> = {
  // CompressionType GZIP's level: Deflater.BEST_SPEED..BEST_COMPRESSION or DEFAULT_COMPRESSION.
  '[1,...,9] or -1': (name, v) =>
    typeof v === 'number' && v !== -1 && (v < 1 || v > 9)
      ? invalidValue(name, v, 'Value must be between 1 and 9, or equal to -1')
      : undefined,
  // LogConfig's ThrottledReplicaListValidator: "*" or partition:broker pairs.
  '[partitionId]:[brokerId],[partitionId]:[brokerId],...': (name, v) => {
    const list = Array.isArray(v) ? v : [];
    if (list.length === 1 && list[0]!.trim() === '*') return undefined;
    return list.every((x) => /^\s*\d+\s*:\s*\d+\s*$/.test(x))
      ? undefined
      : invalidValue(
          name,
          v,
          `${name} must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...`,
        );
  },
};

/** A validator of Kafka's ConfigDef, from its description in the generated table. */
export function kafkaCheck(v: KafkaValidator, type?: ConfigType): Check | undefined {
  switch (v.kind) {
    case 'range': {
      const min = v.min === null ? null : Number(v.min);
      const max = v.max === null ? null : Number(v.max);
      // The value as Java prints the parsed Number: a Double always has a decimal point.
      const shown = (x: number) => (type === 'double' ? javaDouble(x) : String(x));
      return (name, x) => {
        if (x === null) return invalidValue(name, null, 'Value must be non-null');
        if (typeof x !== 'number') return undefined;
        if (min !== null && x < min) return invalidValue(name, shown(x), `Value must be at least ${v.min}`);
        if (max !== null && x > max)
          return invalidValue(name, shown(x), `Value must be no more than ${v.max}`);
        return undefined;
      };
    }
    case 'in':
      return (name, x) =>
        typeof x === 'string' && !v.values.includes(x)
          ? invalidValue(name, x, `String must be one of: ${v.values.join(', ')}`)
          : undefined;
    case 'inIgnoreCase':
      return (name, x) =>
        x === null || (typeof x === 'string' && !v.values.includes(x.toUpperCase()))
          ? invalidValue(name, x, `String must be one of (case insensitive): ${v.values.join(', ')}`)
          : undefined;
    case 'list':
      return (name, x) => {
        if (x === null) return v.nullAllowed ? undefined : `Configuration '${name}' values must not be null.`;
        if (!Array.isArray(x)) return undefined;
        if (!v.emptyAllowed && x.length === 0) {
          const valid = v.values.length === 0 ? 'any non-empty value' : `[${v.values.join(', ')}]`;
          return `Configuration '${name}' must not be empty. Valid values include: ${valid}`;
        }
        if (new Set(x).size !== x.length) return `Configuration '${name}' values must not be duplicated.`;
        for (const s of x) {
          if (s === '') return `Configuration '${name}' values must not be empty.`;
          if (v.values.length > 0 && !v.values.includes(s))
            return invalidValue(name, s, `String must be one of: ${v.values.join(', ')}`);
        }
        return undefined;
      };
    case 'nonEmpty':
      return (name, x) => (x === '' ? invalidValue(name, x, 'String must be non-empty') : undefined);
    case 'nonEmptyNoControl':
      return (name, x) => {
        if (typeof x !== 'string') return undefined;
        if (x === '') return invalidValue(name, x, 'String may not be empty');
        // eslint-disable-next-line no-control-regex
        const bad = [...x].filter((c) => /[\u0000-\u001f\u007f-\u009f]/.test(c)).map((c) => c.codePointAt(0));
        return bad.length > 0
          ? invalidValue(
              name,
              x,
              `String may not contain control sequences but had the following ASCII chars: ${bad.join(', ')}`,
            )
          : undefined;
      };
    case 'nonNull':
      return (name, x) => (x === null ? invalidValue(name, 'null', 'entry must be non null') : undefined);
    case 'listSize':
      return (name, x) =>
        Array.isArray(x) && x.length > v.max
          ? invalidValue(name, x, `exceeds maximum list size of [${v.max}].`)
          : undefined;
    case 'all': {
      const parts = v.of.map((p) => kafkaCheck(p, type)).filter((c): c is Check => c !== undefined);
      return (name, x) => {
        for (const c of parts) {
          const m = c(name, x);
          if (m !== undefined) return m;
        }
        return undefined;
      };
    }
    case 'opaque':
      return OPAQUE_VALIDATORS[v.text];
  }
}

/** A ConfigKey with Kafka's type, default, documentation and validator. */
export function fromKafka(k: KafkaConfigDefinition, extra: Partial<ConfigKey> = {}): ConfigKey {
  const check = k.validator ? kafkaCheck(k.validator, k.type) : undefined;
  return {
    name: k.name,
    type: k.type,
    default: k.default,
    hasDefault: k.hasDefault,
    doc: k.doc,
    ...(check ? { check } : {}),
    ...(k.validator && k.validator.text !== '' ? { validValues: k.validator.text } : {}),
    importance: k.importance,
    internal: k.internal,
    sensitive: k.type === 'password',
    ...extra,
  };
}

export class ConfigDef {
  readonly #keys = new Map<string, ConfigKey>();

  define(key: ConfigKey): this {
    this.#keys.set(key.name, key);
    return this;
  }

  get(name: string): ConfigKey | undefined {
    return this.#keys.get(name);
  }

  has(name: string): boolean {
    return this.#keys.has(name);
  }

  names(): string[] {
    return [...this.#keys.keys()].sort();
  }

  keys(): ConfigKey[] {
    return [...this.#keys.values()];
  }

  /** Parse and validate one value; throws InvalidConfigError with Kafka's wording. */
  validate(name: string, raw: string | null): ConfigValue {
    const key = this.#keys.get(name);
    if (!key) throw new InvalidConfigError(name, `Unknown configuration ${name}`);
    const v = parseValue(key, raw);
    if (v === null) {
      if (key.default === null) return null;
      throw new InvalidConfigError(name, `Invalid value null for configuration ${name}: a value is required`);
    }
    const whole = key.check?.(name, v);
    if (whole !== undefined) throw new InvalidConfigError(name, whole);
    const problem = key.validate?.(v);
    if (problem) throw new InvalidConfigError(name, invalidValue(name, raw, problem));
    return v;
  }
}
