/**
 * A small Kafka protocol client for the bench, built on Sluice's generated codecs: topic admin
 * (create, grow, wait for leaders), the start-to-first-ack probe, and a many-connections produce load.
 * It speaks to Sluice and to Apache Kafka alike (the same bytes to both), with fixed request versions
 * both support (Produce v7, Metadata v9, CreateTopics v5, CreatePartitions v2).
 */
import { connect, type Socket } from 'node:net';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import {
  ApiKeys,
  decodeResponse,
  encodeRequestFrame,
  type ApiKey,
  type ApiMessages,
} from '../../src/protocol/messages/index.js';
import { buildRecordBatch } from '../../src/protocol/records/build.js';
import { sleep } from './proc.js';

const V = { produce: 7, metadata: 9, createTopics: 5, createPartitions: 2 } as const;

export class WireClient {
  readonly #socket: Socket;
  readonly #decoder = new FrameDecoder({ maxFrameSize: 1 << 30 });
  #waiters: { resolve: (f: Buffer) => void; reject: (e: Error) => void }[] = [];
  #next = 1;
  closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.#decoder.push(chunk)) this.#waiters.shift()?.resolve(f);
    });
    const fail = () => {
      this.closed = true;
      for (const w of this.#waiters.splice(0)) w.reject(new Error('connection closed'));
    };
    socket.on('close', fail);
    socket.on('error', () => {});
  }

  static connect(port: number, host = '127.0.0.1'): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host }, () => {
        s.off('error', reject);
        resolve(new WireClient(s));
      });
      s.once('error', reject);
    });
  }

  request<K extends ApiKey>(
    apiKey: K,
    version: number,
    body: ApiMessages[K]['request'],
    timeoutMs = 180_000,
  ): Promise<ApiMessages[K]['response']> {
    const correlationId = this.#next++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`no response to api ${apiKey} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiters.push({
        resolve: (frame) => {
          clearTimeout(t);
          try {
            resolve(decodeResponse(frame, apiKey, version).body);
          } catch (e) {
            reject(e as Error);
          }
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      this.#socket.write(encodeRequestFrame(apiKey, version, correlationId, 'sluice-bench', body));
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** Partitions of `topic` that have a leader, or -1 while the topic is unknown. */
export async function leaderCount(c: WireClient, topic: string, autoCreate = false): Promise<number> {
  const md = await c.request(ApiKeys.Metadata, V.metadata, {
    topics: [{ name: topic }],
    allowAutoTopicCreation: autoCreate,
    includeTopicAuthorizedOperations: false,
  });
  const t = md.topics.find((x) => x.name === topic);
  if (!t || t.errorCode !== 0) return -1;
  return t.partitions.filter((p) => p.errorCode === 0 && p.leaderId >= 0).length;
}

async function waitForLeaders(
  c: WireClient,
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
  const c = await WireClient.connect(port);
  try {
    const res = await c.request(
      ApiKeys.CreateTopics,
      V.createTopics,
      {
        topics: [
          {
            name: topic,
            numPartitions: partitions,
            replicationFactor,
            assignments: [],
            configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
          },
        ],
        timeoutMs,
        validateOnly: false,
      },
      timeoutMs + 10_000,
    );
    const r = res.topics[0];
    if (r && r.errorCode !== 0)
      throw new Error(`CreateTopics ${topic}: error ${r.errorCode} ${r.errorMessage ?? ''}`);
    await waitForLeaders(c, topic, partitions, timeoutMs);
  } finally {
    c.close();
  }
}

/** Grows a topic to `count` partitions and waits until every partition has a leader. */
export async function growTopic(
  port: number,
  topic: string,
  count: number,
  timeoutMs = 300_000,
): Promise<void> {
  const c = await WireClient.connect(port);
  try {
    const res = await c.request(
      ApiKeys.CreatePartitions,
      V.createPartitions,
      { topics: [{ name: topic, count, assignments: null }], timeoutMs, validateOnly: false },
      timeoutMs + 10_000,
    );
    const r = res.results[0];
    if (r && r.errorCode !== 0)
      throw new Error(`CreatePartitions ${topic}: error ${r.errorCode} ${r.errorMessage ?? ''}`);
    await waitForLeaders(c, topic, count, timeoutMs);
  } finally {
    c.close();
  }
}

/**
 * What a client does against a broker that is still starting: connect (retrying), ask for the topic's
 * metadata with auto-creation on until it has a leader, produce one record with acks=1 until it is
 * acknowledged. Resolves with Date.now() at the acknowledgement.
 */
export async function firstAck(port: number, topic: string, timeoutMs = 120_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const batch = buildRecordBatch([{ key: null, value: Buffer.from('hello') }]);
  let c: WireClient | null = null;
  while (Date.now() < deadline) {
    try {
      c ??= await WireClient.connect(port);
      if ((await leaderCount(c, topic, true)) < 1) {
        await sleep(10);
        continue;
      }
      const res = await c.request(ApiKeys.Produce, V.produce, {
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
 * `connections` sockets, each sending Produce requests (acks=1, one `recordsPerRequest` x `recordSize`
 * batch) one at a time as fast as responses come back, spread over `partitions`. The frame is built
 * once per connection; only its correlation id changes. Counts acknowledgements after `warmupMs`
 * for `measureMs`.
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
  const sockets: Socket[] = [];

  const openOne = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const frame = encodeRequestFrame(ApiKeys.Produce, V.produce, 0, 'sluice-bench', {
        transactionalId: null,
        acks: 1,
        timeoutMs: 30_000,
        topicData: [{ name: opts.topic, partitionData: [{ index: i % opts.partitions, records: batch }] }],
      });
      const s = connect({ port: opts.port, host: '127.0.0.1' });
      s.setNoDelay(true);
      sockets.push(s);
      const decoder = new FrameDecoder({ maxFrameSize: 1 << 24 });
      let corr = 0;
      let sentAt = 0;
      const send = () => {
        if (stopped) return;
        frame.writeInt32BE(++corr, 8);
        sentAt = performance.now();
        s.write(frame);
      };
      s.on('data', (chunk: Buffer) => {
        for (const f of decoder.push(chunk)) {
          const res = decodeResponse(f, ApiKeys.Produce, V.produce).body;
          const ok = res.responses[0]?.partitionResponses[0]?.errorCode === 0;
          if (measuring) {
            if (ok) acked += opts.recordsPerRequest;
            else errors++;
            rttSum += performance.now() - sentAt;
            rttCount++;
          }
          send();
        }
      });
      s.once('connect', () => {
        s.off('error', reject);
        s.on('error', () => errors++);
        resolve();
      });
      s.once('error', reject);
      s.once('ready', send);
    });

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
  for (const s of sockets) s.destroy();
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
  const c = await WireClient.connect(port);
  try {
    await c.request(ApiKeys.DeleteTopics, 4, { topicNames: [topic], timeoutMs: 60_000 }, 70_000);
  } catch {
    /* best effort */
  } finally {
    c.close();
  }
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
  const c = await WireClient.connect(port);
  try {
    while (pending.length > 0) {
      if (Date.now() > deadline)
        throw new Error(`${pending.length} of ${partitions} partitions not writable after ${timeoutMs} ms`);
      const res = await c.request(ApiKeys.Produce, V.produce, {
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
