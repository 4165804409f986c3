/** Which broker pods count as stuck (pure), and which one the roller repairs. */
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { Wire } from '../../src/operator/kube/objects.js';
import { planRepair, type BrokerPod } from '../../src/operator/roller.js';
import { DEFAULT_STUCK_POD_THRESHOLDS, stuckPod } from '../../src/operator/stuck-pod.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

function pod(status: Wire<V1Pod>['status']): Wire<V1Pod> {
  return { metadata: { name: 'c-broker-1', creationTimestamp: ago(3600) }, status };
}
const notReady = (since: number) => ({
  type: 'Ready',
  status: 'False',
  lastTransitionTime: ago(since),
  reason: 'ContainersNotReady',
  message: 'containers with unready status: [broker]',
});
const running = (startTime: number, extra: object = {}) => ({
  phase: 'Running',
  startTime: ago(startTime),
  conditions: [
    { type: 'PodScheduled', status: 'True', lastTransitionTime: ago(startTime) },
    notReady(startTime),
  ],
  ...extra,
});
const container = (state: object, restartCount = 0, extra: object = {}) => ({
  name: 'broker',
  image: 'sluice:1',
  imageID: '',
  ready: false,
  restartCount,
  state,
  ...extra,
});

describe('stuck broker pods', () => {
  it('a Ready pod is never stuck, whatever its history', () => {
    const p = pod({
      phase: 'Running',
      startTime: ago(3600),
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: ago(10) }],
      containerStatuses: [
        container({ running: { startedAt: ago(10) } }, 40, {
          ready: true,
          lastState: { terminated: { exitCode: 1, finishedAt: ago(11) } },
        }),
      ],
    });
    expect(stuckPod(p, NOW)).toBeNull();
  });

  it("the kubelet's waiting reasons: crash loop, image, container creation", () => {
    const waiting = (reason: string) =>
      stuckPod(
        pod(running(30, { containerStatuses: [container({ waiting: { reason, message: 'm' } }, 2)] })),
        NOW,
      )?.reason;
    expect(waiting('CrashLoopBackOff')).toBe('CrashLoopBackOff');
    expect(waiting('ImagePullBackOff')).toBe('ImagePullBackOff');
    expect(waiting('ErrImagePull')).toBe('ImagePullBackOff');
    expect(waiting('CreateContainerConfigError')).toBe('CreateContainerError');
    // Normal start-up is not stuck.
    expect(waiting('ContainerCreating')).toBeUndefined();
    expect(waiting('PodInitializing')).toBeUndefined();
    const init = pod(
      running(30, {
        initContainerStatuses: [container({ waiting: { reason: 'CrashLoopBackOff' } }, 4, { name: 'rack' })],
      }),
    );
    expect(stuckPod(init, NOW)).toMatchObject({
      reason: 'CrashLoopBackOff',
      message: expect.stringContaining('container rack: CrashLoopBackOff after 4 restart(s)'),
    });
  });

  it('restarts climbing between back-offs: recent exits only', () => {
    const restarted = (restarts: number, exitedAgo: number) =>
      stuckPod(
        pod(
          running(3600, {
            containerStatuses: [
              container({ running: { startedAt: ago(exitedAgo - 1) } }, restarts, {
                lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(exitedAgo) } },
              }),
            ],
          }),
        ),
        NOW,
        { ...DEFAULT_STUCK_POD_THRESHOLDS, startupGraceMs: 24 * 3600_000 },
      );
    expect(restarted(3, 20)).toMatchObject({ reason: 'CrashLoopBackOff' });
    expect(restarted(2, 20)).toBeNull();
    // Restarts long ago (a pod restarted last week, not Ready right now) are not a crash loop.
    expect(restarted(7, 3600)).toBeNull();
  });

  it('Pending and unschedulable for longer than the threshold', () => {
    const pending = (since: number) =>
      pod({
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes are available: 3 Insufficient memory.',
            lastTransitionTime: ago(since),
          },
        ],
      });
    expect(stuckPod(pending(30), NOW)).toBeNull();
    expect(stuckPod(pending(61), NOW)).toEqual({
      reason: 'Unschedulable',
      message: 'not scheduled for 61 s: Unschedulable 0/3 nodes are available: 3 Insufficient memory.',
    });
  });

  it('never Ready after the startup grace; one that lost readiness is left alone', () => {
    const grace = DEFAULT_STUCK_POD_THRESHOLDS.startupGraceMs / 1000;
    const neverReady = (startedAgo: number) =>
      stuckPod(
        pod(
          running(startedAgo, {
            containerStatuses: [container({ running: { startedAt: ago(startedAgo) } })],
          }),
        ),
        NOW,
      );
    expect(neverReady(grace - 10)).toBeNull();
    expect(neverReady(grace + 10)).toMatchObject({ reason: 'NeverReady' });
    // Still creating its containers (image pull, volumes) after the grace: never Ready too.
    expect(
      stuckPod(
        pod(
          running(grace + 10, {
            containerStatuses: [container({ waiting: { reason: 'ContainerCreating' } })],
          }),
        ),
        NOW,
      ),
    ).toMatchObject({ reason: 'NeverReady' });
    // Started an hour ago, Ready until 20 minutes ago: it lost readiness; it may hold data.
    const lost = pod({
      phase: 'Running',
      startTime: ago(3600),
      conditions: [notReady(1200)],
      containerStatuses: [container({ running: { startedAt: ago(3600) } })],
    });
    expect(stuckPod(lost, NOW)).toBeNull();
  });

  it('a terminating pod is not stuck (it is already going)', () => {
    const p = pod(
      running(30, { containerStatuses: [container({ waiting: { reason: 'CrashLoopBackOff' } })] }),
    );
    p.metadata = { ...p.metadata, deletionTimestamp: ago(1) };
    expect(stuckPod(p, NOW)).toBeNull();
  });
});

describe('roller repair', () => {
  const crash = { reason: 'CrashLoopBackOff' as const, message: 'container broker: CrashLoopBackOff' };
  const broker = (id: number, revision: string, o: Partial<BrokerPod> = {}): BrokerPod => ({
    id,
    name: `c-broker-${id}`,
    ready: true,
    terminating: false,
    revision,
    manualRestart: false,
    stuck: null,
    ...o,
  });

  it('picks the stuck pod of an old revision, never a Ready or current one', () => {
    const stuckOld = broker(2, 'old', { ready: false, stuck: crash });
    expect(planRepair([broker(0, 'old'), broker(1, 'new'), stuckOld], 'new')).toBe(stuckOld);
    // On the update revision: replacing it would only recreate the same pod.
    expect(
      planRepair([broker(0, 'old'), broker(1, 'new', { ready: false, stuck: crash })], 'new'),
    ).toBeUndefined();
    // Already going, or no StatefulSet revision known yet.
    expect(
      planRepair([broker(0, 'old', { ready: false, stuck: crash, terminating: true })], 'new'),
    ).toBeUndefined();
    expect(planRepair([stuckOld], undefined)).toBeUndefined();
    // Lowest id first, one at a time.
    const other = broker(1, 'old', { ready: false, stuck: crash });
    expect(planRepair([other, stuckOld], 'new')).toBe(other);
  });
});
