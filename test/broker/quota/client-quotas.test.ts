/**
 * Client quotas end to end (issue 17): a real broker process, Kafka 4.4.0's kafka-configs.sh and
 * kafka-topics.sh, and real Java clients (test/clients/java/QuotaLoad.java) that measure their own
 * rate and report the throttle time their metrics saw.
 *
 * The measuring window is QUOTA_TEST_SECONDS (see below).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../../helpers/broker-process.js';
import { ensureJavaClient, runJava, type RunResult } from '../../helpers/clients.js';
import { ensureKafkaTools, runKafkaTool } from '../../helpers/kafka-tools.js';
import { RawClient } from '../../helpers/raw-client.js';
import { ApiKeys } from '../../../src/protocol/messages/index.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';

/**
 * How a greedy client's rate is measured. Kafka's algorithm (which Sluice follows, with the default
 * quota.window.num=11 windows of 1 s) lets a new sensor take 10 windows' worth of its quota at once,
 * and again each time its oldest window expires, about every 11 s: the client's bytes arrive as a
 * burst and a trickle per 11 s cycle. The clients' clocks start at their first acknowledged (or
 * received) byte, and the window spans whole cycles: 33 s by default (3 cycles, the 30 s
 * rounded up to whole cycles), `QUOTA_TEST_SECONDS=66` for longer. Over a window that is not
 * cycles-long the rate depends on where the bursts fall (30 s measured 0.83-1.15 × the quota).
 */
const SECONDS = Number(process.env.QUOTA_TEST_SECONDS ?? 33);
const TOLERANCE = 0.1;
const MiB = 1024 * 1024;

const show = (r: RunResult): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

interface LoadResult {
  rate: number;
  throttleAvg: number;
  throttleMax: number;
}

function result(r: RunResult): LoadResult {
  expect(r.code, show(r)).toBe(0);
  const m = /result rate=(\d+) throttleAvg=([\d.E]+) throttleMax=([\d.E]+)/.exec(r.stdout);
  expect(m, show(r)).not.toBeNull();
  return { rate: Number(m![1]), throttleAvg: Number(m![2]), throttleMax: Number(m![3]) };
}

