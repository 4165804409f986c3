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
 *
 * Client quotas (src/broker/quota) hook in here, once for every API: each request gets a
 * RequestThrottle (ctx.quota); after the handler, the Produce request size and the handler time are
 * recorded, the throttle time goes into the response's throttle_time_ms, and the connection is muted
 * for it (or, for request versions older than KIP-219, the response is held back for it).
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
import { clientThrottles, type ClientQuotas } from './quota/client-quotas.js';

export { InvalidRequestError };

export class KafkaApis {
  readonly #handlers = new Map<number, ApiHandler>();
  readonly #metrics: BrokerMetrics | null;
  readonly #quotas: ClientQuotas | null;

  /** Rejected requests are logged by the connection that closes; this class only counts. */
  constructor(metrics: BrokerMetrics | null, quotas: ClientQuotas | null = null) {
    this.#metrics = metrics;
    this.#quotas = quotas;
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
      const quota = this.#quotas?.begin({
        user: connection.principal.name,
        clientId: header.clientId ?? '',
      });
      ctx = {
        header,
        apiVersion,
        connection,
        clientId: header.clientId ?? null,
        ...(quota ? { quota } : {}),
      };
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
    const throttleMs = await this.#throttle(ctx, apiKey, frame.length, response);
    if (throttleMs > 0 && response !== null) {
      const r = response as { throttleTimeMs?: unknown };
      if (typeof r.throttleTimeMs === 'number') r.throttleTimeMs = Math.max(r.throttleTimeMs, throttleMs);
    }
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

  /**
   * Record the request against the client's quotas and throttle it: mute the connection after the
   * response (KIP-219 versions), or hold the response back (older versions). Returns the throttle time.
   */
  async #throttle(ctx: RequestContext, apiKey: number, size: number, response: unknown): Promise<number> {
    const quota = ctx.quota;
    if (!quota) return 0;
    if (apiKey === 0) {
      // Produce: the request's size counts against producer_byte_rate (Kafka's request.sizeInBytes).
      const { user, clientId } = quota.identity;
      const p = quota.quotas.produce;
      quota.setBandwidthThrottle(p, p.recordAndGetThrottleTimeMs(user, clientId, size));
    }
    const ms = quota.finish();
    if (ms <= 0) return 0;
    if (clientThrottles(apiKey, ctx.apiVersion) || response === null) ctx.connection.muteFor?.(ms);
    else await new Promise((r) => setTimeout(r, ms));
    return ms;
  }
}
