/**
 * The pure quota math (src/broker/quota/rate.ts, src/common/client-quota.ts): Kafka's sampled Rate
 * window, QuotaUtils' throttle time, the KIP-599 token bucket, KIP-55 precedence, and
 * ClientQuotaControlManager's validation sentences. Times are passed in, no clock is read.
 */
import { describe, expect, it } from 'vitest';
import { SampledRate } from '../../../src/common/sampled-rate.js';
import { TokenBucket } from '../../../src/broker/quota/rate.js';
import {
  entityKey,
  entityMatches,
  resolveQuota,
  validateEntity,
  validateQuotaValue,
  USER_CLIENT_QUOTA_KEYS,
  type ClientQuotaEntity,
  type ClientQuotaMap,
} from '../../../src/common/client-quota.js';

const CFG = { samples: 11, windowMs: 1000 };

describe('SampledRate (Kafka Rate over SampledStat)', () => {
  it('measures over at least samples-1 windows, so a new client is not measured over milliseconds', () => {
    const r = new SampledRate(CFG);
    r.record(2000, 0);
    expect(r.windowSizeMs(0)).toBe(10_000);
    expect(r.measure(0)).toBe(200);
    expect(r.windowSizeMs(5500)).toBe(10_500); // 5 full windows elapsed + 5 more to reach 10
    expect(r.windowSizeMs(10_500)).toBe(10_500); // 10 full windows: the elapsed time itself
  });

  it('starts a new window every windowMs and forgets windows older than samples × windowMs', () => {
    const r = new SampledRate(CFG);
    for (let t = 0; t < 11_000; t += 1000) r.record(100, t);
    expect(r.total(10_999)).toBe(1100);
    // At 11 000 the first window (started at 0) is samples × windowMs old: gone.
    expect(r.total(11_000)).toBe(1000);
    expect(r.total(30_000)).toBe(0);
  });

  it('unrecord (a negative value) brings the sum back', () => {
    const r = new SampledRate(CFG);
    r.record(5000, 100);
    r.record(-5000, 200);
    expect(r.total(300)).toBe(0);
  });

  it('average is the mean of the recorded values in the kept windows', () => {
    const r = new SampledRate(CFG);
    r.record(100, 0);
    r.record(300, 1500);
    expect(r.average(2000)).toBe(200);
  });
});

describe('throttle time (QuotaUtils.throttleTime)', () => {
  it('is 0 within the bound and (rate - bound) / bound × window above it', () => {
    const r = new SampledRate(CFG);
    r.record(10_000, 0);
    expect(r.throttleMs(1000, 0)).toBe(0); // 1000/s: exactly the bound is acceptable
    r.record(12_000, 0);
    // 22 000 over 10 s = 2200/s, 1.2 × the bound over: 12 s of silence brings it back.
    expect(r.throttleMs(1000, 0)).toBe(12_000);
  });

  it('a producer held to the throttle converges on the bound', () => {
    // Send 64 KiB batches as fast as allowed, waiting out each throttle: the rate over the run is
    // the quota (what the Java producer test measures end to end).
    const bound = 1024 * 1024;
    const r = new SampledRate(CFG);
    let t = 0;
    let sent = 0;
    while (t < 60_000) {
      r.record(65_536, t);
      sent += 65_536;
      t += Math.max(1, r.throttleMs(bound, t));
    }
    const rate = sent / (t / 1000);
    expect(rate / bound).toBeGreaterThan(0.9);
    expect(rate / bound).toBeLessThan(1.2);
  });
});

describe('TokenBucket (KIP-599)', () => {
  it('starts full (samples × window × rate), may go negative, refills at the rate', () => {
    const b = new TokenBucket(CFG, 10, 0);
    expect(b.tokens(10, 0)).toBe(110);
    b.record(110, 10, 0);
    expect(b.throttleTimeMs(10, 0)).toBe(0);
    b.record(20, 10, 0);
    expect(b.throttleTimeMs(10, 0)).toBe(2000);
    expect(b.throttleTimeMs(10, 1000)).toBe(1000);
    expect(b.throttleTimeMs(10, 2000)).toBe(0);
    expect(b.tokens(10, 1_000_000)).toBe(110);
  });
});

function quotas(entries: [ClientQuotaEntity, Record<string, number>][]): ClientQuotaMap {
  return new Map(entries.map(([entity, q]) => [entityKey(entity), { entity, quotas: q }]));
}

