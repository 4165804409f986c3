/**
 * The few Kafka admin calls the operator makes (Metadata, CreateTopics, CreatePartitions,
 * DescribeConfigs, AlterConfigs, DeleteTopics, Alter/ListPartitionReassignments), over one connection to the first bootstrap broker
 * that answers, with Sluice's own generated protocol codecs. Requests are sent one at a time.
 * AlterConfigs (not Incremental) on purpose: it replaces a topic's whole override set, which is
 * exactly "make the topic's config equal the spec" and so also reverts drift.
 */
import { connect, type Socket } from 'node:net';
import { FrameDecoder } from '../../protocol/frame-decoder.js';
import { errorName } from '../../protocol/error-codes.js';
import {
  ApiKeys,
  decodeResponse,
  encodeRequestFrame,
  type ApiKey,
  type ApiMessages,
} from '../../protocol/messages/index.js';

export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;
/** DescribeConfigs config sources. */
export const SOURCE_DYNAMIC_TOPIC = 1;
export const SOURCE_DYNAMIC_DEFAULT_BROKER = 3;

export class KafkaAdminError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'KafkaAdminError';
    this.code = code;
  }
}

export interface TopicDescription {
  name: string;
  topicId: string;
  partitions: number;
  replicationFactor: number;
  /** Replicas of each partition (index = partition), as Metadata reports them. */
  assignment: number[][];
}

/** A partition whose reassignment is in progress (KIP-455). */
export interface OngoingReassignment {
  partition: number;
  replicas: number[];
  adding: number[];
  removing: number[];
}

export interface ClusterDescription {
  clusterId: string | null;
  controllerId: number;
  brokers: { nodeId: number; host: string; port: number; rack: string | null }[];
}

function parseBootstrap(bootstrap: string): { host: string; port: number }[] {
  return bootstrap
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const i = s.lastIndexOf(':');
      return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
    });
}

