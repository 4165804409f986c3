/**
 * kafkajs consumer groups against a real broker process: three consumer processes share 30,000
 * messages of a 6-partition topic; one is SIGKILLed mid-way and the others take over its partitions
 * after its session times out; then every consumer and the broker restart, and consumption resumes
 * from the committed offsets. Also the admin views (describe/list groups, committed offsets, lag
 * through the broker's metrics).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { BrokerProcess, REPO_ROOT } from '../helpers/broker-process.js';

const TOPIC = 'orders';
const GROUP = 'kafkajs-group';
const PARTITIONS = 6;
const TOTAL = 30_000;

/** One consumer process: prints "M <partition> <offset> <value>" per message, "A <partitions>" per assignment. */
const CONSUMER = `
const { Kafka, logLevel } = require('kafkajs');
const [port, group, topic, slow] = process.argv.slice(1);
const kafka = new Kafka({ clientId: 'c-' + process.pid, brokers: ['127.0.0.1:' + port], logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
const consumer = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 20000, maxBytesPerPartition: 16384 });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let n = 0;
let out = '';
const flush = () => { if (out) { process.stdout.write(out); out = ''; } };
setInterval(flush, 20);
consumer.on(consumer.events.GROUP_JOIN, (e) => { flush(); process.stdout.write('A ' + JSON.stringify(e.payload.memberAssignment) + '\\n'); });
(async () => {
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ partition, message }) => {
    out += 'M ' + partition + ' ' + message.offset + ' ' + message.value.toString() + '\\n';
    if (slow === '1' && ++n % 10 === 0) await sleep(8);
  } });
  process.stdout.write('READY\\n');
})().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\\n'); process.exit(1); });
process.on('SIGTERM', async () => { flush(); await consumer.disconnect().catch(() => {}); flush(); process.exit(0); });
`;

interface Msg {
  consumer: number;
  partition: number;
  value: number;
  at: number;
}

