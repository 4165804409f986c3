/**
 * TopicFrontend: validates topic admin operations and writes them to the metadata store as one
 * transaction each. It checks what Kafka's controller checks (names, collisions, partition counts,
 * replication factor against registered brokers, configs) and reports failures with the Kafka error
 * name the handler returns to the client.
 *
 * Its owner is the controller: in cluster mode the active Controller (brokers forward admin writes
 * to it, see admin-writes.ts), on a single node the broker itself. Every write carries the owner's
 * fence (write-fence.ts), given at construction; a write refused by the fence is NOT_CONTROLLER.
 */
import { randomUUID } from 'node:crypto';
import type { MetadataStore, Op } from './metadata-store.js';
import type { MetadataTable } from './metadata-table.js';
import type { PartitionState, TopicRecord } from './records.js';
import {
  INTERNAL_TOPICS,
  topicNameProblem,
  topicsCollide,
  validateTopicConfigs,
} from '../common/topic-config.js';
import { InvalidConfigError } from '../common/config-def.js';
import { reassignmentTargetProblem, targetReplicas } from './partition-state-machine.js';
import { fenceHolds, type WriteFence } from './write-fence.js';

/** A failure with the Kafka error name (error-codes.ts) the client should see. */
export class TopicOperationError extends Error {
  override readonly name = 'TopicOperationError';
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
  }
}

export interface CreateTopicRequest {
  name: string;
  /** -1 = broker default (num.partitions), when no assignment is given. */
  numPartitions: number;
  /** -1 = broker default (default.replication.factor). */
  replicationFactor: number;
  /** Explicit assignment: replicas per partition. */
  assignment?: number[][];
  configs?: Record<string, string | null>;
}

export interface TopicDefaults {
  numPartitions: number;
  replicationFactor: number;
}

/** Kafka's topic id for "no id": all zeros (Uuid.ZERO_UUID). */
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/**
 * Validate a CreateTopics entry against `table` without writing; returns the record that would be
 * created (with a fresh topic id). Shared by the frontend and by brokers answering validateOnly.
 */
export function planTopic(
  table: MetadataTable,
  req: CreateTopicRequest,
  defaults: TopicDefaults,
  allowInternal = false,
): TopicRecord {
  const problem = topicNameProblem(req.name);
  if (problem) throw new TopicOperationError('INVALID_TOPIC_EXCEPTION', problem);
  if (INTERNAL_TOPICS.has(req.name) && !allowInternal) {
    throw new TopicOperationError('INVALID_REQUEST', `Creation of internal topic ${req.name} is prohibited.`);
  }
  if (table.topics.has(req.name)) {
    throw new TopicOperationError('TOPIC_ALREADY_EXISTS', `Topic '${req.name}' already exists.`);
  }
  for (const existing of table.topics.keys()) {
    if (topicsCollide(existing, req.name)) {
      throw new TopicOperationError(
        'INVALID_TOPIC_EXCEPTION',
        `Topic '${req.name}' collides with existing topic: ${existing}`,
      );
    }
  }
  const configs: Record<string, string> = {};
  try {
    validateTopicConfigs(req.configs ?? {});
  } catch (err) {
    if (err instanceof InvalidConfigError) throw new TopicOperationError('INVALID_CONFIG', err.message);
    throw err;
  }
  for (const [k, v] of Object.entries(req.configs ?? {})) if (v !== null) configs[k] = v;

  // In the order and words of Kafka's ReplicationControlManager.createTopic.
  const brokers = [...table.brokers.keys()].sort((a, b) => a - b);
  let replicas: number[][];
  if (req.assignment && req.assignment.length > 0) {
    if (req.replicationFactor !== -1)
      throw new TopicOperationError(
        'INVALID_REQUEST',
        'A manual partition assignment was specified, but replication factor was not set to -1.',
      );
    if (req.numPartitions !== -1)
      throw new TopicOperationError(
        'INVALID_REQUEST',
        'A manual partition assignment was specified, but numPartitions was not set to -1.',
      );
    replicas = req.assignment.map((r) => [...r]);
    checkAssignment(replicas, brokers);
  } else {
    if (req.replicationFactor < -1 || req.replicationFactor === 0)
      throw new TopicOperationError(
        'INVALID_REPLICATION_FACTOR',
        'Replication factor must be larger than 0, or -1 to use the default value.',
      );
    if (req.numPartitions < -1 || req.numPartitions === 0)
      throw new TopicOperationError(
        'INVALID_PARTITIONS',
        'Number of partitions was set to an invalid non-positive value.',
      );
    const n = req.numPartitions === -1 ? defaults.numPartitions : req.numPartitions;
    const rf = req.replicationFactor === -1 ? defaults.replicationFactor : req.replicationFactor;
    if (rf > brokers.length) {
      throw new TopicOperationError(
        'INVALID_REPLICATION_FACTOR',
        `Unable to replicate the partition ${rf} time(s): The target replication factor of ${rf} cannot be reached because only ${brokers.length} broker(s) are registered.`,
      );
    }
    replicas = assign(table, n, rf, 0);
  }
  return { name: req.name, topicId: randomUUID(), replicas, configs };
}

