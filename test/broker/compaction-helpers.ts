/**
 * Wire-level helpers for the compaction tests against real brokers: create a compacted topic,
 * produce keyed records (acks=all), and read a partition back with Fetch from its log start to its
 * high watermark, batch by batch (so empty batches and offset gaps of a compacted log are handled
 * exactly as a consumer's fetch position does: next offset = last offset of the last batch + 1).
 */
import { decodeRecordBatch, scanRecordBatches } from '../../src/protocol/records/batch.js';
import { readBatchHeader } from '../../src/protocol/records/batch-header.js';
import { buildRecordBatch } from '../../src/protocol/records/build.js';
import { ApiKeys } from '../../src/protocol/messages/index.js';
import { RawClient } from '../helpers/raw-client.js';

export interface KV {
  key: string;
  value: string | null;
}

export interface FetchedRecord {
  offset: bigint;
  key: string | null;
  value: string | null;
}

export async function withClient<T>(port: number, fn: (c: RawClient) => Promise<T>): Promise<T> {
  const c = await RawClient.connect(port);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

export async function createTopic(
  port: number,
  name: string,
  configs: Record<string, string>,
  opts: { partitions?: number; replicationFactor?: number } = {},
): Promise<void> {
  await withClient(port, async (c) => {
    const res = await c.request(ApiKeys.CreateTopics, 4, {
      topics: [
        {
          name,
          numPartitions: opts.partitions ?? 1,
          replicationFactor: opts.replicationFactor ?? 1,
          assignments: [],
          configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })),
        },
      ],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    const t = res.topics[0]!;
    if (t.errorCode !== 0 && t.errorCode !== 36)
      throw new Error(`CreateTopics ${name}: error ${t.errorCode}`);
  });
}

/** Produce one batch per call of `records` to partition 0 (acks=all); returns the base offset. */
export async function produce(c: RawClient, topic: string, records: KV[], partition = 0): Promise<bigint> {
  const res = await c.request(ApiKeys.Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: buildRecordBatch(records) }] }],
  });
  const p = res.responses[0]!.partitionResponses[0]!;
  if (p.errorCode !== 0) throw new Error(`produce to ${topic}: error ${p.errorCode} ${p.errorMessage ?? ''}`);
  return p.baseOffset;
}

/** Every record of a partition, fetched from its log start up to its high watermark. */
export async function fetchAll(
  port: number,
  topic: string,
  partition = 0,
): Promise<{ records: FetchedRecord[]; highWatermark: bigint; logStartOffset: bigint; batches: number }> {
  return withClient(port, async (c) => {
    const records: FetchedRecord[] = [];
    let offset = 0n;
    let hw = -1n;
    let logStart = 0n;
    let batches = 0;
    for (let round = 0; round < 100_000; round++) {
      const res = await c.request(ApiKeys.Fetch, 11, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 4 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic,
            partitions: [
              {
                partition,
                currentLeaderEpoch: -1,
                fetchOffset: offset,
                logStartOffset: -1n,
                partitionMaxBytes: 4 << 20,
              },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      });
      const p = res.responses[0]!.partitions[0]!;
      if (p.errorCode === 1 && round === 0) {
        // OFFSET_OUT_OF_RANGE at 0: the log starts later.
        offset = p.logStartOffset ?? 0n;
        continue;
      }
      if (p.errorCode !== 0)
        throw new Error(`fetch ${topic}-${partition} at ${offset}: error ${p.errorCode}`);
      hw = p.highWatermark;
      logStart = p.logStartOffset ?? 0n;
      if (offset >= hw) break;
      const buf = p.records ?? Buffer.alloc(0);
      const { batches: spans } = scanRecordBatches(buf);
      if (spans.length === 0) throw new Error(`no whole batch at ${offset} below the high watermark ${hw}`);
      for (const s of spans) {
        const h = readBatchHeader(buf, s.position);
        const last = h.baseOffset + BigInt(h.lastOffsetDelta);
        if (last < offset) continue;
        batches++;
        const b = await decodeRecordBatch(buf, s.position);
        for (const r of b.records) {
          if (r.offset < offset) continue;
          records.push({
            offset: r.offset,
            key: r.key === null ? null : r.key.toString(),
            value: r.value === null ? null : r.value.toString(),
          });
        }
        offset = last + 1n;
      }
    }
    return { records, highWatermark: hw, logStartOffset: logStart, batches };
  });
}

/** The key → value map a consumer of a compacted topic builds. */
export function toMap(records: readonly { key: string | null; value: string | null }[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const r of records) {
    if (r.key === null) continue;
    if (r.value === null) m.delete(r.key);
    else m.set(r.key, r.value);
  }
  return m;
}

/** Offsets strictly increase (gaps allowed). */
export function offsetsIncrease(records: readonly { offset: bigint }[]): boolean {
  for (let i = 1; i < records.length; i++) if (records[i]!.offset <= records[i - 1]!.offset) return false;
  return true;
}

export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