class ConsumerProc {
  readonly child: ChildProcess;
  readonly messages: Msg[] = [];
  assignment: Record<string, number[]> = {};
  stderr = '';
  constructor(
    readonly id: number,
    port: number,
    slow: boolean,
    sink: Msg[],
  ) {
    this.child = spawn(process.execPath, ['-e', CONSUMER, String(port), GROUP, TOPIC, slow ? '1' : '0'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.startsWith('M ')) {
          const [, p, , v] = line.split(' ');
          const m = { consumer: id, partition: Number(p), value: Number(v), at: Date.now() };
          this.messages.push(m);
          sink.push(m);
        } else if (line.startsWith('A '))
          this.assignment = JSON.parse(line.slice(2)) as Record<string, number[]>;
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  signal(sig: NodeJS.Signals): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill(sig);
    });
  }
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('kafkajs consumer groups', () => {
  const broker = new BrokerProcess({
    overrides: {
      'group.initial.rebalance.delay.ms': '1500',
      'offsets.topic.num.partitions': '10',
      'group.min.session.timeout.ms': '1000',
      'log.retention.check.interval.ms': '600000',
    },
    logLevel: 'info',
  });
  const procs: ConsumerProc[] = [];
  let kafka: Kafka;
  let admin: Admin;

  beforeAll(async () => {
    await broker.start();
    kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.disconnect().catch(() => {});
    for (const p of procs) await p.signal('SIGKILL');
    await broker.cleanup();
  });

  const produce = async (from: number, count: number) => {
    const producer = kafka.producer();
    await producer.connect();
    for (let i = from; i < from + count; i += 2000) {
      const n = Math.min(2000, from + count - i);
      await producer.send({
        topic: TOPIC,
        messages: Array.from({ length: n }, (_, j) => ({
          partition: (i + j) % PARTITIONS,
          value: String(i + j),
        })),
      });
    }
    await producer.disconnect();
  };

  it('three consumers share 30,000 messages; a killed one is taken over after its session; a full restart resumes from committed offsets', async () => {
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
    await produce(0, TOTAL);

    const all: Msg[] = [];
    for (let i = 0; i < 3; i++) procs.push(new ConsumerProc(i, broker.port, true, all));
    await until(
      () => procs.every((p) => Object.values(p.assignment).flat().length > 0),
      30_000,
      'three consumers with assignments',
    );
    const owned = procs.map((p) => Object.values(p.assignment).flat());
    expect(owned.flat().sort()).toEqual([0, 1, 2, 3, 4, 5]);

    // Nothing fails yet: every message processed once.
    await until(() => all.length >= TOTAL / 3, 60_000, 'a third of the messages');
    const beforeKill = new Map<number, number>();
    for (const m of all) beforeKill.set(m.value, (beforeKill.get(m.value) ?? 0) + 1);
    const dupsBeforeKill = [...beforeKill.values()].filter((n) => n > 1).length;
    expect(dupsBeforeKill).toBe(0);

    // Describe while stable: three members, each with its partitions.
    const described = (await admin.describeGroups([GROUP])).groups[0]!;
    expect(described.state).toBe('Stable');
    expect(described.members).toHaveLength(3);

    const victim = procs[0]!;
    const victimPartitions = new Set(owned[0]);
    const killedAt = Date.now();
    const processedAtKill = all.length;
    await victim.signal('SIGKILL');
    await until(
      () => new Set(all.map((m) => m.value)).size === TOTAL,
      120_000,
      'every message processed at least once',
    );
    const takeover = all.find(
      (m) => m.at > killedAt && m.consumer !== 0 && victimPartitions.has(m.partition),
    );
    expect(takeover).toBeDefined();
    const takeoverMs = takeover!.at - killedAt;
    const counts = new Map<number, number>();
    for (const m of all) counts.set(m.value, (counts.get(m.value) ?? 0) + 1);
    const duplicates = [...counts.values()].reduce((s, n) => s + n - 1, 0);
    console.log(
      `kafkajs: processed ${all.length} deliveries of ${TOTAL} messages; ${processedAtKill} before the kill; duplicates after the kill ${duplicates}; takeover ${takeoverMs} ms after SIGKILL (session 6000 ms)`,
    );
    // The victim's uncommitted tail is redelivered; nothing else is.
    const duplicated = [...counts].filter(([, n]) => n > 1).map(([v]) => v % PARTITIONS);
    expect(duplicated.every((p) => victimPartitions.has(p))).toBe(true);
    expect(takeoverMs).toBeGreaterThanOrEqual(5_000);
    expect(takeoverMs).toBeLessThan(30_000);

    // Committed offsets catch up with the log end once the survivors commit.
    let committed = 0;
    for (let i = 0; i < 100 && committed < TOTAL; i++) {
      const offs = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
      committed = offs[0]!.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
      if (committed < TOTAL) await new Promise((r) => setTimeout(r, 200));
    }
    expect(committed).toBe(TOTAL);
    const listed = await admin.listGroups();
    expect(listed.groups).toContainEqual({ groupId: GROUP, protocolType: 'consumer' });

    // Lag per partition is 0 in the broker's metrics.
    const metrics = await (await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`)).text();
    const lagLines = metrics.split('\n').filter((l) => l.startsWith(`sluice_group_lag{group="${GROUP}"`));
    expect(lagLines).toHaveLength(PARTITIONS);
    for (const l of lagLines) expect(l.endsWith(' 0')).toBe(true);
    expect(metrics).toMatch(/sluice_groups\{state="Stable"[^}]*\} 1/);
    expect(metrics).toMatch(new RegExp(`sluice_group_rebalances_total\\{group="${GROUP}"[^}]*\\} [2-9]`));
    expect(metrics).toMatch(new RegExp(`sluice_group_offset_commits_total\\{group="${GROUP}"[^}]*\\} [1-9]`));

    // Stop everything: consumers leave (committing), the broker restarts on the same port and data.
    for (const p of procs.slice(1)) await p.signal('SIGTERM');
    expect(await broker.stop()).toBe(0);
    await broker.start();
    const admin2 = kafka.admin();
    await admin2.connect();
    const after = await admin2.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    expect(after[0]!.partitions.reduce((s, p) => s + Number(p.offset), 0)).toBe(TOTAL);
    const state = (await admin2.describeGroups([GROUP])).groups[0]!;
    expect(state.state).toBe('Empty');

    await produce(TOTAL, 3_000);
    const resumed: Msg[] = [];
    for (let i = 0; i < 3; i++) procs.push(new ConsumerProc(10 + i, broker.port, false, resumed));
    await until(() => new Set(resumed.map((m) => m.value)).size >= 3_000, 60_000, 'the 3,000 new messages');
    await new Promise((r) => setTimeout(r, 1000));
    const old = resumed.filter((m) => m.value < TOTAL).length;
    console.log(
      `kafkajs after restart: ${resumed.length} deliveries, ${old} of them from before the restart`,
    );
    expect(old).toBe(0);
    expect(resumed.every((m) => m.value >= TOTAL)).toBe(true);
    await admin2.disconnect();
    for (const p of procs.slice(3)) await p.signal('SIGTERM');
  }, 240_000);
});
