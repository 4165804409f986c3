/**
 * librdkafka's transactional producer (confluent-kafka-python) against one real broker: four
 * transactions of three records, the odd ones aborted after a flush (their records are in the log).
 * A read_committed consumer reads exactly the committed records at their offsets (each
 * transaction's marker takes the offset after its records); a read_uncommitted one reads all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.js';
import { runPython } from '../helpers/clients.js';

const SCRIPT = `
import sys, json
from confluent_kafka import Producer, Consumer, TopicPartition
b = sys.argv[1]
p = Producer({'bootstrap.servers': b, 'transactional.id': 'rdk-txn'})
p.init_transactions(60)
for i in range(4):
    p.begin_transaction()
    for j in range(3):
        p.produce('rdk-txn', value=f't{i}-r{j}'.encode(), partition=0)
    p.flush()
    if i % 2 == 1:
        p.abort_transaction(60)
    else:
        p.commit_transaction(60)
out = {}
for iso in ['read_committed', 'read_uncommitted']:
    c = Consumer({'bootstrap.servers': b, 'group.id': 'rdk-' + iso, 'isolation.level': iso,
                  'enable.auto.commit': False})
    c.assign([TopicPartition('rdk-txn', 0, 0)])
    got = []
    for _ in range(20):
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append('%d %s' % (m.offset(), m.value().decode()))
    out[iso] = {'records': got, 'high': c.get_watermark_offsets(TopicPartition('rdk-txn', 0))[1]}
    c.close()
print(json.dumps(out))
`;

describe('transactions with librdkafka (confluent-kafka-python)', { timeout: 180_000 }, () => {
  let broker: BrokerProcess;

  beforeAll(async () => {
    broker = await new BrokerProcess({ overrides: { 'num.partitions': '1' } }).start();
  }, 120_000);

  afterAll(async () => {
    await broker?.cleanup();
  });

  it('commits and aborts; read_committed sees the committed records only', async () => {
    const r = await runPython(SCRIPT, [broker.bootstrap], 150_000);
    expect(r.code, `${r.stdout}\n${r.stderr}\n${broker.logs.slice(-10).join('\n')}`).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<
      string,
      { records: string[]; high: number }
    >;
    const txn = (i: number) => [0, 1, 2].map((j) => `${4 * i + j} t${i}-r${j}`);
    expect(out.read_committed!.records).toEqual([...txn(0), ...txn(2)]);
    expect(out.read_uncommitted!.records).toEqual([...txn(0), ...txn(1), ...txn(2), ...txn(3)]);
    // Four transactions of three records and a marker each.
    expect(out.read_committed!.high).toBe(16);
  });
});
