/**
 * The active controller (cluster mode). Every broker runs one; exactly one is active at a time.
 *
 * Election: a broker becomes controller by creating <root>/controller under its registration lease
 * (a transaction that succeeds only while the key is absent). The key's create revision is the
 * controller epoch. Every write the controller makes compares that create revision, so when its lease
 * ends (it died, or was paused past the TTL) and another broker wins, the old one can no longer write.
 *
 * Duties, serialized through one queue so partition state has a single writer:
 *  - when the live brokers change, re-elect leaders and shrink/restore ISRs (partition-state-machine);
 *  - AlterPartition from leaders (ISR shrink/expand), checked against the epochs they saw;
 *  - controlled shutdown / drain: move leaderships off a broker;
 *  - preferred leader election every leader.imbalance.check.interval.seconds;
 *  - ElectLeaders (preferred / unclean) on demand;
 *  - partition reassignments (KIP-455): started by AlterPartitionReassignments, finished when every
 *    added replica has joined the ISR (checked after each AlterPartition and every second);
 *  - admin writes forwarded by the brokers (CreateTopics, DeleteTopics, CreatePartitions, topic and
 *    broker configs, CreateAcls and DeleteAcls): validated and written by its TopicFrontend,
 *    ConfigFrontend and AclFrontend, whose fence is this controller's epoch, as every other write
 *    it makes.
 */
import type { Logger } from '../common/logger.js';
import type { BrokerConfig } from '../common/broker-config.js';
import type { Compare, MetadataStore, Op } from './metadata-store.js';
import type { MetadataTable } from './metadata-table.js';
import type { ControllerRecord, PartitionState, TopicRecord } from './records.js';
import type { RegistrationLease } from './broker-session.js';
import { controllerEpochFence, fenceHolds, type WriteFence } from './write-fence.js';
import {
  TopicFrontend,
  TopicOperationError,
  type CreateTopicRequest,
  type TopicDefaults,
} from './topic-frontend.js';
import { ConfigFrontend } from './config-frontend.js';
import { AclFrontend, type AclDeleteResult, type AclWriteResult } from './acl-frontend.js';
import type { AclBinding, AclBindingFilter } from '../broker/security/acl.js';
import {
  ScramCredentialFrontend,
  type ScramDeletion,
  type ScramUpsertion,
  type UserResult,
} from './scram-frontend.js';
import type { ScramCredentialTable } from './scram-table.js';
import {
  ClientQuotaFrontend,
  type ClientQuotaAlteration,
  type ClientQuotaAlterationResult,
} from './client-quota-frontend.js';
import {
  isReassigning,
  maybeCompleteReassignment,
  onAlterReassignment,
  onElectLeader,
  originalReplicas,
  onAlterPartition,
  onControlledShutdown,
  onLiveBrokersChanged,
  onPreferredLeaderElection,
  restartBlockers,
  type AlterPartitionError,
  type AlterPartitionRequest,
} from './partition-state-machine.js';

export class NotControllerError extends Error {
  override readonly name = 'NotControllerError';
  readonly errorName = 'NOT_CONTROLLER';
  constructor(readonly controllerId: number) {
    super(`this broker is not the active controller (the controller is ${controllerId})`);
  }
}

/** One partition's answer to ElectLeaders or AlterPartitionReassignments: a Kafka error name. */
export interface PartitionResult {
  topic: string;
  partition: number;
  error: string;
  message: string;
}

function unknownPartition(topic: string, partition: number) {
  return {
    error: 'UNKNOWN_TOPIC_OR_PARTITION' as const,
    message: `${topic}-${partition} does not exist`,
  };
}

export interface OngoingReassignment {
  topic: string;
  partition: number;
  replicas: number[];
  addingReplicas: number[];
  removingReplicas: number[];
}

/** How often the active controller looks for reassignments it can finish. */
const REASSIGNMENT_CHECK_MS = 1000;

/** etcd refuses transactions with more than 128 operations by default (--max-txn-ops). */
const MAX_PARTITIONS_PER_TXN = 50;

