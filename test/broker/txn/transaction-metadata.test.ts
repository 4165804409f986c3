/**
 * The transaction coordinator's state machine (TransactionMetadata + VALID_PREVIOUS_STATES): the
 * transitions a transaction goes through, Kafka's epoch rules (KIP-360 recovery, fencing, TV2's
 * per-transaction bump), and the transitions it refuses. Pure logic: no broker.
 */
import { describe, expect, it } from 'vitest';
import {
  TransactionMetadata,
  TransactionRefusal,
  type TxnTransitMetadata,
} from '../../../src/broker/txn/transaction-metadata.js';
import {
  ALL_STATES,
  STATE_ID,
  TransactionState as S,
  VALID_PREVIOUS_STATES,
  stateFromId,
} from '../../../src/broker/txn/transaction-state.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';

const tp = (topic: string, partition: number) => ({ topic, partition });

function fresh(epoch = 0): TransactionMetadata {
  return new TransactionMetadata({
    transactionalId: 'tx',
    producerId: 1000n,
    producerEpoch: epoch,
    txnTimeoutMs: 60_000,
    state: S.Empty,
    txnLastUpdateTimestamp: 0,
  });
}

function apply(md: TransactionMetadata, t: TxnTransitMetadata | TransactionRefusal): TxnTransitMetadata {
  if (t instanceof TransactionRefusal) throw new Error(`refused with ${t.errorCode}`);
  md.completeTransitionTo(t);
  return t;
}

