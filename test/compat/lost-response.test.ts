/**
 * "A producer whose request is retried after a lost response writes each message once."
 * Clients talk to the broker through a FaultProxy (the broker advertises the proxy's address), which
 * drops chosen Produce responses after the broker has appended the batch and closes the connection.
 * The idempotent producer (Java with its defaults; librdkafka with enable.idempotence) reconnects
 * and resends the same batches with the same sequence numbers; the broker must recognise them and
 * answer with the original offsets. Then every message is read back exactly once, offsets dense.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.js';
import { ensureJavaClient, run, runJava, SYSTEM_PYTHON } from '../helpers/clients.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { expectExactlyOnce, parseAcks, parseRecords } from './java-output.js';
import { metricSum } from './metrics.js';

const PRODUCE = 0;

const LIBRDKAFKA_PRODUCE = String.raw`
import sys
from confluent_kafka import Producer
bs, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
p = Producer({'bootstrap.servers': bs, 'enable.idempotence': True, 'linger.ms': 5, 'batch.num.messages': 200})
out = []
def report(i):
    def cb(err, m):
        out.append('error %d %s' % (i, err) if err else 'ack %d %d %d' % (i, m.partition(), m.offset()))
    return cb
for i in range(n):
    p.produce(topic, key=b'key-%d' % i, value=b'value-%d' % i, on_delivery=report(i))
    p.poll(0)
left = p.flush(60)
print('\n'.join(out))
print('unflushed %d' % left)
`;

const LIBRDKAFKA_CONSUME = String.raw`
import sys
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
bs, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = Consumer({'bootstrap.servers': bs, 'group.id': 'unused-assign-only', 'enable.auto.commit': False, 'enable.partition.eof': True})
parts = sorted(c.list_topics(topic, timeout=10).topics[topic].partitions)
c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
eof, lines = set(), []
while len(eof) < len(parts):
    m = c.poll(10)
    if m is None: break
    if m.error():
        if m.error().code() == -191: eof.add(m.partition()); continue
        raise Exception(str(m.error()))
    eof.discard(m.partition())
    lines.append('rec %d %d %s %s' % (m.partition(), m.offset(), m.key().decode(), m.value().decode()))
for p in parts:
    lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
    lines.append('end %d %d' % (p, hi))
c.close()
print('\n'.join(lines))
`;

describe('lost Produce responses', { timeout: 180_000 }, () => {
  let proxy: FaultProxy;
  let broker: BrokerProcess;

  beforeAll(async () => {
    await ensureJavaClient();
    proxy = await new FaultProxy().listen();
    broker = await new BrokerProcess({
      overrides: { 'num.partitions': '3' },
      extraArgs: ['--advertise', proxy.address],
    }).start();
    proxy.targetPort = broker.port;
  }, 300_000);

  afterAll(async () => {
    await proxy?.close();
    await broker?.cleanup();
  });

  it('Java producer (acks=all, idempotent): each message once after retries', async () => {
    const N = 5000;
    const topic = 'lost-java';
    proxy.loseResponses({ apiKey: PRODUCE, count: 3, skip: 2 });
    const dupBefore = await metricSum(broker.metricsPort, 'sluice_producer_duplicate_batches_total', {
      topic,
    });
    const p = await runJava('ClientCompat.java', ['produce', proxy.address, topic, String(N)], 120_000);
    expect(p.code, `${p.stderr}\n${broker.logs.slice(-10).join('\n')}`).toBe(0);
    const { acks, errors } = parseAcks(p.stdout);
    expect(errors).toEqual([]);
    // The faults happened: three responses lost (and, checked last, the broker saw duplicates).
    expect(proxy.lost).toHaveLength(3);
    proxy.loseResponses(null);
    const c = await runJava('ClientCompat.java', ['consume', proxy.address, topic, String(N)], 90_000);
    expect(c.code, c.stderr).toBe(0);
    expectExactlyOnce(N, acks, parseRecords(c.stdout));
    expect(
      await metricSum(broker.metricsPort, 'sluice_producer_duplicate_batches_total', { topic }),
    ).toBeGreaterThan(dupBefore);
  });

  it('librdkafka idempotent producer: each message once after retries', async () => {
    const N = 5000;
    const topic = 'lost-librdkafka';
    const lostBefore = proxy.lost.length;
    proxy.loseResponses({ apiKey: PRODUCE, count: 3, skip: 2 });
    const dupBefore = await metricSum(broker.metricsPort, 'sluice_producer_duplicate_batches_total', {
      topic,
    });
    const p = await run(SYSTEM_PYTHON, ['-c', LIBRDKAFKA_PRODUCE, proxy.address, topic, String(N)], {
      timeoutMs: 120_000,
    });
    expect(p.code, `${p.stderr}\n${broker.logs.slice(-10).join('\n')}`).toBe(0);
    expect(p.stdout).toContain('unflushed 0');
    const { acks, errors } = parseAcks(p.stdout);
    expect(errors).toEqual([]);
    expect(proxy.lost.length - lostBefore).toBe(3);
    proxy.loseResponses(null);
    const c = await run(SYSTEM_PYTHON, ['-c', LIBRDKAFKA_CONSUME, proxy.address, topic, String(N)], {
      timeoutMs: 90_000,
    });
    expect(c.code, c.stderr).toBe(0);
    expectExactlyOnce(N, acks, parseRecords(c.stdout));
    expect(
      await metricSum(broker.metricsPort, 'sluice_producer_duplicate_batches_total', { topic }),
    ).toBeGreaterThan(dupBefore);
  });

  it('Java producer across a broker crash (SIGKILL, restart): every acknowledged message once', async () => {
    const N = 15_000;
    const topic = 'lost-crash';
    proxy.loseResponses(null);
    // Small batches, so the run spans hundreds of requests and the crash lands in the middle.
    const producing = runJava(
      'ClientCompat.java',
      ['produce', proxy.address, topic, String(N), 'batch.size=1024;linger.ms=0'],
      150_000,
    );
    // Crash the broker once the producer is well under way.
    const produceRequests = () => proxy.requests.get(PRODUCE) ?? 0;
    const start = produceRequests();
    const deadline = Date.now() + 60_000;
    while (produceRequests() < start + 20 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(produceRequests()).toBeGreaterThanOrEqual(start + 20);
    await broker.kill();
    const atCrash = produceRequests();
    await new Promise((r) => setTimeout(r, 500));
    await broker.start();
    const p = await producing;
    // The producer was still sending when the broker died.
    expect(produceRequests()).toBeGreaterThan(atCrash);
    expect(p.code, `${p.stderr}\n${broker.logs.slice(-10).join('\n')}`).toBe(0);
    const { acks, errors } = parseAcks(p.stdout);
    expect(errors).toEqual([]);
    const c = await runJava('ClientCompat.java', ['consume', proxy.address, topic, String(N)], 150_000);
    expect(c.code, c.stderr).toBe(0);
    expectExactlyOnce(N, acks, parseRecords(c.stdout));
  });

  it('librdkafka idempotent producer across a clean broker restart (SIGTERM): every acknowledged message once', async () => {
    const N = 15_000;
    const topic = 'lost-restart';
    proxy.loseResponses(null);
    const producing = run(SYSTEM_PYTHON, ['-c', LIBRDKAFKA_PRODUCE, proxy.address, topic, String(N)], {
      timeoutMs: 150_000,
    });
    const produceRequests = () => proxy.requests.get(PRODUCE) ?? 0;
    const start = produceRequests();
    const deadline = Date.now() + 60_000;
    while (produceRequests() < start + 10 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(produceRequests()).toBeGreaterThanOrEqual(start + 10);
    expect(await broker.stop()).toBe(0);
    const atStop = produceRequests();
    await broker.start();
    const p = await producing;
    // The producer was still sending when the broker stopped.
    expect(produceRequests()).toBeGreaterThan(atStop);
    expect(p.code, `${p.stderr}\n${broker.logs.slice(-10).join('\n')}`).toBe(0);
    expect(p.stdout).toContain('unflushed 0');
    const { acks, errors } = parseAcks(p.stdout);
    expect(errors).toEqual([]);
    const c = await run(SYSTEM_PYTHON, ['-c', LIBRDKAFKA_CONSUME, proxy.address, topic, String(N)], {
      timeoutMs: 90_000,
    });
    expect(c.code, c.stderr).toBe(0);
    expectExactlyOnce(N, acks, parseRecords(c.stdout));
  });
});
