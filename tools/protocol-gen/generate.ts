/**
 * From parsed messages to the set of output files (name → text). Pure, so tests can run it.
 *
 *   <api>.ts      one per API key (kebab-case of the API name): request and response codecs
 *   headers.ts    RequestHeader v0-2, ResponseHeader v0-1
 *   index.ts      ApiKeys, the registry, header-version rules and frame helpers
 *   schema.json   a JSON description of every message (used by the property tests)
 */
import { emitModule, GENERATED_HEADER, kebab, MessageEmitter } from './emit.js';
import { type Message, OPEN } from './schema.js';

interface ApiPair {
  readonly name: string;
  readonly apiKey: number;
  readonly module: string;
  readonly request: Message;
  readonly response: Message;
}

export function pairApis(messages: readonly Message[]): ApiPair[] {
  const byKey = new Map<number, { request?: Message; response?: Message }>();
  for (const m of messages) {
    if ((m.type !== 'request' && m.type !== 'response') || m.apiKey === null) continue;
    const e = byKey.get(m.apiKey) ?? {};
    if (e[m.type] !== undefined) throw new Error(`two ${m.type}s for api key ${m.apiKey}`);
    e[m.type] = m;
    byKey.set(m.apiKey, e);
  }
  const apis: ApiPair[] = [];
  for (const [apiKey, e] of [...byKey].sort((a, b) => a[0] - b[0])) {
    if (e.request === undefined || e.response === undefined)
      throw new Error(`api key ${apiKey} is not a pair`);
    const name = e.request.name.replace(/Request$/, '');
    if (e.response.name !== `${name}Response`) throw new Error(`api key ${apiKey}: ${e.response.name}`);
    apis.push({ name, apiKey, module: kebab(name), request: e.request, response: e.response });
  }
  return apis;
}

function header(messages: readonly Message[], name: string): Message {
  const m = messages.find((x) => x.type === 'header' && x.name === name);
  if (m === undefined) throw new Error(`${name}.json is missing`);
  return m;
}

