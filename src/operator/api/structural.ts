/**
 * The custom resources' schemas are written once, in TypeBox (api/kafka-cluster.ts,
 * api/kafka-topic.ts). From that one declaration come:
 *   - the static TypeScript types (`Static<typeof Schema>`), which the builders and reconcilers use;
 *   - the defaults applied in code (`withDefaults`), the same `default`s the API server applies;
 *   - the OpenAPI v3 schema of the CRDs (`toStructural`), which tools/gen-crds.ts writes to crds/.
 *
 * Kubernetes accepts only "structural" schemas: every node says its type, no $ref, no
 * patternProperties, and anyOf only as plain value validation. TypeBox speaks standard JSON
 * Schema, so a few of its shapes are lowered here:
 *   Record(String, V)                     → type: object, additionalProperties: V
 *   Union of string (or integer) literals → type: string (integer), enum: [...]
 *   Union(Integer, String) (IntOrString)  → x-kubernetes-int-or-string: true
 * Anything else TypeBox could express but Kubernetes cannot store is refused with the path, so a
 * schema that generates is a schema the API server takes. Kubernetes' extensions
 * (x-kubernetes-validations, x-kubernetes-list-type, …) are passed as options and copied as they are.
 *
 * Required vs defaulted: a property with a `default` is required in the static type (after
 * defaulting it is always there) and left out of the CRD's `required` (a user may omit it), which
 * is exactly what the API server does with it.
 */
import {
  Kind,
  Type,
  type SchemaOptions,
  type TInteger,
  type TLiteral,
  type TObject,
  type TRecord,
  type TSchema,
  type TString,
  type TUnion,
  type TUnsafe,
} from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** A JSON value as it appears in a CRD's openAPIV3Schema. */
export type JsonSchema = { [key: string]: unknown };

/** A string with one of `values` (Kubernetes: type string + enum). */
export function StringEnum<const T extends readonly [string, ...string[]]>(
  values: T,
  options?: SchemaOptions,
): TUnion<{ [K in keyof T]: TLiteral<T[K]> } & TSchema[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as unknown as TUnion<{ [K in keyof T]: TLiteral<T[K]> } & TSchema[]>;
}

/** An int32 with one of `values` (Kubernetes: type integer + enum). */
export function IntEnum<const T extends readonly [number, ...number[]]>(
  values: T,
  options?: SchemaOptions,
): TUnion<{ [K in keyof T]: TLiteral<T[K]> } & TSchema[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    { format: 'int32', ...options },
  ) as unknown as TUnion<{ [K in keyof T]: TLiteral<T[K]> } & TSchema[]>;
}

/** Kubernetes' int-or-string (a quantity, a port name or number, a config value from YAML). */
export function IntOrString(options?: SchemaOptions): TUnion<[TInteger, TString]> {
  return Type.Union([Type.Integer(), Type.String()], options);
}

/** A map with string keys (Kubernetes: type object + additionalProperties). */
export function StringMap<V extends TSchema>(value: V, options?: SchemaOptions): TRecord<TString, V> {
  return Type.Record(Type.String(), value, options) as unknown as TRecord<TString, V>;
}

export const Int32 = (options?: SchemaOptions) => Type.Integer({ format: 'int32', ...options });
export const Int64 = (options?: SchemaOptions) => Type.Integer({ format: 'int64', ...options });

/**
 * An object the API server stores as given (x-kubernetes-preserve-unknown-fields), typed as `T`:
 * for embedded Kubernetes types (affinity, tolerations) whose full schema the API server already
 * validates where it is used (the pod template).
 */
export function Preserved<T>(options?: SchemaOptions): TUnsafe<T> {
  // Kind stays 'Object' (from Type.Object) so TypeBox's Check and Default treat it as an object.
  return Type.Unsafe<T>(Type.Object({}, { ...options, 'x-kubernetes-preserve-unknown-fields': true }));
}

/** A CEL rule (x-kubernetes-validations); `oldSelf` rules are transition rules. */
export interface ValidationRule {
  rule: string;
  message: string;
}

// ---------------------------------------------------------------------------------------------
// Defaults in code

/**
 * The value with the schema's defaults filled in, as the API server would store it. `value` is
 * not changed. Defaults apply inside defaults too (listeners: {} → listeners.internal.port).
 */
