/**
 * Config definitions as data, in Kafka's terms (ConfigDef): every key has a type, a default, a
 * validator and documentation. Values are kept as strings on the wire (DescribeConfigs, CreateTopics)
 * and parsed into typed values for the code that uses them.
 */

export type ConfigType = 'boolean' | 'int' | 'long' | 'double' | 'string' | 'list' | 'password';

export interface ConfigKey {
  name: string;
  type: ConfigType;
  /** Default as Kafka prints it in DescribeConfigs; null = no default. */
  default: string | null;
  doc: string;
  /** Returns an error sentence when the (already type-checked) value is not allowed. */
  validate?: (value: ConfigValue) => string | undefined;
  /** Read-only at runtime (DescribeConfigs readOnly; AlterConfigs rejects it). */
  readOnly?: boolean;
  sensitive?: boolean;
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

/** Parse a string as Kafka's ConfigDef.parseType would, throwing InvalidConfigError with a clear sentence. */
export function parseValue(key: ConfigKey, raw: string | null): ConfigValue {
  if (raw === null) return null;
  const s = raw.trim();
  const bad = (what: string) =>
    new InvalidConfigError(key.name, `Invalid value ${raw} for configuration ${key.name}: ${what}`);
  switch (key.type) {
    case 'boolean':
      if (s.toLowerCase() === 'true') return true;
      if (s.toLowerCase() === 'false') return false;
      throw bad('Expected value to be either true or false');
    case 'int': {
      if (!/^[+-]?\d+$/.test(s)) throw bad('Not a number of type INT');
      const n = Number(s);
      if (n < INT_MIN || n > INT_MAX) throw bad('Not a number of type INT');
      return n;
    }
    case 'long': {
      if (!/^[+-]?\d+$/.test(s)) throw bad('Not a number of type LONG');
      const n = BigInt(s);
      if (n < -(2n ** 63n) || n > 2n ** 63n - 1n) throw bad('Not a number of type LONG');
      // Longs that fit in a double's integer range become numbers: that covers every real value of
      // ms/bytes settings and keeps arithmetic simple. Only the extremes (Long.MAX_VALUE) stay bigint-free
      // by clamping to Number.MAX_SAFE_INTEGER, which means "forever" just as well.
      return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
    }
    case 'double': {
      const n = Number(s);
      if (s === '' || Number.isNaN(n)) throw bad('Not a number of type DOUBLE');
      return n;
    }
    case 'list':
      return s === '' ? [] : s.split(',').map((x) => x.trim());
    case 'string':
    case 'password':
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

  /** Parse and validate one value; throws InvalidConfigError. */
  validate(name: string, raw: string | null): ConfigValue {
    const key = this.#keys.get(name);
    if (!key) throw new InvalidConfigError(name, `Unknown configuration ${name}`);
    const v = parseValue(key, raw);
    if (v === null) {
      if (key.default === null) return null;
      throw new InvalidConfigError(name, `Invalid value null for configuration ${name}: a value is required`);
    }
    const problem = key.validate?.(v);
    if (problem)
      throw new InvalidConfigError(name, `Invalid value ${raw} for configuration ${name}: ${problem}`);
    return v;
  }
}