export class KafkaAdminClient {
  readonly #socket: Socket;
  readonly #decoder = new FrameDecoder({ maxFrameSize: 64 << 20 });
  readonly #frames: Buffer[] = [];
  #waiter: ((f: Buffer | Error) => void) | null = null;
  #closedError: Error | null = null;
  #correlation = 1;
  #chain: Promise<unknown> = Promise.resolve();

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.#decoder.push(chunk)) {
        const w = this.#waiter;
        this.#waiter = null;
        if (w) w(f);
        else this.#frames.push(f);
      }
    });
    const fail = (err: Error) => {
      this.#closedError = err;
      const w = this.#waiter;
      this.#waiter = null;
      w?.(err);
    };
    socket.on('error', (err) => fail(err));
    socket.on('close', () => fail(new Error('connection closed')));
  }

  /** Connects to the first bootstrap address that accepts within `timeoutMs`. */
  static async connect(bootstrap: string, timeoutMs = 5000): Promise<KafkaAdminClient> {
    let last: unknown = new Error(`no bootstrap address in "${bootstrap}"`);
    for (const { host, port } of parseBootstrap(bootstrap)) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect({ host, port });
          const t = setTimeout(() => s.destroy(new Error(`connect to ${host}:${port} timed out`)), timeoutMs);
          s.once('connect', () => {
            clearTimeout(t);
            s.off('error', reject);
            resolve(s);
          });
          s.once('error', (e) => {
            clearTimeout(t);
            reject(e);
          });
        });
        return new KafkaAdminClient(socket);
      } catch (err) {
        last = err;
      }
    }
    throw new KafkaAdminError(
      'NETWORK_EXCEPTION',
      `cannot reach any bootstrap broker (${bootstrap}): ${last instanceof Error ? last.message : String(last)}`,
    );
  }

  close(): void {
    this.#socket.destroy();
  }

  request<K extends ApiKey>(
    apiKey: K,
    version: number,
    body: ApiMessages[K]['request'],
    timeoutMs = 30_000,
  ): Promise<ApiMessages[K]['response']> {
    const run = async () => {
      if (this.#closedError) throw this.#closedError;
      const correlationId = this.#correlation++;
      this.#socket.write(encodeRequestFrame(apiKey, version, correlationId, 'sluice-operator', body));
      const frame = await new Promise<Buffer>((resolve, reject) => {
        const queued = this.#frames.shift();
        if (queued) return resolve(queued);
        const t = setTimeout(() => {
          this.#waiter = null;
          reject(
            new KafkaAdminError('REQUEST_TIMED_OUT', `no response to API ${apiKey} within ${timeoutMs} ms`),
          );
        }, timeoutMs);
        this.#waiter = (f) => {
          clearTimeout(t);
          if (f instanceof Error) reject(f);
          else resolve(f);
        };
      });
      const res = decodeResponse(frame, apiKey, version);
      if (res.correlationId !== correlationId)
        throw new Error(`correlation id ${res.correlationId}, expected ${correlationId}`);
      return res.body;
    };
    const p = this.#chain.then(run, run);
    this.#chain = p.catch(() => undefined);
    return p;
  }

  async describeCluster(): Promise<ClusterDescription> {
    const res = await this.request(ApiKeys.Metadata, 12, {
      topics: [],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    return {
      clusterId: res.clusterId ?? null,
      controllerId: res.controllerId ?? -1,
      brokers: res.brokers.map((b) => ({
        nodeId: b.nodeId,
        host: b.host,
        port: b.port,
        rack: b.rack ?? null,
      })),
    };
  }

  /** The topic, or null when it does not exist. */
  async describeTopic(name: string): Promise<TopicDescription | null> {
    const res = await this.request(ApiKeys.Metadata, 12, {
      topics: [{ name, topicId: ZERO_UUID }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    const t = res.topics.find((x) => x.name === name);
    if (!t) return null;
    const err = errorName(t.errorCode);
    if (err === 'UNKNOWN_TOPIC_OR_PARTITION') return null;
    if (t.errorCode !== 0) throw new KafkaAdminError(err, `describe topic ${name}: ${err}`);
    const assignment: number[][] = [];
    for (const p of t.partitions) assignment[p.partitionIndex] = [...p.replicaNodes];
    return {
      name,
      topicId: t.topicId ?? ZERO_UUID,
      partitions: t.partitions.length,
      replicationFactor: Math.max(0, ...t.partitions.map((p) => p.replicaNodes.length)),
      assignment: Array.from({ length: assignment.length }, (_, i) => assignment[i] ?? []),
    };
  }

  /** How many partition replicas each broker holds, over every topic. */
  async replicaLoad(): Promise<Map<number, number>> {
    const res = await this.request(ApiKeys.Metadata, 12, {
      topics: null,
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    const load = new Map<number, number>();
    for (const t of res.topics)
      for (const p of t.partitions) for (const r of p.replicaNodes) load.set(r, (load.get(r) ?? 0) + 1);
    return load;
  }

  /** Starts reassignments (KIP-455): partition → its new replica list. */
  async alterPartitionReassignments(topic: string, target: Map<number, number[]>): Promise<void> {
    const res = await this.request(ApiKeys.AlterPartitionReassignments, 0, {
      timeoutMs: 30_000,
      topics: [
        {
          name: topic,
          partitions: [...target].map(([partitionIndex, replicas]) => ({ partitionIndex, replicas })),
        },
      ],
    });
    if (res.errorCode !== 0)
      throw new KafkaAdminError(
        errorName(res.errorCode),
        `reassign ${topic}: ${errorName(res.errorCode)}${res.errorMessage ? `: ${res.errorMessage}` : ''}`,
      );
    for (const t of res.responses)
      for (const p of t.partitions)
        if (p.errorCode !== 0)
          throw new KafkaAdminError(
            errorName(p.errorCode),
            `reassign ${t.name}-${p.partitionIndex}: ${errorName(p.errorCode)}${p.errorMessage ? `: ${p.errorMessage}` : ''}`,
          );
  }

  /** The topic's reassignments in progress. */
  async listPartitionReassignments(topic: string, partitions: number[]): Promise<OngoingReassignment[]> {
    const res = await this.request(ApiKeys.ListPartitionReassignments, 0, {
      timeoutMs: 30_000,
      topics: [{ name: topic, partitionIndexes: partitions }],
    });
    if (res.errorCode !== 0)
      throw new KafkaAdminError(
        errorName(res.errorCode),
        `list reassignments of ${topic}: ${errorName(res.errorCode)}${res.errorMessage ? `: ${res.errorMessage}` : ''}`,
      );
    return res.topics
      .filter((t) => t.name === topic)
      .flatMap((t) =>
        t.partitions.map((p) => ({
          partition: p.partitionIndex,
          replicas: p.replicas,
          adding: p.addingReplicas,
          removing: p.removingReplicas,
        })),
      );
  }

  async createTopic(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
  ): Promise<string> {
    const res = await this.request(ApiKeys.CreateTopics, 7, {
      topics: [
        {
          name,
          numPartitions: partitions,
          replicationFactor,
          assignments: [],
          configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })),
        },
      ],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    const t = res.topics[0];
    if (!t) throw new KafkaAdminError('UNKNOWN_SERVER_ERROR', `create topic ${name}: empty response`);
    if (t.errorCode !== 0)
      throw new KafkaAdminError(
        errorName(t.errorCode),
        `create topic ${name}: ${errorName(t.errorCode)}${t.errorMessage ? `: ${t.errorMessage}` : ''}`,
      );
    return t.topicId ?? ZERO_UUID;
  }

  async createPartitions(name: string, count: number): Promise<void> {
    const res = await this.request(ApiKeys.CreatePartitions, 3, {
      topics: [{ name, count, assignments: null }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    const r = res.results[0];
    if (r && r.errorCode !== 0)
      throw new KafkaAdminError(
        errorName(r.errorCode),
        `create partitions for ${name}: ${errorName(r.errorCode)}${r.errorMessage ? `: ${r.errorMessage}` : ''}`,
      );
  }

  /** The topic's overrides (configs set on the topic itself, not defaults). */
  async topicOverrides(name: string): Promise<Record<string, string>> {
    const res = await this.request(ApiKeys.DescribeConfigs, 4, {
      resources: [{ resourceType: RESOURCE_TOPIC, resourceName: name, configurationKeys: null }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const r = res.results[0];
    if (!r) throw new KafkaAdminError('UNKNOWN_SERVER_ERROR', `describe configs ${name}: empty response`);
    if (r.errorCode !== 0)
      throw new KafkaAdminError(
        errorName(r.errorCode),
        `describe configs ${name}: ${errorName(r.errorCode)}${r.errorMessage ? `: ${r.errorMessage}` : ''}`,
      );
    const out: Record<string, string> = {};
    for (const c of r.configs)
      if (c.configSource === SOURCE_DYNAMIC_TOPIC && c.value !== null) out[c.name] = c.value;
    return out;
  }

  /** Replaces the resource's whole set of overrides with `configs`. */
  async alterConfigs(
    resourceType: number,
    resourceName: string,
    configs: Record<string, string>,
  ): Promise<void> {
    const res = await this.request(ApiKeys.AlterConfigs, 2, {
      resources: [
        {
          resourceType,
          resourceName,
          configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })),
        },
      ],
      validateOnly: false,
    });
    const r = res.responses[0];
    if (r && r.errorCode !== 0)
      throw new KafkaAdminError(
        errorName(r.errorCode),
        `alter configs ${resourceName || '<cluster default>'}: ${errorName(r.errorCode)}${r.errorMessage ? `: ${r.errorMessage}` : ''}`,
      );
  }

  /** Dynamic broker config overrides at the cluster-wide default (resource name ""). */
  async clusterDefaultOverrides(): Promise<Record<string, string>> {
    const res = await this.request(ApiKeys.DescribeConfigs, 4, {
      resources: [{ resourceType: RESOURCE_BROKER, resourceName: '', configurationKeys: null }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const r = res.results[0];
    if (!r || r.errorCode !== 0)
      throw new KafkaAdminError(
        errorName(r?.errorCode ?? -1),
        `describe cluster default configs: ${errorName(r?.errorCode ?? -1)}`,
      );
    const out: Record<string, string> = {};
    // DYNAMIC_DEFAULT_BROKER_CONFIG
    for (const c of r.configs)
      if (c.configSource === SOURCE_DYNAMIC_DEFAULT_BROKER && c.value !== null) out[c.name] = c.value;
    return out;
  }

  async deleteTopic(name: string): Promise<boolean> {
    const res = await this.request(ApiKeys.DeleteTopics, 4, { topicNames: [name], timeoutMs: 30_000 });
    const r = res.responses[0];
    if (!r || r.errorCode === 0) return true;
    const err = errorName(r.errorCode);
    if (err === 'UNKNOWN_TOPIC_OR_PARTITION') return false;
    throw new KafkaAdminError(err, `delete topic ${name}: ${err}`);
  }
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** Connects, runs `fn`, and always closes. */
export async function withAdmin<T>(
  bootstrap: string,
  fn: (admin: KafkaAdminClient) => Promise<T>,
): Promise<T> {
  const admin = await KafkaAdminClient.connect(bootstrap);
  try {
    return await fn(admin);
  } finally {
    admin.close();
  }
}
