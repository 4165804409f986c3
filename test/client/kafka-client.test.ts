/**
 * The project's Kafka client (src/client) against a real broker process: version negotiation,
 * pipelining with correlation, timeouts, retries, closed connections and bootstrap fallover. The
 * proxies in between are real TCP proxies on loopback (they record the bytes, or drop a response
 * and close the connection); the broker is a real `sluice broker`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import {
  admin,
  ClientClosedError,
  ConnectionError,
  decodeApiVersionsFrame,
  KafkaClient,
  KafkaClientError,
  KafkaConnection,
  RequestTimeoutError,
  ResponseError,
  UnsupportedVersionError,
} from '../../src/client/index.js';
import { ApiKeys, APIS, encodeRequestFrame } from '../../src/protocol/messages/index.js';
import type { FetchRequest } from '../../src/protocol/messages/fetch.js';
import { buildRecordBatch } from '../../src/protocol/records/build.js';
import { BrokerProcess } from '../helpers/broker-process.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { RawClient } from '../helpers/raw-client.js';
import { RecordingProxy } from '../helpers/recording-proxy.js';

let broker: BrokerProcess;
const clients: KafkaClient[] = [];
const proxies: { close(): Promise<void> }[] = [];

/** A client that afterEach closes. */
function client(
  bootstrap: KafkaClient['endpoints'] | string,
  extra: { requestTimeoutMs?: number } = {},
): KafkaClient {
  const c = new KafkaClient({ bootstrap, clientId: 'client-test', connectTimeoutMs: 5000, ...extra });
  clients.push(c);
  return c;
}

async function recordingProxy(): Promise<RecordingProxy> {
  const p = await RecordingProxy.listen();
  p.setUpstream(broker.port);
  proxies.push(p);
  return p;
}

async function faultProxy(): Promise<FaultProxy> {
  const p = await new FaultProxy().listen();
  p.targetPort = broker.port;
  proxies.push(p);
  return p;
}

