/**
 * Transactional offset commits in the group coordinator (KIP-98, KIP-447), with an in-memory store:
 * TxnOffsetCommit stages offsets per producer; the marker on the group's `__consumer_offsets`
 * partition applies them (COMMIT) or drops them (ABORT); until then OffsetFetch with require_stable
 * sees them as pending; the generation and member checks of KIP-447.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { GroupCoordinator } from '../../../src/broker/group/group-coordinator.js';
import type { GroupStore } from '../../../src/broker/group/group-metadata-manager.js';
import type { CommittedOffset } from '../../../src/broker/group/group-metadata.js';
import { TimingWheelTimer } from '../../../src/broker/purgatory/timing-wheel.js';

class MemStore implements GroupStore {
  readonly txnWrites: { id: string; producerId: bigint; epoch: number; offsets: CommittedOffset[] }[] = [];
  partitionFor(id: string): number {
    return id === 'other-partition' ? 1 : 0;
  }
  status(): 'local' {
    return 'local';
  }
  async storeGroup(): Promise<number> {
    return 0;
  }
  async storeOffsets(): Promise<number> {
    return 0;
  }
  async storeTxnOffsets(id: string, producerId: bigint, epoch: number, offsets: CommittedOffset[]) {
    this.txnWrites.push({ id, producerId, epoch, offsets });
    return 0;
  }
  async storeTombstones(): Promise<number> {
    return 0;
  }
}

function setup() {
  const now = () => 1_000_000;
  const store = new MemStore();
  const c = new GroupCoordinator({
    store,
    log: pino({ level: 'silent' }),
    now,
    timer: new TimingWheelTimer({ now }),
    config: { initialRebalanceDelayMs: 0 },
  });
  c.startup({ cleanup: false });
  return { c, store };
}

const commit = (groupId: string, producerId: bigint, offset: bigint, over = {}) => ({
  groupId,
  producerId,
  producerEpoch: 0,
  memberId: '',
  groupInstanceId: null,
  generationId: -1,
  offsets: [{ topic: 't', partition: 0, offset, leaderEpoch: -1, metadata: null, expireTimestamp: -1n }],
  ...over,
});

const committed = (c: GroupCoordinator, g: string) =>
  c.handleFetchOffsets(g, [{ name: 't', partitions: [0] }]).offsets.map((o) => o.offset);

describe('transactional offset commits', () => {
  it('are written as the producer’s batch and applied only by a COMMIT marker', async () => {
    const { c, store } = setup();
    const r = await c.handleTxnCommitOffsets(commit('g', 7n, 42n));
    expect([...r.values()]).toEqual([ErrorCode.NONE]);
    expect(store.txnWrites.map((w) => [w.id, w.producerId, w.offsets[0]!.offset])).toEqual([['g', 7n, 42n]]);
    expect(committed(c, 'g')).toEqual([]);
    expect(c.hasPendingTxnOffset('g', 't', 0)).toBe(true);

    // A marker of another producer, or on another partition, changes nothing.
    c.onTransactionCompleted(0, 8n, 'COMMIT');
    c.onTransactionCompleted(1, 7n, 'COMMIT');
    expect(committed(c, 'g')).toEqual([]);

    c.onTransactionCompleted(0, 7n, 'COMMIT');
    expect(committed(c, 'g')).toEqual([42n]);
    expect(c.hasPendingTxnOffset('g', 't', 0)).toBe(false);
  });

  it('are dropped by an ABORT marker', async () => {
    const { c } = setup();
    await c.handleTxnCommitOffsets(commit('g', 7n, 10n));
    c.onTransactionCompleted(0, 7n, 'COMMIT');
    await c.handleTxnCommitOffsets(commit('g', 7n, 20n));
    c.onTransactionCompleted(0, 7n, 'ABORT');
    expect(committed(c, 'g')).toEqual([10n]);
    expect(c.hasPendingTxnOffset('g', 't', 0)).toBe(false);
  });

  it('check the member and generation when the client sends them (KIP-447)', async () => {
    const { c, store } = setup();
    expect([
      ...(await c.handleTxnCommitOffsets(commit('g', 1n, 5n, { memberId: 'nobody' }))).values(),
    ]).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
    expect([...(await c.handleTxnCommitOffsets(commit('g', 1n, 5n, { generationId: 3 }))).values()]).toEqual([
      ErrorCode.ILLEGAL_GENERATION,
    ]);
    expect(store.txnWrites).toEqual([]);
  });
});