export interface ControllerOptions {
  nodeId: number;
  store: MetadataStore;
  table: MetadataTable;
  /**
   * The broker's registration lease: the controller key is put under it, so it lives and dies with
   * the registration. A new lease after a lost one is an event the controller campaigns on.
   */
  session: RegistrationLease;
  config: BrokerConfig;
  log: Logger;
  /** This broker's view of the SCRAM credentials, which AlterUserScramCredentials validates against. */
  scramCredentials: ScramCredentialTable;
}

export interface ClusterHealth {
  controllerId: number;
  controllerEpoch: number;
  partitions: number;
  underReplicated: number;
  underMinIsr: number;
  offline: number;
}

export class Controller {
  readonly #o: ControllerOptions;
  readonly #log: Logger;
  readonly #fence: WriteFence;
  readonly #topics: TopicFrontend;
  readonly #configs: ConfigFrontend;
  readonly #acls: AclFrontend;
  readonly #clientQuotas: ClientQuotaFrontend;
  readonly #scram: ScramCredentialFrontend;
  #active = false;
  #epoch = -1;
  #stopped = false;
  #queue: Promise<unknown> = Promise.resolve();
  #reconcileScheduled = false;
  #preferredTimer: NodeJS.Timeout | null = null;
  #reassignmentTimer: NodeJS.Timeout | null = null;
  /** Counters for metrics. */
  leaderElections = 0;
  uncleanElections = 0;