/** Assign `n` partitions from partition `startPartition` on over the registered brokers, by rack when they have racks. */
function assign(table: MetadataTable, n: number, rf: number, startPartition: number): number[][] {
  const brokers = [...table.brokers.values()].map((b) => ({ id: b.nodeId, rack: b.rack ?? null }));
  try {
    return assignReplicasToBrokers(brokers, n, rf, 0, startPartition);
  } catch (err) {
    if (err instanceof AssignmentError)
      throw new TopicOperationError('INVALID_REPLICA_ASSIGNMENT', err.message);
    throw err;
  }
}

/**
 * Manual replica assignments, as Kafka's validateManualPartitionAssignment checks each partition in
 * turn: a non-empty list of distinct registered brokers, as many as the partitions before it have.
 */
function checkAssignment(replicas: number[][], brokers: number[]): void {
  const registered = new Set(brokers);
  let rf: number | undefined;
  for (const r of replicas) {
    const problem = reassignmentTargetProblem(r, registered);
    if (problem !== null) throw new TopicOperationError('INVALID_REPLICA_ASSIGNMENT', problem);
    if (rf !== undefined && r.length !== rf)
      throw new TopicOperationError(
        'INVALID_REPLICA_ASSIGNMENT',
        `The manual partition assignment includes a partition with ${r.length} replica(s), but this is not consistent with previous partitions, which have ${rf} replica(s).`,
      );
    rf = r.length;
  }
}

/**
 * The writes answer the store revision they were made at (0 when nothing was written), which the
 * controller passes back to a forwarding broker to wait for; this frontend has already waited for
 * its own table.
 */
export class TopicFrontend {
  readonly #store: MetadataStore;
  readonly #table: MetadataTable;
  readonly #fence: WriteFence;

  /** `fence`: the writer's condition on every write (the controller epoch); see write-fence.ts. */
  constructor(store: MetadataStore, table: MetadataTable, fence: WriteFence) {
    this.#store = store;
    this.#table = table;
    this.#fence = fence;
  }

