/**
 * The cluster-mode admin writes (admin-writes.ts): each write goes to the active controller over
 * the control plane, which validates it and writes it fenced by its epoch. The controller's answer
 * carries Kafka's error name and message, thrown here as the TopicOperationError the frontend would
 * have thrown, so the handlers answer exactly as on a single node. Before returning, the broker
 * waits until its own table has the write (read-your-writes: a Metadata request right after a
 * CreateTopics on the same connection sees the topic). Reads (plan, current) use the local view.
 */
import type { BrokerConfigAdmin, ClientQuotaAdmin, TopicAdmin } from '../admin-writes.js';
import type { ClientQuotaAlteration, ClientQuotaAlterationResult } from '../client-quota-frontend.js';
import type { ClientQuotaTable } from '../client-quota-table.js';
import type { MetadataTable } from '../metadata-table.js';
import type { TopicRecord } from '../records.js';
import {
  planTopic,
  TopicOperationError,
  type CreateTopicRequest,
  type TopicDefaults,
} from '../topic-frontend.js';
import type { ControlPlaneClient } from './control-plane-client.js';
import type { TopicRecordMessage__Output } from './generated/sluice/controller/v1/TopicRecordMessage.js';
import type { ControllerMethod, RequestOf, ResponseOf } from './methods.js';
import type { AclAdmin } from '../acl-admin.js';
import type { ScramAdmin } from '../scram-admin.js';
import type { ScramDeletion, ScramUpsertion, UserResult } from '../scram-frontend.js';
import type { ScramCredentialTable } from '../scram-table.js';
import type { AclDeleteResult, AclWriteResult } from '../acl-frontend.js';
import type { AclTable } from '../acl-table.js';
import type { AclBinding, AclBindingFilter } from '../../broker/security/acl.js';

type WriteMethod = Extract<
  ControllerMethod,
  | 'createTopic'
  | 'deleteTopic'
  | 'createPartitions'
  | 'alterTopicConfigs'
  | 'alterBrokerConfigs'
  | 'createAcls'
  | 'deleteAcls'
  | 'alterClientQuotas'
  | 'alterUserScramCredentials'
>;

/** The view a write must reach before the broker answers (the MetadataTable, or the ClientQuotaTable). */
interface RevisionView {
  waitForRevision(revision: number): Promise<void>;
}

export interface ForwardingOptions {
  /** How long to look for a controller that answers (default 30 s, Kafka's default request timeout). */
  timeoutMs?: number;
  /**
   * How long one attempt may take (default 10 s). A write that timed out may have been applied and
   * is sent again (to whichever broker is the controller then), as a Kafka client would retry it.
   */
  attemptTimeoutMs?: number;
}

/** Sends one write to the controller and turns its answer into a result or a TopicOperationError. */
class Forwarder {
  readonly #client: ControlPlaneClient;
  readonly #table: RevisionView;
  readonly #timeoutMs: number;
  readonly #attemptTimeoutMs: number;

  constructor(client: ControlPlaneClient, table: RevisionView, o: ForwardingOptions) {
    this.#client = client;
    this.#table = table;
    this.#timeoutMs = o.timeoutMs ?? 30_000;
    this.#attemptTimeoutMs = o.attemptTimeoutMs ?? 10_000;
  }