describe('TransactionMetadata', () => {
  it('stores the states as Kafka numbers them', () => {
    expect(STATE_ID).toEqual({
      Empty: 0,
      Ongoing: 1,
      PrepareCommit: 2,
      PrepareAbort: 3,
      CompleteCommit: 4,
      CompleteAbort: 5,
      Dead: 6,
      PrepareEpochFence: 7,
    });
    for (const s of ALL_STATES) expect(stateFromId(STATE_ID[s])).toBe(s);
    expect(() => stateFromId(8)).toThrow(RangeError);
  });

  it('goes Empty → Ongoing → PrepareCommit → CompleteCommit as markers are written (TV1)', () => {
    const md = fresh(3);
    apply(md, md.prepareAddPartitions([tp('a', 0), tp('a', 1)], 100, 0));
    expect(md.state).toBe(S.Ongoing);
    expect(md.txnStartTimestamp).toBe(100);
    // Adding more keeps the start time.
    apply(md, md.prepareAddPartitions([tp('b', 0)], 150, 0));
    expect([...md.topicPartitions].map((x) => `${x.topic}-${x.partition}`)).toEqual(['a-0', 'a-1', 'b-0']);
    expect(md.txnStartTimestamp).toBe(100);

    apply(md, md.prepareAbortOrCommit(S.PrepareCommit, 0, -1n, 200, false));
    expect(md.state).toBe(S.PrepareCommit);
    expect(md.producerEpoch).toBe(3); // TV1 keeps the epoch
    for (const x of [tp('a', 0), tp('a', 1), tp('b', 0)]) md.removePartition(x);
    expect(md.topicPartitions.size).toBe(0);

    apply(md, md.prepareComplete(300));
    expect(md.state).toBe(S.CompleteCommit);
    expect(md.producerEpoch).toBe(3);
    expect(md.pendingState).toBeNull();
    // The next transaction starts from CompleteCommit.
    apply(md, md.prepareAddPartitions([tp('c', 0)], 400, 0));
    expect(md.state).toBe(S.Ongoing);
    expect(md.txnStartTimestamp).toBe(400);
  });

  it('TV2 bumps the epoch at EndTxn and keeps the previous one as last epoch', () => {
    const md = fresh(5);
    apply(md, md.prepareAddPartitions([tp('a', 0)], 1, 2));
    const t = apply(md, md.prepareAbortOrCommit(S.PrepareAbort, 2, -1n, 2, false));
    expect(t.producerEpoch).toBe(6);
    expect(md.lastProducerEpoch).toBe(5);
    md.removePartition(tp('a', 0));
    apply(md, md.prepareComplete(3));
    expect(md.state).toBe(S.CompleteAbort);
    expect(md.producerEpoch).toBe(6);
  });

  it('TV2 at an exhausted epoch: the commit takes 32767 and completion moves to the next producer id at 0', () => {
    const md = fresh(32766);
    apply(md, md.prepareAddPartitions([tp('a', 0)], 1, 2));
    // The coordinator allocated 2000 as the next producer id (the epoch is exhausted).
    const prepare = apply(md, md.prepareAbortOrCommit(S.PrepareCommit, 2, 2000n, 2, false));
    expect(prepare).toMatchObject({ producerId: 1000n, producerEpoch: 32767, lastProducerEpoch: 32766 });
    expect(prepare.nextProducerId).toBe(2000n);
    md.removePartition(tp('a', 0));
    const done = apply(md, md.prepareComplete(3));
    expect(done).toMatchObject({
      txnState: S.CompleteCommit,
      producerId: 2000n,
      prevProducerId: 1000n,
      nextProducerId: -1n,
      producerEpoch: 0,
      lastProducerEpoch: 32766,
    });
    expect([md.producerId, md.producerEpoch, md.prevProducerId]).toEqual([2000n, 0, 1000n]);
  });

  it('InitProducerId: a new instance bumps; KIP-360 retries and recovery follow the expected epoch', () => {
    const md = fresh(2);
    // New producer (no expected epoch): bump, forget the last epoch.
    apply(md, md.prepareIncrementProducerEpoch(30_000, null, 10));
    expect([md.producerEpoch, md.lastProducerEpoch, md.txnTimeoutMs]).toEqual([3, -1, 30_000]);
    // Recovery from the current epoch: bump, remembering it.
    apply(md, md.prepareIncrementProducerEpoch(30_000, 3, 11));
    expect([md.producerEpoch, md.lastProducerEpoch]).toEqual([4, 3]);
    // A retry of that bump (expected = last epoch): same epoch again, no bump.
    apply(md, md.prepareIncrementProducerEpoch(30_000, 3, 12));
    expect([md.producerEpoch, md.lastProducerEpoch]).toEqual([4, 3]);
    // Any other epoch is a zombie.
    const refused = md.prepareIncrementProducerEpoch(30_000, 1, 13);
    expect(refused).toBeInstanceOf(TransactionRefusal);
    expect((refused as TransactionRefusal).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
    expect(md.pendingState).toBeNull();
  });

  it('fencing an open transaction bumps the epoch and goes on to PrepareAbort', () => {
    const md = fresh(7);
    apply(md, md.prepareAddPartitions([tp('a', 0)], 1, 0));
    const fence = md.prepareFenceProducerEpoch();
    expect(fence.txnState).toBe(S.PrepareEpochFence);
    expect(fence.producerEpoch).toBe(8);
    // PrepareEpochFence is never written: it cannot be completed.
    expect(() => md.completeTransitionTo(fence)).toThrow(/never completed/);
  });

  it('refuses transitions Kafka does not allow, and a second prepare while one is pending', () => {
    const md = fresh();
    expect(() => md.prepareAbortOrCommit(S.PrepareCommit, 0, -1n, 1, false)).toThrow(
      /not a valid transition/,
    );
    expect(md.pendingState).toBeNull();
    expect(() => md.prepareComplete(1)).toThrow(/not a valid transition/);
    expect(() => md.removePartition(tp('a', 0))).toThrow();
    md.prepareAddPartitions([tp('a', 0)], 1, 0);
    expect(() => md.prepareAddPartitions([tp('a', 1)], 1, 0)).toThrow(/pending/);
  });

  it('allows exactly Kafka’s previous states for each state', () => {
    const allowed = Object.fromEntries(ALL_STATES.map((s) => [s, [...VALID_PREVIOUS_STATES[s]].sort()]));
    expect(allowed).toEqual({
      Empty: ['CompleteAbort', 'CompleteCommit', 'Empty'],
      Ongoing: ['CompleteAbort', 'CompleteCommit', 'Empty', 'Ongoing'],
      PrepareCommit: ['Ongoing'],
      PrepareAbort: ['CompleteAbort', 'CompleteCommit', 'Empty', 'Ongoing', 'PrepareEpochFence'],
      CompleteCommit: ['PrepareCommit'],
      CompleteAbort: ['PrepareAbort'],
      Dead: ['CompleteAbort', 'CompleteCommit', 'Empty'],
      PrepareEpochFence: ['Ongoing'],
    });
  });
});
