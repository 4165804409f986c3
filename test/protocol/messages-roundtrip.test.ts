/**
 * Property round-trips for every generated message and every version: a random valid value (built
 * from schema.json, which the generator emits beside the codecs) is encoded, decoded, compared, and
 * re-encoded to identical bytes; every strict prefix of the encoding must fail with DecodeError.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ByteReader, ByteWriter, DecodeError } from '../../src/protocol/primitives.js';
import {
  API_LIST,
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
} from '../../src/protocol/messages/index.js';

type Range = [number, number] | null;
interface FieldSchema {
  name: string;
  prop: string;
  type: string;
  versions: Range;
  nullableVersions: Range;
  tag?: number;
  taggedVersions?: Range;
  ignorable: boolean;
  default: unknown;
}
interface MessageSchema {
  name: string;
  type: string;
  apiKey: number | null;
  validVersions: [number, number];
  flexibleVersions: Range;
  fields: FieldSchema[];
  structs: Record<string, { fields: FieldSchema[] }>;
}

const schema = JSON.parse(
  readFileSync(new URL('../../src/protocol/messages/schema.json', import.meta.url), 'utf8'),
) as { messages: MessageSchema[] };

type Codec = {
  encode: (w: ByteWriter, m: never, v: number) => void;
  decode: (r: ByteReader, v: number) => unknown;
};
const codecs = new Map<string, Codec>();
codecs.set('RequestHeader', { encode: encodeRequestHeader as Codec['encode'], decode: decodeRequestHeader });
codecs.set('ResponseHeader', {
  encode: encodeResponseHeader as Codec['encode'],
  decode: decodeResponseHeader,
});
for (const api of API_LIST) {
  codecs.set(`${api.name}Request`, {
    encode: api.encodeRequest as Codec['encode'],
    decode: api.decodeRequest,
  });
  codecs.set(`${api.name}Response`, {
    encode: api.encodeResponse as Codec['encode'],
    decode: api.decodeResponse,
  });
}

const inRange = (r: Range | undefined, v: number): boolean => r != null && r[0] <= v && v <= r[1];

const PRIMS = new Set([
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

function defaultOf(msg: MessageSchema, f: FieldSchema): unknown {
  const d = f.default;
  if (d === null) return null;
  if (f.type.startsWith('[]')) return [];
  if (f.type === 'bytes') return Buffer.alloc(0);
  if (f.type === 'int64') return BigInt(d as string);
  if (!PRIMS.has(f.type)) return defaultStruct(msg, f.type);
  return d;
}

function defaultStruct(msg: MessageSchema, name: string): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of msg.structs[name]!.fields) o[f.prop] = defaultOf(msg, f);
  return o;
}

const bytesArb = fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a));

function primArb(type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'bool':
      return fc.boolean();
    case 'int8':
      return fc.integer({ min: -128, max: 127 });
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'uint16':
      return fc.integer({ min: 0, max: 65535 });
    case 'int32':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'uint32':
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case 'int64':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'float64':
      return fc.double();
    case 'string':
      return fc.string({ maxLength: 6 });
    case 'uuid':
      return fc.uuid();
    case 'bytes':
    case 'records':
      return bytesArb;
    default:
      throw new Error(`not a primitive: ${type}`);
  }
}

function typeArb(msg: MessageSchema, type: string, v: number, depth: number): fc.Arbitrary<unknown> {
  if (type.startsWith('[]')) {
    return fc.array(typeArb(msg, type.slice(2), v, depth + 1), { maxLength: depth >= 2 ? 1 : 3 });
  }
  if (PRIMS.has(type)) return primArb(type);
  return structArb(msg, msg.structs[type]!.fields, v, depth + 1);
}

function structArb(
  msg: MessageSchema,
  fields: FieldSchema[],
  v: number,
  depth: number,
): fc.Arbitrary<unknown> {
  const rec: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of fields) {
    if (!inRange(f.versions, v)) {
      rec[f.prop] = fc.constant(defaultOf(msg, f));
      continue;
    }
    const a = typeArb(msg, f.type, v, depth);
    rec[f.prop] = inRange(f.nullableVersions, v) ? fc.option(a, { nil: null, freq: 4 }) : a;
  }
  const body = fc.record(rec);
  if (!inRange(msg.flexibleVersions, v)) return body;
  // Unknown tagged fields, interleaved with the known tags of this struct.
  const known = new Set(fields.filter((f) => f.tag !== undefined).map((f) => f.tag));
  const unknownTags = fc
    .uniqueArray(
      fc.integer({ min: 0, max: 12 }).filter((t) => !known.has(t)),
      { maxLength: 2 },
    )
    .map((tags) => [...tags].sort((a, b) => a - b));
  const unknown = unknownTags.chain((tags) =>
    fc.tuple(...tags.map((tag) => bytesArb.map((data) => ({ tag, data })))),
  );
  return fc
    .tuple(body, fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: unknown }))
    .map(([o, unk]) => (unk.length === 0 ? o : { ...o, _unknownTaggedFields: unk }));
}

/** Buffers (views, possibly into a larger pool) compare by content. */
function norm(x: unknown): unknown {
  if (Buffer.isBuffer(x)) return `bytes:${x.toString('hex')}`;
  if (Array.isArray(x)) return x.map(norm);
  if (x !== null && typeof x === 'object') {
    return Object.fromEntries(Object.entries(x).map(([k, val]) => [k, norm(val)]));
  }
  return x;
}

const RUNS = Number(process.env['PROTOCOL_RUNS'] ?? 25);

describe('generated codecs round-trip', () => {
  for (const msg of schema.messages) {
    const codec = codecs.get(msg.name);
    it(`${msg.name} v${msg.validVersions[0]}-${msg.validVersions[1]}`, () => {
      expect(codec).toBeDefined();
      for (let v = msg.validVersions[0]; v <= msg.validVersions[1]; v++) {
        const arb = structArb(msg, msg.fields, v, 0);
        fc.assert(
          fc.property(arb, (value) => {
            const w = new ByteWriter(16);
            codec!.encode(w, value as never, v);
            const bytes = Buffer.from(w.finish());
            const r = new ByteReader(bytes);
            const decoded = codec!.decode(r, v);
            expect(r.remaining).toBe(0);
            expect(norm(decoded)).toEqual(norm(value));
            const w2 = new ByteWriter(16);
            codec!.encode(w2, decoded as never, v);
            expect(Buffer.from(w2.finish()).equals(bytes)).toBe(true);
            // A truncated frame is a DecodeError, never a RangeError or a silent success.
            if (bytes.length > 0) {
              const cut = bytes.length > 1 ? (bytes.length * 7) % bytes.length : 0;
              expect(() => codec!.decode(new ByteReader(bytes.subarray(0, cut)), v)).toThrow(DecodeError);
            }
          }),
          { numRuns: RUNS },
        );
      }
    });
  }
});
