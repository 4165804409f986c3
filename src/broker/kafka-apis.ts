/**
 * KafkaApis: turns a request frame into a response frame. Reads the header, finds the handler for
 * the API key, checks the version, decodes, calls the handler and encodes the response with the
 * header version that API and version require.
 *
 * Bad input never escapes as an exception to the process:
 *  - unknown API key, or a version out of range (except ApiVersions): logged, connection closed,
 *    as Kafka does (it cannot know the response layout the client expects);
 *  - ApiVersions at an unknown version: answered at v0 with UNSUPPORTED_VERSION and our ranges;
 *  - a body that does not decode: connection closed;
 *  - a handler that throws: logged, connection closed (handlers turn expected failures into codes).
 */
import { ByteReader, ByteWriter, DecodeError } from '../protocol/primitives.js';
import { decodeRequestHeader, encodeResponseHeader } from '../protocol/messages/headers.js';
import { requestHeaderVersion, responseHeaderVersion } from '../protocol/messages/index.js';
import { encodeApiVersionsResponse } from '../protocol/messages/api-versions.js';
import type { ConnectionContext } from './network/connection.js';
import type { ApiHandler, RequestContext } from './handlers/api-handler.js';
import { API_VERSIONS_KEY, unsupportedApiVersionsResponse } from './handlers/api-versions.js';
import type { BrokerMetrics } from './broker-metrics.js';
import { errorName } from '../protocol/error-codes.js';
import { InvalidRequestError } from './errors.js';

export { InvalidRequestError };

export class KafkaApis {
  readonly #handlers = new Map<number, ApiHandler>();
  readonly #metrics: BrokerMetrics | null;

  /** Rejected requests are logged by the connection that closes; this class only counts. */
  constructor(metrics: BrokerMetrics | null) {
    this.#metrics = metrics;
  }

  register(h: ApiHandler): void {
    if (this.#handlers.has(h.apiKey)) throw new Error(`two handlers for API key ${h.apiKey}`);
    this.#handlers.set(h.apiKey, h);
  }

  handlers(): ApiHandler[] {
    return [...this.#handlers.values()];
  }

  /** The connection's RequestHandler. */
  readonly handle = async (frame: Buffer, connection: ConnectionContext): Promise<Buffer | null> => {
    if (frame.length < 8)
      throw new InvalidRequestError(`request of ${frame.length} bytes is shorter than a header`);
    const apiKey = frame.readInt16BE(0);
    const apiVersion = frame.readInt16BE(2);
    const correlationId = frame.readInt32BE(4);
    const h = this.#handlers.get(apiKey);
    if (!h)
      throw new InvalidRequestError(
        `unknown API key ${apiKey} (version ${apiVersion}, correlation id ${correlationId})`,
      );
    if (apiVersion < h.minVersion || apiVersion > h.maxVersion) {
      if (apiKey === API_VERSIONS_KEY) {
        const w = new ByteWriter(512);
        encodeResponseHeader(w, { correlationId }, 0);
        encodeApiVersionsResponse(w, unsupportedApiVersionsResponse(this.handlers()), 0);
        return Buffer.from(w.finish());
      }
      throw new InvalidRequestError(
        `${h.name} version ${apiVersion} is not supported (${h.minVersion}-${h.maxVersion})`,
      );
    }
    const started = process.hrtime.bigint();
    const r = new ByteReader(frame);
    let ctx: RequestContext;
    let request: unknown;
    try {
      const header = decodeRequestHeader(r, requestHeaderVersion(apiKey, apiVersion));
      ctx = { header, apiVersion, connection, clientId: header.clientId ?? null };
      request = h.decode(r, apiVersion);
    } catch (err) {
      if (err instanceof DecodeError) {
        throw new InvalidRequestError(`malformed ${h.name} v${apiVersion} request: ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    }
    const response = await h.handle(request, ctx);
    this.#metrics?.requests.inc({ api: h.name, version: String(apiVersion) });
    if (response === null) return null;
    const top = (response as { errorCode?: unknown }).errorCode;
    if (typeof top === 'number' && top !== 0)
      this.#metrics?.requestErrors.inc({ api: h.name, error: errorName(top) });
    const w = new ByteWriter(h.sizeHint ? h.sizeHint(response) + 64 : 256);
    encodeResponseHeader(w, { correlationId }, responseHeaderVersion(apiKey, apiVersion));
    h.encode(w, response, apiVersion);
    const out = w.finish();
    this.#metrics?.requestLatency.observe({ api: h.name }, Number(process.hrtime.bigint() - started) / 1e9);
    return out;
  };
}