export function generate(messages: readonly Message[]): Map<string, string> {
  const files = new Map<string, string>();
  const apis = pairApis(messages);
  for (const a of apis) {
    files.set(
      `${a.module}.ts`,
      emitModule([a.request, a.response], `${a.request.name}.json, ${a.response.name}.json`),
    );
  }
  const reqHeader = header(messages, 'RequestHeader');
  const resHeader = header(messages, 'ResponseHeader');
  files.set('headers.ts', emitModule([reqHeader, resHeader], 'RequestHeader.json, ResponseHeader.json'));
  files.set('index.ts', emitIndex(apis));
  const schema = [reqHeader, resHeader, ...apis.flatMap((a) => [a.request, a.response])].map((m) =>
    new MessageEmitter(m).schemaJson(),
  );
  files.set(
    'schema.json',
    JSON.stringify({ generatedBy: 'tools/protocol-gen; do not edit', messages: schema }, null, 1) + '\n',
  );
  return new Map([...files].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

function emitIndex(apis: readonly ApiPair[]): string {
  const L: string[] = [GENERATED_HEADER, ''];
  L.push(`import { ByteReader, ByteWriter, DecodeError } from '../primitives.js';`);
  L.push(
    `import { decodeRequestHeader, decodeResponseHeader, encodeRequestHeader, encodeResponseHeader, type RequestHeader } from './headers.js';`,
  );
  for (const a of apis) {
    const r = a.request.name;
    const s = a.response.name;
    L.push(
      `import { decode${r}, decode${s}, encode${r}, encode${s}, type ${r}, type ${s} } from './${a.module}.js';`,
    );
  }
  L.push('');
  L.push(`export * from './headers.js';`);
  for (const a of apis) L.push(`export * from './${a.module}.js';`);
  L.push('');
  L.push('/** Every API key by name. */');
  L.push('export const ApiKeys = {');
  for (const a of apis) L.push(`  ${a.name}: ${a.apiKey},`);
  L.push('} as const;');
  L.push('export type ApiKey = (typeof ApiKeys)[keyof typeof ApiKeys];');
  L.push('');
  L.push('/** The request and response body types of each API key. */');
  L.push('export interface ApiMessages {');
  for (const a of apis)
    L.push(`  ${a.apiKey}: { request: ${a.request.name}; response: ${a.response.name} };`);
  L.push('}');
  L.push('');
  L.push(API_TEMPLATE_TYPES);
  L.push('');
  L.push('/** The registry: everything about each API key, including its codecs. */');
  L.push(
    "export const APIS: { readonly [K in ApiKey]: Api<ApiMessages[K]['request'], ApiMessages[K]['response']> } = {",
  );
  for (const a of apis) {
    const q = a.request;
    const flexMin = q.flexibleVersions === null ? 'null' : String(q.flexibleVersions.min);
    const dep =
      q.deprecatedVersions === null
        ? 'null'
        : `{ min: ${q.deprecatedVersions.min}, max: ${Math.min(q.deprecatedVersions.max, q.validVersions.max)} }`;
    L.push(`  ${a.apiKey}: {`);
    L.push(`    apiKey: ${a.apiKey},`);
    L.push(`    name: '${a.name}',`);
    L.push(`    minVersion: ${q.validVersions.min},`);
    L.push(`    maxVersion: ${q.validVersions.max},`);
    L.push(`    flexibleMinVersion: ${flexMin},`);
    L.push(`    listeners: [${q.listeners.map((l) => `'${l}'`).join(', ')}],`);
    L.push(`    broker: ${q.listeners.includes('broker')},`);
    L.push(`    deprecatedVersions: ${dep},`);
    L.push(`    latestVersionUnstable: ${q.latestVersionUnstable},`);
    L.push(`    encodeRequest: encode${q.name},`);
    L.push(`    decodeRequest: decode${q.name},`);
    L.push(`    encodeResponse: encode${a.response.name},`);
    L.push(`    decodeResponse: decode${a.response.name},`);
    L.push('  },');
  }
  L.push('};');
  L.push('');
  L.push(API_TEMPLATE_FUNCTIONS);
  if (apis.some((a) => a.request.validVersions.max >= OPEN)) throw new Error('open-ended validVersions');
  return L.join('\n') + '\n';
}

const API_TEMPLATE_TYPES = `/** What the registry knows about one API key. */
export interface Api<Req = unknown, Res = unknown> {
  readonly apiKey: number;
  /** Kafka's name without "Request", e.g. "Produce". */
  readonly name: string;
  /** validVersions of the JSON definitions: the versions these codecs can read and write. */
  readonly minVersion: number;
  readonly maxVersion: number;
  /** The first flexible version, or null when the API has none. */
  readonly flexibleMinVersion: number | null;
  /** Kafka's "listeners" for the request: zkBroker, broker, controller. */
  readonly listeners: readonly string[];
  /** Whether Kafka serves it on a (KRaft) broker listener. */
  readonly broker: boolean;
  readonly deprecatedVersions: { readonly min: number; readonly max: number } | null;
  readonly latestVersionUnstable: boolean;
  encodeRequest(w: ByteWriter, m: Req, version: number): void;
  decodeRequest(r: ByteReader, version: number): Req;
  encodeResponse(w: ByteWriter, m: Res, version: number): void;
  decodeResponse(r: ByteReader, version: number): Res;
}`;

const API_TEMPLATE_FUNCTIONS = `/** All APIs, sorted by key. */
export const API_LIST: readonly Api[] = Object.values(APIS);

const BY_KEY: ReadonlyMap<number, Api> = new Map(API_LIST.map((a) => [a.apiKey, a]));

/** The registry entry for an API key, or undefined if it is not a known key. */
export function apiByKey(apiKey: number): Api | undefined {
  return BY_KEY.get(apiKey);
}

/**
 * Request header version: 2 for flexible request versions, else 1; 0 only for ControlledShutdown v0.
 * Versions above the known maximum still follow the open-ended flexible range (KIP-511: a newer client's
 * ApiVersions request must be readable). Unknown keys get 1.
 */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKeys.ControlledShutdown && apiVersion === 0) return 0;
  const flex = BY_KEY.get(apiKey)?.flexibleMinVersion ?? null;
  return flex !== null && apiVersion >= flex ? 2 : 1;
}

/** Response header version: 1 for flexible versions, else 0; ApiVersions responses always use 0. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKeys.ApiVersions) return 0;
  const flex = BY_KEY.get(apiKey)?.flexibleMinVersion ?? null;
  return flex !== null && apiVersion >= flex ? 1 : 0;
}

/** Read a request header, choosing its version from the api key and version it starts with. */
export function readRequestHeader(r: ByteReader): RequestHeader {
  if (r.remaining < 4) throw new DecodeError(\`truncated request header: \${r.remaining} bytes\`);
  const apiKey = r.buf.readInt16BE(r.offset);
  const apiVersion = r.buf.readInt16BE(r.offset + 2);
  return decodeRequestHeader(r, requestHeaderVersion(apiKey, apiVersion));
}

/** A decoded request: its header and, discriminated by apiKey, its typed body. */
export type DecodedRequest = {
  [K in ApiKey]: { apiKey: K; header: RequestHeader; body: ApiMessages[K]['request'] };
}[ApiKey];

/**
 * Decode a whole request (size prefix already removed). Throws DecodeError for an unknown key, an
 * unsupported version or malformed bytes; a broker that wants to answer UNSUPPORTED_VERSION should
 * read the header with readRequestHeader first.
 */
export function decodeRequest(frame: Buffer): DecodedRequest {
  const r = new ByteReader(frame);
  const header = readRequestHeader(r);
  const api = BY_KEY.get(header.requestApiKey);
  if (api === undefined) throw new DecodeError(\`unknown api key \${header.requestApiKey}\`);
  const body = api.decodeRequest(r, header.requestApiVersion);
  return { apiKey: header.requestApiKey, header, body } as DecodedRequest;
}

/**
 * A response frame: int32 size, the response header of the right version, then the body.
 * E.g. encodeResponseFrame(ApiKeys.Metadata, 12, correlationId, { ... }).
 */
export function encodeResponseFrame<K extends ApiKey>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  body: ApiMessages[K]['response'],
  w: ByteWriter = new ByteWriter(256),
): Buffer {
  const api = BY_KEY.get(apiKey) as Api<unknown, ApiMessages[K]['response']>;
  const at = w.reserve(4);
  encodeResponseHeader(w, { correlationId }, responseHeaderVersion(apiKey, apiVersion));
  api.encodeResponse(w, body, apiVersion);
  w.setInt32At(at, w.length - at - 4);
  return w.finish();
}

/** A request frame: int32 size, the request header of the right version, then the body. */
export function encodeRequestFrame<K extends ApiKey>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  clientId: string | null,
  body: ApiMessages[K]['request'],
  w: ByteWriter = new ByteWriter(256),
): Buffer {
  const api = BY_KEY.get(apiKey) as Api<ApiMessages[K]['request'], unknown>;
  const at = w.reserve(4);
  const header: RequestHeader = { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId };
  encodeRequestHeader(w, header, requestHeaderVersion(apiKey, apiVersion));
  api.encodeRequest(w, body, apiVersion);
  w.setInt32At(at, w.length - at - 4);
  return w.finish();
}

/** Decode a response (size prefix removed) to a request that was sent with apiKey/apiVersion. */
export function decodeResponse<K extends ApiKey>(
  frame: Buffer,
  apiKey: K,
  apiVersion: number,
): { correlationId: number; body: ApiMessages[K]['response'] } {
  const r = new ByteReader(frame);
  const api = BY_KEY.get(apiKey) as Api<unknown, ApiMessages[K]['response']>;
  const { correlationId } = decodeResponseHeader(r, responseHeaderVersion(apiKey, apiVersion));
  return { correlationId, body: api.decodeResponse(r, apiVersion) };
}`;
