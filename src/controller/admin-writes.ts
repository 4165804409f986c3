/**
 * The admin writes a broker's API handlers ask for (CreateTopics, DeleteTopics, CreatePartitions,
 * AlterConfigs, IncrementalAlterConfigs, automatic topic creation), as two interfaces on
 * BrokerServices (`topics`, `brokerConfigs`). Only the controller writes metadata, so:
 *
 *  - single node: the broker is its own controller; TopicFrontend and ConfigFrontend write to the
 *    embedded store directly, fenced by the node's own controller key (write-fence.ts);
 *  - cluster mode: the broker forwards each write to the active controller over the gRPC control
 *    plane (grpc/forwarding-admin.ts), which validates and writes fenced by its epoch, as KRaft
 *    brokers forward these requests to the active controller.
 *
 * Either way a failure is a TopicOperationError carrying Kafka's error name and message, so the
 * handlers answer the same codes and messages in both modes. Reads (`plan`, `current`) use the
 * broker's own view.
 */
import type { CreateTopicRequest, TopicDefaults, TopicFrontend } from './topic-frontend.js';
import type { ConfigFrontend } from './config-frontend.js';
import type { TopicRecord } from './records.js';
import type {
  ClientQuotaAlteration,
  ClientQuotaAlterationResult,
  ClientQuotaFrontend,
} from './client-quota-frontend.js';
import type { ClientQuotaTable } from './client-quota-table.js';

export interface TopicAdmin {
  /** Validate a CreateTopics entry without writing (validateOnly); the record it would create. */
  plan(req: CreateTopicRequest, defaults: TopicDefaults, allowInternal?: boolean): TopicRecord;
  /** Create a topic; `allowInternal` lets the broker create __consumer_offsets. */
  create(req: CreateTopicRequest, defaults: TopicDefaults, allowInternal?: boolean): Promise<TopicRecord>;
  delete(name: string): Promise<void>;
  /** Grow a topic to `count` partitions; `assignment` gives the added partitions' replicas. */
  createPartitions(
    name: string,
    count: number,
    assignment: number[][] | null,
    validateOnly: boolean,
  ): Promise<void>;
  /** Replace a topic's config overrides with `next`. */
  alterConfigs(name: string, next: Record<string, string>, validateOnly: boolean): Promise<void>;
}

export interface BrokerConfigAdmin {
  /** The dynamic overrides of a broker (or the cluster default) in this broker's view. */
  current(id: number | 'default'): Record<string, string>;
  /** Replace them with `next` (empty: remove them all). */
  setBrokerConfigs(
    id: number | 'default',
    next: Record<string, string>,
    validateOnly: boolean,
  ): Promise<void>;
}

/** Single node: the broker's own TopicFrontend, fenced by the node's controller key. */
export class LocalTopicAdmin implements TopicAdmin {
  readonly #f: TopicFrontend;

  constructor(frontend: TopicFrontend) {
    this.#f = frontend;
  }

  plan(req: CreateTopicRequest, defaults: TopicDefaults, allowInternal = false): TopicRecord {
    return this.#f.plan(req, defaults, allowInternal);
  }

  async create(
    req: CreateTopicRequest,
    defaults: TopicDefaults,
    allowInternal = false,
  ): Promise<TopicRecord> {
    return (await this.#f.create(req, defaults, allowInternal)).record;
  }

  async delete(name: string): Promise<void> {
    await this.#f.delete(name);
  }

  async createPartitions(
    name: string,
    count: number,
    assignment: number[][] | null,
    validateOnly: boolean,
  ): Promise<void> {
    await this.#f.createPartitions(name, count, assignment, validateOnly);
  }

  async alterConfigs(name: string, next: Record<string, string>, validateOnly: boolean): Promise<void> {
    await this.#f.alterConfigs(name, next, validateOnly);
  }
}

/** Single node: the broker's own ConfigFrontend, fenced by the node's controller key. */
export class LocalConfigAdmin implements BrokerConfigAdmin {
  readonly #f: ConfigFrontend;

  constructor(frontend: ConfigFrontend) {
    this.#f = frontend;
  }

  current(id: number | 'default'): Record<string, string> {
    return this.#f.current(id);
  }

  async setBrokerConfigs(
    id: number | 'default',
    next: Record<string, string>,
    validateOnly: boolean,
  ): Promise<void> {
    await this.#f.setBrokerConfigs(id, next, validateOnly);
  }
}

/** AlterClientQuotas (the reads, DescribeClientQuotas, use the broker's ClientQuotaTable). */
export interface ClientQuotaAdmin {
  /** One result per distinct entity; resolves once this broker's table has the write. */
  alter(alterations: ClientQuotaAlteration[], validateOnly: boolean): Promise<ClientQuotaAlterationResult[]>;
}

/** Single node: the broker's own ClientQuotaFrontend, fenced by the node's controller key. */
export class LocalClientQuotaAdmin implements ClientQuotaAdmin {
  readonly #f: ClientQuotaFrontend;
  readonly #table: ClientQuotaTable;

  constructor(frontend: ClientQuotaFrontend, table: ClientQuotaTable) {
    this.#f = frontend;
    this.#table = table;
  }

  async alter(
    alterations: ClientQuotaAlteration[],
    validateOnly: boolean,
  ): Promise<ClientQuotaAlterationResult[]> {
    const { results, revision } = await this.#f.alter(alterations, validateOnly);
    await this.#table.waitForRevision(revision);
    return results;
  }
}