  constructor(o: ControllerOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'controller' });
    // Every write compares the controller key's create revision with the epoch this controller won;
    // -1 (never active) matches no key, so an inactive controller's writes all fail.
    this.#fence = controllerEpochFence(o.table, () => this.#epoch);
    this.#topics = new TopicFrontend(o.store, o.table, this.#fence);
    this.#configs = new ConfigFrontend(o.store, o.table, this.#fence);
    this.#acls = new AclFrontend(o.store, o.table.keys.root, this.#fence);
    this.#clientQuotas = new ClientQuotaFrontend(o.store, o.table.keys.root, this.#fence);
    this.#scram = new ScramCredentialFrontend(o.store, o.scramCredentials, o.table.keys.root, this.#fence);
    // The broker registered again under a new lease (the old one was lost): campaign with it.
    o.session.onRenewed(() => {
      if (this.#active && this.#o.table.controller === null) this.#deactivate('lease replaced');
      void this.#campaign();
    });
  }

  get isActive(): boolean {
    return this.#active;
  }

  get epoch(): number {
    return this.#epoch;
  }

  start(): void {
    const { table } = this.#o;
    table.on('controller', (c) => {
      if (c === null) {
        // Our key is gone (our lease ended while we were paused or cut off): stop acting as the
        // controller at once rather than when the next fenced write fails, then campaign again.
        if (this.#active) this.#deactivate('the controller key was deleted');
        void this.#campaign();
      } else if (this.#active && (c.nodeId !== this.#o.nodeId || c.epoch !== this.#epoch))
        this.#deactivate('another controller was elected');
    });
    table.on('broker', () => this.#active && this.#scheduleReconcile());
    table.on('topic', () => this.#active && this.#scheduleReconcile());
    void this.#campaign();
  }

  async #campaign(): Promise<void> {
    const { table, store, session, nodeId } = this.#o;
    if (this.#stopped || this.#active || table.controller !== null) return;
    const record: ControllerRecord = { nodeId };
    try {
      const lease = session.lease;
      const res = await store.txn(
        [{ key: table.keys.controller, target: 'exists', value: false }],
        [{ type: 'put', key: table.keys.controller, value: JSON.stringify(record), lease: lease.id }],
      );
      if (!res.succeeded) return; // someone else won; the table tells us when the key goes away
      await table.waitForRevision(res.revision);
      // Re-read after the await: the table may have moved on (TypeScript still narrows it to null).
      const now = table.controller as { nodeId: number; epoch: number } | null;
      if (now?.nodeId !== nodeId || now.epoch !== res.revision) return;
      this.#activate(res.revision);
    } catch (err) {
      this.#log.warn({ err }, 'controller campaign failed; retrying');
      setTimeout(() => void this.#campaign(), 1000).unref();
    }
  }

  #activate(epoch: number): void {
    this.#active = true;
    this.#epoch = epoch;
    this.#log.info({ epoch }, 'became the active controller');
    this.#scheduleReconcile();
    const every = Math.max(1, this.#o.config.int('leader.imbalance.check.interval.seconds')) * 1000;
    this.#preferredTimer = setInterval(() => {
      if (this.#o.config.bool('auto.leader.rebalance.enable'))
        void this.#enqueue(() => this.#preferredElection()).catch(() => {});
    }, every);
    this.#preferredTimer.unref();
    this.#reassignmentTimer = setInterval(() => {
      if (this.#hasReassignments())
        void this.#enqueue(() => this.#checkReassignments()).catch((err: unknown) =>
          this.#log.warn({ err }, 'reassignment check failed'),
        );
    }, REASSIGNMENT_CHECK_MS);
    this.#reassignmentTimer.unref();
  }

  #deactivate(reason: string): void {
    if (!this.#active) return;
    this.#active = false;
    if (this.#preferredTimer) clearInterval(this.#preferredTimer);
    this.#preferredTimer = null;
    if (this.#reassignmentTimer) clearInterval(this.#reassignmentTimer);
    this.#reassignmentTimer = null;
    this.#log.warn({ epoch: this.#epoch, reason }, 'no longer the active controller');
  }

  /** Run `fn` after everything queued before it; the controller's single-writer discipline. */
  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => {});
    return next;
  }

  #requireActive(): void {
    if (!this.#active) throw new NotControllerError(this.#o.table.controller?.nodeId ?? -1);
  }

  /**
   * A write failed a compare. When it was the fence (read from the store: this controller's own view
   * may lag, which is exactly when it is deposed without knowing), step down and throw
   * NotControllerError; otherwise return and let the caller handle its other compares.
   */
  async #throwIfFenced(): Promise<void> {
    if (await fenceHolds(this.#o.store, this.#fence)) return;
    this.#deactivate('fenced: the controller key changed');
    throw new NotControllerError(this.#o.table.controller?.nodeId ?? -1);
  }

  /**
   * Write partition states, fenced by the controller epoch and the topics' existence. Returns false
   * when some were not written because their topic was deleted meanwhile.
   */
  async #writeStates(changes: { topic: string; index: number; state: PartitionState }[]): Promise<boolean> {
    let all = true;
    const { store, table } = this.#o;
    for (let i = 0; i < changes.length; i += MAX_PARTITIONS_PER_TXN) {
      const chunk = changes.slice(i, i + MAX_PARTITIONS_PER_TXN);
      const topics = [...new Set(chunk.map((c) => c.topic))];
      const compares: Compare[] = [
        ...this.#fence.compares(),
        ...topics.map((t): Compare => ({ key: table.keys.topic(t), target: 'exists', value: true })),
      ];
      const ops: Op[] = chunk.map((c) => ({
        type: 'put',
        key: table.keys.partition(c.topic, c.index),
        value: JSON.stringify(c.state),
      }));
      const res = await store.txn(compares, ops);
      if (!res.succeeded) {
        await this.#throwIfFenced();
        // A topic was deleted under us; the next reconcile sees the table without it.
        this.#scheduleReconcile();
        all = false;
        continue;
      }
      await table.waitForRevision(res.revision);
    }
    return all;
  }

  #live(): Set<number> {
    return new Set(this.#o.table.brokers.keys());
  }

  #scheduleReconcile(): void {
    if (this.#reconcileScheduled) return;
    this.#reconcileScheduled = true;
    void this.#enqueue(async () => {
      this.#reconcileScheduled = false;
      if (this.#active) await this.#reconcile();
    }).catch((err: unknown) => this.#log.warn({ err }, 'reconcile failed'));
  }

  /** Bring every partition in line with the live brokers. */
  async #reconcile(): Promise<void> {
    const { table } = this.#o;
    const live = this.#live();
    const changes: { topic: string; index: number; state: PartitionState }[] = [];
    for (const [name, t] of table.topics) {
      const unclean =
        (t.configs['unclean.leader.election.enable'] ??
          this.#o.config.raw('unclean.leader.election.enable')) === 'true';
      t.replicas.forEach((replicas, index) => {
        const state = table.partitionState(name, index);
        if (!state) return;
        const next = onLiveBrokersChanged({ replicas, state, live, uncleanLeaderElection: unclean });
        if (!next) return;
        if (next.leader !== state.leader) {
          this.leaderElections++;
          if (next.leader >= 0 && !state.isr.includes(next.leader)) this.uncleanElections++;
          this.#log.info(
            {
              topic: name,
              partition: index,
              from: state.leader,
              to: next.leader,
              leaderEpoch: next.leaderEpoch,
              isr: next.isr,
            },
            'leader changed',
          );
        }
        changes.push({ topic: name, index, state: next });
      });
    }
    if (changes.length > 0) await this.#writeStates(changes);
  }

  async #preferredElection(): Promise<void> {
    if (!this.#active) return;
    const { table } = this.#o;
    const live = this.#live();
    const changes: { topic: string; index: number; state: PartitionState }[] = [];
    for (const [name, t] of table.topics) {
      t.replicas.forEach((replicas, index) => {
        const state = table.partitionState(name, index);
        const next = state && onPreferredLeaderElection(replicas, state, live);
        if (next) changes.push({ topic: name, index, state: next });
      });
    }
    if (changes.length > 0) {
      this.leaderElections += changes.length;
      this.#log.info({ partitions: changes.length }, 'preferred leader election');
      await this.#writeStates(changes);
    }
  }

  /** ElectLeaders (preferred) on demand; returns the partitions whose leader moved. */
  electPreferredLeaders(): Promise<void> {
    return this.#enqueue(async () => {
      this.#requireActive();
      await this.#preferredElection();
    });
  }

  /** A partition's replicas and state, or null when the table has no such partition. */
  #partition(topic: string, partition: number): { replicas: number[]; state: PartitionState } | null {
    const replicas = this.#o.table.topics.get(topic)?.replicas[partition];
    const state = this.#o.table.partitionState(topic, partition);
    return replicas && state ? { replicas, state } : null;
  }

  alterPartition(
    req: AlterPartitionRequest,
  ): Promise<{ error: AlterPartitionError | 'NONE'; message: string; state?: PartitionState }> {
    return this.#enqueue(async () => {
      this.#requireActive();
      const found = this.#partition(req.topic, req.partition);
      if (!found) return unknownPartition(req.topic, req.partition);
      const { replicas, state } = found;
      const r = onAlterPartition(
        replicas,
        state,
        {
          leaderId: req.brokerId,
          leaderEpoch: req.leaderEpoch,
          partitionEpoch: req.partitionEpoch,
          newIsr: req.newIsr,
        },
        this.#live(),
      );
      if ('error' in r) return { error: r.error, message: r.message, state };
      this.#log.info(
        { topic: req.topic, partition: req.partition, from: state.isr, to: r.state.isr },
        'ISR changed',
      );
      // Not written: the topic was deleted meanwhile.
      if (!(await this.#writeStates([{ topic: req.topic, index: req.partition, state: r.state }])))
        return unknownPartition(req.topic, req.partition);
      // An added replica joining the ISR may finish a reassignment.
      if (isReassigning(r.state))
        await this.#checkReassignments().catch((err: unknown) =>
          this.#log.warn({ err }, 'reassignment check failed'),
        );
      return { error: 'NONE' as const, message: '', state: r.state };
    });
  }

  /** ElectLeaders: elect for the given partitions, or every partition when null. */
  electLeaders(
    electionType: number,
    partitions: { topic: string; partition: number }[] | null,
  ): Promise<PartitionResult[]> {
    return this.#enqueue(async () => {
      this.#requireActive();
      const { table } = this.#o;
      const live = this.#live();
      const wanted =
        partitions ??
        [...table.topics].flatMap(([name, t]) =>
          t.replicas.map((_, partition) => ({ topic: name, partition })),
        );
      const results: PartitionResult[] = [];
      const changes: { topic: string; index: number; state: PartitionState }[] = [];
      for (const { topic, partition } of wanted) {
        const found = this.#partition(topic, partition);
        if (!found) {
          results.push({ topic, partition, ...unknownPartition(topic, partition) });
          continue;
        }
        const { replicas, state } = found;
        const r = onElectLeader(electionType, replicas, state, live);
        if ('error' in r) {
          results.push({ topic, partition, error: r.error, message: r.message });
          continue;
        }
        changes.push({ topic, index: partition, state: r.state });
        results.push({ topic, partition, error: 'NONE', message: '' });
        this.leaderElections++;
        if (!state.isr.includes(r.state.leader)) this.uncleanElections++;
        this.#log.info(
          {
            topic,
            partition,
            from: state.leader,
            to: r.state.leader,
            leaderEpoch: r.state.leaderEpoch,
            electionType,
          },
          'leader elected on request',
        );
      }
      if (changes.length > 0) await this.#writeStates(changes);
      return results;
    });
  }

  /** AlterPartitionReassignments: start, replace or (replicas null) cancel reassignments. */
  alterReassignments(
    reqs: { topic: string; partition: number; replicas: number[] | null }[],
  ): Promise<PartitionResult[]> {
    return this.#enqueue(async () => {
      this.#requireActive();
      const { table } = this.#o;
      const live = this.#live();
      const registered = new Set(table.brokers.keys());
      const results: PartitionResult[] = [];
      const byTopic = new Map<string, { index: number; replicas: number[]; state: PartitionState }[]>();
      for (const { topic, partition, replicas: target } of reqs) {
        const found = this.#partition(topic, partition);
        if (!found) {
          results.push({ topic, partition, ...unknownPartition(topic, partition) });
          continue;
        }
        const { replicas, state } = found;
        const r = onAlterReassignment(replicas, state, target, registered, live);
        if ('error' in r) {
          results.push({ topic, partition, error: r.error, message: r.message });
          continue;
        }
        let l = byTopic.get(topic);
        if (!l) byTopic.set(topic, (l = []));
        l.push({ index: partition, ...r });
        results.push({ topic, partition, error: 'NONE', message: '' });
        this.#log.info(
          {
            topic,
            partition,
            from: originalReplicas(replicas, state),
            to: target,
            replicas: r.replicas,
            adding: r.state.addingReplicas,
            removing: r.state.removingReplicas,
          },
          target ? 'reassignment started' : 'reassignment cancelled',
        );
      }
      for (const [topic, changes] of byTopic) {
        if (!(await this.#writeReassignment(topic, changes))) {
          for (const res of results)
            if (res.topic === topic && res.error === 'NONE')
              Object.assign(res, {
                error: 'CONCURRENT_TRANSACTIONS',
                message: `topic ${topic} changed concurrently; retry`,
              });
        }
      }
      // A reassignment with nothing to copy may be finished at once.
      await this.#checkReassignments();
      return results;
    });
  }

  /** ListPartitionReassignments: the reassignments in progress (of the given partitions, or all). */
  listReassignments(partitions: { topic: string; partition: number }[] | null): OngoingReassignment[] {
    this.#requireActive();
    return listReassignments(this.#o.table, partitions);
  }

  #hasReassignments(): boolean {
    for (const m of this.#o.table.partitions.values())
      for (const s of m.values()) if (isReassigning(s)) return true;
    return false;
  }

  /** Finish every reassignment whose added replicas are all in the ISR. Runs inside the queue. */
  async #checkReassignments(): Promise<void> {
    if (!this.#active) return;
    const { table } = this.#o;
    const live = this.#live();
    for (const [topic, states] of table.partitions) {
      const t = table.topics.get(topic);
      if (!t) continue;
      const changes: { index: number; replicas: number[]; state: PartitionState }[] = [];
      for (const [index, state] of states) {
        const replicas = t.replicas[index];
        const step = replicas && maybeCompleteReassignment(replicas, state, live);
        if (!step) continue;
        changes.push({ index, ...step });
        if (step.state.leader !== state.leader) this.leaderElections++;
        this.#log.info(
          {
            topic,
            partition: index,
            replicas: step.replicas,
            isr: step.state.isr,
            leader: step.state.leader,
            leaderEpoch: step.state.leaderEpoch,
          },
          'reassignment completed',
        );
      }
      if (changes.length > 0) await this.#writeReassignment(topic, changes);
    }
  }

  /**
   * Write a topic's new replica assignment together with its partitions' states, in one transaction
   * fenced by the controller epoch and the topic record as read (a concurrent CreatePartitions or
   * delete makes it fail). The topic record goes first, so brokers see the replicas before the state.
   */
  async #writeReassignment(
    topic: string,
    changes: { index: number; replicas: number[]; state: PartitionState }[],
  ): Promise<boolean> {
    for (let i = 0; i < changes.length; i += MAX_PARTITIONS_PER_TXN) {
      if (!(await this.#writeReassignmentChunk(topic, changes.slice(i, i + MAX_PARTITIONS_PER_TXN))))
        return false;
    }
    return true;
  }

  async #writeReassignmentChunk(
    topic: string,
    changes: { index: number; replicas: number[]; state: PartitionState }[],
  ): Promise<boolean> {
    const { store, table } = this.#o;
    const t = table.topics.get(topic);
    if (!t) return false;
    const replicas = t.replicas.map((r) => r.slice());
    for (const c of changes) replicas[c.index] = c.replicas;
    const next: TopicRecord = { ...t, replicas };
    const ops: Op[] = [{ type: 'put', key: table.keys.topic(topic), value: JSON.stringify(next) }];
    for (const c of changes)
      ops.push({ type: 'put', key: table.keys.partition(topic, c.index), value: JSON.stringify(c.state) });
    const res = await store.txn(
      [
        ...this.#fence.compares(),
        { key: table.keys.topic(topic), target: 'value', op: '=', value: JSON.stringify(t) },
      ],
      ops,
    );
    if (!res.succeeded) {
      await this.#throwIfFenced();
      return false;
    }
    await table.waitForRevision(res.revision);
    return true;
  }

  /**
   * An admin write forwarded by a broker, in the queue like every other write. Validation failures
   * are TopicOperationErrors with Kafka's error name and message, passed on as they are; a write
   * the fence refused means another controller was elected: step down and say NOT_CONTROLLER.
   * The writes answer the store revision they were made at (0: nothing written), for the
   * forwarding broker to wait for before it answers its client.
   */
  #adminWrite<T>(fn: () => Promise<T>): Promise<T> {
    return this.#enqueue(async () => {
      this.#requireActive();
      try {
        return await fn();
      } catch (err) {
        if (err instanceof TopicOperationError && err.errorName === 'NOT_CONTROLLER') {
          this.#deactivate('fenced: the controller key changed');
          throw new NotControllerError(this.#o.table.controller?.nodeId ?? -1);
        }
        throw err;
      }
    });
  }

  /** CreateTopics (and automatic creation): `defaults` are the forwarding broker's. */
  createTopic(
    req: CreateTopicRequest,
    defaults: TopicDefaults,
    allowInternal: boolean,
  ): Promise<{ record: TopicRecord; revision: number }> {
    return this.#adminWrite(() => this.#topics.create(req, defaults, allowInternal));
  }

  deleteTopic(name: string): Promise<number> {
    return this.#adminWrite(() => this.#topics.delete(name));
  }

  createPartitions(
    name: string,
    count: number,
    assignment: number[][] | null,
    validateOnly: boolean,
  ): Promise<number> {
    return this.#adminWrite(() => this.#topics.createPartitions(name, count, assignment, validateOnly));
  }

  alterTopicConfigs(name: string, configs: Record<string, string>, validateOnly: boolean): Promise<number> {
    return this.#adminWrite(() => this.#topics.alterConfigs(name, configs, validateOnly));
  }

  alterBrokerConfigs(
    id: number | 'default',
    configs: Record<string, string>,
    validateOnly: boolean,
  ): Promise<number> {
    return this.#adminWrite(() => this.#configs.setBrokerConfigs(id, configs, validateOnly));
  }

  /** CreateAcls: one result per binding, and the revision to wait for. */
  createAcls(bindings: AclBinding[]): Promise<{ results: AclWriteResult[]; revision: number }> {
    return this.#adminWrite(() => this.#acls.create(bindings));
  }

  /** DeleteAcls: one result per filter with the ACLs it removed, and the revision to wait for. */
  deleteAcls(filters: AclBindingFilter[]): Promise<{ results: AclDeleteResult[]; revision: number }> {
    return this.#adminWrite(() => this.#acls.delete(filters));
  }

  /** AlterClientQuotas: per-entity results and the write's revision (0: nothing written). */
  alterClientQuotas(
    alterations: ClientQuotaAlteration[],
    validateOnly: boolean,
  ): Promise<{ results: ClientQuotaAlterationResult[]; revision: number }> {
    return this.#adminWrite(() => this.#clientQuotas.alter(alterations, validateOnly));
  }

  /** AlterUserScramCredentials: per-user results and the write's revision (0: nothing written). */
  alterUserScramCredentials(
    deletions: ScramDeletion[],
    upsertions: ScramUpsertion[],
  ): Promise<{ results: UserResult[]; revision: number }> {
    return this.#adminWrite(() => this.#scram.alter(deletions, upsertions));
  }

  /** Move every leadership off `broker` and take it out of ISRs; returns partitions it still leads. */
  controlledShutdown(broker: number): Promise<string[]> {
    return this.#enqueue(async () => {
      this.#requireActive();
      const { table } = this.#o;
      const live = this.#live();
      const changes: { topic: string; index: number; state: PartitionState }[] = [];
      const remaining: string[] = [];
      for (const [name, t] of table.topics) {
        t.replicas.forEach((replicas, index) => {
          const state = table.partitionState(name, index);
          if (!state) return;
          const next = onControlledShutdown(replicas, state, broker, live);
          if (next) {
            changes.push({ topic: name, index, state: next });
            if (next.leader !== state.leader) this.leaderElections++;
          } else if (state.leader === broker) remaining.push(`${name}-${index}`);
        });
      }
      if (changes.length > 0) {
        this.#log.info(
          { broker, partitions: changes.length, remaining: remaining.length },
          'controlled shutdown: moving leaderships',
        );
        await this.#writeStates(changes);
      }
      return remaining;
    });
  }

  safeToRestart(broker: number): { safe: boolean; reasons: string[] } {
    this.#requireActive();
    const reasons = restartBlockers(this.#partitionsWithMinIsr(), broker);
    if (!this.#o.table.brokers.has(broker)) reasons.push(`broker ${broker} is not registered`);
    return { safe: reasons.length === 0, reasons };
  }

  #partitionsWithMinIsr(): {
    topic: string;
    index: number;
    replicas: number[];
    state: PartitionState;
    minIsr: number;
  }[] {
    const { table, config } = this.#o;
    const out: { topic: string; index: number; replicas: number[]; state: PartitionState; minIsr: number }[] =
      [];
    for (const [name, t] of table.topics) {
      const minIsr = Number(t.configs['min.insync.replicas'] ?? config.int('min.insync.replicas'));
      t.replicas.forEach((replicas, index) => {
        const state = table.partitionState(name, index);
        if (state) out.push({ topic: name, index, replicas, state, minIsr });
      });
    }
    return out;
  }

  health(): ClusterHealth {
    const parts = this.#partitionsWithMinIsr();
    return {
      controllerId: this.#o.table.controller?.nodeId ?? -1,
      controllerEpoch: this.#o.table.controller?.epoch ?? -1,
      partitions: parts.length,
      underReplicated: parts.filter((p) => p.state.isr.length < p.replicas.length).length,
      underMinIsr: parts.filter((p) => p.state.isr.length < p.minIsr).length,
      offline: parts.filter((p) => p.state.leader < 0 || !this.#o.table.brokers.has(p.state.leader)).length,
    };
  }

  /** Stop campaigning; resigning happens when the broker revokes its lease. */
  stop(): void {
    this.#stopped = true;
    this.#deactivate('shutting down');
  }
}

/** The reassignments in progress in `table` (of the given partitions, or all), for ListPartitionReassignments. */
export function listReassignments(
  table: MetadataTable,
  partitions: { topic: string; partition: number }[] | null,
): OngoingReassignment[] {
  const out: OngoingReassignment[] = [];
  const wanted =
    partitions ??
    [...table.partitions].flatMap(([topic, m]) =>
      [...m.keys()].sort((a, b) => a - b).map((partition) => ({ topic, partition })),
    );
  for (const { topic, partition } of wanted) {
    const state = table.partitionState(topic, partition);
    const replicas = table.topics.get(topic)?.replicas[partition];
    if (!state || !replicas || !isReassigning(state)) continue;
    out.push({
      topic,
      partition,
      replicas,
      addingReplicas: state.addingReplicas ?? [],
      removingReplicas: state.removingReplicas ?? [],
    });
  }
  return out;
}
