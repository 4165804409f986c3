/**
 * One listener's view of the broker config, with Kafka's prefix rules (ChannelBuilders,
 * JaasContext.loadServerContext):
 *
 *   value(key)        listener.name.<listener>.<key>, else <key> (its default when unset)
 *   mechValue(m, key) listener.name.<listener>.<mechanism>.<key>, else <mechanism>.<key>, else value(key)
 *
 * Listener and mechanism are lower-cased in the prefix, as Kafka's ListenerName.configPrefix does
 * (`listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config`). Values are parsed with the base key's
 * type and validated with its validator from the broker's config definitions (Kafka's, from the
 * generated table).
 */
import { InvalidConfigError, parseValue, type ConfigKey, type ConfigValue } from '../../common/config-def.js';

/** What the view reads: the broker config (raw strings, defaults for defined keys). */
export interface RawConfig {
  raw(name: string): string | null;
  isSet(name: string): boolean;
}

export class ListenerConfigView {
  readonly listenerName: string;
  readonly prefix: string;
  readonly #config: RawConfig;
  readonly #def: (name: string) => ConfigKey | undefined;

  constructor(config: RawConfig, listenerName: string, def: (name: string) => ConfigKey | undefined) {
    this.#config = config;
    this.listenerName = listenerName;
    this.prefix = `listener.name.${listenerName.toLowerCase()}.`;
    this.#def = def;
  }

  /** Whether the listener-prefixed key itself is set (Kafka's originalsWithPrefix). */
  listenerSet(key: string): boolean {
    return this.#config.isSet(this.prefix + key);
  }

  /** The raw value and the key it came from. */
  rawWithSource(key: string): { value: string | null; from: string } {
    const p = this.prefix + key;
    if (this.#config.isSet(p)) return { value: this.#config.raw(p), from: p };
    return { value: this.#config.raw(key), from: key };
  }

  raw(key: string): string | null {
    return this.rawWithSource(key).value;
  }

  mechRawWithSource(mechanism: string, key: string): { value: string | null; from: string } {
    const m = mechanism.toLowerCase();
    for (const k of [`${this.prefix}${m}.${key}`, `${m}.${key}`])
      if (this.#config.isSet(k)) return { value: this.#config.raw(k), from: k };
    return this.rawWithSource(key);
  }

  mechRaw(mechanism: string, key: string): string | null {
    return this.mechRawWithSource(mechanism, key).value;
  }

  #parse(key: string, v: { value: string | null; from: string }): ConfigValue {
    const def = this.#def(key);
    if (!def) return v.value;
    try {
      const parsed = parseValue({ ...def, name: v.from }, v.value);
      // Kafka's validator (the generated table's), worded for the key the value came from.
      const whole = parsed === null ? undefined : def.check?.(v.from, parsed);
      if (whole !== undefined) throw new InvalidConfigError(v.from, whole);
      const problem = parsed === null ? undefined : def.validate?.(parsed);
      if (problem)
        throw new InvalidConfigError(
          v.from,
          `Invalid value ${v.value} for configuration ${v.from}: ${problem}`,
        );
      return parsed;
    } catch (err) {
      if (err instanceof InvalidConfigError) throw err;
      throw new InvalidConfigError(v.from, String(err));
    }
  }

  value(key: string): ConfigValue {
    return this.#parse(key, this.rawWithSource(key));
  }

  mechValue(mechanism: string, key: string): ConfigValue {
    return this.#parse(key, this.mechRawWithSource(mechanism, key));
  }

  str(key: string): string | null {
    const v = this.value(key);
    return v === null ? null : String(v);
  }

  list(key: string): string[] {
    const v = this.value(key);
    if (v === null) return [];
    return Array.isArray(v)
      ? v.filter((x) => x !== '')
      : String(v)
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean);
  }

  num(key: string): number {
    const v = this.value(key);
    if (typeof v !== 'number') throw new InvalidConfigError(key, `${key} is not set`);
    return v;
  }

  bool(key: string): boolean {
    return this.value(key) === true;
  }
}