  async forward<M extends WriteMethod>(method: M, request: RequestOf<M>): Promise<ResponseOf<M>> {
    let res: ResponseOf<M>;
    try {
      res = await this.#client.call(method, request, {
        timeoutMs: this.#timeoutMs,
        attemptTimeoutMs: this.#attemptTimeoutMs,
      });
    } catch (err) {
      throw new TopicOperationError(
        'REQUEST_TIMED_OUT',
        `The controller did not answer in time: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    // Every write method answers an error name, a message and a revision.
    const status: { error: string; message: string; revision: number } = res;
    if (status.error !== 'NONE') throw new TopicOperationError(status.error, status.message);
    await this.#table.waitForRevision(status.revision);
    return res;
  }
}

function topicRecord(m: TopicRecordMessage__Output): TopicRecord {
  return { name: m.name, topicId: m.topicId, replicas: m.replicas.map((r) => r.brokers), configs: m.configs };
}

export class ForwardingTopicAdmin implements TopicAdmin {
  readonly #table: MetadataTable;
  readonly #f: Forwarder;

  constructor(client: ControlPlaneClient, table: MetadataTable, o: ForwardingOptions = {}) {
    this.#table = table;
    this.#f = new Forwarder(client, table, o);
  }

  plan(req: CreateTopicRequest, defaults: TopicDefaults, allowInternal = false): TopicRecord {
    return planTopic(this.#table, req, defaults, allowInternal);
  }

  async create(
    req: CreateTopicRequest,
    defaults: TopicDefaults,
    allowInternal = false,
  ): Promise<TopicRecord> {
    const res = await this.#f.forward('createTopic', {
      name: req.name,
      numPartitions: req.numPartitions,
      replicationFactor: req.replicationFactor,
      assignment: (req.assignment ?? []).map((brokers) => ({ brokers })),
      configs: Object.entries(req.configs ?? {}).map(([name, value]) =>
        value === null ? { name } : { name, value },
      ),
      defaultNumPartitions: defaults.numPartitions,
      defaultReplicationFactor: defaults.replicationFactor,
      allowInternal,
    });
    if (!res.topic) throw new TopicOperationError('UNKNOWN_SERVER_ERROR', 'the controller sent no topic');
    return topicRecord(res.topic);
  }

  async delete(name: string): Promise<void> {
    await this.#f.forward('deleteTopic', { name });
  }

  async createPartitions(
    name: string,
    count: number,
    assignment: number[][] | null,
    validateOnly: boolean,
  ): Promise<void> {
    await this.#f.forward('createPartitions', {
      name,
      count,
      assignment: (assignment ?? []).map((brokers) => ({ brokers })),
      validateOnly,
    });
  }

  async alterConfigs(name: string, next: Record<string, string>, validateOnly: boolean): Promise<void> {
    await this.#f.forward('alterTopicConfigs', { name, configs: next, validateOnly });
  }
}

export class ForwardingConfigAdmin implements BrokerConfigAdmin {
  readonly #table: MetadataTable;
  readonly #f: Forwarder;

  constructor(client: ControlPlaneClient, table: MetadataTable, o: ForwardingOptions = {}) {
    this.#table = table;
    this.#f = new Forwarder(client, table, o);
  }

  current(id: number | 'default'): Record<string, string> {
    return { ...(this.#table.brokerConfigs.get(id) ?? {}) };
  }

  async setBrokerConfigs(
    id: number | 'default',
    next: Record<string, string>,
    validateOnly: boolean,
  ): Promise<void> {
    await this.#f.forward('alterBrokerConfigs', {
      clusterDefault: id === 'default',
      brokerId: id === 'default' ? 0 : id,
      configs: next,
      validateOnly,
    });
  }
}

/**
 * CreateAcls / DeleteAcls forwarded to the active controller; answered once this broker's AclTable
 * has the write (the ACL is then enforced here).
 */
export class ForwardingAclAdmin implements AclAdmin {
  readonly #acls: AclTable;
  readonly #f: Forwarder;

  constructor(client: ControlPlaneClient, table: MetadataTable, acls: AclTable, o: ForwardingOptions = {}) {
    this.#acls = acls;
    this.#f = new Forwarder(client, table, o);
  }

  async create(bindings: AclBinding[]): Promise<AclWriteResult[]> {
    const res = await this.#f.forward('createAcls', { bindings });
    await this.#acls.waitForRevision(res.revision);
    return res.results.map((r) => ({ error: r.error, message: r.message ?? null }));
  }

  async delete(filters: AclBindingFilter[]): Promise<AclDeleteResult[]> {
    const res = await this.#f.forward('deleteAcls', {
      filters: filters.map((f) => ({
        resourceType: f.resourceType,
        patternType: f.patternType,
        operation: f.operation,
        permissionType: f.permissionType,
        ...(f.resourceName === null ? {} : { resourceName: f.resourceName }),
        ...(f.principal === null ? {} : { principal: f.principal }),
        ...(f.host === null ? {} : { host: f.host }),
      })),
    });
    await this.#acls.waitForRevision(res.revision);
    return res.results.map((r) => ({
      error: r.error,
      message: r.message ?? null,
      deleted: r.deleted.map((b) => ({
        resourceType: b.resourceType,
        resourceName: b.resourceName,
        patternType: b.patternType,
        principal: b.principal,
        host: b.host,
        operation: b.operation,
        permissionType: b.permissionType,
      })),
    }));
  }
}

export class ForwardingClientQuotaAdmin implements ClientQuotaAdmin {
  readonly #f: Forwarder;

  constructor(client: ControlPlaneClient, table: ClientQuotaTable, o: ForwardingOptions = {}) {
    this.#f = new Forwarder(client, table, o);
  }

  async alter(
    alterations: ClientQuotaAlteration[],
    validateOnly: boolean,
  ): Promise<ClientQuotaAlterationResult[]> {
    const res = await this.#f.forward('alterClientQuotas', {
      entries: alterations.map((a) => ({
        entity: a.entity.map((e) =>
          e.entityName === null
            ? { entityType: e.entityType }
            : { entityType: e.entityType, entityName: e.entityName },
        ),
        ops: a.ops.map((o) => (o.value === null ? { key: o.key } : { key: o.key, value: o.value })),
      })),
      validateOnly,
    });
    return res.results.map((r) => ({
      entity: r.entity.map((e) => ({ entityType: e.entityType, entityName: e.entityName ?? null })),
      error: r.error,
      message: r.error === 'NONE' ? null : r.message,
    }));
  }
}

/**
 * AlterUserScramCredentials forwarded to the active controller; answered once this broker's
 * ScramCredentialTable has the write (the credential then authenticates here).
 */
export class ForwardingScramAdmin implements ScramAdmin {
  readonly #f: Forwarder;

  constructor(client: ControlPlaneClient, table: ScramCredentialTable, o: ForwardingOptions = {}) {
    this.#f = new Forwarder(client, table, o);
  }

  async alter(deletions: ScramDeletion[], upsertions: ScramUpsertion[]): Promise<UserResult[]> {
    const res = await this.#f.forward('alterUserScramCredentials', { deletions, upsertions });
    return res.results.map((r) => ({
      user: r.user,
      errorCode: r.errorCode,
      errorMessage: r.errorMessage ?? null,
    }));
  }
}
