/**
 * KIP-890 on the partition leader (Kafka's AddPartitionsToTxnManager, simplified): before a
 * transactional batch that does not continue its producer's open transaction here is appended, the
 * leader asks the transaction coordinator about the partition with an AddPartitionsToTxn v4+:
 *  - part 1 (Produce v11 and below): verifyOnly=true, "is the partition in the producer's open
 *    transaction?". This closes the "hanging transaction" window (a late batch of an
 *    already-completed transaction opening a new one nobody will end).
 *  - part 2 (Produce v12+, TxnOffsetCommit v5+): a producer of transaction version 2 sent no
 *    AddPartitionsToTxn / AddOffsetsToTxn; verifyOnly=false asks the coordinator to add the
 *    partition to the transaction (starting it if none is open), as Kafka's
 *    TransactionSupportedOperation "addPartition" does. As in Kafka, the request version decides,
 *    not the finalized transaction.version: clients send these versions in a transaction only when
 *    they saw TV2 finalized, and a producer that started under TV2 keeps it until it initializes
 *    again, also across a `kafka-features.sh downgrade`.
 * Only a confirmed (or added) partition gets the verification guard the append needs.
 *
 * The coordinator is the leader of the transactional id's `__transaction_state` partition: asked
 * in-process when that is this broker, else over the inter-broker listener. Unlike Kafka, requests
 * are not batched per coordinator broker yet (one request per produce request).
 *
 * Errors as Kafka maps them for producers: coordinator unavailable/moving/loading, concurrent
 * transactions and transport failures become NOT_ENOUGH_REPLICAS (retriable: the producer retries
 * the batch); TRANSACTION_ABORTABLE becomes INVALID_TXN_STATE for Produce before v11; the rest pass.
 * Under TV2 the add is answered CONCURRENT_TRANSACTIONS while the coordinator still writes the
 * previous transaction's markers, which is common right after a commit: as Kafka's ReplicaManager
 * does, the leader asks again every `add.partitions.to.txn.retry.backoff.ms` (20) for up to
 * `add.partitions.to.txn.retry.backoff.max.ms` (100, at most request.timeout.ms) before answering,
 * and then answers CONCURRENT_TRANSACTIONS itself (retriable), not NOT_ENOUGH_REPLICAS.
 */
import type { MetadataTable } from '../../controller/metadata-table.js';
import { endpointFor } from '../../controller/records.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import {
  isTransactional,
  readBatchHeader,
  RECORD_BATCH_HEADER_SIZE,
} from '../../protocol/records/batch-header.js';
import { KafkaClient } from '../../client/index.js';
import type { Logger } from '../../common/logger.js';
import { errorCodeOf } from '../error-mapping.js';
import type { ProduceInput, ProducePartitionResult, ReplicaManager } from '../replica-manager.js';
import { producePartitionError } from '../replica-manager.js';
import type { TransactionCoordinator } from './transaction-coordinator.js';
import { TRANSACTION_STATE_TOPIC } from './transaction-log.js';
import type { TopicPartition } from './topic-partitions.js';

export interface ProduceVerifierOptions {
  nodeId: number;
  table: MetadataTable;
  replicaManager: ReplicaManager;
  coordinator: TransactionCoordinator;
  interBrokerListener: string;
  requestTimeoutMs: () => number;
  /** TV2 add answered CONCURRENT_TRANSACTIONS: the backoff between asks, and how long to keep asking. */
  addPartitionsRetryBackoffMs?: () => number;
  addPartitionsRetryBackoffMaxMs?: () => number;
  log: Logger;
}

export class ProduceVerifier {
  readonly #clients = new Map<number, KafkaClient>();
  readonly #o: ProduceVerifierOptions;

  constructor(o: ProduceVerifierOptions) {
    this.#o = o;
  }

