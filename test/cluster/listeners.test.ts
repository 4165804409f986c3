/**
 * A 3-broker cluster (real etcd) where clients use a CLIENT listener on 127.0.0.1 and brokers reach
 * each other on a separate REPLICATION listener on 127.0.0.2 (inter.broker.listener.name):
 *  - acks=all produce to an RF 3 topic completes and every message reads back, so followers fetch
 *    and the ISR is full; the REPLICATION listeners carry connections although no client used them;
 *  - clients on CLIENT are told only CLIENT addresses, on REPLICATION only REPLICATION addresses;
 *  - broker 1 also has an EXTRA listener the others lack: Metadata through it lists broker 1 alone,
 *    and partitions led elsewhere have leader -1 with LISTENER_NOT_FOUND (v6+) or
 *    LEADER_NOT_AVAILABLE (v5), as in Kafka.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { run } from '../helpers/clients.js';
import { ApiKeys } from '../../src/protocol/messages/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { checkDurability, consumeAll, ContinuousProducer } from './clients.js';

const TOPIC = 'listeners-rep';

describe('a separate inter-broker listener', { timeout: 240_000 }, () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await new TestCluster({
      listeners: (id) => ({
        listeners:
          'CLIENT://127.0.0.1:0,REPLICATION://127.0.0.2:0' + (id === 1 ? ',EXTRA://127.0.0.3:0' : ''),
        'listener.security.protocol.map': 'CLIENT:PLAINTEXT,REPLICATION:PLAINTEXT,EXTRA:PLAINTEXT',
        'inter.broker.listener.name': 'REPLICATION',
      }),
    }).start();
  }, 120_000);

  afterAll(async () => {
    await cluster?.cleanup();
  }, 60_000);

  it('replicates over REPLICATION while clients use CLIENT', async () => {
    const c = await RawClient.connect(cluster.broker(2).port);
    const created = await c.request(ApiKeys.CreateTopics, 4, {
      topics: [
        {
          name: TOPIC,
          numPartitions: 6,
          replicationFactor: 3,
          assignments: [],
          configs: [{ name: 'min.insync.replicas', value: '3' }],
        },
      ],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    c.close();
    expect(created.topics[0]!.errorCode).toBe(0);
    await cluster.waitFullyReplicated(TOPIC, 6, 3);

    // min.insync.replicas=3: every acknowledged message is on all three brokers.
    const p = new ContinuousProducer(cluster.bootstrap, TOPIC, { count: 2000, idempotent: true });
    const r = await p.finish();
    expect(r.errors.size).toBe(0);
    expect(r.acked.size).toBe(2000);
    const check = checkDurability(r, await consumeAll(cluster.broker(3).bootstrap, TOPIC));
    expect(check.problems).toEqual([]);

    // Followers keep fetch sessions open to every leader on its REPLICATION listener.
    for (const id of [1, 2, 3]) {
      const text = await cluster.metricsOf(id);
      const m = /^sluice_connections\{[^}]*listener="REPLICATION"[^}]*\} (\d+)$/m.exec(text);
      expect(
        Number(m?.[1]),
        `broker ${id}: ${text.match(/^sluice_connections.*$/gm)?.join('; ')}`,
      ).toBeGreaterThan(0);
    }
  });

  it('tells each listener its own addresses', async () => {
    const brokersVia = async (bootstrap: string) => {
      const r = await run('kcat', ['-b', bootstrap, '-L', '-J']);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { brokers: { id: number; name: string }[] }).brokers
        .map((b) => `${b.id}@${b.name}`)
        .sort();
    };
    const addr = (id: number, host: string, listener: string) =>
      `${id}@${host}:${cluster.broker(id).listenerPorts[listener]}`;
    expect(await brokersVia(cluster.broker(1).bootstrap)).toEqual(
      [1, 2, 3].map((id) => addr(id, '127.0.0.1', 'CLIENT')),
    );
    expect(await brokersVia(`127.0.0.2:${cluster.broker(3).listenerPorts.REPLICATION}`)).toEqual(
      [1, 2, 3].map((id) => addr(id, '127.0.0.2', 'REPLICATION')),
    );
  });

  it('leaves out brokers without the listener asked, and their leaderships (Kafka semantics)', async () => {
    const states = await cluster.partitionStates(TOPIC);
    const c = await RawClient.connect(cluster.broker(1).listenerPorts.EXTRA!, '127.0.0.3');
    const extra = `127.0.0.3:${cluster.broker(1).listenerPorts.EXTRA}`;
    for (const [v, missing] of [
      [12, ErrorCode.LISTENER_NOT_FOUND],
      [6, ErrorCode.LISTENER_NOT_FOUND],
      [5, ErrorCode.LEADER_NOT_AVAILABLE],
    ] as const) {
      const md = await c.request(ApiKeys.Metadata, v, { topics: [{ name: TOPIC }] });
      expect(md.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`)).toEqual([`1@${extra}`]);
      const parts = md.topics[0]!.partitions;
      expect(parts).toHaveLength(6);
      for (const p of parts) {
        const leader = states.get(p.partitionIndex)!.leader;
        if (leader === 1) expect([p.errorCode, p.leaderId]).toEqual([0, 1]);
        else expect([p.errorCode, p.leaderId], `v${v} partition ${p.partitionIndex}`).toEqual([missing, -1]);
        expect(p.replicaNodes.length).toBe(3);
      }
    }
    const dc = await c.request(ApiKeys.DescribeCluster, 0, { includeClusterAuthorizedOperations: false });
    expect(dc.brokers.map((b) => b.brokerId)).toEqual([1]);
    c.close();
    // Some partition must be led elsewhere for the check above to mean anything.
    expect([...states.values()].some((s) => s.leader !== 1)).toBe(true);
  });
});
