/**
 * librdkafka's balanced consumer against a real broker: two kcat -G members split a topic; a
 * confluent-kafka-python consumer with partition.assignment.strategy=cooperative-sticky keeps its
 * partitions while a second member joins and leaves (incremental rebalances over several rounds);
 * and confluent-kafka-python's admin views (list/describe groups, committed offsets, lag) agree with
 * what the consumers hold.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { BrokerProcess } from '../helpers/broker-process.js';
import { runPython } from '../helpers/clients.js';

function kcatMember(
  bootstrap: string,
  group: string,
  topic: string,
): Promise<{ code: number | null; lines: string[]; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      'kcat',
      [
        '-b',
        bootstrap,
        '-G',
        group,
        '-X',
        'auto.offset.reset=earliest',
        '-X',
        'session.timeout.ms=6000',
        '-X',
        'enable.partition.eof=true',
        '-f',
        '%p %o %s\\n',
        '-e',
        '-q',
        topic,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, lines: out.split('\n').filter(Boolean), stderr: err });
    });
  });
}

describe('librdkafka consumer groups', () => {
  const broker = new BrokerProcess({
    overrides: {
      'group.initial.rebalance.delay.ms': '2000',
      'offsets.topic.num.partitions': '5',
      'group.min.session.timeout.ms': '1000',
    },
  });
  let kafka: Kafka;

  beforeAll(async () => {
    await broker.start();
    kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'rd-kcat', numPartitions: 4 },
        { topic: 'rd-coop', numPartitions: 4 },
      ],
    });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'rd-kcat',
      messages: Array.from({ length: 2000 }, (_, i) => ({ partition: i % 4, value: String(i) })),
    });
    await producer.send({
      topic: 'rd-coop',
      messages: Array.from({ length: 400 }, (_, i) => ({ partition: i % 4, value: String(i) })),
    });
    await producer.disconnect();
  });

  afterAll(async () => {
    await broker.cleanup();
  });

  it('kcat -G: two balanced-consumer members split the partitions and commit what they read', async () => {
    const [a, b] = await Promise.all([
      kcatMember(broker.bootstrap, 'kcat-group', 'rd-kcat'),
      kcatMember(broker.bootstrap, 'kcat-group', 'rd-kcat'),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const parts = (r: typeof a) => new Set(r.lines.map((l) => Number(l.split(' ')[0])));
    expect(a.lines.length).toBeGreaterThan(0);
    expect(b.lines.length).toBeGreaterThan(0);
    expect([...parts(a)].filter((p) => parts(b).has(p))).toEqual([]);
    const values = [...a.lines, ...b.lines].map((l) => Number(l.split(' ')[2]));
    expect(values.length).toBe(2000);
    expect(new Set(values).size).toBe(2000);
    // kcat commits on close: the group's committed offsets are the log end.
    const r = await runPython(
      `
import sys, json
from confluent_kafka import Consumer, TopicPartition
c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': 'kcat-group'})
print(json.dumps([tp.offset for tp in c.committed([TopicPartition('rd-kcat', p) for p in range(4)], timeout=20)]))
c.close()
`,
      [broker.bootstrap],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([500, 500, 500, 500]);
  });

  it('confluent-kafka-python cooperative-sticky: the first member keeps its partitions while a second joins and leaves; admin views agree', async () => {
    const script = `
import sys, json, time
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
bootstrap = sys.argv[1]
events = []
def conf(name):
    return {'bootstrap.servers': bootstrap, 'group.id': 'coop-group', 'client.id': name,
            'partition.assignment.strategy': 'cooperative-sticky', 'auto.offset.reset': 'earliest',
            'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500, 'enable.auto.commit': False}
held = {'A': set(), 'B': set()}
consumed = {'A': 0, 'B': 0}
def cbs(name):
    def on_assign(c, parts):
        events.append([name, 'assign', sorted(p.partition for p in parts)])
        held[name] |= {p.partition for p in parts}
    def on_revoke(c, parts):
        events.append([name, 'revoke', sorted(p.partition for p in parts)])
        held[name] -= {p.partition for p in parts}
    return on_assign, on_revoke
def pump(cs, until, timeout=40):
    end = time.time() + timeout
    while time.time() < end:
        for name, c in cs:
            m = c.poll(0.05)
            if m is not None and not m.error():
                consumed[name] += 1
                try:
                    c.commit(message=m, asynchronous=False)
                except Exception as e:
                    # REBALANCE_IN_PROGRESS while the group completes a rebalance: retried by the next commit.
                    events.append([name, 'commit-error', str(e.args[0].code())])
        if until(): return True
    raise SystemExit('timeout: ' + json.dumps(events) + ' ' + str(held))
a = Consumer(conf('A')); a.subscribe(['rd-coop'], on_assign=cbs('A')[0], on_revoke=cbs('A')[1])
pump([('A', a)], lambda: len(held['A']) == 4)
events.append(['-', 'B joins'])
b = Consumer(conf('B')); b.subscribe(['rd-coop'], on_assign=cbs('B')[0], on_revoke=cbs('B')[1])
pump([('A', a), ('B', b)], lambda: len(held['A']) == 2 and len(held['B']) == 2)
pump([('A', a), ('B', b)], lambda: consumed['A'] + consumed['B'] >= 400)
# Commit the final positions once more (a commit may have hit a rebalance).
for name, c in [('A', a), ('B', b)]:
    try:
        c.commit(asynchronous=False)
    except Exception:
        pass  # _NO_OFFSET: nothing new to commit
# Admin views while both are members.
admin = AdminClient({'bootstrap.servers': bootstrap})
groups = admin.list_groups('coop-group', timeout=10)
g = groups[0]
view = {'state': g.state, 'protocol_type': g.protocol_type, 'protocol': g.protocol,
        'members': sorted(m.client_id for m in g.members)}
# member_assignment is the consumer protocol Assignment: version, [topic, [partition]], userdata
import struct
def parts_of(buf):
    off = 2; (n,) = struct.unpack_from('>i', buf, off); off += 4; out = []
    for _ in range(n):
        (l,) = struct.unpack_from('>h', buf, off); off += 2 + l
        (k,) = struct.unpack_from('>i', buf, off); off += 4
        for _ in range(k):
            (p,) = struct.unpack_from('>i', buf, off); off += 4; out.append(p)
    return sorted(out)
view['assignments'] = {m.client_id: parts_of(m.assignment) for m in g.members}
view['held'] = {k: sorted(v) for k, v in held.items()}
committed = a.committed([TopicPartition('rd-coop', p) for p in range(4)], timeout=10)
lag = []
for tp in committed:
    lo, hi = a.get_watermark_offsets(tp, timeout=10)
    lag.append(hi - tp.offset)
view['committed'] = [tp.offset for tp in committed]
view['lag'] = lag
events.append(['-', 'B leaves'])
b.close()
pump([('A', a)], lambda: len(held['A']) == 4)
events.append(['-', 'A closes'])
a.close()
print(json.dumps({'events': events, 'view': view, 'consumed': consumed}))
`;
    const r = await runPython(script, [broker.bootstrap], 150_000);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      events: (string | number[])[][];
      view: {
        state: string;
        protocol_type: string;
        protocol: string;
        members: string[];
        assignments: Record<string, number[]>;
        held: Record<string, number[]>;
        committed: number[];
        lag: number[];
      };
      consumed: { A: number; B: number };
    };
    console.log('cooperative-sticky events:', JSON.stringify(out.events));
    const ev = out.events;
    // A: assigned everything first.
    expect(ev[0]).toEqual(['A', 'assign', [0, 1, 2, 3]]);
    const joinAt = ev.findIndex((e) => e[1] === 'B joins');
    const leaveAt = ev.findIndex((e) => e[1] === 'B leaves');
    const during = ev.slice(joinAt + 1, leaveAt);
    // Incremental: A revokes only the two partitions B gets, and is never reassigned from scratch.
    const aRevoked = during.filter((e) => e[0] === 'A' && e[1] === 'revoke').flatMap((e) => e[2] as number[]);
    const bAssigned = during
      .filter((e) => e[0] === 'B' && e[1] === 'assign')
      .flatMap((e) => e[2] as number[]);
    expect(aRevoked.sort()).toEqual(bAssigned.sort());
    expect(aRevoked).toHaveLength(2);
    expect(during.filter((e) => e[0] === 'A' && e[1] === 'assign').flatMap((e) => e[2] as number[])).toEqual(
      [],
    );
    // After B leaves, A gets B's partitions back incrementally, without losing its own.
    const after = ev.slice(
      leaveAt + 1,
      ev.findIndex((e) => e[1] === 'A closes'),
    );
    expect(after.filter((e) => e[0] === 'A' && e[1] === 'revoke')).toEqual([]);
    expect(
      after
        .filter((e) => e[0] === 'A' && e[1] === 'assign')
        .flatMap((e) => e[2] as number[])
        .sort(),
    ).toEqual(bAssigned.sort());
    // Admin: the broker's view matches what each consumer holds.
    const v = out.view;
    expect(v.state).toBe('Stable');
    expect(v.protocol_type).toBe('consumer');
    expect(v.protocol).toBe('cooperative-sticky');
    expect(v.members).toEqual(['A', 'B']);
    expect(v.assignments).toEqual(v.held);
    expect(v.committed).toEqual([100, 100, 100, 100]);
    expect(v.lag).toEqual([0, 0, 0, 0]);
    expect(out.consumed.A + out.consumed.B).toBeGreaterThanOrEqual(400);
  }, 150_000);

  it('static membership (group.instance.id): a restarted member gets its partitions back without a rebalance', async () => {
    const member = `
import sys, json, time
from confluent_kafka import Consumer
c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': 'static-group', 'group.instance.id': 'pod-0',
              'session.timeout.ms': 10000, 'auto.offset.reset': 'earliest'})
held = []
c.subscribe(['rd-kcat'], on_assign=lambda c, ps: held.extend(p.partition for p in ps))
end = time.time() + 30
while not held and time.time() < end:
    c.poll(0.1)
print(json.dumps(sorted(held)))
c.close()  # a static member does not leave the group on close (KIP-345)
`;
    const rebalances = async () => {
      const text = await (await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`)).text();
      const m = /sluice_group_rebalances_total\{group="static-group"[^}]*\} (\d+)/.exec(text);
      return m ? Number(m[1]) : 0;
    };
    const first = await runPython(member, [broker.bootstrap], 60_000);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual([0, 1, 2, 3]);
    const before = await rebalances();
    const second = await runPython(member, [broker.bootstrap], 60_000);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual([0, 1, 2, 3]);
    expect(await rebalances()).toBe(before);
  });

  it('after the members left, librdkafka lists both groups as Empty', async () => {
    const r = await runPython(
      `
import sys, json
from confluent_kafka.admin import AdminClient
a = AdminClient({'bootstrap.servers': sys.argv[1]})
print(json.dumps(sorted([g.id, g.state] for g in a.list_groups(timeout=10))))
`,
      [broker.bootstrap],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      ['coop-group', 'Empty'],
      ['kcat-group', 'Empty'],
      ['static-group', 'Stable'],
    ]);
  });
});
