/**
 * The bench's Kafka calls, on the project's Kafka client (src/client): topic admin (create, grow,
 * wait for leaders, delete), the start-to-first-ack probe, and a many-connections produce load.
 * Every connection starts with ApiVersions and each request goes out at the highest version of its
 * range that the broker serves, so the same code speaks to Sluice and to Apache Kafka 3.9 and 4.x
 * (which dropped the oldest versions). Sluice and Kafka both serve the top of every range here, so
 * they get the same bytes.
 */
import { admin, KafkaClient, type KafkaConnection } from '../../src/client/index.js';
import { ApiKeys, decodeResponse, encodeRequestFrame } from '../../src/protocol/messages/index.js';
import { buildRecordBatch } from '../../src/protocol/records/build.js';
import { sleep } from './proc.js';

/** Produce v3 is the first with RecordBatch v2 (and transactionalId). */
const PRODUCE = { min: 3, max: 11 } as const;

/**
 * A client for one broker on loopback, patient like the bench always was: a broker under a
 * thousand-connection load may take long to accept and answer ApiVersions.
 */
function benchClient(port: number, host = '127.0.0.1'): KafkaClient {
  return new KafkaClient({
    bootstrap: [{ host, port }],
    clientId: 'sluice-bench',
    connectTimeoutMs: 180_000,
    requestTimeoutMs: 180_000,
    clientSoftwareName: 'sluice-bench',
  });
}

async function withClient<T>(port: number, fn: (c: KafkaClient) => Promise<T>): Promise<T> {
  const c = benchClient(port);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/** Partitions of `topic` that have a leader, or -1 while the topic is unknown. */
export async function leaderCount(c: KafkaClient, topic: string, autoCreate = false): Promise<number> {
  const md = await admin.metadata(c, [topic], { allowAutoTopicCreation: autoCreate });
  const t = md.topics.find((x) => x.name === topic);
  if (!t || t.errorCode !== 0) return -1;
  return t.partitions.filter((p) => p.errorCode === 0 && p.leaderId >= 0).length;
}

async function waitForLeaders(
  c: KafkaClient,
  topic: string,
  partitions: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await leaderCount(c, topic);
    if (n >= partitions) return;
    if (Date.now() > deadline)
      throw new Error(`topic ${topic}: ${n}/${partitions} partitions have a leader after ${timeoutMs} ms`);
    await sleep(partitions > 1000 ? 500 : 50);
  }
}

/** Creates a topic (RF 1 unless told) and waits until every partition has a leader. */
export async function createTopic(
  port: number,
  topic: string,
  partitions: number,
  configs: Record<string, string> = {},
  timeoutMs = 300_000,
  replicationFactor = 1,
): Promise<void> {
  await withClient(port, async (c) => {
    await admin.createTopic(
      c,
      { name: topic, partitions, replicationFactor, configs },
      { serverTimeoutMs: timeoutMs },
    );
    await waitForLeaders(c, topic, partitions, timeoutMs);
  });
}

/** Grows a topic to `count` partitions and waits until every partition has a leader. */
export async function growTopic(
  port: number,
  topic: string,
  count: number,
  timeoutMs = 300_000,
): Promise<void> {
  await withClient(port, async (c) => {
    await admin.createPartitions(c, topic, count, { serverTimeoutMs: timeoutMs });
    await waitForLeaders(c, topic, count, timeoutMs);
  });
}

/**
 * What a client does against a broker that is still starting: connect (retrying), ask for the topic's
 * metadata with auto-creation on until it has a leader, produce one record with acks=1 until it is
 * acknowledged. Resolves with Date.now() at the acknowledgement.
 */
export async function firstAck(port: number, topic: string, timeoutMs = 120_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const batch = buildRecordBatch([{ key: null, value: Buffer.from('hello') }]);
  let c: KafkaClient | null = null;
  while (Date.now() < deadline) {
    try {
      c ??= benchClient(port);
      if ((await leaderCount(c, topic, true)) < 1) {
        await sleep(10);
        continue;
      }
      const res = await c.request(ApiKeys.Produce, PRODUCE, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 30_000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
      });
      if (res.responses[0]?.partitionResponses[0]?.errorCode === 0) {
        const t = Date.now();
        c.close();
        return t;
      }
      await sleep(10);
    } catch {
      c?.close();
      c = null;
      await sleep(10);
    }
  }
  throw new Error(`no acknowledged produce within ${timeoutMs} ms`);
}

export interface ConnectionLoadResult {
  connections: number;
  /** acknowledged records per second in the measured window */
  recordsPerSec: number;
  mbPerSec: number;
  errors: number;
  /** mean request round trip in the measured window, ms */
  meanRttMs: number;
}