  /**
   * Verify the transactional batches of a produce request. Returns the inputs to append (those
   * verified carry their guard) and the per-partition failures (`topic-partition` keys).
   */
  async verify(
    transactionalId: string,
    inputs: ProduceInput[],
    produceVersion: number,
  ): Promise<{ append: ProduceInput[]; failed: Map<string, ProducePartitionResult> }> {
    // Produce v12+ is the TV2 producer's (Kafka's produceRequestVersionToTransactionSupportedOperation).
    const addPartition = produceVersion >= 12;
    const failed = new Map<string, ProducePartitionResult>();
    const append: ProduceInput[] = [];
    const waiting: { input: ProduceInput; guard: object }[] = [];
    let producerId = -1n;
    let producerEpoch = -1;
    for (const input of inputs) {
      const key = `${input.topic}-${input.partition}`;
      const rec = input.records;
      if (!rec || rec.length < RECORD_BATCH_HEADER_SIZE) {
        append.push(input); // the append refuses it with Kafka's error
        continue;
      }
      const h = readBatchHeader(rec, 0);
      if (!isTransactional(h.attributes)) {
        append.push(input);
        continue;
      }
      try {
        const p = this.#o.replicaManager.leaderPartition(input.topic, input.partition);
        const guard = p.maybeStartTransactionVerification(
          h.producerId,
          h.baseSequence,
          h.producerEpoch,
          addPartition,
        );
        if (guard === null) append.push(input);
        else {
          waiting.push({ input, guard });
          producerId = h.producerId;
          producerEpoch = h.producerEpoch;
        }
      } catch (err) {
        const code = errorCodeOf(err);
        if (code === ErrorCode.NOT_LEADER_OR_FOLLOWER || code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
          append.push(input); // the append answers with the same error
        else failed.set(key, producePartitionError(code, err instanceof Error ? err.message : String(err)));
      }
    }
    if (waiting.length === 0) return { append, failed };
    const tps = waiting.map((w) => ({ topic: w.input.topic, partition: w.input.partition }));
    const codes = addPartition
      ? await this.#addWithRetries(transactionalId, producerId, producerEpoch, tps)
      : await this.#ask(transactionalId, producerId, producerEpoch, tps, false);
    for (const { input, guard } of waiting) {
      const key = `${input.topic}-${input.partition}`;
      const raw = codes.get(key) ?? ErrorCode.UNKNOWN_SERVER_ERROR;
      // TV2: CONCURRENT_TRANSACTIONS goes back as it is (Kafka: "less confusing to the client").
      const code =
        addPartition && raw === ErrorCode.CONCURRENT_TRANSACTIONS ? raw : mapVerifyError(raw, produceVersion);
      if (code === ErrorCode.NONE)
        append.push({ ...input, options: { ...input.options, verificationGuard: guard } });
      else failed.set(key, producePartitionError(code, `transaction verification failed for ${key}`));
    }
    return { append, failed };
  }

  /**
   * The TV2 add, asked again for the partitions answered CONCURRENT_TRANSACTIONS every
   * add.partitions.to.txn.retry.backoff.ms until min(add.partitions.to.txn.retry.backoff.max.ms,
   * request.timeout.ms) has passed since the first ask (Kafka's maybeRetryOnConcurrentTransactions).
   */
  async #addWithRetries(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    tps: TopicPartition[],
  ): Promise<Map<string, number>> {
    const start = Date.now();
    const backoffMs = this.#o.addPartitionsRetryBackoffMs?.() ?? 20;
    const limitMs = Math.min(this.#o.addPartitionsRetryBackoffMaxMs?.() ?? 100, this.#o.requestTimeoutMs());
    const out = await this.#ask(transactionalId, producerId, producerEpoch, tps, true);
    for (;;) {
      const again = tps.filter(
        (tp) => out.get(`${tp.topic}-${tp.partition}`) === ErrorCode.CONCURRENT_TRANSACTIONS,
      );
      if (again.length === 0 || Date.now() - start >= limitMs) return out;
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
      for (const [k, code] of await this.#ask(transactionalId, producerId, producerEpoch, again, true))
        out.set(k, code);
    }
  }

  /**
   * TxnOffsetCommit v5+ under TV2 (Kafka's addPartition for the group coordinator's partition): add
   * the group's `__consumer_offsets` partition to the producer's transaction. Returns the error
   * code as for a Produce v12 (NONE: added, or already in the transaction); the group side maps it
   * for group clients with the append errors (mapAppendError).
   */
  async addOffsetsPartition(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    tp: TopicPartition,
  ): Promise<number> {
    const codes = await this.#ask(transactionalId, producerId, producerEpoch, [tp], true);
    return mapVerifyError(codes.get(`${tp.topic}-${tp.partition}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR, 12);
  }

  /**
   * Ask the coordinator: `topic-partition` → error code (NONE: in the transaction). `add`: add the
   * partitions (TV2) instead of only verifying them.
   */
  async #ask(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    tps: TopicPartition[],
    add: boolean,
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const all = (code: number) => {
      for (const tp of tps) out.set(`${tp.topic}-${tp.partition}`, code);
      return out;
    };
    const c = this.#o.coordinator;
    const part = c.stateManager.partitionFor(transactionalId);
    const st = this.#o.table.partitionState(TRANSACTION_STATE_TOPIC, part);
    const leader = st?.leader ?? -1;
    if (leader < 0) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (leader === this.#o.nodeId) {
      if (add) {
        // As the AddPartitionsToTxn handler serves a broker's v5 request with verifyOnly=false.
        const code = await c.handleAddPartitionsToTransaction(
          transactionalId,
          producerId,
          producerEpoch,
          tps,
          2,
        );
        return all(code);
      }
      const r = c.handleVerifyPartitionsInTransaction(transactionalId, producerId, producerEpoch, tps);
      for (const [tp, code] of r) out.set(`${tp.topic}-${tp.partition}`, code);
      return out;
    }
    const broker = this.#o.table.brokers.get(leader);
    const ep = broker ? endpointFor(broker, this.#o.interBrokerListener) : undefined;
    if (!ep) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    let client = this.#clients.get(leader);
    if (!client) {
      client = new KafkaClient({
        bootstrap: [{ host: ep.host, port: ep.port }],
        clientId: `sluice-txn-verify-${this.#o.nodeId}`,
        connectTimeoutMs: 5000,
      });
      this.#clients.set(leader, client);
    } else client.setEndpoints([{ host: ep.host, port: ep.port }]);
    const byTopic = new Map<string, number[]>();
    for (const tp of tps) {
      let l = byTopic.get(tp.topic);
      if (!l) byTopic.set(tp.topic, (l = []));
      l.push(tp.partition);
    }
    try {
      const res = await client.request(
        24,
        { min: 4, max: 5 },
        {
          transactions: [
            {
              transactionalId,
              producerId,
              producerEpoch,
              verifyOnly: !add,
              topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
            },
          ],
        },
        { timeoutMs: this.#o.requestTimeoutMs() },
      );
      if ((res.errorCode ?? ErrorCode.NONE) !== ErrorCode.NONE) return all(res.errorCode ?? ErrorCode.NONE);
      for (const t of res.resultsByTransaction ?? [])
        for (const tr of t.topicResults)
          for (const p of tr.resultsByPartition)
            out.set(`${tr.name}-${p.partitionIndex}`, p.partitionErrorCode);
      return out;
    } catch (err) {
      this.#o.log.warn(
        { err: err instanceof Error ? err.message : String(err), transactionalId, coordinator: leader },
        'transaction verification request failed',
      );
      return all(ErrorCode.NETWORK_EXCEPTION);
    }
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}

/** Kafka's mapping of verification errors for producers (see the file comment). */
export function mapVerifyError(code: number, produceVersion: number): number {
  switch (code) {
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.CONCURRENT_TRANSACTIONS:
    case ErrorCode.NETWORK_EXCEPTION:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.NOT_ENOUGH_REPLICAS;
    case ErrorCode.TRANSACTION_ABORTABLE:
      return produceVersion < 11 ? ErrorCode.INVALID_TXN_STATE : code;
    case ErrorCode.PRODUCER_FENCED:
      return ErrorCode.INVALID_PRODUCER_EPOCH;
    default:
      return code;
  }
}
