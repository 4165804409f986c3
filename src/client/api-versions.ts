/**
 * Version negotiation, as Kafka's clients do it: the first request on every connection is
 * ApiVersions; the broker lists each API it serves with its version range, and a request then goes
 * out at the highest version that the broker, our generated codecs and the caller all accept.
 *
 * The handshake (KIP-511): ask at our highest ApiVersions version. A broker that does not know it
 * answers at v0 with UNSUPPORTED_VERSION and its own list; ask again at the highest version both
 * know. The response header of ApiVersions is always v0 and its body starts with error_code in every
 * version, which is how the v0 fallback answer is recognised before the body is decoded.
 */
import { ErrorCode } from '../protocol/error-codes.js';
import { decodeApiVersionsResponse, type ApiVersionsResponse } from '../protocol/messages/api-versions.js';
import { apiByKey, ApiKeys } from '../protocol/messages/index.js';
import { ByteReader } from '../protocol/primitives.js';
import { MalformedResponseError, ResponseError, UnsupportedVersionError } from './errors.js';
import type { KafkaConnection } from './kafka-connection.js';

/** One version, or a range the caller can speak (both ends included). */
export type VersionRange = number | { readonly min: number; readonly max: number };

export interface VersionSpan {
  readonly min: number;
  readonly max: number;
}

function spanOf(v: VersionRange): VersionSpan {
  return typeof v === 'number' ? { min: v, max: v } : v;
}

function apiName(apiKey: number): string {
  const name = apiByKey(apiKey)?.name;
  return name ? `${name} (key ${apiKey})` : `API key ${apiKey}`;
}

function showSpan(s: VersionSpan): string {
  return s.min === s.max ? `v${s.min}` : `v${s.min}-${s.max}`;
}

/** What one broker serves: API key → version range. */
export class BrokerApiVersions {
  readonly #ranges: ReadonlyMap<number, VersionSpan>;
  /** For messages: the broker's address. */
  readonly broker: string;

  constructor(
    apiKeys: readonly { apiKey: number; minVersion: number; maxVersion: number }[],
    broker: string,
  ) {
    this.#ranges = new Map(apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]));
    this.broker = broker;
  }

  /** The broker's range for an API, or undefined when it does not serve it. */
  range(apiKey: number): VersionSpan | undefined {
    return this.#ranges.get(apiKey);
  }

  /**
   * The highest version of `apiKey` that the broker, the codecs and `wanted` all allow. Throws
   * UnsupportedVersionError naming all three ranges when there is none.
   */
  pick(apiKey: number, wanted: VersionRange): number {
    const broker = this.#ranges.get(apiKey);
    if (!broker)
      throw new UnsupportedVersionError(`broker ${this.broker} does not support ${apiName(apiKey)}`);
    return pickVersion(apiKey, wanted, broker, this.broker);
  }
}

/**
 * The highest version in wanted ∩ codecs ∩ broker (broker omitted: wanted ∩ codecs). Throws
 * UnsupportedVersionError when the intersection is empty.
 */
export function pickVersion(
  apiKey: number,
  wanted: VersionRange,
  broker?: VersionSpan,
  brokerName = 'broker',
): number {
  const api = apiByKey(apiKey);
  if (!api) throw new UnsupportedVersionError(`unknown ${apiName(apiKey)}`);
  const w = spanOf(wanted);
  const lo = Math.max(w.min, api.minVersion, broker?.min ?? -Infinity);
  const hi = Math.min(w.max, api.maxVersion, broker?.max ?? Infinity);
  if (lo > hi) {
    const parts = [
      `asked for ${showSpan(w)}`,
      `codecs know ${showSpan({ min: api.minVersion, max: api.maxVersion })}`,
    ];
    if (broker) parts.push(`${brokerName} serves ${showSpan(broker)}`);
    throw new UnsupportedVersionError(`no common version of ${apiName(apiKey)}: ${parts.join(', ')}`);
  }
  return hi;
}

export interface HandshakeOptions {
  timeoutMs: number;
  clientSoftwareName: string;
  clientSoftwareVersion: string;
}

/** ApiVersions on a fresh connection, with the v0 fallback; resolves with the broker's table. */
export async function fetchApiVersions(
  conn: KafkaConnection,
  o: HandshakeOptions,
): Promise<BrokerApiVersions> {
  const ours = apiByKey(ApiKeys.ApiVersions)!;
  let version = ours.maxVersion;
  for (let attempt = 0; ; attempt++) {
    const frame = await conn.requestFrame(
      ApiKeys.ApiVersions,
      version,
      { clientSoftwareName: o.clientSoftwareName, clientSoftwareVersion: o.clientSoftwareVersion },
      o.timeoutMs,
    );
    const res = decodeApiVersionsFrame(frame, version, conn.describe());
    if (res.errorCode === ErrorCode.UNSUPPORTED_VERSION && attempt === 0) {
      const theirs = res.apiKeys.find((k) => k.apiKey === ApiKeys.ApiVersions);
      const next = Math.min(theirs?.maxVersion ?? 0, ours.maxVersion);
      if (next < version) {
        version = next;
        continue;
      }
    }
    if (res.errorCode !== ErrorCode.NONE)
      throw new ResponseError(
        res.errorCode,
        `ApiVersions v${version} to ${conn.describe()} failed: error ${res.errorCode}`,
      );
    return new BrokerApiVersions(res.apiKeys, conn.describe());
  }
}

/** An ApiVersions response frame (size removed) to a request at `version`, v0 when refused. */
export function decodeApiVersionsFrame(frame: Buffer, version: number, from: string): ApiVersionsResponse {
  try {
    // Header v0: correlation id. Body: error_code first in every version.
    const errorCode = frame.readInt16BE(4);
    const r = new ByteReader(frame, 4);
    return decodeApiVersionsResponse(r, errorCode === ErrorCode.UNSUPPORTED_VERSION ? 0 : version);
  } catch (err) {
    throw new MalformedResponseError(
      `ApiVersions response from ${from} does not decode: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}