/** A loopback port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A Fetch of partition 0 of `topic` from offset 0 that waits up to `maxWaitMs` for data. */
function longFetch(topic: string, maxWaitMs: number): FetchRequest {
  return {
    replicaId: -1,
    maxWaitMs,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic,
        partitions: [
          {
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset: 0n,
            logStartOffset: -1n,
            partitionMaxBytes: 1 << 20,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  };
}
/** Fetch v4 (isolation level) up to v12, the last that names topics rather than ids. */
const FETCH = { min: 4, max: 12 };

beforeAll(async () => {
  broker = await new BrokerProcess().start();
  const c = new KafkaClient({ bootstrap: broker.bootstrap, clientId: 'client-test-setup' });
  try {
    // An empty topic for long-polling fetches, and one that exists for "already exists".
    await admin.createTopic(c, { name: 'empty', partitions: 1, replicationFactor: 1 });
    await admin.createTopic(c, { name: 'existing', partitions: 1, replicationFactor: 1 });
  } finally {
    c.close();
  }
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const p of proxies.splice(0)) await p.close();
});

afterAll(async () => {
  await broker?.cleanup();
});

describe('version negotiation', () => {
  it('asks ApiVersions first, then sends each request at the highest version both sides allow', async () => {
    const proxy = await recordingProxy();
    const c = client(proxy.address);
    expect(await c.versionFor(ApiKeys.Metadata, { min: 1, max: 5 })).toBe(5);
    // Above what Sluice serves: capped at the broker's (and codecs') maximum.
    expect(await c.versionFor(ApiKeys.Metadata, { min: 0, max: 99 })).toBe(APIS[ApiKeys.Metadata].maxVersion);
    const md = await c.request(ApiKeys.Metadata, { min: 1, max: 5 }, { topics: [{ name: 'existing' }] });
    expect(md.topics.map((t) => [t.name, t.errorCode])).toEqual([['existing', 0]]);
    const produced = await c.request(
      ApiKeys.Produce,
      { min: 3, max: 7 },
      {
        transactionalId: null,
        acks: 1,
        timeoutMs: 10_000,
        topicData: [
          {
            name: 'existing',
            partitionData: [
              { index: 0, records: buildRecordBatch([{ key: null, value: Buffer.from('v') }]) },
            ],
          },
        ],
      },
    );
    expect(produced.responses[0]!.partitionResponses[0]!.errorCode).toBe(0);

    const wire = proxy.exchanges.map((e) => [e.apiKey, e.apiVersion]);
    expect(wire).toEqual([
      [ApiKeys.ApiVersions, APIS[ApiKeys.ApiVersions].maxVersion],
      [ApiKeys.Metadata, 5],
      [ApiKeys.Produce, 7],
    ]);
    expect(proxy.connections).toHaveLength(1);
    expect(proxy.errors).toEqual([]);
  });

  it('an exact version is sent as it is', async () => {
    const proxy = await recordingProxy();
    const c = client(proxy.address);
    await c.request(ApiKeys.Metadata, 1, { topics: null });
    expect(proxy.exchanges.map((e) => [e.apiKey, e.apiVersion])).toEqual([
      [ApiKeys.ApiVersions, APIS[ApiKeys.ApiVersions].maxVersion],
      [ApiKeys.Metadata, 1],
    ]);
  });

  it('a broker that lacks the API is a clear, non-retriable error, and nothing is sent', async () => {
    const proxy = await recordingProxy();
    const c = client(proxy.address);
    // Vote is a KRaft controller API: Sluice (etcd) never serves it.
    const err = await c
      .request(ApiKeys.Vote, 0, { clusterId: null, topics: [] }, { retry: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedVersionError);
    expect(err).toMatchObject({ errorName: 'UNSUPPORTED_VERSION', code: 35, retriable: false });
    expect((err as Error).message).toBe(`broker ${proxy.address} does not support Vote (key 52)`);
    expect(proxy.exchanges.map((e) => e.apiKey)).toEqual([ApiKeys.ApiVersions]);
  });

  it('a range the broker does not overlap names all three ranges', async () => {
    const c = client(broker.bootstrap, {});
    const err = await c
      .request(ApiKeys.Metadata, { min: 13, max: 20 }, { topics: null })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedVersionError);
    expect((err as Error).message).toMatch(
      /^no common version of Metadata \(key 3\): asked for v13-20, codecs know v0-12/,
    );
  });

  it("reads the broker's v0 UNSUPPORTED_VERSION answer to a too-new ApiVersions (KIP-511 fallback)", async () => {
    const raw = await RawClient.connect(broker.port);
    try {
      const av = Buffer.alloc(14);
      av.writeInt32BE(10, 0);
      av.writeInt16BE(ApiKeys.ApiVersions, 4);
      av.writeInt16BE(99, 6);
      av.writeInt32BE(42, 8);
      av.writeInt16BE(-1, 12);
      raw.writeRaw(av);
      const frame = await raw.nextFrame();
      const res = decodeApiVersionsFrame(frame!, 99, broker.bootstrap);
      expect(res.errorCode).toBe(35);
      expect(res.apiKeys.find((k) => k.apiKey === ApiKeys.ApiVersions)).toMatchObject({ maxVersion: 4 });
    } finally {
      raw.close();
    }
  });
});

describe('correlation', () => {
  it('pipelines many requests on one connection and gives each its own answer', async () => {
    const proxy = await recordingProxy();
    const c = client(proxy.address);
    const conn = await c.connection();
    // Flexible (v9+) and not: two header versions in one pipeline.
    const versions = [4, 6, 9, 12];
    const pending = Array.from({ length: 40 }, (_, i) =>
      conn.request(ApiKeys.Metadata, versions[i % 4]!, {
        topics: [{ name: `nx-${i}` }],
        allowAutoTopicCreation: false,
      }),
    );
    // All written before any answer came back.
    expect(conn.inFlightCount).toBe(40);
    const answers = await Promise.all(pending);
    expect(answers.map((a) => a.topics[0]!.name)).toEqual(Array.from({ length: 40 }, (_, i) => `nx-${i}`));
    expect(answers.every((a) => a.topics[0]!.errorCode === 3)).toBe(true);
    expect(conn.inFlightCount).toBe(0);
    // On the wire: one connection, distinct correlation ids in send order, every one answered.
    const ex = proxy.exchanges.filter((e) => e.apiKey === ApiKeys.Metadata);
    expect(ex).toHaveLength(40);
    const ids = ex.map((e) => e.correlationId);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(40);
    expect(ex.every((e) => e.response !== null)).toBe(true);
    expect(proxy.errors).toEqual([]);
  });

  it('a response that answers no request closes the connection (Kafka checks the same)', async () => {
    const conn = await KafkaConnection.connect({
      host: '127.0.0.1',
      port: broker.port,
      clientId: 'client-test',
    });
    try {
      conn.writeRaw(encodeRequestFrame(ApiKeys.ApiVersions, 0, 1000, 'raw', {}));
      const err = await conn.request(ApiKeys.Metadata, 1, { topics: [] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as Error).message).toMatch(/with correlation id 1000, expected 1$/);
      expect(conn.closed).toBe(true);
    } finally {
      conn.close();
    }
  });

  it('with unmatched frames kept (tests), a response to raw bytes is set aside for nextFrame', async () => {
    const raw = await RawClient.connect(broker.port);
    try {
      raw.writeRaw(encodeRequestFrame(ApiKeys.ApiVersions, 0, 1000, 'raw', {}));
      const md = await raw.request(ApiKeys.Metadata, 1, { topics: [] });
      expect(md.brokers.map((b) => b.port)).toEqual([broker.port]);
      const f = await raw.nextFrame();
      expect(f!.readInt32BE(0)).toBe(1000);
      expect(raw.closed).toBe(false);
    } finally {
      raw.close();
    }
  });

  it('concurrent client requests share the connection', async () => {
    const proxy = await recordingProxy();
    const c = client(proxy.address);
    const names = Array.from({ length: 10 }, (_, i) => `cc-${i}`);
    const answers = await Promise.all(names.map((n) => admin.metadata(c, [n])));
    expect(answers.map((a) => a.topics[0]!.name)).toEqual(names);
    expect(proxy.connections).toHaveLength(1);
  });
});

describe('timeouts', () => {
  it('a timeout fails the request, closes the connection, and the next request reconnects', async () => {
    // The handshake's own timeout (connectTimeoutMs) arms a timer too: keep it far from 300 ms.
    const c = new KafkaClient({
      bootstrap: broker.bootstrap,
      clientId: 'client-test',
      connectTimeoutMs: 15_000,
    });
    clients.push(c);
    const first = await c.connection();
    // Ahead of it on the same connection, with a longer timeout: fails because the connection goes.
    const ahead = c
      .request(ApiKeys.Fetch, FETCH, longFetch('empty', 20_000), { timeoutMs: 30_000 })
      .catch((e: unknown) => e);
    const slow = c
      .request(ApiKeys.Fetch, FETCH, longFetch('empty', 20_000), { timeoutMs: 300 })
      .catch((e: unknown) => e);
    const started = Date.now();
    const err = await slow;
    expect(err).toBeInstanceOf(RequestTimeoutError);
    expect(err).toMatchObject({ errorName: 'REQUEST_TIMED_OUT', retriable: true });
    expect((err as Error).message).toMatch(/^Fetch v12 to 127\.0\.0\.1:\d+ timed out after 300 ms$/);
    // Long before the broker's 20 s long poll ends, or the handshake's 15 s timer fires.
    expect(Date.now() - started).toBeLessThan(10_000);
    const other = await ahead;
    expect(other).toBeInstanceOf(ConnectionError);
    expect(other).toMatchObject({ retriable: true });
    expect(first.closed).toBe(true);
    expect(first.closeReason).toBe(err);

    const md = await admin.metadata(c, ['existing']);
    expect(md.topics[0]!.errorCode).toBe(0);
    const second = await c.connection();
    expect(second).not.toBe(first);
    expect(second.closed).toBe(false);
  });
});

describe('retries', () => {
  it('retries a retriable error code when asked, until it clears', async () => {
    const c = client(broker.bootstrap);
    const setup = client(broker.bootstrap);
    const seen: string[] = [];
    const creating: { topic?: Promise<string> } = {};
    const res = await c.request(
      ApiKeys.Metadata,
      { min: 4, max: 12 },
      { topics: [{ name: 'appears-later' }], allowAutoTopicCreation: false },
      {
        errorCode: (r) => r.topics[0]?.errorCode ?? -1,
        retry: {
          retries: 100,
          backoffMs: 20,
          maxBackoffMs: 100,
          onRetry: (e) => {
            seen.push(e.errorName);
            creating.topic ??= admin.createTopic(setup, {
              name: 'appears-later',
              partitions: 1,
              replicationFactor: 1,
            });
          },
        },
      },
    );
    await creating.topic;
    expect(res.topics[0]).toMatchObject({ name: 'appears-later', errorCode: 0 });
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(new Set(seen)).toEqual(new Set(['UNKNOWN_TOPIC_OR_PARTITION']));
  });

  it('does not retry unless asked', async () => {
    const proxy = await recordingProxy();
    const c = client(proxy.address);
    const err = await c
      .request(
        ApiKeys.Metadata,
        { min: 4, max: 12 },
        { topics: [{ name: 'never-there' }], allowAutoTopicCreation: false },
        {
          errorCode: (r) => r.topics[0]?.errorCode ?? -1,
        },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResponseError);
    expect(err).toMatchObject({ errorName: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3, retriable: true });
    expect(proxy.exchanges.filter((e) => e.apiKey === ApiKeys.Metadata)).toHaveLength(1);
  });

  it('does not retry a non-retriable error even when asked', async () => {
    const proxy = await recordingProxy();
    const c = client(proxy.address);
    let retries = 0;
    const err = await admin
      .createTopic(
        c,
        { name: 'existing', partitions: 1, replicationFactor: 1 },
        { retry: { onRetry: () => retries++ } },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResponseError);
    expect(err).toMatchObject({ errorName: 'TOPIC_ALREADY_EXISTS', retriable: false });
    expect(retries).toBe(0);
    expect(proxy.exchanges.filter((e) => e.apiKey === ApiKeys.CreateTopics)).toHaveLength(1);
  });

  it('retries a lost connection on a new one when asked, and fails with a retriable error when not', async () => {
    const proxy = await faultProxy();
    const c = client(proxy.address);
    proxy.loseResponses({ apiKey: ApiKeys.Metadata, count: 1 });
    const err = await admin.metadata(c, ['existing']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ errorName: 'NETWORK_EXCEPTION', retriable: true });

    proxy.loseResponses({ apiKey: ApiKeys.Metadata, count: 1 });
    const retried: KafkaClientError[] = [];
    const md = await admin.metadata(c, ['existing'], {
      retry: { backoffMs: 10, onRetry: (e) => retried.push(e) },
    });
    expect(md.topics[0]).toMatchObject({ name: 'existing', errorCode: 0 });
    expect(retried.map((e) => e.constructor)).toEqual([ConnectionError]);
    expect(proxy.lost).toHaveLength(2);
    expect(proxy.connections).toBe(3);
  });
});

