/**
 * Client programs the cluster tests run: a confluent-kafka-python (librdkafka) producer that writes
 * unique messages with acks=all continuously and records every acknowledgement, and a consumer that
 * reads every partition from the beginning to its end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { runPython, SYSTEM_PYTHON } from '../helpers/clients.js';

/**
 * Produces `value-<i>` (key `k-<i>`) for i = 0.. until stdin closes (or `count` is reached), acks=all,
 * printing `ack <i> <partition> <offset>` or `err <i> <error>` per message, then `done`.
 * Idempotence is off on purpose: retries may then duplicate, which the checks account for.
 */
const PRODUCER = String.raw`
import sys, threading, time
from confluent_kafka import Producer
bs, topic, count, idem = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == '1'
stop = threading.Event()
def watch():
    sys.stdin.read()
    stop.set()
if count < 0: threading.Thread(target=watch, daemon=True).start()
p = Producer({'bootstrap.servers': bs, 'acks': 'all', 'enable.idempotence': idem, 'linger.ms': 5,
              'message.timeout.ms': 120000, 'retry.backoff.ms': 200, 'socket.timeout.ms': 10000,
              'topic.metadata.refresh.interval.ms': 2000, 'reconnect.backoff.max.ms': 1000})
out = sys.stdout
def report(i):
    def cb(err, m):
        if err: out.write('err %d %s\n' % (i, err.name()))
        else: out.write('ack %d %d %d\n' % (i, m.partition(), m.offset()))
    return cb
i = 0
while not stop.is_set() and (count < 0 or i < count):
    try:
        p.produce(topic, key=b'k-%d' % i, value=b'value-%d' % i, on_delivery=report(i))
        i += 1
    except BufferError:
        p.poll(0.05)
        continue
    p.poll(0)
    if i % 20 == 0:
        out.flush()
        time.sleep(0.01)
left = p.flush(150)
out.write('sent %d unflushed %d\ndone\n' % (i, left))
out.flush()
`;

export interface ProducerResult {
  sent: number;
  acked: Map<number, { partition: number; offset: number }>;
  errors: Map<number, string>;
  unflushed: number;
}

export class ContinuousProducer {
  readonly #child: ChildProcess;
  #out = '';
  #err = '';
  readonly #done: Promise<void>;

  constructor(bootstrap: string, topic: string, opts: { count?: number; idempotent?: boolean } = {}) {
    this.#child = spawn(
      SYSTEM_PYTHON,
      ['-c', PRODUCER, bootstrap, topic, String(opts.count ?? -1), opts.idempotent ? '1' : '0'],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.#child.stdout!.on('data', (d: Buffer) => (this.#out += d.toString()));
    this.#child.stderr!.on('data', (d: Buffer) => (this.#err += d.toString()));
    this.#done = new Promise((resolve) => this.#child.once('exit', () => resolve()));
  }

  /** Acknowledged so far. */
  ackedCount(): number {
    let n = 0;
    for (const line of this.#out.split('\n')) if (line.startsWith('ack ')) n++;
    return n;
  }

  /** Close stdin (stop producing), wait for the flush, parse the results. */
  async finish(timeoutMs = 180_000): Promise<ProducerResult> {
    this.#child.stdin!.end();
    const t = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    await this.#done;
    clearTimeout(t);
    const acked = new Map<number, { partition: number; offset: number }>();
    const errors = new Map<number, string>();
    let sent = -1;
    let unflushed = -1;
    for (const line of this.#out.split('\n')) {
      const f = line.split(' ');
      if (f[0] === 'ack') acked.set(Number(f[1]), { partition: Number(f[2]), offset: Number(f[3]) });
      else if (f[0] === 'err') errors.set(Number(f[1]), f.slice(2).join(' '));
      else if (f[0] === 'sent') {
        sent = Number(f[1]);
        unflushed = Number(f[3]);
      }
    }
    if (sent < 0) throw new Error(`producer did not finish:\n${this.#err.slice(-3000)}`);
    return { sent, acked, errors, unflushed };
  }

  kill(): void {
    this.#child.kill('SIGKILL');
  }
}

const CONSUMER = String.raw`
import sys
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
bs, topic = sys.argv[1], sys.argv[2]
c = Consumer({'bootstrap.servers': bs, 'group.id': 'unused-assign-only', 'enable.auto.commit': False,
              'enable.partition.eof': True, 'fetch.wait.max.ms': 100})
parts = sorted(c.list_topics(topic, timeout=20).topics[topic].partitions)
ends = {}
for p in parts:
    lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=20)
    ends[p] = hi
c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
eof, out = set(), []
while len(eof) < len(parts):
    m = c.poll(20)
    if m is None: break
    if m.error():
        if m.error().code() == -191:
            if m.offset() >= ends[m.partition()]: eof.add(m.partition())
            continue
        raise Exception(str(m.error()))
    out.append('rec %d %d %s' % (m.partition(), m.offset(), m.value().decode()))
for p in parts: out.append('end %d %d' % (p, ends[p]))
c.close()
print('\n'.join(out))
`;

export interface Consumed {
  /** partition → offset → value */
  records: Map<number, Map<number, string>>;
  ends: Map<number, number>;
}

export async function consumeAll(bootstrap: string, topic: string): Promise<Consumed> {
  const r = await runPython(CONSUMER, [bootstrap, topic], 180_000);
  if (r.code !== 0) throw new Error(`consumer failed (${r.code}): ${r.stderr.slice(-3000)}`);
  const records = new Map<number, Map<number, string>>();
  const ends = new Map<number, number>();
  for (const line of r.stdout.split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'rec') {
      const p = Number(f[1]);
      if (!records.has(p)) records.set(p, new Map());
      records.get(p)!.set(Number(f[2]), f[3]!);
    } else if (f[0] === 'end') ends.set(Number(f[1]), Number(f[2]));
  }
  return { records, ends };
}

/**
 * The durability checks: every acknowledged message is in the log at its acknowledged offset; each
 * partition's offsets are dense from 0 to its end; a value appears at more than one offset only if
 * the producer may have retried it (never for messages acknowledged without duplicates being
 * possible is not knowable from outside, so duplicates are counted and returned).
 */
export function checkDurability(
  p: ProducerResult,
  c: Consumed,
): { acked: number; duplicates: number; problems: string[] } {
  const problems: string[] = [];
  for (const [part, end] of c.ends) {
    const recs = c.records.get(part) ?? new Map<number, string>();
    for (let o = 0; o < end; o++)
      if (!recs.has(o)) problems.push(`partition ${part}: offset ${o} missing below end ${end}`);
    if (recs.size !== end) problems.push(`partition ${part}: ${recs.size} records read, end offset ${end}`);
  }
  for (const [i, a] of p.acked) {
    const v = c.records.get(a.partition)?.get(a.offset);
    if (v !== `value-${i}`)
      problems.push(
        `message ${i} acknowledged at ${a.partition}/${a.offset} but the log has ${v ?? 'nothing'} there`,
      );
  }
  const seen = new Map<string, number>();
  for (const recs of c.records.values()) for (const v of recs.values()) seen.set(v, (seen.get(v) ?? 0) + 1);
  let duplicates = 0;
  for (const n of seen.values()) if (n > 1) duplicates += n - 1;
  return { acked: p.acked.size, duplicates, problems: problems.slice(0, 50) };
}
