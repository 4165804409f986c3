/**
 * The few Kafka admin calls the operator makes (Metadata, CreateTopics, CreatePartitions,
 * DescribeConfigs, AlterConfigs, DeleteTopics, Alter/ListPartitionReassignments), on the project's
 * Kafka client (src/client): it connects to the first bootstrap broker that answers, negotiates
 * versions with ApiVersions and reconnects (to the next bootstrap address) after a failure; this
 * file only builds the requests and reads the answers. Every failure is a KafkaAdminError whose
 * `code` is Kafka's error name (NETWORK_EXCEPTION when no broker could be reached).
 * AlterConfigs (not Incremental) on purpose: it replaces a topic's whole override set, which is
 * exactly "make the topic's config equal the spec" and so also reverts drift.
 */
import {
  admin as adminCalls,
  ConnectionError,
  KafkaClient,
  KafkaClientError,
  type VersionRange,
} from '../../client/index.js';
import { errorName } from '../../protocol/error-codes.js';
import { ApiKeys, type ApiKey, type ApiMessages } from '../../protocol/messages/index.js';

export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;
/** DescribeConfigs config sources. */
export const SOURCE_DYNAMIC_TOPIC = 1;
export const SOURCE_DYNAMIC_DEFAULT_BROKER = 3;

export class KafkaAdminError extends Error {
  /** Kafka's error name, e.g. 'TOPIC_ALREADY_EXISTS', 'NETWORK_EXCEPTION', 'REQUEST_TIMED_OUT'. */
  readonly code: string;
  readonly retriable: boolean;
  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KafkaAdminError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }

  /** The client's errors keep their Kafka name; anything else passes unchanged. */
  static from(err: unknown): unknown {
    if (err instanceof KafkaClientError)
      return new KafkaAdminError(err.errorName, err.message, { retriable: err.retriable, cause: err });
    return err;
  }
}

/** Version ranges of the calls made here that src/client's admin helpers do not make. */
const VERSIONS = {
  /** v1: config sources. */
  describeConfigs: { min: 1, max: 4 },
  alterConfigs: { min: 0, max: 2 },
  partitionReassignments: 0,
  /** v1: electionType (preferred). */
  electLeaders: { min: 1, max: 2 },
} as const;

/** Every topic's partitions as Metadata reports them (index = partition). */
export interface PartitionState {
  leader: number;
  replicas: number[];
  isr: number[];
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

export class KafkaAdminClient {
  readonly #client: KafkaClient;

  private constructor(client: KafkaClient) {
    this.#client = client;
  }

  /** Connects to the first bootstrap address that accepts and answers within `timeoutMs`. */
  static async connect(bootstrap: string, timeoutMs = 5000): Promise<KafkaAdminClient> {
    let client: KafkaClient;
    try {
      client = new KafkaClient({ bootstrap, clientId: 'sluice-operator', connectTimeoutMs: timeoutMs });
    } catch (err) {
      throw new KafkaAdminError(
        'NETWORK_EXCEPTION',
        `bad bootstrap "${bootstrap}": ${(err as Error).message}`,
      );
    }
    try {
      await client.connection();
    } catch (err) {
      client.close();
      if (!(err instanceof ConnectionError)) throw KafkaAdminError.from(err);
      throw new KafkaAdminError(
        'NETWORK_EXCEPTION',
        `cannot reach any bootstrap broker (${bootstrap}): ${err instanceof Error ? err.message : String(err)}`,
        { retriable: true, cause: err },
      );
    }
    return new KafkaAdminClient(client);
  }

  close(): void {
    this.#client.close();
  }

  /** One request at the highest version in `versions` the broker serves; failures are KafkaAdminErrors. */
  async request<K extends ApiKey>(
    apiKey: K,
    versions: VersionRange,
    body: ApiMessages[K]['request'] | ((version: number) => ApiMessages[K]['request']),
    timeoutMs = 30_000,
  ): Promise<ApiMessages[K]['response']> {
    return this.#call(() => this.#client.request(apiKey, versions, body, { timeoutMs }));
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw KafkaAdminError.from(err);
    }
  }