describe('closing', () => {
  it('a connection the peer closes fails every request in flight, and later ones at once', async () => {
    const proxy = await faultProxy();
    const c = client(proxy.address);
    const conn = await c.connection();
    const inFlight = [1, 2, 3].map(() =>
      conn.request(ApiKeys.Fetch, 12, longFetch('empty', 10_000)).catch((e: unknown) => e),
    );
    expect(conn.inFlightCount).toBe(3);
    await proxy.close(); // drops both sides of every connection
    const errs = await Promise.all(inFlight);
    for (const e of errs) {
      expect(e).toBeInstanceOf(ConnectionError);
      expect(e).toMatchObject({ errorName: 'NETWORK_EXCEPTION', retriable: true });
    }
    expect(conn.closed).toBe(true);
    await expect(conn.request(ApiKeys.Metadata, 1, { topics: null })).rejects.toBeInstanceOf(ConnectionError);
  });

  it('closing the client fails what is in flight with a non-retriable ClientClosedError', async () => {
    const c = client(broker.bootstrap);
    const pending = c
      .request(ApiKeys.Fetch, FETCH, longFetch('empty', 10_000), { retry: true })
      .catch((e: unknown) => e);
    await c.connection();
    await new Promise((r) => setTimeout(r, 50));
    c.close();
    const err = await pending;
    expect(err).toBeInstanceOf(ClientClosedError);
    expect(err).toMatchObject({ retriable: false });
    await expect(admin.metadata(c, null)).rejects.toBeInstanceOf(ClientClosedError);
  });
});

