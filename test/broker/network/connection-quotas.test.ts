/**
 * ConnectionQuotas' decisions as pure logic (the config is a map, the clock a variable); the real
 * acceptor is tested on broker processes in test/broker/connection-quotas.test.ts.
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { dynamicConfigProblem } from '../../../src/common/broker-config.js';
import {
  ConnectionQuotas,
  normalizeIp,
  parseConnectionOverrides,
} from '../../../src/broker/network/connection-quotas.js';

function quotas(
  props: Record<string, string>,
  listeners = ['INTERNAL', 'EXTERNAL'],
  ipRates: Record<string, number> = {},
) {
  const clock = { now: 0 };
  const q = new ConnectionQuotas({
    ipConnectionRate: (ip) => ipRates[ip] ?? ipRates['<default>'] ?? null,
    config: { raw: (k: string) => props[k] ?? null },
    listeners,
    interBrokerListener: 'INTERNAL',
    windowSamples: 11,
    windowSeconds: 1,
    log: pino({ level: 'silent' }),
    now: () => clock.now,
  });
  return { q, clock, props };
}

describe('ConnectionQuotas', () => {
  it("parses max.connections.per.ip.overrides as Kafka's Csv.parseCsvMap", () => {
    expect([...parseConnectionOverrides('127.0.0.2:5, localhost : 3,::1:7')]).toEqual([
      ['127.0.0.2', 5],
      ['localhost', 3],
      ['::1', 7],
    ]);
    expect(parseConnectionOverrides('').size).toBe(0);
    // Kafka's sentences (its dynamic validation answers INVALID_REQUEST with them).
    expect(() => parseConnectionOverrides('host')).toThrow(
      "Error parsing configuration property 'max.connections.per.ip.overrides': begin 0, end -1, length 4",
    );
    expect(() => parseConnectionOverrides('host:x')).toThrow('For input string: "x"');
    expect(() => parseConnectionOverrides('a/b:1')).toThrow(
      'max.connections.per.ip.overrides contains invalid addresses : a/b',
    );
    expect(dynamicConfigProblem({ 'max.connections.per.ip.overrides': 'h:1,g' }, false)).toEqual({
      key: 'max.connections.per.ip.overrides',
      message:
        "Error parsing configuration property 'max.connections.per.ip.overrides': begin 0, end -1, length 1",
    });
    expect(
      dynamicConfigProblem({ 'max.connections.per.ip.overrides': '127.0.0.2:5,localhost:3' }, false),
    ).toBeUndefined();
    expect(normalizeIp('::ffff:127.0.0.1')).toBe('127.0.0.1');
  });

  it('per IP: counts, refuses over the limit or the override, frees on close', () => {
    const { q } = quotas({
      'max.connections.per.ip': '2',
      'max.connections.per.ip.overrides': '127.0.0.2:1',
    });
    expect(q.inc('EXTERNAL', '127.0.0.1')).toBeNull();
    expect(q.inc('EXTERNAL', '::ffff:127.0.0.1')).toBeNull();
    expect(q.inc('EXTERNAL', '127.0.0.1')).toEqual({ reason: 'per_ip', max: 2 });
    expect(q.inc('EXTERNAL', '127.0.0.2')).toBeNull();
    expect(q.inc('INTERNAL', '127.0.0.2')).toEqual({ reason: 'per_ip', max: 1 });
    expect(q.totalCount).toBe(3);
    q.dec('EXTERNAL', '127.0.0.1');
    expect(q.inc('EXTERNAL', '127.0.0.1')).toBeNull();
  });

  it("per IP creation rate (the ip entity's connection_creation_rate): refused over it, not counted, the default IP entity too", () => {
    const { q, clock } = quotas({}, ['INTERNAL', 'EXTERNAL'], { '127.0.0.2': 2, '<default>': 5 });
    // 2/s over Kafka's 11 one-second windows (at least 10 s measured): 20 connections at t=0 fit.
    const at0 = Array.from({ length: 25 }, () => q.inc('EXTERNAL', '127.0.0.2'));
    expect(at0.filter((r) => r === null)).toHaveLength(20);
    const refused = at0.find((r) => r !== null);
    expect(refused?.reason).toBe('ip_rate');
    expect(refused && 'throttleMs' in refused ? refused.throttleMs : 0).toBeGreaterThan(0);
    expect(q.countFor('127.0.0.2')).toBe(20); // refused connections are not counted
    // Another IP has the default entity's rate (5/s: 50 at once).
    expect(
      Array.from({ length: 60 }, () => q.inc('EXTERNAL', '127.0.0.3')).filter((r) => r === null),
    ).toHaveLength(50);
    // Without any rate for an IP, nothing is refused for rate.
    const { q: free } = quotas({}, ['INTERNAL', 'EXTERNAL'], { '127.0.0.2': 2 });
    expect(
      Array.from({ length: 100 }, () => free.inc('EXTERNAL', '127.0.0.9')).every((r) => r === null),
    ).toBe(true);
    // Refused connections were taken back out of the rate: after the windows pass, new ones fit again.
    clock.now = 12_000;
    expect(q.inc('EXTERNAL', '127.0.0.2')).toBeNull();
  });

  it('max.connections: broker-wide slots, the protected inter-broker listener, per-listener limits', () => {
    const { q, props } = quotas({ 'max.connections': '2' });
    q.inc('EXTERNAL', '127.0.0.1');
    q.inc('EXTERNAL', '127.0.0.1');
    expect(q.slotAvailable('EXTERNAL')).toBe(false);
    // INTERNAL is the inter-broker listener of two: exempt from the broker-wide limit, but its own
    // listener limit falls back to max.connections.
    expect(q.slotAvailable('INTERNAL')).toBe(true);
    props['listener.name.internal.max.connections'] = '0';
    expect(q.slotAvailable('INTERNAL')).toBe(false);
    props['max.connections'] = '3';
    expect(q.slotAvailable('EXTERNAL')).toBe(true);
    props['listener.name.external.max.connections'] = '2';
    expect(q.slotAvailable('EXTERNAL')).toBe(false);
  });

  it('a single listener is not protected even when it is the inter-broker one', () => {
    const { q } = quotas({ 'max.connections': '1' }, ['INTERNAL']);
    q.inc('INTERNAL', '127.0.0.1');
    expect(q.isProtected('INTERNAL')).toBe(false);
    expect(q.slotAvailable('INTERNAL')).toBe(false);
  });

  it('closes excess connections of unprotected listeners when the protected one goes over', () => {
    const { q } = quotas({ 'max.connections': '2' });
    const closed: string[] = [];
    q.register('EXTERNAL', { wake: () => {}, closeExcess: (n) => (closed.push(`EXTERNAL:${n}`), n) });
    q.register('INTERNAL', { wake: () => {}, closeExcess: (n) => (closed.push(`INTERNAL:${n}`), n) });
    q.inc('EXTERNAL', '127.0.0.1');
    q.inc('EXTERNAL', '127.0.0.1');
    q.inc('INTERNAL', '127.0.0.3');
    expect(closed).toEqual(['EXTERNAL:1']);
  });

  it('creation rate: a burst of about (samples − 1) × rate passes, then throttle times grow, bounded by the window', () => {
    const { q, clock } = quotas({ 'max.connection.creation.rate': '5' });
    const throttles: number[] = [];
    for (let i = 0; i < 60; i++) throttles.push(q.recordConnectionAndGetThrottleMs('EXTERNAL'));
    // 11 × 1 s windows: averaged over 10 s, so 50 connections at t=0 are within 5/s.
    expect(throttles.slice(0, 50).every((t) => t === 0)).toBe(true);
    expect(throttles[50]).toBeGreaterThan(0);
    expect(Math.max(...throttles)).toBeLessThanOrEqual(1000);
    // The protected inter-broker listener is not counted against the broker-wide rate.
    expect(q.recordConnectionAndGetThrottleMs('INTERNAL')).toBe(0);
    // Later, the rate has room again.
    clock.now = 60_000;
    expect(q.recordConnectionAndGetThrottleMs('EXTERNAL')).toBe(0);
  });
});