  async describeCluster(): Promise<ClusterDescription> {
    const res = await this.#call(() => adminCalls.metadata(this.#client, []));
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
    const res = await this.#call(() => adminCalls.metadata(this.#client, [name]));
    const t = res.topics.find((x) => x.name === name);
    if (!t) return null;
    const err = errorName(t.errorCode);
    if (err === 'UNKNOWN_TOPIC_OR_PARTITION') return null;
    if (t.errorCode !== 0) throw new KafkaAdminError(err, `describe topic ${name}: ${err}`);
    const assignment: number[][] = [];
    for (const p of t.partitions) assignment[p.partitionIndex] = [...p.replicaNodes];
    return {
      name,
      topicId: t.topicId ?? adminCalls.ZERO_UUID,
      partitions: t.partitions.length,
      replicationFactor: Math.max(0, ...t.partitions.map((p) => p.replicaNodes.length)),
      assignment: Array.from({ length: assignment.length }, (_, i) => assignment[i] ?? []),
    };
  }

  /** How many partition replicas each broker holds, over every topic. */
  async replicaLoad(): Promise<Map<number, number>> {
    const res = await this.#call(() => adminCalls.metadata(this.#client, null));
    const load = new Map<number, number>();
    for (const t of res.topics)
      for (const p of t.partitions) for (const r of p.replicaNodes) load.set(r, (load.get(r) ?? 0) + 1);
    return load;
  }

  /** Starts reassignments (KIP-455): partition → its new replica list. */
  async alterPartitionReassignments(topic: string, target: Map<number, number[]>): Promise<void> {
    const res = await this.request(ApiKeys.AlterPartitionReassignments, VERSIONS.partitionReassignments, {
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
    const res = await this.request(ApiKeys.ListPartitionReassignments, VERSIONS.partitionReassignments, {
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

  /** Every topic's partitions (internal ones included) and the registered brokers. */
  async placements(): Promise<{ brokers: number[]; topics: Map<string, PartitionState[]> }> {
    const res = await this.#call(() => adminCalls.metadata(this.#client, null));
    const topics = new Map<string, PartitionState[]>();
    for (const t of res.topics) {
      if (t.errorCode !== 0 || !t.name) continue;
      const parts: PartitionState[] = [];
      for (const p of t.partitions)
        parts[p.partitionIndex] = { leader: p.leaderId, replicas: [...p.replicaNodes], isr: [...p.isrNodes] };
      topics.set(
        t.name,
        Array.from({ length: parts.length }, (_, i) => parts[i] ?? { leader: -1, replicas: [], isr: [] }),
      );
    }
    return { brokers: res.brokers.map((b) => b.nodeId).sort((a, b) => a - b), topics };
  }

  /** Reassignments in progress in every topic (KIP-455, topics null). */
  async listAllReassignments(): Promise<{ topic: string; partition: number }[]> {
    const res = await this.request(ApiKeys.ListPartitionReassignments, VERSIONS.partitionReassignments, {
      timeoutMs: 30_000,
      topics: null,
    });
    if (res.errorCode !== 0)
      throw new KafkaAdminError(
        errorName(res.errorCode),
        `list reassignments: ${errorName(res.errorCode)}${res.errorMessage ? `: ${res.errorMessage}` : ''}`,
      );
    return res.topics.flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex })),
    );
  }

  /** Preferred-leader election (KIP-460) for the partitions; ELECTION_NOT_NEEDED is no error. */
  async electPreferredLeaders(partitions: { topic: string; partition: number }[]): Promise<string[]> {
    const byTopic = new Map<string, number[]>();
    for (const { topic, partition } of partitions)
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    const res = await this.request(ApiKeys.ElectLeaders, VERSIONS.electLeaders, {
      electionType: 0,
      topicPartitions: [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps })),
      timeoutMs: 30_000,
    });
    const problems: string[] = [];
    for (const t of res.replicaElectionResults)
      for (const p of t.partitionResult) {
        const name = errorName(p.errorCode);
        if (p.errorCode !== 0 && name !== 'ELECTION_NOT_NEEDED')
          problems.push(`${t.topic}-${p.partitionId}: ${name}`);
      }
    return problems;
  }

  async createTopic(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
  ): Promise<string> {
    return this.#call(() =>
      adminCalls.createTopic(this.#client, { name, partitions, replicationFactor, configs }),
    );
  }

  async createPartitions(name: string, count: number): Promise<void> {
    await this.#call(() => adminCalls.createPartitions(this.#client, name, count));
  }

  /** The topic's overrides (configs set on the topic itself, not defaults). */
  async topicOverrides(name: string): Promise<Record<string, string>> {
    const res = await this.request(ApiKeys.DescribeConfigs, VERSIONS.describeConfigs, {
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
    const res = await this.request(ApiKeys.AlterConfigs, VERSIONS.alterConfigs, {
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
    const res = await this.request(ApiKeys.DescribeConfigs, VERSIONS.describeConfigs, {
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
    return this.#call(() => adminCalls.deleteTopic(this.#client, name));
  }
}

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