describe('bootstrap', () => {
  it('falls over to the next endpoint when the first refuses', async () => {
    const dead = await deadPort();
    const c = client(`127.0.0.1:${dead},${broker.bootstrap}`);
    const md = await admin.metadata(c, ['existing']);
    expect(md.topics[0]!.errorCode).toBe(0);
    expect((await c.connection()).endpoint).toEqual({ host: '127.0.0.1', port: broker.port });
  });

  it('after losing a broker, the next connection starts with the next endpoint', async () => {
    const p1 = await recordingProxy();
    const p2 = await recordingProxy();
    const c = client(`${p1.address},${p2.address}`);
    await admin.metadata(c, ['existing']);
    expect((await c.connection()).endpoint.port).toBe(p1.port);
    await p1.close(); // this "broker" is gone: connection dropped, new connects refused
    const md = await admin.metadata(c, ['existing'], { retry: { backoffMs: 10 } });
    expect(md.topics[0]!.errorCode).toBe(0);
    expect((await c.connection()).endpoint.port).toBe(p2.port);
    expect(p2.connections).toHaveLength(1);
  });

  it('after a connection drops, the next one starts with the next endpoint, not the same again', async () => {
    const p1 = await faultProxy(); // stays up, but loses one response and drops that connection
    const p2 = await recordingProxy();
    const c = client(`${p1.address},${p2.address}`);
    p1.loseResponses({ apiKey: ApiKeys.Metadata, count: 1 });
    const md = await admin.metadata(c, ['existing'], { retry: { backoffMs: 10 } });
    expect(md.topics[0]!.errorCode).toBe(0);
    expect(p1.connections).toBe(1);
    expect(p2.connections).toHaveLength(1);
    expect((await c.connection()).endpoint.port).toBe(p2.port);
  });

  it('names every endpoint when none can be reached', async () => {
    const [a, b] = [await deadPort(), await deadPort()];
    const c = client(`127.0.0.1:${a},127.0.0.1:${b}`);
    const err = await admin.metadata(c, null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toContain(`cannot reach any of 127.0.0.1:${a},127.0.0.1:${b}`);
  });

  it('a new endpoint closes the connection to the old one; the next request goes to the new one', async () => {
    const p1 = await recordingProxy();
    const p2 = await recordingProxy();
    const c = client(p1.address);
    const old = await c.connection();
    const inFlight = c.request(ApiKeys.Fetch, FETCH, longFetch('empty', 10_000)).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    c.setEndpoints([{ host: '127.0.0.1', port: p2.port }]);
    expect(await inFlight).toBeInstanceOf(ConnectionError);
    expect(old.closed).toBe(true);
    await admin.metadata(c, ['existing']);
    expect((await c.connection()).endpoint.port).toBe(p2.port);
  });
});

describe('authentication step (SASL, KIP-368)', () => {
  /** An authenticate step that sends one real request (as SASL would) and grants `lifetimeMs`. */
  function authenticator(lifetimeMs: number, calls: { conn: KafkaConnection; negotiated: boolean }[]) {
    return async (conn: KafkaConnection, versions: unknown): Promise<number> => {
      calls.push({ conn, negotiated: versions !== null });
      await conn.request(ApiKeys.Metadata, 1, { topics: [] });
      return lifetimeMs;
    };
  }

  it('runs after ApiVersions on a new connection, before any request, and again on it when the session ends', async () => {
    const proxy = await recordingProxy();
    const calls: { conn: KafkaConnection; negotiated: boolean }[] = [];
    const c = new KafkaClient({
      bootstrap: proxy.address,
      clientId: 'client-test-auth',
      connectTimeoutMs: 5000,
      authenticate: authenticator(400, calls),
    });
    clients.push(c);
    const md = { topics: [{ name: 'existing' }] };
    await c.request(ApiKeys.Metadata, { min: 5, max: 5 }, md);
    await c.request(ApiKeys.Metadata, { min: 5, max: 5 }, md);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.negotiated).toBe(true);
    // ApiVersions, the authentication's request (v1), then the caller's (v5).
    const seq = () =>
      proxy.connections[0]!.exchanges.map((e) =>
        e.apiKey === ApiKeys.ApiVersions ? 'ApiVersions' : `${e.apiKey}v${e.apiVersion}`,
      );
    expect(seq()).toEqual(['ApiVersions', '3v1', '3v5', '3v5']);
    // Past the session (re-authentication is due at 85-95 % of it): once more, on the same connection.
    await new Promise((r) => setTimeout(r, 500));
    await c.request(ApiKeys.Metadata, { min: 5, max: 5 }, md);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.conn).toBe(calls[0]!.conn);
    expect(proxy.connections).toHaveLength(1);
    expect(seq()).toEqual(['ApiVersions', '3v1', '3v5', '3v5', '3v1', '3v5']);
  });

  it('a refused authentication fails the request with a retriable ConnectionError that says why', async () => {
    const c = new KafkaClient({
      bootstrap: broker.bootstrap,
      clientId: 'client-test-auth-refused',
      connectTimeoutMs: 5000,
      authenticate: () => Promise.reject(new Error('SASL_AUTHENTICATION_FAILED: bad password')),
    });
    clients.push(c);
    const err = await c.request(ApiKeys.Metadata, { min: 5, max: 5 }, { topics: [] }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toMatch(
      /authentication to 127\.0\.0\.1:\d+ failed: SASL_AUTHENTICATION_FAILED: bad password/,
    );
    expect(c.connected).toBe(false);
  });
});
