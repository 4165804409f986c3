/** ReplicationQuotaManager as pure logic: which partitions are throttled, and when the bound holds. */
import { describe, expect, it } from 'vitest';
import {
  ReplicationQuotaManager,
  parseThrottledPartitions,
} from '../../../src/broker/replication/replication-quota.js';

describe('replication throttles', () => {
  it("parses the throttled replica lists as Kafka's ConfigHandler, for this broker only", () => {
    expect(parseThrottledPartitions('*', 1)).toBe('all');
    expect(parseThrottledPartitions(' ', 1)).toEqual(new Set());
    expect(parseThrottledPartitions('0:1,1:2, 2 : 1', 1)).toEqual(new Set([0, 2]));
    expect(parseThrottledPartitions('0:1,1:2', 3)).toEqual(new Set());
  });

  it('throttles the listed partitions against the broker rate, read at each check', () => {
    const clock = { now: 0 };
    const broker: Record<string, string> = { 'follower.replication.throttled.rate': String(1024 * 1024) };
    const topics: Record<string, Record<string, string>> = {
      t: { 'follower.replication.throttled.replicas': '0:2,1:3' },
    };
    const q = new ReplicationQuotaManager({
      type: 'FollowerReplication',
      brokerId: 2,
      config: { raw: (k) => broker[k] ?? null },
      topicConfigs: (t) => topics[t],
      windowSamples: 11,
      windowSeconds: 1,
      now: () => clock.now,
    });
    expect(q.isThrottled('t', 0)).toBe(true);
    expect(q.isThrottled('t', 1)).toBe(false);
    expect(q.isThrottled('other', 0)).toBe(false);
    // SimpleRate: averaged over at least one window, so one second's worth fits.
    q.record(1024 * 1024);
    expect(q.isQuotaExceeded()).toBe(false);
    q.record(1);
    expect(q.isQuotaExceeded()).toBe(true);
    clock.now = 2000;
    expect(q.isQuotaExceeded()).toBe(false);
    // Dynamic: a lower rate applies at the next check; the list can change too.
    broker['follower.replication.throttled.rate'] = '100';
    expect(q.isQuotaExceeded()).toBe(true);
    delete broker['follower.replication.throttled.rate'];
    expect(q.isQuotaExceeded()).toBe(false);
    topics.t!['follower.replication.throttled.replicas'] = '*';
    expect(q.isThrottled('t', 1)).toBe(true);
  });
});
