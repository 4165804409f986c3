/**
 * KafkaApis, in process: request frames in, response frames out. Dispatch by API key, the version
 * check against each handler's declared range, ApiVersions answered at v0 with UNSUPPORTED_VERSION
 * when asked at a version we do not serve (KIP-511), the response header version per API, and bad
 * input (short frame, unknown key, unsupported version, undecodable body) refused with
 * InvalidRequestError, which the connection turns into a close. Metrics are the broker's real ones.
 */
import { ANONYMOUS } from '../../src/broker/security/principal.js';
import { describe, expect, it } from 'vitest';
import { KafkaApis } from '../../src/broker/kafka-apis.js';
import { InvalidRequestError } from '../../src/broker/errors.js';
import { errorCodeOf } from '../../src/broker/error-mapping.js';
import { BrokerMetrics } from '../../src/broker/broker-metrics.js';
import { apiVersionsHandler } from '../../src/broker/handlers/api-versions.js';
import { defineHandler } from '../../src/broker/handlers/api-handler.js';
import type { ConnectionContext } from '../../src/broker/network/connection.js';
import { createRegistry } from '../../src/common/metrics.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { ByteReader, ByteWriter, DecodeError } from '../../src/protocol/primitives.js';
import { encodeRequestHeader, decodeResponseHeader } from '../../src/protocol/messages/headers.js';
import { requestHeaderVersion, responseHeaderVersion } from '../../src/protocol/messages/index.js';
import {
  decodeApiVersionsResponse,
  encodeApiVersionsRequest,
} from '../../src/protocol/messages/api-versions.js';
import {
  decodeListGroupsRequest,
  decodeListGroupsResponse,
  encodeListGroupsRequest,
  encodeListGroupsResponse,
  type ListGroupsRequest,
  type ListGroupsResponse,
} from '../../src/protocol/messages/list-groups.js';

const conn: ConnectionContext = {
  id: 'test',
  listenerName: 'PLAINTEXT',
  securityProtocol: 'PLAINTEXT',
  principal: ANONYMOUS,
  remoteAddress: '127.0.0.1',
  remotePort: 50000,
  localPort: 9092,
};

function frame(
  apiKey: number,
  version: number,
  correlationId: number,
  body: (w: ByteWriter) => void,
): Buffer {
  const w = new ByteWriter();
  encodeRequestHeader(
    w,
    { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: 'unit' },
    requestHeaderVersion(apiKey, Math.max(0, version)),
  );
  body(w);
  return w.finish();
}

/** KafkaApis with ApiVersions and a ListGroups (key 16, v0-5) whose answer the test chooses. */
function build(answer: ListGroupsResponse | null = { errorCode: 0, groups: [], throttleTimeMs: 0 }) {
  const registry = createRegistry({ processMetrics: false });
  const metrics = new BrokerMetrics(registry, {
    partitions: () => 0,
    logSizes: () => [],
    purgatorySizes: () => ({}),
    connections: () => [],
  });
  const apis: KafkaApis = new KafkaApis(metrics);
  const seen: { request: ListGroupsRequest; version: number; clientId: string | null }[] = [];
  apis.register(apiVersionsHandler(() => apis.handlers()));
  apis.register(
    defineHandler<ListGroupsRequest, ListGroupsResponse>({
      apiKey: 16,
      name: 'ListGroups',
      minVersion: 0,
      maxVersion: 5,
      decode: decodeListGroupsRequest,
      encode: encodeListGroupsResponse,
      handle(request, ctx) {
        seen.push({ request, version: ctx.apiVersion, clientId: ctx.clientId });
        return answer;
      },
    }),
  );
  return { apis, registry, seen };
}

async function refusal(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(errorCodeOf(err)).toBe(ErrorCode.INVALID_REQUEST);
    return err as Error;
  }
  throw new Error('the request was not refused');
}