export function withDefaults<S extends TSchema>(schema: S, value: unknown): unknown {
  return Value.Default(schema, Value.Clone(value ?? {}));
}

/**
 * What in `value` the schema rejects (types, required, enums, ranges, patterns); CEL rules are left
 * to the API server. For objects that never went through it (tests, objects stored by an older
 * CRD): the static type promises what this checks.
 */
export function schemaErrors(schema: TSchema, value: unknown, prefix = 'spec'): string[] {
  return [...Value.Errors(schema, value)].map((e) => `${prefix}${e.path.replace(/\//g, '.')}: ${e.message}`);
}

export class SchemaError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('; '));
    this.name = 'SchemaError';
    this.problems = problems;
  }
}

// ---------------------------------------------------------------------------------------------
// Lowering to a Kubernetes structural schema

/** Keys in the order a reader of a CRD expects them. */
const KEY_ORDER = [
  'type',
  'format',
  'description',
  'enum',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'default',
  'required',
  'properties',
  'additionalProperties',
  'items',
];

/** Keywords a structural schema may carry besides the ones lowering produces. */
const PASSED = new Set([
  'type',
  'format',
  'description',
  'enum',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'default',
  'nullable',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
]);

function kindOf(s: TSchema): string {
  return (s as { [Kind]: string })[Kind];
}

/** The schema's own keywords (symbols dropped), minus those lowering rewrites. */
function options(s: TSchema, path: string, rewritten: string[]): JsonSchema {
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(s)) {
    if (rewritten.includes(k)) continue;
    if (!PASSED.has(k)) throw new Error(`${path}: "${k}" has no place in a Kubernetes structural schema`);
    out[k] = v;
  }
  return out;
}

function ordered(o: JsonSchema): JsonSchema {
  const rank = (k: string) => {
    const i = KEY_ORDER.indexOf(k);
    return i < 0 ? KEY_ORDER.length : i;
  };
  return Object.fromEntries(
    Object.entries(o).sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0)),
  );
}

/** The OpenAPI v3 schema Kubernetes stores for `schema` (see the module comment). */
export function toStructural(schema: TSchema, path = ''): JsonSchema {
  const at = path || '<root>';
  switch (kindOf(schema)) {
    case 'Object': {
      const s = schema as TObject;
      const props = Object.entries(s.properties);
      const required = props
        .filter(([k, p]) => (s.required ?? []).includes(k) && !('default' in p))
        .map(([k]) => k);
      return ordered({
        ...options(s, at, ['properties', 'required']),
        ...(required.length > 0 ? { required } : {}),
        ...(props.length > 0
          ? { properties: Object.fromEntries(props.map(([k, p]) => [k, toStructural(p, `${path}.${k}`)])) }
          : {}),
      });
    }
    case 'Record': {
      const s = schema as TRecord;
      const values = Object.values(s.patternProperties);
      if (values.length !== 1 || !values[0])
        throw new Error(`${at}: a Record needs exactly one value schema`);
      return ordered({
        ...options(s, at, ['patternProperties']),
        type: 'object',
        additionalProperties: toStructural(values[0], `${path}.*`),
      });
    }
    case 'Array': {
      const s = schema as TSchema & { items: TSchema };
      return ordered({ ...options(s, at, ['items']), items: toStructural(s.items, `${path}[]`) });
    }
    case 'Union': {
      const s = schema as TUnion;
      const own = options(s, at, ['anyOf']);
      const consts = s.anyOf.map((a) => (a as { const?: unknown }).const);
      if (consts.every((c) => typeof c === 'string'))
        return ordered({ type: 'string', ...own, enum: consts });
      if (consts.every((c) => typeof c === 'number' && Number.isInteger(c)))
        return ordered({ type: 'integer', ...own, enum: consts });
      const kinds = s.anyOf.map(kindOf).sort();
      if (kinds.length === 2 && kinds[0] === 'Integer' && kinds[1] === 'String')
        return ordered({ ...own, 'x-kubernetes-int-or-string': true });
      throw new Error(`${at}: only enums and int-or-string unions have a structural form`);
    }
    case 'Integer':
    case 'Number':
    case 'String':
    case 'Boolean':
      return ordered(options(schema, at, []));
    default:
      throw new Error(`${at}: TypeBox kind ${kindOf(schema)} has no structural form`);
  }
}
