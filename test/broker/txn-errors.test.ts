/**
 * Bad transactional requests against a real broker, at exact versions (RawClient): unknown
 * transactional ids, wrong producer ids and epochs, EndTxn without a transaction, markers for an
 * epoch older than the partition's producer, markers for unknown partitions, an oversized
 * transactional id. Each gets Kafka's error code (or, for what Kafka cannot even parse, a closed
 * connection) and the broker keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { ApiKeys } from '../../src/protocol/messages/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';

describe('transactional requests with bad input', { timeout: 120_000 }, () => {
  let broker: BrokerProcess;
  let c: RawClient;

  beforeAll(async () => {
    broker = await new BrokerProcess().start();
    c = await RawClient.connect(broker.port);
    const created = await c.request(ApiKeys.CreateTopics, 5, {
      topics: [{ name: 'bad-txn', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    expect(created.topics[0]!.errorCode).toBe(ErrorCode.NONE);
  }, 120_000);

  afterAll(async () => {
    c?.close();
    await broker?.cleanup();
  });

  /** FindCoordinator (TRANSACTION) until this broker answers for the id (it creates __transaction_state). */
  async function findCoordinator(id: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const r = await c.request(ApiKeys.FindCoordinator, 3, { key: id, keyType: 1 });
      if (r.errorCode === ErrorCode.NONE) {
        expect(r.nodeId).toBe(1);
        return;
      }
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error('FindCoordinator never succeeded');
  }

  /** InitProducerId for a transactional id, retried while the coordinator loads. */
  async function init(id: string): Promise<{ producerId: bigint; producerEpoch: number }> {
    await findCoordinator(id);
    for (let i = 0; i < 100; i++) {
      const r = await c.request(ApiKeys.InitProducerId, 4, {
        transactionalId: id,
        transactionTimeoutMs: 60_000,
      });
      if (r.errorCode === ErrorCode.NONE) return r;
      expect([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.CONCURRENT_TRANSACTIONS]).toContain(
        r.errorCode,
      );
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error('InitProducerId never succeeded');
  }

  const addPartitions = (id: string, producerId: bigint, producerEpoch: number) =>
    c.request(ApiKeys.AddPartitionsToTxn, 3, {
      v3AndBelowTransactionalId: id,
      v3AndBelowProducerId: producerId,
      v3AndBelowProducerEpoch: producerEpoch,
      v3AndBelowTopics: [{ name: 'bad-txn', partitions: [0] }],
    });
  const codesOf = (r: {
    resultsByTopicV3AndBelow?: { resultsByPartition: { partitionErrorCode: number }[] }[];
  }) =>
    (r.resultsByTopicV3AndBelow ?? []).flatMap((t) => t.resultsByPartition.map((p) => p.partitionErrorCode));

  it('unknown ids, wrong producer ids and epochs, EndTxn without a transaction', async () => {
    await findCoordinator('never-initialized');
    const end = await c.request(ApiKeys.EndTxn, 3, {
      transactionalId: 'never-initialized',
      producerId: 5n,
      producerEpoch: 0,
      committed: true,
    });
    expect(end.errorCode).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    expect(codesOf(await addPartitions('never-initialized', 5n, 0))).toEqual([
      ErrorCode.INVALID_PRODUCER_ID_MAPPING,
    ]);

    const { producerId, producerEpoch } = await init('bad-input-1');
    // Nothing added yet: EndTxn has no transaction to end.
    const empty = await c.request(ApiKeys.EndTxn, 3, {
      transactionalId: 'bad-input-1',
      producerId,
      producerEpoch,
      committed: true,
    });
    expect(empty.errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(codesOf(await addPartitions('bad-input-1', producerId + 1n, producerEpoch))).toEqual([
      ErrorCode.INVALID_PRODUCER_ID_MAPPING,
    ]);
    expect(codesOf(await addPartitions('bad-input-1', producerId, producerEpoch + 1))).toEqual([
      ErrorCode.PRODUCER_FENCED,
    ]);
    // v0-1 clients do not know PRODUCER_FENCED (KIP-588).
    const old = await c.request(ApiKeys.AddPartitionsToTxn, 1, {
      v3AndBelowTransactionalId: 'bad-input-1',
      v3AndBelowProducerId: producerId,
      v3AndBelowProducerEpoch: producerEpoch + 1,
      v3AndBelowTopics: [{ name: 'bad-txn', partitions: [0] }],
    });
    expect(codesOf(old)).toEqual([ErrorCode.INVALID_PRODUCER_EPOCH]);
    // A partition that does not exist.
    const unknown = await c.request(ApiKeys.AddPartitionsToTxn, 3, {
      v3AndBelowTransactionalId: 'bad-input-1',
      v3AndBelowProducerId: producerId,
      v3AndBelowProducerEpoch: producerEpoch,
      v3AndBelowTopics: [{ name: 'no-such-topic', partitions: [0] }],
    });
    expect(codesOf(unknown)).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  });

  it('markers for an older producer epoch or an unknown partition are refused', async () => {
    // Initialized twice: the epoch is 1, so an epoch-0 marker is older than the producer's.
    await init('bad-input-2');
    const { producerId, producerEpoch } = await init('bad-input-2');
    expect(producerEpoch).toBe(1);
    expect(codesOf(await addPartitions('bad-input-2', producerId, producerEpoch))).toEqual([ErrorCode.NONE]);
    // The coordinator itself writes markers at the producer's epoch; an older one is refused.
    const commit = await c.request(ApiKeys.EndTxn, 3, {
      transactionalId: 'bad-input-2',
      producerId,
      producerEpoch,
      committed: true,
    });
    expect(commit.errorCode).toBe(ErrorCode.NONE);
    // Wait for the coordinator's own COMMIT marker (the transaction completes once it is written).
    for (let i = 0; ; i++) {
      const d = await c.request(ApiKeys.DescribeTransactions, 0, { transactionalIds: ['bad-input-2'] });
      if (d.transactionStates[0]!.transactionState === 'CompleteCommit') break;
      expect(i).toBeLessThan(100);
      await new Promise((res) => setTimeout(res, 100));
    }
    const res = await c.request(ApiKeys.WriteTxnMarkers, 1, {
      markers: [
        {
          producerId,
          producerEpoch: producerEpoch - 1,
          transactionResult: false,
          coordinatorEpoch: 0,
          topics: [{ name: 'bad-txn', partitionIndexes: [0] }],
        },
        {
          producerId,
          producerEpoch,
          transactionResult: false,
          coordinatorEpoch: 0,
          topics: [{ name: 'no-such-topic', partitionIndexes: [3] }],
        },
      ],
    });
    expect(res.markers.map((m) => m.topics.map((t) => t.partitions.map((p) => p.errorCode)))).toEqual([
      [[ErrorCode.INVALID_PRODUCER_EPOCH]],
      [[ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
    ]);
  });

  it('an oversized transactional id closes the connection; the broker stays up', async () => {
    const big = await RawClient.connect(broker.port);
    await expect(
      big.request(ApiKeys.InitProducerId, 4, {
        transactionalId: 'x'.repeat(40_000),
        transactionTimeoutMs: 1000,
      }),
    ).rejects.toThrow();
    expect(big.closed).toBe(true);
    big.close();
    const again = await RawClient.connect(broker.port);
    const md = await again.request(ApiKeys.Metadata, 1, { topics: null });
    expect(md.topics.map((t) => t.name)).toContain('bad-txn');
    again.close();
  });
});
