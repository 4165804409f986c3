/**
 * The broker process as a user meets it: bad input never takes it down, pipelined requests are
 * answered in order, a clean restart keeps every message and offsets continue, a SIGKILL under
 * acks=1 load loses no acknowledged message, and /metrics moves as messages flow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, CompressionTypes } from 'kafkajs';
import { tmpdir } from 'node:os';
import { BrokerProcess, REPO_ROOT } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { run } from '../helpers/clients.js';
import { ApiKeys } from '../../src/protocol/messages/index.js';
import { decodeApiVersionsResponse } from '../../src/protocol/messages/api-versions.js';
import { decodeResponseHeader } from '../../src/protocol/messages/headers.js';
import { ByteReader } from '../../src/protocol/primitives.js';

async function expectServed(b: BrokerProcess): Promise<void> {
  const c = await RawClient.connect(b.port);
  const res = await c.request(ApiKeys.Metadata, 1, { topics: null });
  expect(res.brokers.map((x) => x.port)).toEqual([b.port]);
  c.close();
  expect(b.alive).toBe(true);
}

/** Consume a whole topic with kcat: lines "partition offset key value". */
async function consumeAll(b: BrokerProcess, topic: string): Promise<string[]> {
  const r = await run('kcat', ['-b', b.bootstrap, '-C', '-t', topic, '-e', '-q', '-f', '%p %o %k %s\n'], {
    timeoutMs: 60_000,
  });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

describe('bad input', () => {
  let b: BrokerProcess;
  beforeAll(async () => {
    b = await new BrokerProcess().start();
  });
  afterAll(async () => {
    await b.cleanup();
  });

  it('closes the connection on garbage and serves the next client', async () => {
    const c = await RawClient.connect(b.port);
    c.writeRaw(Buffer.from('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(await c.nextFrame()).toBeNull();
    await expectServed(b);
    expect(b.logs.join('\n')).toMatch(/looks like HTTP/);
  });

  it('refuses a frame announcing 2 GiB without buffering it', async () => {
    const c = await RawClient.connect(b.port);
    const size = Buffer.alloc(4);
    size.writeInt32BE(0x7fffffff);
    c.writeRaw(size);
    expect(await c.nextFrame()).toBeNull();
    await expectServed(b);
  });

  it('closes on an unknown API key and on a body that does not decode', async () => {
    const unknown = Buffer.alloc(4 + 10);
    unknown.writeInt32BE(10, 0);
    unknown.writeInt16BE(999, 4); // api key
    unknown.writeInt16BE(0, 6); // version
    unknown.writeInt32BE(7, 8); // correlation id
    unknown.writeInt16BE(-1, 12); // null client id
    const c1 = await RawClient.connect(b.port);
    c1.writeRaw(unknown);
    expect(await c1.nextFrame()).toBeNull();

    // Metadata v1 whose topic array claims 1,000,000 entries in a 4-byte body.
    const lying = Buffer.alloc(4 + 10 + 4);
    lying.writeInt32BE(14, 0);
    lying.writeInt16BE(ApiKeys.Metadata, 4);
    lying.writeInt16BE(1, 6);
    lying.writeInt32BE(8, 8);
    lying.writeInt16BE(-1, 12);
    lying.writeInt32BE(1_000_000, 14);
    const c2 = await RawClient.connect(b.port);
    c2.writeRaw(lying);
    expect(await c2.nextFrame()).toBeNull();
    await expectServed(b);
  });

  it('closes on an unsupported version, but answers ApiVersions at v0 with UNSUPPORTED_VERSION', async () => {
    const c1 = await RawClient.connect(b.port);
    const meta = Buffer.alloc(14);
    meta.writeInt32BE(10, 0);
    meta.writeInt16BE(ApiKeys.Metadata, 4);
    meta.writeInt16BE(99, 6);
    meta.writeInt32BE(1, 8);
    meta.writeInt16BE(-1, 12);
    c1.writeRaw(meta);
    expect(await c1.nextFrame()).toBeNull();

    const c2 = await RawClient.connect(b.port);
    const av = Buffer.alloc(14);
    av.writeInt32BE(10, 0);
    av.writeInt16BE(ApiKeys.ApiVersions, 4);
    av.writeInt16BE(99, 6);
    av.writeInt32BE(42, 8);
    av.writeInt16BE(-1, 12);
    c2.writeRaw(av);
    const frame = await c2.nextFrame();
    expect(frame).not.toBeNull();
    const r = new ByteReader(frame!);
    expect(decodeResponseHeader(r, 0).correlationId).toBe(42);
    const body = decodeApiVersionsResponse(r, 0);
    expect(body.errorCode).toBe(35);
    const keys = new Map(body.apiKeys.map((k) => [k.apiKey, k]));
    expect(keys.get(ApiKeys.ApiVersions)).toMatchObject({ minVersion: 0, maxVersion: 4 });
    // Every API advertises min version 0 (librdkafka's feature probes match exact low versions).
    expect(body.apiKeys.every((k) => k.minVersion === 0)).toBe(true);
    expect(keys.get(ApiKeys.Produce)!.maxVersion).toBeGreaterThanOrEqual(7);
    expect(keys.get(ApiKeys.Fetch)!.maxVersion).toBeGreaterThanOrEqual(10);
    c2.close();
    await expectServed(b);
  });

  it('answers pipelined requests strictly in order', async () => {
    const c = await RawClient.connect(b.port);
    const { encodeRequestFrame } = await import('../../src/protocol/messages/index.js');
    const frames: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      frames.push(
        i % 2 === 0
          ? Buffer.from(
              encodeRequestFrame(ApiKeys.ApiVersions, 3, 1000 + i, 'p', {
                clientSoftwareName: 'x',
                clientSoftwareVersion: '1',
              }),
            )
          : Buffer.from(
              encodeRequestFrame(ApiKeys.Metadata, 4, 1000 + i, 'p', {
                topics: [],
                allowAutoTopicCreation: false,
              }),
            ),
      );
    }
    c.writeRaw(Buffer.concat(frames));
    const ids: number[] = [];
    for (let i = 0; i < 200; i++) {
      const f = await c.nextFrame();
      ids.push(f!.readInt32BE(0));
    }
    expect(ids).toEqual(frames.map((_, i) => 1000 + i));
    c.close();
  });
});

describe('restarts', () => {
  it('keeps every message across SIGTERM and continues offsets', async () => {
    const b = await new BrokerProcess({ overrides: { 'num.partitions': '2' } }).start();
    try {
      const input = Array.from({ length: 2000 }, (_, i) => `k${i % 17}:v${i}`).join('\n') + '\n';
      const p1 = await run('kcat', ['-b', b.bootstrap, '-P', '-t', 'durable', '-K:'], { input });
      expect(p1.code, p1.stderr).toBe(0);
      const before = await consumeAll(b, 'durable');
      expect(before).toHaveLength(2000);
      expect(await b.stop()).toBe(0);
      // SIGTERM is a clean shutdown: the log dir carries the marker that skips recovery on restart.
      expect(existsSync(join(b.dataDir, '.kafka_cleanshutdown'))).toBe(true);
      await b.start();
      expect(await consumeAll(b, 'durable')).toEqual(before);
      const p2 = await run('kcat', ['-b', b.bootstrap, '-P', '-t', 'durable', '-K:', '-p', '0'], {
        input: 'k:after\n',
      });
      expect(p2.code).toBe(0);
      const after = await consumeAll(b, 'durable');
      const p0 = before.filter((l) => l.startsWith('0 '));
      expect(after.find((l) => l.endsWith(' k after'))).toBe(`0 ${p0.length} k after`);
    } finally {
      await b.cleanup();
    }
  });

  it('loses no acknowledged message when SIGKILLed under acks=1 load', async () => {
    const b = await new BrokerProcess({ overrides: { 'num.partitions': '3' } }).start();
    const kafka = new Kafka({
      brokers: [b.bootstrap],
      clientId: 'kill-test',
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    try {
      await producer.connect();
      const acked: { partition: number; offset: bigint; value: string }[] = [];
      let n = 0;
      let ackedMessages = 0;
      let killed = false;
      // A send in flight when the broker dies hangs until kafkajs times out (~40 s); only what was
      // acknowledged before the kill counts, so stop listening for acks at the kill.
      let counting = true;
      const loop = (async () => {
        while (!killed) {
          const values = Array.from({ length: 20 }, () => `m${n++}`);
          try {
            const res = await producer.send({
              topic: 'crash',
              acks: 1,
              compression: n % 3 === 0 ? CompressionTypes.GZIP : CompressionTypes.None,
              messages: values.map((value) => ({ key: value, value })),
            });
            // kafkajs reports one base offset per partition; the partitioner spread this send over
            // partitions, so re-derive each message's partition below from what is read back.
            if (!counting) continue;
            for (const r of res)
              acked.push({ partition: r.partition, offset: BigInt(r.baseOffset!), value: '' });
            for (const v of values) acked.push({ partition: -1, offset: -1n, value: v });
            ackedMessages += values.length;
          } catch {
            // not acknowledged: may or may not be in the log
          }
        }
      })();
      // Count messages, not entries: `acked` also holds one entry per partition of each send.
      while (ackedMessages < 3000) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
      counting = false;
      await b.kill();
      killed = true;
      await Promise.race([loop, new Promise((r) => setTimeout(r, 1000))]);
      void producer.disconnect().catch(() => {});
      await b.start();
      const lines = await consumeAll(b, 'crash');
      const readBack = new Map(
        lines.map((l) => {
          const [p, o, , v] = l.split(' ');
          return [v!, `${p}/${o}`];
        }),
      );
      const ackedValues = acked.filter((a) => a.value !== '').map((a) => a.value);
      expect(ackedValues.length).toBeGreaterThanOrEqual(3000);
      const missing = ackedValues.filter((v) => !readBack.has(v));
      expect(missing).toEqual([]);
      // Offsets are dense per partition: 0..n-1 with no holes after recovery.
      const byPartition = new Map<string, number[]>();
      for (const l of lines) {
        const [p, o] = l.split(' ');
        (byPartition.get(p!) ?? byPartition.set(p!, []).get(p!)!).push(Number(o));
      }
      for (const offs of byPartition.values()) expect(offs).toEqual(offs.map((_, i) => i));
      // Acknowledged base offsets point at what was acknowledged.
      for (const a of acked.filter((x) => x.partition >= 0)) {
        expect(lines.some((l) => l.startsWith(`${a.partition} ${a.offset} `))).toBe(true);
      }
    } finally {
      void producer.disconnect().catch(() => {});
      await b.cleanup();
    }
  });
});

describe('metrics', () => {
  it('serves /metrics and /ready, and counts messages as they flow', async () => {
    const b = await new BrokerProcess().start();
    try {
      const ready = await fetch(`http://127.0.0.1:${b.metricsPort}/ready`);
      expect(ready.status).toBe(200);
      const scrape = async () => (await fetch(`http://127.0.0.1:${b.metricsPort}/metrics`)).text();
      const count = (text: string, name: string, topic: string) => {
        const m = new RegExp(`^${name}\\{topic="${topic}"[^}]*\\} (\\d+)`, 'm').exec(text);
        return m ? Number(m[1]) : 0;
      };
      const m0 = await scrape();
      expect(m0).toMatch(/^process_cpu_user_seconds_total/m);
      expect(count(m0, 'sluice_messages_in_total', 'metered')).toBe(0);
      const r = await run('kcat', ['-b', b.bootstrap, '-P', '-t', 'metered'], {
        input: Array.from({ length: 250 }, (_, i) => `v${i}`).join('\n') + '\n',
      });
      expect(r.code).toBe(0);
      await consumeAll(b, 'metered');
      const m1 = await scrape();
      expect(count(m1, 'sluice_messages_in_total', 'metered')).toBe(250);
      expect(count(m1, 'sluice_bytes_in_total', 'metered')).toBeGreaterThan(250 * 4);
      expect(count(m1, 'sluice_bytes_out_total', 'metered')).toBeGreaterThan(0);
      expect(m1).toMatch(/^sluice_request_duration_seconds_bucket\{[^}]*api="Produce"/m);
      expect(m1).toMatch(/^sluice_log_size_bytes\{topic="metered",partition="0"[^}]*\} [1-9]/m);
    } finally {
      await b.cleanup();
    }
  });
});

describe('configuration', () => {
  it('reads --config server.properties and --override, and reports them as static broker config', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'sluice-props-'));
    const props = join(dir, 'server.properties');
    writeFileSync(
      props,
      [
        '# a Kafka-style file',
        'num.partitions=4',
        'log.retention.hours=24',
        'message.max.bytes: 2000000',
        '',
      ].join('\n'),
    );
    const b = await new BrokerProcess({
      extraArgs: ['--config', props],
      overrides: { 'log.retention.hours': '48' },
    }).start();
    try {
      const c = await RawClient.connect(b.port);
      // Auto-creation answers UNKNOWN_TOPIC_OR_PARTITION while it runs (Kafka 4.4); a refresh finds it.
      let partitions = 0;
      for (let i = 0; i < 100 && partitions === 0; i++) {
        const md = await c.request(ApiKeys.Metadata, 4, {
          topics: [{ name: 'from-props' }],
          allowAutoTopicCreation: true,
        });
        partitions = md.topics[0]!.partitions.length;
        if (partitions === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(partitions).toBe(4);
      const dc = await c.request(ApiKeys.DescribeConfigs, 1, {
        resources: [
          {
            resourceType: 4,
            resourceName: '1',
            configurationKeys: ['num.partitions', 'log.retention.hours', 'message.max.bytes'],
          },
          {
            resourceType: 2,
            resourceName: 'from-props',
            configurationKeys: ['retention.ms', 'max.message.bytes'],
          },
        ],
        includeSynonyms: false,
      });
      const broker = new Map(dc.results[0]!.configs.map((x) => [x.name, [x.value, x.configSource]]));
      // configSource 4 = STATIC_BROKER_CONFIG; --override wins over the file.
      expect(broker.get('num.partitions')).toEqual(['4', 4]);
      expect(broker.get('log.retention.hours')).toEqual(['48', 4]);
      expect(broker.get('message.max.bytes')).toEqual(['2000000', 4]);
      // The topic inherits them through the broker synonyms, in the topic key's units.
      const topic = new Map(dc.results[1]!.configs.map((x) => [x.name, x.value]));
      expect(topic.get('retention.ms')).toBe(String(48 * 3_600_000));
      expect(topic.get('max.message.bytes')).toBe('2000000');
      c.close();
    } finally {
      await b.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start on an invalid config value, saying which and why', async () => {
    const r = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO_ROOT, 'src/cli/main.ts'),
        'broker',
        '--listen',
        '127.0.0.1:0',
        '--data-dir',
        join(tmpdir(), `sluice-bad-${process.pid}`),
        '--override',
        'num.partitions=zero',
      ],
      { timeoutMs: 60_000 },
    );
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/Invalid value zero for configuration num.partitions/);
  });
});
