/**
 * Typed helpers for the topic admin calls that more than one part of the project makes (the
 * operator's KafkaAdminClient, the bench): each is one request on a KafkaClient, sent at the highest
 * version in ADMIN_VERSIONS that the broker serves, with its body built for that version, and a
 * per-topic error turned into a ResponseError (its `errorName` is Kafka's, e.g.
 * TOPIC_ALREADY_EXISTS). Requests are not retried unless `retry` asks.
 *
 * The lower ends of the ranges are the first versions whose fields these bodies need; the upper
 * ends are the highest the codecs know. Apache Kafka 4.x removed the oldest versions (KIP-896),
 * which is why nothing here is pinned to one version.
 */
import { ApiKeys } from '../protocol/messages/index.js';
import type { MetadataResponse } from '../protocol/messages/metadata.js';
import { errorName } from '../protocol/error-codes.js';
import { ResponseError } from './errors.js';
import type { KafkaClient, RequestOptions } from './kafka-client.js';

export const ADMIN_VERSIONS = {
  /** v4: allowAutoTopicCreation. */
  metadata: { min: 4, max: 12 },
  /** v2 is the oldest Kafka 4 serves; topic ids come back from v7. */
  createTopics: { min: 2, max: 7 },
  createPartitions: { min: 0, max: 3 },
  /** v6 names topics in `topics` instead of `topicNames`. */
  deleteTopics: { min: 1, max: 6 },
} as const;

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

export interface AdminCallOptions {
  timeoutMs?: number;
  retry?: RequestOptions<unknown>['retry'];
}

function describeError(what: string, code: number, message: string | null | undefined): string {
  return `${what}: ${errorName(code)}${message ? `: ${message}` : ''}`;
}

function callOptions(
  o: AdminCallOptions,
  serverTimeoutMs: number,
): { timeoutMs: number; retry?: AdminCallOptions['retry'] } {
  // The broker may take up to the request's own timeout; give the answer some room to travel.
  return {
    timeoutMs: o.timeoutMs ?? serverTimeoutMs + 10_000,
    ...(o.retry !== undefined ? { retry: o.retry } : {}),
  };
}

/** Metadata for `topics` (null: every topic). */
export function metadata(
  client: KafkaClient,
  topics: readonly string[] | null,
  o: AdminCallOptions & { allowAutoTopicCreation?: boolean } = {},
): Promise<MetadataResponse> {
  return client.request(
    ApiKeys.Metadata,
    ADMIN_VERSIONS.metadata,
    {
      topics: topics === null ? null : topics.map((name) => ({ name, topicId: ZERO_UUID })),
      allowAutoTopicCreation: o.allowAutoTopicCreation ?? false,
      includeTopicAuthorizedOperations: false,
    },
    {
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
      ...(o.retry !== undefined ? { retry: o.retry } : {}),
    },
  );
}

export interface NewTopic {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs?: Record<string, string>;
}

/** Creates one topic; resolves with its id (the zero uuid below CreateTopics v7). */
export async function createTopic(
  client: KafkaClient,
  t: NewTopic,
  o: AdminCallOptions & { serverTimeoutMs?: number } = {},
): Promise<string> {
  const serverTimeoutMs = o.serverTimeoutMs ?? 30_000;
  const res = await client.request(
    ApiKeys.CreateTopics,
    ADMIN_VERSIONS.createTopics,
    {
      topics: [
        {
          name: t.name,
          numPartitions: t.partitions,
          replicationFactor: t.replicationFactor,
          assignments: [],
          configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
        },
      ],
      timeoutMs: serverTimeoutMs,
      validateOnly: false,
    },
    callOptions(o, serverTimeoutMs),
  );
  const r = res.topics.find((x) => x.name === t.name) ?? res.topics[0];
  if (!r) throw new ResponseError(-1, `create topic ${t.name}: empty response`);
  if (r.errorCode !== 0)
    throw new ResponseError(
      r.errorCode,
      describeError(`create topic ${t.name}`, r.errorCode, r.errorMessage),
    );
  return r.topicId ?? ZERO_UUID;
}

/** Grows a topic to `count` partitions. */
export async function createPartitions(
  client: KafkaClient,
  name: string,
  count: number,
  o: AdminCallOptions & { serverTimeoutMs?: number } = {},
): Promise<void> {
  const serverTimeoutMs = o.serverTimeoutMs ?? 30_000;
  const res = await client.request(
    ApiKeys.CreatePartitions,
    ADMIN_VERSIONS.createPartitions,
    { topics: [{ name, count, assignments: null }], timeoutMs: serverTimeoutMs, validateOnly: false },
    callOptions(o, serverTimeoutMs),
  );
  const r = res.results[0];
  if (r && r.errorCode !== 0)
    throw new ResponseError(
      r.errorCode,
      describeError(`create partitions for ${name}`, r.errorCode, r.errorMessage),
    );
}

/** Deletes a topic; false when there was no such topic. */
export async function deleteTopic(
  client: KafkaClient,
  name: string,
  o: AdminCallOptions & { serverTimeoutMs?: number } = {},
): Promise<boolean> {
  const serverTimeoutMs = o.serverTimeoutMs ?? 30_000;
  const res = await client.request(
    ApiKeys.DeleteTopics,
    ADMIN_VERSIONS.deleteTopics,
    (v) =>
      v >= 6
        ? { topics: [{ name, topicId: ZERO_UUID }], timeoutMs: serverTimeoutMs }
        : { topicNames: [name], timeoutMs: serverTimeoutMs },
    callOptions(o, serverTimeoutMs),
  );
  const r = res.responses[0];
  if (!r || r.errorCode === 0) return true;
  if (errorName(r.errorCode) === 'UNKNOWN_TOPIC_OR_PARTITION') return false;
  throw new ResponseError(r.errorCode, describeError(`delete topic ${name}`, r.errorCode, r.errorMessage));
}