/**
 * `connections` connections, each sending Produce requests (acks=1, one `recordsPerRequest` x
 * `recordSize` batch) one at a time as fast as responses come back, spread over `partitions`. Each
 * connection negotiates its Produce version once and builds its frame once; after that a request
 * is `sendFrame` (only the correlation id changes) and a response one decode. Counts
 * acknowledgements after `warmupMs` for `measureMs`.
 */
export async function connectionLoad(opts: {
  port: number;
  topic: string;
  partitions: number;
  connections: number;
  recordsPerRequest: number;
  recordSize: number;
  warmupMs: number;
  measureMs: number;
}): Promise<ConnectionLoadResult> {
  const value = Buffer.alloc(opts.recordSize, 'x');
  const batch = buildRecordBatch(
    Array.from({ length: opts.recordsPerRequest }, () => ({ key: null, value })),
  );
  const bytesPerRequest = opts.recordsPerRequest * opts.recordSize;
  let measuring = false;
  let stopped = false;
  let acked = 0;
  let errors = 0;
  let rttSum = 0;
  let rttCount = 0;
  const clients: KafkaClient[] = [];

  const openOne = async (i: number): Promise<void> => {
    const c = benchClient(opts.port);
    clients.push(c);
    const conn: KafkaConnection = await c.connection();
    const version = await c.versionFor(ApiKeys.Produce, PRODUCE);
    const frame = encodeRequestFrame(ApiKeys.Produce, version, 0, c.clientId, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 30_000,
      topicData: [{ name: opts.topic, partitionData: [{ index: i % opts.partitions, records: batch }] }],
    });
    let sentAt = 0;
    const onResponse = (f: Buffer) => {
      let ok = false;
      try {
        ok =
          decodeResponse(f, ApiKeys.Produce, version).body.responses[0]?.partitionResponses[0]?.errorCode ===
          0;
      } catch {
        /* counted as an error below */
      }
      if (measuring) {
        if (ok) acked += opts.recordsPerRequest;
        else errors++;
        rttSum += performance.now() - sentAt;
        rttCount++;
      }
      send();
    };
    const onError = () => {
      if (!stopped) errors++;
    };
    const send = () => {
      if (stopped) return;
      sentAt = performance.now();
      conn.sendFrame(frame, 180_000).then(onResponse, onError);
    };
    send();
  };

  // Open in waves so a thousand connects do not all hit the accept queue at once.
  for (let i = 0; i < opts.connections; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, opts.connections - i) }, (_, j) => openOne(i + j)));
  }
  await sleep(opts.warmupMs);
  measuring = true;
  const t0 = performance.now();
  await sleep(opts.measureMs);
  measuring = false;
  const secs = (performance.now() - t0) / 1000;
  stopped = true;
  for (const c of clients) c.close();
  return {
    connections: opts.connections,
    recordsPerSec: acked / secs,
    mbPerSec: ((acked / opts.recordsPerRequest) * (bytesPerRequest / 1e6)) / secs,
    errors,
    meanRttMs: rttCount ? rttSum / rttCount : NaN,
  };
}

/** Deletes a topic (to keep the disk from filling between runs); errors are ignored. */
export async function deleteTopic(port: number, topic: string): Promise<void> {
  await withClient(port, async (c) => {
    try {
      await admin.deleteTopic(c, topic, { serverTimeoutMs: 60_000 });
    } catch {
      /* best effort */
    }
  }).catch(() => undefined);
}

/**
 * Waits until every partition of `topic` accepts a write (one small record each, acks=1, all
 * partitions in one Produce request, retrying those that fail). A leader in Metadata is not enough:
 * a broker may still be creating the partition's log.
 */
export async function waitWritable(
  port: number,
  topic: string,
  partitions: number,
  timeoutMs = 300_000,
): Promise<void> {
  const batch = buildRecordBatch([{ key: null, value: Buffer.from('ready') }]);
  let pending = Array.from({ length: partitions }, (_, i) => i);
  const deadline = Date.now() + timeoutMs;
  const c = benchClient(port);
  try {
    while (pending.length > 0) {
      if (Date.now() > deadline)
        throw new Error(`${pending.length} of ${partitions} partitions not writable after ${timeoutMs} ms`);
      const res = await c.request(ApiKeys.Produce, PRODUCE, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 30_000,
        topicData: [{ name: topic, partitionData: pending.map((index) => ({ index, records: batch })) }],
      });
      const ok = new Set(
        (res.responses[0]?.partitionResponses ?? []).filter((p) => p.errorCode === 0).map((p) => p.index),
      );
      pending = pending.filter((p) => !ok.has(p));
      if (pending.length) await sleep(100);
    }
  } finally {
    c.close();
  }
}
