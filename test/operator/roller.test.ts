/** Restart decisions (pure): who is pending, when to wait, the order (controller last). */
import { describe, expect, it } from 'vitest';
import { pendingRestart, planRoll, restartOrder, type BrokerPod } from '../../src/operator/roller.js';

const pod = (id: number, revision = 'new', ready = true): BrokerPod => ({
  id,
  name: `c-broker-${id}`,
  ready,
  terminating: false,
  revision,
  manualRestart: false,
  stuck: null,
});
const healthy = {
  controllerId: 0,
  partitions: 10,
  underReplicatedPartitions: 0,
  underMinIsrPartitions: 0,
  offlinePartitions: 0,
};

describe('roller plan', () => {
  it('nothing pending when every pod runs the update revision', () => {
    expect(planRoll([pod(0), pod(1), pod(2)], 3, 'new', healthy)).toEqual({ kind: 'idle' });
  });

  it('pending pods: old revision or manual restart annotation', () => {
    const pods = [pod(0, 'old'), pod(1), { ...pod(2), manualRestart: true }];
    expect(pendingRestart(pods, 'new').map((p) => p.id)).toEqual([0, 2]);
  });

  it('controller last, others by id', () => {
    expect(restartOrder([0, 1, 2], 0)).toEqual([1, 2, 0]);
    expect(restartOrder([2, 1], 5)).toEqual([1, 2]);
  });

  it('waits for every broker to be Ready', () => {
    const r = planRoll([pod(0, 'old'), pod(1, 'old', false), pod(2, 'old')], 3, 'new', healthy);
    expect(r).toMatchObject({ kind: 'wait', reason: 'BrokersNotReady' });
  });

  it('waits while partitions are under-replicated', () => {
    const r = planRoll([pod(0, 'old'), pod(1, 'old'), pod(2, 'old')], 3, 'new', {
      ...healthy,
      underReplicatedPartitions: 2,
    });
    expect(r).toMatchObject({ kind: 'wait', reason: 'UnderReplicated' });
  });

  it('waits when health is unknown', () => {
    expect(planRoll([pod(0, 'old')], 1, 'new', null)).toMatchObject({ kind: 'wait' });
  });

  it('picks a non-controller first', () => {
    expect(planRoll([pod(0, 'old'), pod(1, 'old'), pod(2, 'old')], 3, 'new', healthy)).toEqual({
      kind: 'candidate',
      brokerId: 1,
      pending: [0, 1, 2],
    });
  });
});
