/**
 * Transaction version 2 (KIP-890 part 2) at exact request versions against a real broker
 * (RawClient), as Kafka 4.4's TransactionCoordinator answers:
 *  - EndTxn v5 bumps the producer epoch on every commit/abort (also an abort with no partition,
 *    from Empty or a completed transaction) and returns the producer id and the new epoch;
 *  - retries: the epoch before the bump and the same result answer NONE with the current epoch once
 *    the transaction is complete (CONCURRENT_TRANSACTIONS while its markers are written), the other
 *    result INVALID_TXN_STATE; an epoch that is neither current nor one behind is PRODUCER_FENCED;
 *    the current epoch asks for the next transaction (a COMMIT with nothing open: INVALID_TXN_STATE);
 *  - a partition leader's AddPartitionsToTxn v5 with verifyOnly=false adds the partition (the
 *    implicit add of a TV2 produce); the COMMIT marker, written with the bumped epoch, is accepted by
 *    the partition, whose producer state (DescribeProducers) then holds the bumped epoch;
 *  - a TV1 client (AddPartitionsToTxn v3, EndTxn v4) on the same cluster keeps its epoch and gets
 *    producer id/epoch -1 in the EndTxn response, as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { ApiKeys } from '../../src/protocol/messages/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';

const TOPIC = 'tv2-raw';

describe('transaction version 2 at the protocol level', { timeout: 120_000 }, () => {
  let broker: BrokerProcess;
  let c: RawClient;

  beforeAll(async () => {
    broker = await new BrokerProcess().start();
    c = await RawClient.connect(broker.port);
    const created = await c.request(ApiKeys.CreateTopics, 5, {
      topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    expect(created.topics[0]!.errorCode).toBe(ErrorCode.NONE);
  }, 120_000);

  afterAll(async () => {
    c?.close();
    await broker?.cleanup();
  });

  const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

  async function init(id: string): Promise<{ producerId: bigint; producerEpoch: number }> {
    for (let i = 0; i < 100; i++) {
      const f = await c.request(ApiKeys.FindCoordinator, 3, { key: id, keyType: 1 });
      if (f.errorCode !== ErrorCode.NONE) {
        await sleep(200);
        continue;
      }
      const r = await c.request(ApiKeys.InitProducerId, 4, {
        transactionalId: id,
        transactionTimeoutMs: 60_000,
      });
      if (r.errorCode === ErrorCode.NONE) return r;
      expect([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.CONCURRENT_TRANSACTIONS]).toContain(
        r.errorCode,
      );
      await sleep(200);
    }
    throw new Error('InitProducerId never succeeded');
  }

  const endTxn = (
    version: number,
    id: string,
    producerId: bigint,
    producerEpoch: number,
    committed: boolean,
  ) => c.request(ApiKeys.EndTxn, version, { transactionalId: id, producerId, producerEpoch, committed });

  /** EndTxn until it stops answering CONCURRENT_TRANSACTIONS (the previous markers are being written). */
  async function endTxnSettled(...a: Parameters<typeof endTxn>) {
    for (let i = 0; i < 100; i++) {
      const r = await endTxn(...a);
      if (r.errorCode !== ErrorCode.CONCURRENT_TRANSACTIONS) return r;
      await sleep(100);
    }
    throw new Error('EndTxn kept answering CONCURRENT_TRANSACTIONS');
  }

  async function describeTxn(id: string) {
    const r = await c.request(ApiKeys.DescribeTransactions, 0, { transactionalIds: [id] });
    return r.transactionStates[0]!;
  }

  async function waitForState(id: string, state: string) {
    for (let i = 0; i < 100; i++) {
      const d = await describeTxn(id);
      if (d.transactionState === state) return d;
      await sleep(100);
    }
    throw new Error(`${id} never reached ${state}`);
  }

  it('EndTxn v5 bumps the epoch on every commit/abort and answers retries as Kafka does', async () => {
    const id = 'tv2-retries';
    const { producerId: pid, producerEpoch: e0 } = await init(id);

    // An abort with nothing open (TV2 allows it from Empty) bumps too.
    let r = await endTxn(5, id, pid, e0, false);
    expect(r).toMatchObject({ errorCode: ErrorCode.NONE, producerId: pid, producerEpoch: e0 + 1 });
    // Its retry (the epoch before the bump): NONE with the bumped epoch once complete.
    r = await endTxnSettled(5, id, pid, e0, false);
    expect(r).toMatchObject({ errorCode: ErrorCode.NONE, producerId: pid, producerEpoch: e0 + 1 });
    // The same retry asking for the other result, and a commit with nothing open at the new epoch.
    expect((await endTxn(5, id, pid, e0, true)).errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
    expect((await endTxn(5, id, pid, e0 + 1, true)).errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
    // Neither current nor one behind; another producer id.
    expect((await endTxn(5, id, pid, e0 + 5, false)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
    expect((await endTxn(5, id, pid + 1000n, e0 + 1, false)).errorCode).toBe(
      ErrorCode.INVALID_PRODUCER_ID_MAPPING,
    );

    // The implicit add of a TV2 produce: a partition leader's AddPartitionsToTxn v5, verifyOnly=false.
    const add = await c.request(ApiKeys.AddPartitionsToTxn, 5, {
      transactions: [
        {
          transactionalId: id,
          producerId: pid,
          producerEpoch: e0 + 1,
          verifyOnly: false,
          topics: [{ name: TOPIC, partitions: [0] }],
        },
      ],
    });
    expect(add.errorCode).toBe(ErrorCode.NONE);
    expect(add.resultsByTransaction![0]!.topicResults).toEqual([
      expect.objectContaining({
        name: TOPIC,
        resultsByPartition: [
          expect.objectContaining({ partitionIndex: 0, partitionErrorCode: ErrorCode.NONE }),
        ],
      }),
    ]);
    const open = await describeTxn(id);
    expect(open).toMatchObject({ transactionState: 'Ongoing', producerId: pid, producerEpoch: e0 + 1 });
    expect(open.topics).toEqual([expect.objectContaining({ topic: TOPIC, partitions: [0] })]);
    // verifyOnly=true now finds it in the transaction.
    const verify = await c.request(ApiKeys.AddPartitionsToTxn, 5, {
      transactions: [
        {
          transactionalId: id,
          producerId: pid,
          producerEpoch: e0 + 1,
          verifyOnly: true,
          topics: [{ name: TOPIC, partitions: [0] }],
        },
      ],
    });
    expect(verify.resultsByTransaction![0]!.topicResults[0]!.resultsByPartition[0]!.partitionErrorCode).toBe(
      ErrorCode.NONE,
    );

    r = await endTxn(5, id, pid, e0 + 1, true);
    expect(r).toMatchObject({ errorCode: ErrorCode.NONE, producerId: pid, producerEpoch: e0 + 2 });
    const done = await waitForState(id, 'CompleteCommit');
    expect(done).toMatchObject({ producerId: pid, producerEpoch: e0 + 2, topics: [] });
    r = await endTxn(5, id, pid, e0 + 1, true);
    expect(r).toMatchObject({ errorCode: ErrorCode.NONE, producerId: pid, producerEpoch: e0 + 2 });
    expect((await endTxn(5, id, pid, e0 + 1, false)).errorCode).toBe(ErrorCode.INVALID_TXN_STATE);

    // The COMMIT marker carried the bumped epoch; the partition took it.
    const p = await c.request(ApiKeys.DescribeProducers, 0, {
      topics: [{ name: TOPIC, partitionIndexes: [0] }],
    });
    const part = p.topics[0]!.partitions[0]!;
    expect(part.errorCode).toBe(ErrorCode.NONE);
    expect(part.activeProducers).toEqual([
      expect.objectContaining({ producerId: pid, producerEpoch: e0 + 2, currentTxnStartOffset: -1n }),
    ]);
  });

  it('an EndTxn v5 at the last usable epoch (32766) answers the next producer id at epoch 0; its retry too', async () => {
    const id = 'tv2-overflow';
    const first = await init(id);
    const pid = first.producerId;
    let epoch = first.producerEpoch;
    // Each InitProducerId of a new instance bumps the epoch by one.
    while (epoch < 32766) {
      const r = await c.request(ApiKeys.InitProducerId, 4, {
        transactionalId: id,
        transactionTimeoutMs: 60_000,
      });
      expect(r.errorCode).toBe(ErrorCode.NONE);
      expect(r.producerId).toBe(pid);
      epoch = r.producerEpoch;
    }
    const r = await endTxn(5, id, pid, 32766, false);
    expect(r.errorCode).toBe(ErrorCode.NONE);
    expect(r.producerId).not.toBe(pid);
    expect(r.producerEpoch).toBe(0);
    const next = r.producerId!;
    const done = await waitForState(id, 'CompleteAbort');
    expect(done).toMatchObject({ producerId: next, producerEpoch: 0 });
    // A retry names the old id at 32766 (Kafka's retryOnOverflow).
    expect(await endTxn(5, id, pid, 32766, false)).toMatchObject({
      errorCode: ErrorCode.NONE,
      producerId: next,
      producerEpoch: 0,
    });
    // The next transaction runs under the new id.
    expect(await endTxn(5, id, next, 0, false)).toMatchObject({
      errorCode: ErrorCode.NONE,
      producerId: next,
      producerEpoch: 1,
    });
  }, 600_000);

  it('a TV1 client on the same cluster keeps its epoch and gets no producer id back from EndTxn', async () => {
    const id = 'tv1-alongside';
    const { producerId: pid, producerEpoch: e0 } = await init(id);
    const add = await c.request(ApiKeys.AddPartitionsToTxn, 3, {
      v3AndBelowTransactionalId: id,
      v3AndBelowProducerId: pid,
      v3AndBelowProducerEpoch: e0,
      v3AndBelowTopics: [{ name: TOPIC, partitions: [0] }],
    });
    expect(add.resultsByTopicV3AndBelow![0]!.resultsByPartition[0]!.partitionErrorCode).toBe(ErrorCode.NONE);
    const r = await endTxn(4, id, pid, e0, true);
    expect(r).toMatchObject({ errorCode: ErrorCode.NONE, producerId: -1n, producerEpoch: -1 });
    const done = await waitForState(id, 'CompleteCommit');
    expect(done).toMatchObject({ producerId: pid, producerEpoch: e0 });
    // TV1 retry: same epoch, same result.
    expect((await endTxn(4, id, pid, e0, true)).errorCode).toBe(ErrorCode.NONE);
    expect((await endTxn(4, id, pid, e0, false)).errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
  });
});