describe('KafkaApis', () => {
  it('answers ApiVersions with every handler range, header v0 even for flexible versions', async () => {
    const { apis } = build();
    const out = await apis.handle(
      frame(18, 3, 41, (w) => encodeApiVersionsRequest(w, {}, 3)),
      conn,
    );
    const r = new ByteReader(out!);
    expect(decodeResponseHeader(r, responseHeaderVersion(18, 3))).toMatchObject({ correlationId: 41 });
    expect(responseHeaderVersion(18, 3)).toBe(0);
    const res = decodeApiVersionsResponse(r, 3);
    expect(res.errorCode).toBe(ErrorCode.NONE);
    expect(res.apiKeys.map((k) => [k.apiKey, k.minVersion, k.maxVersion])).toEqual([
      [16, 0, 5],
      [18, 0, 4],
    ]);
  });

  it('answers ApiVersions at an unknown version at v0 with UNSUPPORTED_VERSION and the ranges (KIP-511)', async () => {
    const { apis } = build();
    const out = await apis.handle(
      frame(18, 9, 7, () => {}),
      conn,
    );
    const r = new ByteReader(out!);
    expect(decodeResponseHeader(r, 0).correlationId).toBe(7);
    const res = decodeApiVersionsResponse(r, 0);
    expect(res.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(res.apiKeys.map((k) => k.apiKey)).toEqual([16, 18]);
    expect(r.remaining).toBe(0);
  });

  it('dispatches by key and version, with the header version the API and version need', async () => {
    const { apis, seen, registry } = build({
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
      groups: [],
      throttleTimeMs: 0,
    });
    for (const v of [0, 3, 5]) {
      const out = await apis.handle(
        frame(16, v, 100 + v, (w) => encodeListGroupsRequest(w, {}, v)),
        conn,
      );
      const r = new ByteReader(out!);
      expect(decodeResponseHeader(r, responseHeaderVersion(16, v)).correlationId).toBe(100 + v);
      expect(decodeListGroupsResponse(r, v).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      expect(r.remaining).toBe(0);
    }
    expect(seen.map((s) => [s.version, s.clientId])).toEqual([
      [0, 'unit'],
      [3, 'unit'],
      [5, 'unit'],
    ]);
    const text = await registry.metrics();
    expect(text).toContain('sluice_requests_total{api="ListGroups",version="3"} 1');
    expect(text).toContain(
      'sluice_request_errors_total{api="ListGroups",error="COORDINATOR_NOT_AVAILABLE"} 3',
    );
  });

  it('sends nothing when the handler answers null (Produce acks=0)', async () => {
    const { apis } = build(null);
    expect(
      await apis.handle(
        frame(16, 1, 1, (w) => encodeListGroupsRequest(w, {}, 1)),
        conn,
      ),
    ).toBeNull();
  });

  it('refuses an unknown key, an unsupported version, a short frame and a body that does not decode', async () => {
    const { apis, seen } = build();
    expect(
      (
        await refusal(
          apis.handle(
            frame(999, 0, 1, () => {}),
            conn,
          ),
        )
      ).message,
    ).toMatch(/unknown API key 999/);
    expect(
      (
        await refusal(
          apis.handle(
            frame(16, 6, 1, () => {}),
            conn,
          ),
        )
      ).message,
    ).toMatch(/ListGroups version 6 is not supported \(0-5\)/);
    expect(
      (
        await refusal(
          apis.handle(
            frame(16, -1, 1, () => {}),
            conn,
          ),
        )
      ).message,
    ).toMatch(/not supported/);
    await refusal(apis.handle(Buffer.alloc(6), conn));
    // v4 carries a states filter array: a header and no body does not decode.
    const bad = await refusal(
      apis.handle(
        frame(16, 4, 1, () => {}),
        conn,
      ),
    );
    expect(bad.cause).toBeInstanceOf(DecodeError);
    expect(seen).toEqual([]);
  });

  it('refuses a second handler for the same key', () => {
    const { apis } = build();
    expect(() => apis.register(apiVersionsHandler(() => []))).toThrow(/two handlers for API key 18/);
  });
});
