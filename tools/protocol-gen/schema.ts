/**
 * Reading Kafka's message definitions (clients/src/main/resources/common/message/*.json) into a small,
 * normalized model the emitter walks. No I/O here except `loadMessages`, so the parsing rules are easy
 * to unit-test.
 *
 * Version ranges: "0-11", "9+", "3" or "none". Open-ended ranges get max = OPEN (int16 max), so a
 * range never needs special-casing for "+".
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const OPEN = 0x7fff;

export interface Versions {
  readonly min: number;
  readonly max: number;
}

export type Primitive =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'uuid'
  | 'bytes'
  | 'records';

export type FieldType =
  | { readonly kind: 'primitive'; readonly name: Primitive }
  | { readonly kind: 'struct'; readonly struct: string }
  | { readonly kind: 'array'; readonly elem: FieldType };

export interface Field {
  /** Kafka's PascalCase name, e.g. "PartitionIndex". */
  readonly name: string;
  /** The TypeScript property: the name with its first letter lowercased. */
  readonly prop: string;
  readonly type: FieldType;
  readonly versions: Versions | null;
  readonly nullableVersions: Versions | null;
  readonly taggedVersions: Versions | null;
  readonly tag: number | null;
  /** A per-field override of the message's flexible versions (only RequestHeader.ClientId uses it). */
  readonly flexibleVersions: Versions | null | undefined;
  readonly ignorable: boolean;
  /** The raw "default" from the JSON, if any. */
  readonly default: string | number | boolean | undefined;
  readonly about: string | undefined;
}

export interface Struct {
  readonly name: string;
  readonly fields: readonly Field[];
}

export interface Message {
  readonly name: string;
  readonly type: 'request' | 'response' | 'header' | 'data';
  readonly apiKey: number | null;
  readonly listeners: readonly string[];
  readonly validVersions: Versions;
  readonly flexibleVersions: Versions | null;
  readonly deprecatedVersions: Versions | null;
  readonly latestVersionUnstable: boolean;
  readonly fields: readonly Field[];
  /** Every named struct (inline and commonStructs), in definition order. */
  readonly structs: readonly Struct[];
}

/** Remove `//` comments (outside string literals) so the text is plain JSON. */
export function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (c === '"') {
        inString = false;
      }
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

/** Parse a version range: "0-11", "9+", "3" or "none" (null). */
export function parseVersions(spec: string): Versions | null {
  const s = spec.trim();
  if (s === 'none') return null;
  let m = /^(\d+)\+$/.exec(s);
  if (m) return { min: Number(m[1]), max: OPEN };
  m = /^(\d+)-(\d+)$/.exec(s);
  if (m) {
    const min = Number(m[1]);
    const max = Number(m[2]);
    if (max < min) throw new Error(`bad version range: ${spec}`);
    return { min, max };
  }
  m = /^(\d+)$/.exec(s);
  if (m) return { min: Number(m[1]), max: Number(m[1]) };
  throw new Error(`bad version range: ${spec}`);
}

export function intersect(a: Versions | null, b: Versions | null): Versions | null {
  if (a === null || b === null) return null;
  const min = Math.max(a.min, b.min);
  const max = Math.min(a.max, b.max);
  return min <= max ? { min, max } : null;
}

export function contains(r: Versions | null, v: number): boolean {
  return r !== null && r.min <= v && v <= r.max;
}

/** PascalCase → camelCase, the way Kafka's generator names accessors: only the first letter changes. */
export function propName(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

const PRIMITIVES = new Set<string>([
  'bool',
  'int8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'float64',
  'string',
  'uuid',
  'bytes',
  'records',
]);

function parseType(t: string): FieldType {
  if (t.startsWith('[]')) return { kind: 'array', elem: parseType(t.slice(2)) };
  if (PRIMITIVES.has(t)) return { kind: 'primitive', name: t as Primitive };
  if (!/^[A-Z][A-Za-z0-9]*$/.test(t)) throw new Error(`unknown type: ${t}`);
  return { kind: 'struct', struct: t };
}

interface RawField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number | string;
  flexibleVersions?: string;
  ignorable?: boolean;
  default?: string | number | boolean;
  about?: string;
  fields?: RawField[];
}

