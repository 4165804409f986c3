/**
 * kcat (Debian's, librdkafka) against a single broker: metadata (-L), 100,000 keyed messages produced
 * to a 3-partition topic and consumed back (-C -e) with every message checked: content, dense offsets
 * from 0 in each partition, per-partition order equal to the produce order, and a key always landing
 * in the same partition.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.js';
import { run } from '../helpers/clients.js';

const N = 100_000;
const KEYS = 1000;
const TOPIC = 'kcat-keyed';

const keyOf = (i: number) => `key-${i % KEYS}`;
const valueOf = (i: number) => `value-${i}-${'x'.repeat(i % 97)}`;

describe('kcat', { timeout: 180_000 }, () => {
  let broker: BrokerProcess;

  beforeAll(async () => {
    // kcat cannot create topics; the broker auto-creates them with num.partitions.
    broker = await new BrokerProcess({ overrides: { 'num.partitions': '3' } }).start();
  });

  afterAll(async () => {
    await broker?.cleanup();
  });

  it('lists the broker and topics with -L', async () => {
    const r = await run('kcat', ['-b', broker.bootstrap, '-L', '-J']);
    expect(r.code, r.stderr).toBe(0);
    const md = JSON.parse(r.stdout) as {
      brokers: { id: number; name: string }[];
      topics: unknown[];
      controllerid: number;
    };
    expect(md.brokers).toEqual([{ id: 1, name: broker.bootstrap }]);
    expect(md.controllerid).toBe(1);
    // No user topics yet (internal ones such as __consumer_offsets may exist).
    expect((md.topics as { topic: string }[]).filter((t) => !t.topic.startsWith('__'))).toEqual([]);
  });

  it('produces 100,000 keyed messages and consumes every one back in per-partition order', async () => {
    const input = Array.from({ length: N }, (_, i) => `${keyOf(i)}\t${valueOf(i)}\n`).join('');
    const p = await run(
      'kcat',
      [
        '-b',
        broker.bootstrap,
        '-P',
        '-t',
        TOPIC,
        '-K',
        '\t',
        '-X',
        'linger.ms=10',
        '-X',
        'batch.num.messages=2000',
      ],
      { input, timeoutMs: 90_000 },
    );
    expect(p.code, `${p.stderr}\n${broker.logs.slice(-10).join('\n')}`).toBe(0);
    expect(p.stderr).not.toMatch(/ERROR|failed/i);

    // -L for the topic: 3 partitions, each led by broker 1.
    const l = await run('kcat', ['-b', broker.bootstrap, '-L', '-J', '-t', TOPIC]);
    expect(l.code, l.stderr).toBe(0);
    const md = JSON.parse(l.stdout) as {
      topics: {
        topic: string;
        partitions: {
          partition: number;
          leader: number;
          replicas: { id: number }[];
          isrs: { id: number }[];
        }[];
      }[];
    };
    expect(md.topics).toHaveLength(1);
    expect(md.topics[0]!.topic).toBe(TOPIC);
    expect(
      md.topics[0]!.partitions.map((x) => [
        x.partition,
        x.leader,
        x.replicas.map((r) => r.id),
        x.isrs.map((r) => r.id),
      ]),
    ).toEqual([
      [0, 1, [1], [1]],
      [1, 1, [1], [1]],
      [2, 1, [1], [1]],
    ]);

    const c = await run(
      'kcat',
      ['-b', broker.bootstrap, '-C', '-t', TOPIC, '-o', 'beginning', '-e', '-q', '-f', '%p\t%o\t%k\t%s\n'],
      { timeoutMs: 90_000 },
    );
    expect(c.code, c.stderr).toBe(0);
    const lines = c.stdout.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(N);

    const nextOffset = [0, 0, 0];
    const lastIndex = [-1, -1, -1];
    const partitionOfKey = new Map<string, number>();
    const seen = new Uint8Array(N);
    for (const line of lines) {
      const [ps, os, key, value] = line.split('\t') as [string, string, string, string];
      const p = Number(ps);
      const i = Number(/^value-(\d+)-/.exec(value)?.[1] ?? NaN);
      expect(Number.isInteger(i) && i >= 0 && i < N, line).toBe(true);
      expect(value, line).toBe(valueOf(i));
      expect(key, line).toBe(keyOf(i));
      expect(seen[i], `message ${i} twice`).toBe(0);
      seen[i] = 1;
      // Dense offsets and the produce order, per partition.
      expect(Number(os), line).toBe(nextOffset[p]);
      nextOffset[p]!++;
      expect(i, line).toBeGreaterThan(lastIndex[p]!);
      lastIndex[p] = i;
      const kp = partitionOfKey.get(key);
      if (kp === undefined) partitionOfKey.set(key, p);
      else expect(p, `key ${key} in two partitions`).toBe(kp);
    }
    expect(seen.every((x) => x === 1)).toBe(true);
    // The keys spread over all three partitions.
    expect(nextOffset.every((n) => n > N / 10)).toBe(true);
    expect(nextOffset.reduce((a, b) => a + b, 0)).toBe(N);
  }, 150_000);

  it('headers, tail offsets and offsets by timestamp (-H, -o -N, -Q)', async () => {
    const topic = 'kcat-extras';
    const input = Array.from({ length: 10 }, (_, i) => `k${i}\tv${i}\n`).join('');
    const p = await run(
      'kcat',
      ['-b', broker.bootstrap, '-P', '-t', topic, '-p', '1', '-K', '\t', '-H', 'h1=a', '-H', 'h2=b'],
      { input },
    );
    expect(p.code, p.stderr).toBe(0);
    const tail = await run('kcat', [
      '-b',
      broker.bootstrap,
      '-C',
      '-t',
      topic,
      '-p',
      '1',
      '-o',
      '-3',
      '-e',
      '-q',
      '-f',
      '%o %k %s %h\n',
    ]);
    expect(tail.code, tail.stderr).toBe(0);
    expect(tail.stdout).toBe('7 k7 v7 h1=a,h2=b\n8 k8 v8 h1=a,h2=b\n9 k9 v9 h1=a,h2=b\n');
    const now = Date.now();
    const before = await run('kcat', ['-b', broker.bootstrap, '-Q', '-t', `${topic}:1:${now - 3_600_000}`]);
    expect(before.stdout.trim()).toBe(`${topic} [1] offset 0`);
    const after = await run('kcat', ['-b', broker.bootstrap, '-Q', '-t', `${topic}:1:${now + 3_600_000}`]);
    expect(after.stdout.trim()).toBe(`${topic} [1] offset -1`);
    const empty = await run('kcat', ['-b', broker.bootstrap, '-Q', '-t', `${topic}:0:${now - 3_600_000}`]);
    expect(empty.stdout.trim()).toBe(`${topic} [0] offset -1`);
  });
});