/** Sum of a metric's samples whose labels include `labels` (Prometheus text format). */
function metricValue(text: string, name: string, labels: Record<string, string>): number | null {
  let found: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    found = (found ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return found;
}

describe(
  'client quotas (KIP-13/55/124/219/599) with Kafka 4.4 tools and the Java client',
  { timeout: 300_000 },
  () => {
    const broker = new BrokerProcess({
      overrides: { 'num.partitions': '1' },
    });
    let raw: RawClient;
    const tmp = mkdtempSync(join(tmpdir(), 'sluice-quotas-'));
    const topicsCliConfig = join(tmp, 'topics-cli.properties');
    writeFileSync(topicsCliConfig, 'client.id=topics-cli\n');

    const configs = (args: string[]) =>
      runKafkaTool('kafka-configs', ['--bootstrap-server', broker.bootstrap, ...args]);
    const load = (
      mode: string,
      topic: string,
      clientId: string,
      seconds: number,
      warmup: number,
      props = '',
    ) =>
      runJava(
        'QuotaLoad.java',
        [mode, broker.bootstrap, topic, clientId, String(seconds), String(warmup), props],
        240_000,
      );
    const metrics = async () =>
      (
        await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) })
      ).text();

    beforeAll(async () => {
      await Promise.all([ensureKafkaTools(), ensureJavaClient(), broker.start()]);
      raw = await RawClient.connect(broker.port);
    }, 600_000);

    afterAll(async () => {
      raw?.close();
      await broker.cleanup();
      rmSync(tmp, { recursive: true, force: true });
    });

    it('producer_byte_rate: kafka-configs sets it, the client-id is held to 1 MiB/s, another client is not', async () => {
      let r = await configs([
        '--alter',
        '--add-config',
        'producer_byte_rate=1048576',
        '--entity-type',
        'clients',
        '--entity-name',
        'quota-x',
      ]);
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toContain('Completed updating config for client quota-x.');
      r = await configs(['--describe', '--entity-type', 'clients', '--entity-name', 'quota-x']);
      expect(r.stdout.trim(), show(r)).toBe(
        "Quota configs for client-id 'quota-x' are producer_byte_rate=1048576.0",
      );

      const [x, y] = await Promise.all([
        load('produce', 'quota-produce', 'quota-x', SECONDS, 0).then(result),
        load('produce', 'quota-produce', 'quota-free', SECONDS, 0).then(result),
      ]);
      console.log(
        `producer_byte_rate=1 MiB/s over ${SECONDS} s: quota-x ${(x.rate / MiB).toFixed(3)} MiB/s (throttle avg ${x.throttleAvg.toFixed(0)} ms, max ${x.throttleMax} ms); quota-free ${(y.rate / MiB).toFixed(3)} MiB/s`,
      );
      expect(x.rate / MiB).toBeGreaterThan(1 - TOLERANCE);
      expect(x.rate / MiB).toBeLessThan(1 + TOLERANCE);
      expect(x.throttleMax).toBeGreaterThan(0);
      expect(x.throttleAvg).toBeGreaterThan(0);
      // The other client on the same broker is not held to the quota.
      expect(y.rate).toBeGreaterThan(2 * MiB);
      expect(y.throttleMax).toBe(0);

      const text = await metrics();
      expect(
        metricValue(text, 'kafka_server_produce_throttle_time_max', { client_id: 'quota-x' }),
      ).toBeGreaterThan(0);
      expect(metricValue(text, 'kafka_server_produce_byte_rate', { client_id: 'quota-x' })).toBeGreaterThan(
        0,
      );
      expect(metricValue(text, 'kafka_server_produce_throttle_time_max', { client_id: 'quota-free' })).toBe(
        0,
      );
    });

    it('consumer_byte_rate: a consumer with the client-id is held to its quota', async () => {
      const r = await configs([
        '--alter',
        '--add-config',
        'consumer_byte_rate=1048576',
        '--entity-type',
        'clients',
        '--entity-name',
        'quota-c',
      ]);
      expect(r.code, show(r)).toBe(0);
      // Enough data that the consumer never catches up: the burst a new sensor allows plus the window.
      const fill = await load('fill', 'quota-consume', 'quota-filler', 10 + Math.ceil(SECONDS * 1.5), 0);
      expect(fill.code, show(fill)).toBe(0);
      // 256 KiB fetches: the rate is measured in smaller steps than the default 1 MiB (with 1 MiB
      // fetches the same quota measured 0.92-1.05 MiB/s over 33 s).
      const c = result(
        await load('consume', 'quota-consume', 'quota-c', SECONDS, 0, 'max.partition.fetch.bytes=262144'),
      );
      console.log(
        `consumer_byte_rate=1 MiB/s over ${SECONDS} s: ${(c.rate / MiB).toFixed(3)} MiB/s (throttle avg ${c.throttleAvg.toFixed(0)} ms, max ${c.throttleMax} ms)`,
      );
      expect(c.rate / MiB).toBeGreaterThan(1 - TOLERANCE);
      expect(c.rate / MiB).toBeLessThan(1 + TOLERANCE);
      expect(c.throttleMax).toBeGreaterThan(0);
      expect(
        metricValue(await metrics(), 'kafka_server_fetch_throttle_time_max', { client_id: 'quota-c' }),
      ).toBeGreaterThan(0);
    });

    it('request_percentage: a client over its share of handler time is throttled', async () => {
      const r = await configs([
        '--alter',
        '--add-config',
        'request_percentage=0.5',
        '--entity-type',
        'clients',
        '--entity-name',
        'quota-r',
      ]);
      expect(r.code, show(r)).toBe(0);
      const p = result(
        await load('produce', 'quota-request', 'quota-r', 8, 0, 'linger.ms=0|batch.size=1024'),
      );
      console.log(
        `request_percentage=0.5: throttle avg ${p.throttleAvg.toFixed(0)} ms, max ${p.throttleMax} ms, rate ${(p.rate / MiB).toFixed(3)} MiB/s`,
      );
      expect(p.throttleMax).toBeGreaterThan(0);
      const text = await metrics();
      expect(
        metricValue(text, 'kafka_server_request_throttle_time_max', { client_id: 'quota-r' }),
      ).toBeGreaterThan(0);
      expect(
        metricValue(text, 'kafka_server_request_request_time', { client_id: 'quota-r' }),
      ).toBeGreaterThan(0);
    });

    it('a user quota (User:ANONYMOUS on PLAINTEXT) applies to all its clients and beats a client-id quota', async () => {
      let r = await configs([
        '--alter',
        '--add-config',
        'producer_byte_rate=524288',
        '--entity-type',
        'users',
        '--entity-name',
        'ANONYMOUS',
      ]);
      expect(r.code, show(r)).toBe(0);
      r = await configs(['--describe', '--entity-type', 'users', '--entity-name', 'ANONYMOUS']);
      expect(r.stdout, show(r)).toContain(
        "Quota configs for user-principal 'ANONYMOUS' are producer_byte_rate=524288.0",
      );
      try {
        const u = result(await load('produce', 'quota-user', 'quota-any', 22, 0));
        console.log(
          `user ANONYMOUS producer_byte_rate=0.5 MiB/s over 22 s: ${(u.rate / MiB).toFixed(3)} MiB/s (throttle max ${u.throttleMax} ms)`,
        );
        expect(u.rate / (MiB / 2)).toBeGreaterThan(0.85);
        expect(u.rate / (MiB / 2)).toBeLessThan(1.15);
        expect(u.throttleMax).toBeGreaterThan(0);
        // The sensor is the user's (client_id label empty), as Kafka's user-level quota metrics.
        expect(
          metricValue(await metrics(), 'kafka_server_produce_byte_rate', {
            user: 'ANONYMOUS',
            client_id: '',
          }),
        ).toBeGreaterThan(0);
      } finally {
        r = await configs([
          '--alter',
          '--delete-config',
          'producer_byte_rate',
          '--entity-type',
          'users',
          '--entity-name',
          'ANONYMOUS',
        ]);
        expect(r.code, show(r)).toBe(0);
      }
    });

    it('controller_mutation_rate: partitions beyond the rate are refused with THROTTLING_QUOTA_EXCEEDED', async () => {
      // The raw client's client id is sluice-test.
      let a = await raw.request(ApiKeys.AlterClientQuotas, 1, {
        entries: [
          {
            entity: [{ entityType: 'client-id', entityName: 'sluice-test' }],
            ops: [{ key: 'controller_mutation_rate', value: 2, remove: false }],
          },
        ],
        validateOnly: false,
      });
      expect(a.entries[0]!.errorCode).toBe(ErrorCode.NONE);
      const create = (name: string, partitions: number, version: number) =>
        raw.request(ApiKeys.CreateTopics, version, {
          topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
          timeoutMs: 30_000,
          validateOnly: false,
        });
      // The bucket holds 11 windows × 2/s = 22 mutations: 40 partitions are taken (strict: one request
      // may go below zero), and the next creation is refused until it refills.
      let c = await create('quota-mut-1', 40, 7);
      expect(c.topics[0]!.errorCode).toBe(ErrorCode.NONE);
      c = await create('quota-mut-2', 1, 7);
      expect(c.topics[0]).toMatchObject({
        errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED,
        errorMessage: 'The throttling quota has been exceeded.',
      });
      expect(c.throttleTimeMs).toBeGreaterThan(5000);
      expect(c.throttleTimeMs).toBeLessThanOrEqual(9000);
      console.log(
        `controller_mutation_rate=2: second CreateTopics refused, throttle_time_ms=${c.throttleTimeMs}`,
      );
      // kafka-topics.sh (whose Admin call does not retry on a quota violation) reports it.
      a = await raw.request(ApiKeys.AlterClientQuotas, 1, {
        entries: [
          {
            entity: [{ entityType: 'client-id', entityName: 'topics-cli' }],
            ops: [{ key: 'controller_mutation_rate', value: 5, remove: false }],
          },
        ],
        validateOnly: false,
      });
      expect(a.entries[0]!.errorCode).toBe(ErrorCode.NONE);
      const topics = (name: string, partitions: number) =>
        runKafkaTool('kafka-topics', [
          '--bootstrap-server',
          broker.bootstrap,
          '--command-config',
          topicsCliConfig,
          '--create',
          '--topic',
          name,
          '--partitions',
          String(partitions),
        ]);
      let r = await topics('quota-cli-1', 80); // 55 tokens: -25 after, 5 s to refill to zero
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toContain('Created topic quota-cli-1.');
      r = await topics('quota-cli-2', 1);
      expect(r.code, show(r)).not.toBe(0);
      expect(r.stdout, show(r)).toContain(
        'Error while executing topic command : The throttling quota has been exceeded.',
      );
      expect(r.stderr, show(r)).toMatch(/Connection to node 1 is throttled for \d+ ms/);
      // Once the bucket has refilled, the same creation goes through.
      await new Promise((res) => setTimeout(res, 6000));
      r = await topics('quota-cli-2', 1);
      expect(r.code, show(r)).toBe(0);
      expect(
        metricValue(await metrics(), 'kafka_server_controllermutation_throttle_time_max', {
          client_id: 'sluice-test',
        }),
      ).toBeGreaterThan(0);
    });

    it('bad input gets Kafka errors and sentences; the broker stays up', async () => {
      // Negative and fractional rates through kafka-configs.sh.
      let r = await configs([
        '--alter',
        '--add-config',
        'producer_byte_rate=-5',
        '--entity-type',
        'clients',
        '--entity-name',
        'bad',
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stderr, show(r)).toContain(
        'InvalidRequestException: Quota producer_byte_rate must be greater than 0',
      );
      r = await configs([
        '--alter',
        '--add-config',
        'consumer_byte_rate=10.5',
        '--entity-type',
        'users',
        '--entity-name',
        'bob',
      ]);
      expect(r.stderr, show(r)).toContain(
        'InvalidRequestException: consumer_byte_rate cannot be a fractional value.',
      );

      const alter = (
        entity: { entityType: string; entityName: string | null }[],
        key: string,
        value: number,
        validateOnly = false,
      ) =>
        raw.request(ApiKeys.AlterClientQuotas, 1, {
          entries: [{ entity, ops: [{ key, value, remove: false }] }],
          validateOnly,
        });
      const cases: [Parameters<typeof alter>, string][] = [
        [
          [[{ entityType: 'group', entityName: 'g' }], 'producer_byte_rate', 1],
          'Unhandled client quota entity type: group',
        ],
        [[[], 'producer_byte_rate', 1], 'Invalid empty client quota entity'],
        [
          [
            [
              { entityType: 'user', entityName: 'a' },
              { entityType: 'user', entityName: 'b' },
            ],
            'producer_byte_rate',
            1,
          ],
          'Invalid client quota entity, duplicate entity entry user',
        ],
        [
          [[{ entityType: 'client-id', entityName: '' }], 'producer_byte_rate', 1],
          'Empty client-id not supported',
        ],
        [
          [
            [
              { entityType: 'ip', entityName: '127.0.0.1' },
              { entityType: 'user', entityName: 'a' },
            ],
            'producer_byte_rate',
            1,
          ],
          'Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId',
        ],
        [[[{ entityType: 'user', entityName: 'a' }], 'foo_rate', 1], 'Invalid configuration key foo_rate'],
        [
          [[{ entityType: 'user', entityName: 'a' }], 'request_percentage', -1],
          'Quota request_percentage must be greater than 0',
        ],
        [
          [[{ entityType: 'ip', entityName: '127.0.0.1' }], 'producer_byte_rate', 1],
          'Invalid configuration key producer_byte_rate',
        ],
      ];
      for (const [args, message] of cases) {
        const res = await alter(...args);
        expect(res.entries, message).toHaveLength(1);
        expect(res.entries[0]).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: message });
      }
      // A key given twice, and an entity given twice (Kafka answers both the same way).
      const dup = await raw.request(ApiKeys.AlterClientQuotas, 1, {
        entries: [
          {
            entity: [{ entityType: 'user', entityName: 'dup' }],
            ops: [
              { key: 'producer_byte_rate', value: 1, remove: false },
              { key: 'producer_byte_rate', value: 2, remove: false },
            ],
          },
        ],
        validateOnly: false,
      });
      expect(dup.entries[0]).toMatchObject({
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: 'Ignoring duplicate entity ClientQuotaEntity(entries={user=dup})',
      });

      // validate_only: answered NONE, nothing stored.
      const v = await alter([{ entityType: 'user', entityName: 'v' }], 'producer_byte_rate', 100, true);
      expect(v.entries[0]!.errorCode).toBe(ErrorCode.NONE);

      // DescribeClientQuotas: EXACT / DEFAULT / SPECIFIED and strict, and its filter errors.
      await alter(
        [
          { entityType: 'user', entityName: null },
          { entityType: 'client-id', entityName: 'd1' },
        ],
        'consumer_byte_rate',
        300,
      );
      const describe = (
        components: { entityType: string; matchType: number; match: string | null }[],
        strict: boolean,
      ) => raw.request(ApiKeys.DescribeClientQuotas, 1, { components, strict });
      let d = await describe([{ entityType: 'user', matchType: 0, match: 'v' }], false);
      expect(d.entries).toEqual([]);
      d = await describe([{ entityType: 'user', matchType: 1, match: null }], false);
      expect(d.entries).toEqual([
        {
          entity: [
            { entityType: 'user', entityName: null },
            { entityType: 'client-id', entityName: 'd1' },
          ],
          values: [{ key: 'consumer_byte_rate', value: 300 }],
        },
      ]);
      d = await describe([{ entityType: 'user', matchType: 1, match: null }], true);
      expect(d.entries).toEqual([]);
      d = await describe([{ entityType: 'client-id', matchType: 2, match: null }], true);
      expect(d.entries!.map((e) => e.entity.map((x) => x.entityName))).toEqual(
        expect.arrayContaining([['quota-x'], ['quota-c'], ['quota-r'], ['sluice-test'], ['topics-cli']]),
      );
      expect(d.entries!.every((e) => e.entity.length === 1)).toBe(true);
      d = await describe([{ entityType: 'user', matchType: 0, match: null }], false);
      expect(d).toMatchObject({
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: 'Request specified MATCH_TYPE_EXACT, but set match string to null.',
      });
      d = await describe([{ entityType: 'group', matchType: 2, match: null }], false);
      expect(d).toMatchObject({
        errorCode: ErrorCode.UNSUPPORTED_VERSION,
        errorMessage: 'Unsupported entity type group',
      });

      // Still up and answering.
      r = await configs(['--describe', '--entity-type', 'clients', '--entity-name', 'quota-x']);
      expect(r.stdout, show(r)).toContain(
        "Quota configs for client-id 'quota-x' are producer_byte_rate=1048576.0",
      );
    });
  },
);
