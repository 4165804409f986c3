/**
 * The client's pure parts: version choice, backoff, bootstrap parsing, error classes; and the
 * module boundary (src/client imports only src/protocol and node built-ins).
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  backoffMs,
  BrokerApiVersions,
  ConnectionError,
  DEFAULT_RETRY,
  parseBootstrap,
  pickVersion,
  ResponseError,
  retryPolicy,
  UnsupportedVersionError,
} from '../../src/client/index.js';
import { errorCodeOf } from '../../src/broker/error-mapping.js';
import { ApiKeys } from '../../src/protocol/messages/index.js';
import { REPO_ROOT } from '../helpers/broker-process.js';

describe('pickVersion', () => {
  const broker = new BrokerApiVersions(
    [
      { apiKey: ApiKeys.Produce, minVersion: 3, maxVersion: 12 },
      { apiKey: ApiKeys.Metadata, minVersion: 0, maxVersion: 9 },
    ],
    'b:9092',
  );

  it('takes the highest version in caller ∩ codecs ∩ broker', () => {
    expect(broker.pick(ApiKeys.Metadata, { min: 1, max: 12 })).toBe(9);
    expect(broker.pick(ApiKeys.Metadata, 4)).toBe(4);
    // The broker knows Produce v12, the codecs stop at 11.
    expect(broker.pick(ApiKeys.Produce, { min: 0, max: 20 })).toBe(11);
    expect(pickVersion(ApiKeys.Metadata, { min: 1, max: 99 })).toBe(12);
  });

  it('says why when nothing fits', () => {
    expect(() => broker.pick(ApiKeys.Produce, { min: 0, max: 2 })).toThrow(
      new UnsupportedVersionError(
        'no common version of Produce (key 0): asked for v0-2, codecs know v0-11, b:9092 serves v3-12',
      ),
    );
    expect(() => broker.pick(ApiKeys.Fetch, 4)).toThrow('broker b:9092 does not support Fetch (key 1)');
  });
});

describe('backoff', () => {
  it('doubles from backoffMs up to maxBackoffMs, within ±20 % jitter', () => {
    const p = retryPolicy({ backoffMs: 100, maxBackoffMs: 1000 })!;
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(p, n, () => 0.5))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(backoffMs(p, 1, () => 0)).toBe(80);
    expect(backoffMs(p, 1, () => 1)).toBe(120);
  });

  it('no policy unless asked', () => {
    expect(retryPolicy(undefined)).toBeNull();
    expect(retryPolicy(false)).toBeNull();
    expect(retryPolicy(true)).toBe(DEFAULT_RETRY);
    expect(retryPolicy({ retries: 2 })).toMatchObject({ retries: 2, backoffMs: 100, maxBackoffMs: 1000 });
  });
});

describe('bootstrap lists', () => {
  it('parses host:port lists, IPv6 in brackets, and refuses a missing port', () => {
    expect(parseBootstrap(' a:1, b:2 ,[::1]:3')).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
      { host: '::1', port: 3 },
    ]);
    expect(() => parseBootstrap('a')).toThrow(TypeError);
    expect(() => parseBootstrap('a:x')).toThrow(TypeError);
  });
});

describe('errors', () => {
  it("carry Kafka's name, code and retriable flag, which the broker's error table understands", () => {
    const e = new ResponseError(6);
    expect(e).toMatchObject({
      name: 'ResponseError',
      errorName: 'NOT_LEADER_OR_FOLLOWER',
      code: 6,
      retriable: true,
    });
    expect(errorCodeOf(e)).toBe(6);
    expect(new ResponseError(36)).toMatchObject({ errorName: 'TOPIC_ALREADY_EXISTS', retriable: false });
    expect(new ResponseError(9999)).toMatchObject({ errorName: 'UNKNOWN_ERROR_CODE_9999', code: 9999 });
    const c = new ConnectionError('gone', { cause: new Error('ECONNRESET') });
    expect(c).toMatchObject({
      name: 'ConnectionError',
      errorName: 'NETWORK_EXCEPTION',
      code: 13,
      retriable: true,
    });
    expect((c.cause as Error).message).toBe('ECONNRESET');
  });
});

describe('module boundary', () => {
  it('src/client imports only src/protocol, itself and node built-ins', () => {
    const dir = join(REPO_ROOT, 'src/client');
    const bad: string[] = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const src = readFileSync(join(dir, f), 'utf8');
      for (const m of src.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
        const spec = m[1]!;
        if (!(spec.startsWith('node:') || spec.startsWith('./') || spec.startsWith('../protocol/')))
          bad.push(`${f}: ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