describe('KIP-55 precedence (resolveQuota)', () => {
  const all: [ClientQuotaEntity, Record<string, number>][] = [
    [{ user: 'alice', 'client-id': 'app' }, { producer_byte_rate: 1 }],
    [{ user: 'alice', 'client-id': null }, { producer_byte_rate: 2 }],
    [{ user: 'alice' }, { producer_byte_rate: 3 }],
    [{ user: null, 'client-id': 'app' }, { producer_byte_rate: 4 }],
    [{ user: null, 'client-id': null }, { producer_byte_rate: 5 }],
    [{ user: null }, { producer_byte_rate: 6 }],
    [{ 'client-id': 'app' }, { producer_byte_rate: 7 }],
    [{ 'client-id': null }, { producer_byte_rate: 8 }],
  ];
  it('takes the most specific entity, level by level, and keys the sensor as Kafka does', () => {
    const expected = [
      { limit: 1, user: 'alice', clientId: 'app' },
      { limit: 2, user: 'alice', clientId: 'app' },
      { limit: 3, user: 'alice', clientId: '' },
      { limit: 4, user: 'alice', clientId: 'app' },
      { limit: 5, user: 'alice', clientId: 'app' },
      { limit: 6, user: 'alice', clientId: '' },
      { limit: 7, user: '', clientId: 'app' },
      { limit: 8, user: '', clientId: 'app' },
    ];
    for (let i = 0; i < all.length; i++)
      expect(resolveQuota(quotas(all.slice(i)), 'producer_byte_rate', 'alice', 'app')).toEqual(expected[i]);
    expect(resolveQuota(quotas([]), 'producer_byte_rate', 'alice', 'app')).toBeNull();
  });

  it('resolves each key on its own', () => {
    const q = quotas([
      [{ 'client-id': 'app' }, { consumer_byte_rate: 10 }],
      [{ user: 'alice' }, { producer_byte_rate: 20 }],
    ]);
    expect(resolveQuota(q, 'consumer_byte_rate', 'alice', 'app')?.limit).toBe(10);
    expect(resolveQuota(q, 'producer_byte_rate', 'alice', 'app')?.limit).toBe(20);
    expect(resolveQuota(q, 'request_percentage', 'alice', 'app')).toBeNull();
  });
});

describe("ClientQuotaControlManager's validation", () => {
  const err = (x: unknown) => (x as { message?: string }).message;
  it('entities', () => {
    expect(err(validateEntity([]))).toBe('Invalid empty client quota entity');
    expect(err(validateEntity([{ entityType: 'group', entityName: 'g' }]))).toBe(
      'Unhandled client quota entity type: group',
    );
    expect(
      err(
        validateEntity([
          { entityType: 'user', entityName: 'a' },
          { entityType: 'user', entityName: 'b' },
        ]),
      ),
    ).toBe('Invalid client quota entity, duplicate entity entry user');
    expect(err(validateEntity([{ entityType: 'client-id', entityName: '' }]))).toBe(
      'Empty client-id not supported',
    );
    expect(
      err(
        validateEntity([
          { entityType: 'ip', entityName: '10.0.0.1' },
          { entityType: 'user', entityName: 'a' },
        ]),
      ),
    ).toBe('Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId');
    expect(validateEntity([{ entityType: 'user', entityName: null }])).toMatchObject({
      entity: { user: null },
    });
  });

  it('keys and values', () => {
    const k = USER_CLIENT_QUOTA_KEYS;
    expect(validateQuotaValue(k, 'foo', 1)?.message).toBe('Invalid configuration key foo');
    expect(validateQuotaValue(k, 'producer_byte_rate', -1)?.message).toBe(
      'Quota producer_byte_rate must be greater than 0',
    );
    expect(validateQuotaValue(k, 'producer_byte_rate', 0)?.message).toBe(
      'Quota producer_byte_rate must be greater than 0',
    );
    expect(validateQuotaValue(k, 'producer_byte_rate', 1.5)?.message).toBe(
      'producer_byte_rate cannot be a fractional value.',
    );
    expect(validateQuotaValue(k, 'request_percentage', 12.5)).toBeNull();
    expect(validateQuotaValue(k, 'controller_mutation_rate', 0.5)).toBeNull();
    expect(validateQuotaValue(k, 'connection_creation_rate', 5)?.message).toBe(
      'Invalid configuration key connection_creation_rate',
    );
  });

  it('describe filters: exact, default, specified, strict', () => {
    const e = { user: 'alice', 'client-id': null };
    expect(entityMatches(e, new Map([['user', 'alice']]), new Set(), false)).toBe(true);
    expect(entityMatches(e, new Map([['user', 'alice']]), new Set(), true)).toBe(false);
    expect(entityMatches(e, new Map([['client-id', null]]), new Set(['user']), true)).toBe(true);
    expect(entityMatches(e, new Map([['user', null]]), new Set(), false)).toBe(false);
    expect(entityMatches({ 'client-id': 'x' }, new Map(), new Set(['user']), false)).toBe(false);
  });
});
