/**
 * InternalTopic: one internal topic the broker creates itself (__consumer_offsets for the group
 * coordinator, __transaction_state for the transaction coordinator). Created on first need with its
 * owner's partition count, replication factor and configs, once even with concurrent callers; and the
 * live leader of one of its partitions, which is what FindCoordinator answers.
 *
 * Sluice differs from Kafka in one point: with fewer live brokers than the configured replication
 * factor (`offsets.topic.replication.factor`, `transaction.state.log.replication.factor`) the topic
 * is created with as many replicas as there are brokers, where Kafka refuses until enough brokers are
 * up. A single-node broker with Kafka's default of 3 then works out of the box.
 */
import type { Logger } from '../common/logger.js';
import type { MetadataTable } from '../controller/metadata-table.js';
import type { TopicAdmin } from '../controller/admin-writes.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { errorCodeOf } from './error-mapping.js';

export interface InternalTopicOptions {
  readonly name: string;
  readonly table: MetadataTable;
  readonly topics: TopicAdmin;
  readonly log: Logger;
  /** The configured partition count (used only when the topic does not exist yet). */
  readonly numPartitions: () => number;
  /** The configured replication factor, before capping by the live brokers. */
  readonly replicationFactor: () => number;
  /** The topic's configs for the replication factor it is created with. */
  readonly configs: (replicationFactor: number) => Record<string, string>;
}

export class InternalTopic {
  readonly name: string;
  readonly #o: InternalTopicOptions;
  #creating: Promise<void> | null = null;

  constructor(o: InternalTopicOptions) {
    this.name = o.name;
    this.#o = o;
  }

  /** The partition count: the existing topic's, else the configured one. */
  get numPartitions(): number {
    return this.#o.table.topics.get(this.name)?.replicas.length ?? this.#o.numPartitions();
  }

  /** Create the topic if it does not exist yet; resolves once it exists. */
  async ensure(): Promise<void> {
    if (this.#o.table.topics.has(this.name)) return;
    this.#creating ??= (async () => {
      const rf = Math.min(this.#o.replicationFactor(), Math.max(1, this.#o.table.brokers.size));
      try {
        await this.#o.topics.create(
          {
            name: this.name,
            numPartitions: this.#o.numPartitions(),
            replicationFactor: rf,
            configs: this.#o.configs(rf),
          },
          { numPartitions: 1, replicationFactor: 1 },
          true,
        );
        this.#o.log.info({ partitions: this.numPartitions, replicationFactor: rf }, `created ${this.name}`);
      } catch (err) {
        if (errorCodeOf(err) !== ErrorCode.TOPIC_ALREADY_EXISTS) throw err;
      } finally {
        this.#creating = null;
      }
    })();
    await this.#creating;
  }

  /** The live leader of one partition, or -1. */
  leaderOf(partition: number): number {
    const st = this.#o.table.partitionState(this.name, partition);
    return st && st.leader >= 0 && this.#o.table.brokers.has(st.leader) ? st.leader : -1;
  }
}
