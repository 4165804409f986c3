/**
 * A transactional offset commit (sendOffsetsToTransaction) and a plain OffsetCommit of the same
 * partition, with librdkafka (confluent-kafka-python) against one real broker. Kafka keeps the commit
 * whose record was written later to __consumer_offsets, not the one applied later: a transaction's
 * offsets are applied when its marker comes, and a plain commit written between its offset record
 * and its marker must stay. The same answer after a restart, when the coordinator replays the log.
 *
 *   g-plain-after:  txn offsets 5 written, plain 10 written, txn committed  → 10
 *   g-plain-before: plain 10 written, txn offsets 5 written, txn committed  → 5
 *   g-aborted:      plain 10 written, txn offsets 5 written, txn aborted    → 10
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.js';
import { runPython } from '../helpers/clients.js';

const SCRIPT = `
import sys, json
from confluent_kafka import Producer, Consumer, TopicPartition
b, phase = sys.argv[1], sys.argv[2]
GROUPS = ['g-plain-after', 'g-plain-before', 'g-aborted']
TP = lambda o=None: TopicPartition('ord-in', 0) if o is None else TopicPartition('ord-in', 0, o)
consumers = {g: Consumer({'bootstrap.servers': b, 'group.id': g, 'enable.auto.commit': False}) for g in GROUPS}
if phase == 'run':
    seed = Producer({'bootstrap.servers': b})
    for i in range(20):
        seed.produce('ord-in', value=b'x', partition=0)
    seed.flush(30)
    p = Producer({'bootstrap.servers': b, 'transactional.id': 'ord-txn'})
    p.init_transactions(60)
    for g in GROUPS:
        c = consumers[g]
        p.begin_transaction()
        p.produce('ord-out', value=g.encode(), partition=0)
        if g == 'g-plain-after':
            p.send_offsets_to_transaction([TP(5)], c.consumer_group_metadata(), 60)
            c.commit(offsets=[TP(10)], asynchronous=False)
        else:
            c.commit(offsets=[TP(10)], asynchronous=False)
            p.send_offsets_to_transaction([TP(5)], c.consumer_group_metadata(), 60)
        if g == 'g-aborted':
            p.abort_transaction(60)
        else:
            p.commit_transaction(60)
out = {g: consumers[g].committed([TP()], 30)[0].offset for g in GROUPS}
for c in consumers.values():
    c.close()
print(json.dumps(out))
`;

describe('transactional vs plain offset commits (librdkafka)', { timeout: 240_000 }, () => {
  let broker: BrokerProcess;

  beforeAll(async () => {
    broker = await new BrokerProcess({ overrides: { 'num.partitions': '1' } }).start();
  }, 120_000);

  afterAll(async () => {
    await broker?.cleanup();
  });

  const committed = async (phase: 'run' | 'read') => {
    const r = await runPython(SCRIPT, [broker.bootstrap, phase], 150_000);
    expect(r.code, `${r.stdout}\n${r.stderr}\n${broker.logs.slice(-10).join('\n')}`).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  };
  const expected = { 'g-plain-after': 10, 'g-plain-before': 5, 'g-aborted': 10 };

  it('the commit written later wins, also after the coordinator replays the log', async () => {
    expect(await committed('run')).toEqual(expected);
    await broker.stop();
    await broker.start();
    expect(await committed('read')).toEqual(expected);
  });
});