  /** Validate without writing; returns the record that would be created. */
  plan(req: CreateTopicRequest, defaults: TopicDefaults, allowInternal = false): TopicRecord {
    return planTopic(this.#table, req, defaults, allowInternal);
  }

  /**
   * A write failed a compare. When it was the fence, this writer is no longer the controller: say
   * so rather than blame the request. Otherwise return, and the caller names the other compare.
   */
  async #throwIfFenced(): Promise<void> {
    if (!(await fenceHolds(this.#store, this.#fence)))
      throw new TopicOperationError('NOT_CONTROLLER', 'This broker is no longer the controller.');
  }

  #initialState(replicas: number[]): PartitionState {
    const live = replicas.filter((b) => this.#table.brokers.has(b));
    return { leader: live[0] ?? -1, leaderEpoch: 0, isr: live, partitionEpoch: 0 };
  }

  async create(
    req: CreateTopicRequest,
    defaults: TopicDefaults,
    allowInternal = false,
  ): Promise<{ record: TopicRecord; revision: number }> {
    const record = this.plan(req, defaults, allowInternal);
    const k = this.#table.keys;
    const ops: Op[] = [{ type: 'put', key: k.topic(record.name), value: JSON.stringify(record) }];
    record.replicas.forEach((r, p) => {
      ops.push({
        type: 'put',
        key: k.partition(record.name, p),
        value: JSON.stringify(this.#initialState(r)),
      });
    });
    const res = await this.#store.txn(
      [{ key: k.topic(record.name), target: 'exists', value: false }, ...this.#fence.compares()],
      ops,
    );
    if (!res.succeeded) {
      await this.#throwIfFenced();
      throw new TopicOperationError('TOPIC_ALREADY_EXISTS', `Topic '${record.name}' already exists.`);
    }
    await this.#table.waitForRevision(res.revision);
    return { record, revision: res.revision };
  }

  async delete(name: string): Promise<number> {
    const t = this.#table.topics.get(name);
    if (!t) throw new TopicOperationError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
    if (INTERNAL_TOPICS.has(name)) {
      throw new TopicOperationError('TOPIC_DELETION_DISABLED', `Internal topic ${name} cannot be deleted.`);
    }
    const k = this.#table.keys;
    const res = await this.#store.txn(
      [{ key: k.topic(name), target: 'exists', value: true }, ...this.#fence.compares()],
      [
        { type: 'delete', key: k.topic(name) },
        { type: 'deletePrefix', prefix: k.partitionsOf(name) },
      ],
    );
    if (!res.succeeded) {
      await this.#throwIfFenced();
      throw new TopicOperationError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
    }
    await this.#table.waitForRevision(res.revision);
    return res.revision;
  }

  /** Grow a topic to `count` partitions (CreatePartitions). Returns the plan when validateOnly. */
  async createPartitions(
    name: string,
    count: number,
    assignment: number[][] | null,
    validateOnly: boolean,
  ): Promise<number> {
    const t = this.#table.topics.get(name);
    if (!t)
      throw new TopicOperationError('UNKNOWN_TOPIC_OR_PARTITION', `The topic '${name}' does not exist.`);
    const current = t.replicas.length;
    if (count < current) {
      throw new TopicOperationError(
        'INVALID_PARTITIONS',
        `The topic ${name} currently has ${current} partition(s); ${count} would not be an increase.`,
      );
    }
    if (count === current) {
      throw new TopicOperationError('INVALID_PARTITIONS', `Topic already has ${current} partition(s).`);
    }
    const brokers = [...this.#table.brokers.keys()].sort((a, b) => a - b);
    // Partition 0's replicas, without those a reassignment in progress is removing: the topic's RF.
    const first = t.replicas[0] ?? [];
    const firstState = this.#table.partitionState(name, 0);
    const firstTarget = firstState ? targetReplicas(first, firstState) : first;
    const rf = firstTarget.length || 1;
    let added: number[][];
    if (assignment && assignment.length > 0) {
      if (assignment.length !== count - current) {
        throw new TopicOperationError(
          'INVALID_REPLICA_ASSIGNMENT',
          `Increasing the number of partitions by ${count - current} but ${assignment.length} assignments provided.`,
        );
      }
      added = assignment;
      checkAssignment([firstTarget, ...added], brokers);
    } else {
      if (rf > brokers.length) {
        throw new TopicOperationError(
          'INVALID_REPLICATION_FACTOR',
          `Replication factor ${rf} exceeds the ${brokers.length} registered broker(s).`,
        );
      }
      added = assign(this.#table, count - current, rf, current);
    }
    if (validateOnly) return 0;
    const next: TopicRecord = { ...t, replicas: [...t.replicas, ...added] };
    const k = this.#table.keys;
    const ops: Op[] = [{ type: 'put', key: k.topic(name), value: JSON.stringify(next) }];
    added.forEach((r, i) =>
      ops.push({
        type: 'put',
        key: k.partition(name, current + i),
        value: JSON.stringify(this.#initialState(r)),
      }),
    );
    const res = await this.#store.txn(
      [{ key: k.topic(name), target: 'value', op: '=', value: JSON.stringify(t) }, ...this.#fence.compares()],
      ops,
    );
    if (!res.succeeded) {
      await this.#throwIfFenced();
      throw new TopicOperationError(
        'CONCURRENT_TRANSACTIONS',
        `Topic '${name}' changed concurrently; retry.`,
      );
    }
    await this.#table.waitForRevision(res.revision);
    return res.revision;
  }

  /** Replace (AlterConfigs) or patch (IncrementalAlterConfigs) a topic's config overrides. */
  async alterConfigs(name: string, next: Record<string, string>, validateOnly: boolean): Promise<number> {
    const t = this.#table.topics.get(name);
    if (!t) throw new TopicOperationError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
    try {
      validateTopicConfigs(next);
    } catch (err) {
      if (err instanceof InvalidConfigError) throw new TopicOperationError('INVALID_CONFIG', err.message);
      throw err;
    }
    if (validateOnly) return 0;
    const k = this.#table.keys;
    const updated: TopicRecord = { ...t, configs: { ...next } };
    const res = await this.#store.txn(
      [{ key: k.topic(name), target: 'value', op: '=', value: JSON.stringify(t) }, ...this.#fence.compares()],
      [{ type: 'put', key: k.topic(name), value: JSON.stringify(updated) }],
    );
    if (!res.succeeded) {
      await this.#throwIfFenced();
      throw new TopicOperationError(
        'CONCURRENT_TRANSACTIONS',
        `Topic '${name}' changed concurrently; retry.`,
      );
    }
    await this.#table.waitForRevision(res.revision);
    return res.revision;
  }
}

/**
 * Kafka's rack-unaware replica assignment (AdminUtils.assignReplicasToBrokersRackUnaware): leaders
 * round-robin over the brokers; followers follow the leader at a shift that grows every full round,
 * so replicas spread evenly. The start index is fixed at 0 here to keep assignments reproducible.
 */
export function assignReplicas(
  brokers: number[],
  partitions: number,
  rf: number,
  startIndex = 0,
): number[][] {
  const n = brokers.length;
  const out: number[][] = [];
  let shift = startIndex;
  for (let p = 0; p < partitions; p++) {
    if (p > 0 && p % n === 0) shift++;
    const first = (startIndex + p) % n;
    const replicas = [brokers[first]!];
    for (let j = 0; j < rf - 1; j++) {
      const idx = (first + 1 + ((shift + j) % (n - 1))) % n;
      replicas.push(brokers[idx]!);
    }
    out.push(replicas);
  }
  return out;
}

export class AssignmentError extends Error {
  override readonly name = 'AssignmentError';
}

/**
 * Replica assignment over registered brokers (Kafka's AdminUtils.assignReplicasToBrokers with
 * RackAwareMode.Enforced): rack-aware when every broker has a rack, rack-unaware when none has, an
 * error when only some have. Partitions are numbered from `startPartition` (CreatePartitions goes on
 * where the topic ends, so the new partitions continue the same round-robin).
 */
export function assignReplicasToBrokers(
  brokers: { id: number; rack: string | null }[],
  partitions: number,
  rf: number,
  startIndex = 0,
  startPartition = 0,
): number[][] {
  if (rf <= 0) throw new AssignmentError('Replication factor must be larger than 0.');
  if (rf > brokers.length)
    throw new AssignmentError(`Replication factor: ${rf} larger than available brokers: ${brokers.length}.`);
  const withRack = brokers.filter((b) => b.rack !== null && b.rack !== '');
  if (withRack.length === 0) {
    const ids = brokers.map((b) => b.id).sort((a, b) => a - b);
    return assignReplicas(ids, startPartition + partitions, rf, startIndex).slice(startPartition);
  }
  if (withRack.length !== brokers.length)
    throw new AssignmentError('Not all brokers have rack information for replica rebalancing.');
  const racks = new Map(brokers.map((b) => [b.id, b.rack!]));
  return assignReplicasRackAware(racks, partitions, rf, startIndex, startPartition);
}

/**
 * The brokers in rack-alternating order (Kafka's getRackAlternatedBrokerList): racks sorted by name,
 * brokers sorted by id within each rack, one broker from each rack in turn. With racks a: [1, 2],
 * b: [3], c: [4, 5] the order is 1, 3, 4, 2, 5.
 */
export function rackAlternatedBrokers(racks: ReadonlyMap<number, string>): number[] {
  const byRack = new Map<string, number[]>();
  for (const [id, rack] of racks) {
    let l = byRack.get(rack);
    if (!l) byRack.set(rack, (l = []));
    l.push(id);
  }
  const names = [...byRack.keys()].sort();
  for (const l of byRack.values()) l.sort((a, b) => a - b);
  const out: number[] = [];
  for (let round = 0; out.length < racks.size; round++) {
    for (const name of names) {
      const id = byRack.get(name)![round];
      if (id !== undefined) out.push(id);
    }
  }
  return out;
}

/**
 * Kafka's rack-aware assignment (AdminUtils.assignReplicasToBrokersRackAware). Leaders go round-robin
 * over the rack-alternating broker list, so consecutive partitions lead in different racks. Each
 * follower is found by walking on from the leader at a shift (which grows by the number of racks
 * every full round of partitions) and skipping brokers in a rack that already has a replica — until
 * every rack has one — and brokers already chosen — until every broker has one. So when there are at
 * least RF racks a partition's replicas are all in different racks.
 */
export function assignReplicasRackAware(
  racks: ReadonlyMap<number, string>,
  partitions: number,
  rf: number,
  startIndex = 0,
  startPartition = 0,
): number[][] {
  const arranged = rackAlternatedBrokers(racks);
  const n = arranged.length;
  if (rf > n) throw new AssignmentError(`Replication factor: ${rf} larger than available brokers: ${n}.`);
  const numRacks = new Set(racks.values()).size;
  const out: number[][] = [];
  let shift = startIndex;
  // Partitions before startPartition are walked but not returned, so the shift is as it was there.
  for (let p = 0; p < startPartition + partitions; p++) {
    if (p > 0 && p % n === 0) shift++;
    if (p < startPartition) continue;
    const first = (p + startIndex) % n;
    const leader = arranged[first]!;
    const chosen = [leader];
    const racksUsed = new Set([racks.get(leader)!]);
    let k = 0;
    for (let j = 0; j < rf - 1; j++) {
      for (;;) {
        const broker = arranged[(first + 1 + ((shift * numRacks + k) % (n - 1))) % n]!;
        const rack = racks.get(broker)!;
        k++;
        if (
          (!racksUsed.has(rack) || racksUsed.size === numRacks) &&
          (!chosen.includes(broker) || chosen.length === n)
        ) {
          chosen.push(broker);
          racksUsed.add(rack);
          break;
        }
      }
    }
    out.push(chosen);
  }
  return out;
}