interface RawMessage {
  name: string;
  type: string;
  apiKey?: number;
  listeners?: string[];
  validVersions: string;
  flexibleVersions: string;
  deprecatedVersions?: string;
  latestVersionUnstable?: boolean;
  fields: RawField[];
  commonStructs?: { name: string; fields: RawField[] }[];
}

/** Normalize one parsed JSON definition. Inline struct definitions are hoisted into `structs`. */
export function parseMessage(raw: RawMessage): Message {
  const structs: Struct[] = [];
  const seen = new Set<string>();
  const convert = (fields: readonly RawField[]): Field[] =>
    fields.map((f) => {
      const type = parseType(f.type);
      let base = type;
      while (base.kind === 'array') base = base.elem;
      if (f.fields !== undefined && f.fields.length > 0) {
        if (base.kind !== 'struct') throw new Error(`${raw.name}.${f.name}: fields on a non-struct type`);
        if (seen.has(base.struct)) throw new Error(`${raw.name}: struct ${base.struct} defined twice`);
        seen.add(base.struct);
        // Reserve the slot first so structs come out in definition (pre-)order.
        const idx = structs.length;
        structs.push({ name: base.struct, fields: [] });
        structs[idx] = { name: base.struct, fields: convert(f.fields) };
      }
      if (f.tag !== undefined && f.taggedVersions === undefined) {
        throw new Error(`${raw.name}.${f.name}: tag without taggedVersions`);
      }
      return {
        name: f.name,
        prop: propName(f.name),
        type,
        versions: parseVersions(f.versions ?? 'none'),
        nullableVersions: f.nullableVersions === undefined ? null : parseVersions(f.nullableVersions),
        taggedVersions: f.taggedVersions === undefined ? null : parseVersions(f.taggedVersions),
        // A few definitions spell the tag as a string ("tag": "0").
        tag: f.tag === undefined ? null : Number(f.tag),
        flexibleVersions: f.flexibleVersions === undefined ? undefined : parseVersions(f.flexibleVersions),
        ignorable: f.ignorable === true,
        default: f.default,
        about: f.about,
      };
    });
  for (const c of raw.commonStructs ?? []) {
    if (seen.has(c.name)) throw new Error(`${raw.name}: struct ${c.name} defined twice`);
    seen.add(c.name);
    structs.push({ name: c.name, fields: convert(c.fields) });
  }
  const fields = convert(raw.fields);
  const valid = parseVersions(raw.validVersions);
  if (valid === null) throw new Error(`${raw.name}: no valid versions`);
  const check = (fs: readonly Field[]): void => {
    for (const f of fs) {
      let base = f.type;
      while (base.kind === 'array') base = base.elem;
      if (base.kind === 'struct' && !seen.has(base.struct))
        throw new Error(`${raw.name}: unknown struct ${base.struct}`);
    }
  };
  check(fields);
  for (const s of structs) check(s.fields);
  if (!['request', 'response', 'header', 'data'].includes(raw.type))
    throw new Error(`${raw.name}: type ${raw.type}`);
  return {
    name: raw.name,
    type: raw.type as Message['type'],
    apiKey: raw.apiKey ?? null,
    listeners: raw.listeners ?? [],
    validVersions: valid,
    flexibleVersions: parseVersions(raw.flexibleVersions),
    deprecatedVersions: raw.deprecatedVersions === undefined ? null : parseVersions(raw.deprecatedVersions),
    latestVersionUnstable: raw.latestVersionUnstable === true,
    fields,
    structs,
  };
}

export function parseMessageText(text: string): Message {
  return parseMessage(JSON.parse(stripComments(text)) as RawMessage);
}

/** Every *Request.json, *Response.json and the two headers, sorted by file name. */
export function loadMessages(dir: string): Message[] {
  const files = readdirSync(dir)
    .filter(
      (f) => /(Request|Response)\.json$/.test(f) || f === 'RequestHeader.json' || f === 'ResponseHeader.json',
    )
    .sort();
  return files.map((f) => {
    try {
      return parseMessageText(readFileSync(join(dir, f), 'utf8'));
    } catch (err) {
      throw new Error(`${f}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  });
}
