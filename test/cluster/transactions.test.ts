/**
 * Transactions on a three-broker cluster (real etcd, three `sluice broker` processes) with the Java
 * client kafka-clients 4.4.0 (test/clients/java/TxnProofs.java). Data topics have RF 3 and
 * min.insync.replicas 2; `__transaction_state` and `__consumer_offsets` RF 3.
 *  1. 300 transactions (1,000, the figure, with SLUICE_TXN_COUNT=1000), each one record per
 *     partition of a 6-partition topic, every 3rd aborted: transaction i's records are at offset 2i
 *     of every partition and its marker at 2i+1. read_committed returns exactly the committed
 *     records, in transaction order, at those offsets; read_uncommitted all of them; both end at
 *     2 × transactions (test/helpers/txn-proofs.ts).
 *  2. Consume-transform-produce with sendOffsetsToTransaction and the consumer's group metadata:
 *     the transforming process is SIGKILLed at random points (SLUICE_TXN_CTP_KILLS times, after a
 *     random number of its transactions plus a random delay, so mid-transaction, mid-commit or
 *     between) and restarted; at the end the output read read_committed holds every input record
 *     transformed exactly once, in input order per partition.
 *  3. Failover: the broker leading the transactional id's `__transaction_state` partition is
 *     SIGKILLed while the producer has a transaction open; another broker becomes coordinator, loads
 *     the partition, and the producer goes on; once that broker is back, the leader of one of the
 *     partitions the transactions write to is SIGKILLed likewise. Every transaction the producer saw
 *     committed is in the output once, none it gave up; the last stable offset reaches the high
 *     watermark on every partition (no hanging transaction) and `kafka-transactions.sh
 *     find-hanging` reports none on any broker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForGroup } from '../../src/broker/group/group-metadata-manager.js';
import { REPO_ROOT } from '../helpers/broker-process.js';
import { ensureJavaClient } from '../helpers/clients.js';
import { TestCluster } from '../helpers/cluster.js';
import { runKafkaTool } from '../helpers/kafka-tools.js';
import { checkManyTransactions, proofLines, txnProofs, TXN_PROOFS_CLIENT } from '../helpers/txn-proofs.js';

const TXNS = Number(process.env.SLUICE_TXN_COUNT ?? 300);
const CTP_KILLS = Number(process.env.SLUICE_TXN_CTP_KILLS ?? 3);
const CTP_RECORDS = Number(process.env.SLUICE_TXN_CTP_RECORDS ?? 3000);
const TXN_STATE_PARTITIONS = 50;
const proofs = txnProofs;
const lines = proofLines;

/** A TxnProofs.java process that runs until it exits or is SIGKILLed; its stdout is read live. */
class JavaProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(lib: string, args: string[]) {
    this.child = spawn(
      'java',
      [
        '-cp',
        `${lib}/*`,
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
        join(REPO_ROOT, 'test/clients/java/TxnProofs.java'),
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-20_000)));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  count(prefix: string): number {
    return lines(this.stdout, prefix).length;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(): Promise<number | null> {
    if (this.running) this.child.kill('SIGKILL');
    return this.exited;
  }
}

describe('transactions on a three-broker cluster (Java 4.4.0)', { timeout: 900_000 }, () => {
  let cluster: TestCluster;
  let lib = '';
  const procs: JavaProcess[] = [];
  const why = (r: { stdout: string; stderr: string }) =>
    `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}\n` +
    cluster.brokers.map((b, i) => `--- broker ${i + 1}\n${b.logs.slice(-15).join('\n')}`).join('\n');
  const start = (args: string[]) => {
    const p = new JavaProcess(lib, args);
    procs.push(p);
    return p;
  };
  const create = async (topic: string, partitions: number) => {
    const r = await proofs([
      'create',
      cluster.bootstrap,
      topic,
      String(partitions),
      '3',
      'min.insync.replicas=2',
    ]);
    expect(r.code, why(r)).toBe(0);
  };

  beforeAll(async () => {
    lib = await ensureJavaClient(TXN_PROOFS_CLIENT);
    cluster = await new TestCluster({
      overrides: { 'transaction.abort.timed.out.transaction.cleanup.interval.ms': '1000' },
    }).start();
  }, 300_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    await cluster?.cleanup();
  }, 60_000);

  it(`${TXNS} transactions, every 3rd aborted: read_committed sees exactly the committed records in order`, async () => {
    const topic = 'txn-many';
    await create(topic, 6);
    const produceMs = await checkManyTransactions(cluster.bootstrap, topic, 6, TXNS, why);
    console.log(`${TXNS} transactions × 6 partitions on 3 brokers (RF 3): produced in ${produceMs} ms`);
  });

  it(`consume-transform-produce SIGKILLed ${CTP_KILLS} times: output = input exactly once`, async () => {
    const input = 'ctp-in';
    const output = 'ctp-out';
    await create(input, 3);
    await create(output, 3);
    const f = await proofs(['fill', cluster.bootstrap, input, String(CTP_RECORDS)]);
    expect(f.code, why(f)).toBe(0);

    const args = ['ctp', cluster.bootstrap, input, output, 'ctp-group', 'ctp-transformer', '20', '5'];
    const kills: string[] = [];
    for (let k = 0; k < CTP_KILLS; k++) {
      const p = start(args);
      const after = 2 + Math.floor(Math.random() * 12);
      const delay = Math.floor(Math.random() * 300);
      await cluster.waitFor(
        `${after} transactions of transformer run ${k + 1}`,
        () => (p.count('txn') >= after || !p.running ? true : undefined),
        180_000,
      );
      expect(p.running, why(p)).toBe(true);
      await new Promise((res) => setTimeout(res, delay));
      await p.kill();
      kills.push(`after ${p.count('txn')} transactions + ${delay} ms`);
    }
    const last = start(args);
    const code = await Promise.race([
      last.exited,
      new Promise<string>((res) => setTimeout(() => res('timeout'), 300_000)),
    ]);
    expect(code, why(last)).toBe(0);
    expect(last.stdout).toContain('caught-up');

    const c = await proofs(['consume', cluster.bootstrap, output, 'read_committed', String(CTP_RECORDS)]);
    expect(c.code, why(c)).toBe(0);
    const recs = lines(c.stdout, 'rec');
    const values = recs.map((l) => l[2]!);
    expect(values.length).toBe(CTP_RECORDS);
    expect(new Set(values).size).toBe(CTP_RECORDS);
    // In input order per partition: out-n on partition n % 3, n increasing.
    for (let p = 0; p < 3; p++) {
      const got = recs.filter((l) => l[0] === String(p)).map((l) => l[2]);
      const want: string[] = [];
      for (let n = p; n < CTP_RECORDS; n += 3) want.push(`out-${n}`);
      expect(got).toEqual(want);
    }
    // No transaction left open on the output: the last stable offset is the high watermark.
    expect(lines(c.stdout, 'end').map((l) => l.join(' '))).toEqual(
      lines(c.stdout, 'hw').map((l) => l.join(' ')),
    );
    const u = await proofs(['consume', cluster.bootstrap, output, 'read_uncommitted', String(CTP_RECORDS)]);
    expect(u.code, why(u)).toBe(0);
    const abortedRecords = lines(u.stdout, 'rec').length - CTP_RECORDS;
    expect(abortedRecords).toBeGreaterThanOrEqual(0);
    console.log(
      `consume-transform-produce: ${CTP_RECORDS} records, killed ${kills.join('; ')}; ` +
        `${abortedRecords} output records of killed transactions aborted`,
    );
  });

  it('failover: SIGKILL of the transaction coordinator, then of a partition leader, mid-transaction', async () => {
    const topic = 'txn-failover';
    const txnId = 'txn-failover-producer';
    const TOTAL = 60;
    await create(topic, 3);
    const p = start(['slow', cluster.bootstrap, topic, txnId, String(TOTAL), '150']);
    await cluster.waitFor(
      '3 committed transactions',
      () => (p.count('commit') >= 3 ? true : undefined),
      180_000,
    );
    expect(p.running, why(p)).toBe(true);

    const partition = partitionForGroup(txnId, TXN_STATE_PARTITIONS);
    const before = (await cluster.partitionStates('__transaction_state')).get(partition)!;
    const victim = before.leader;
    expect(victim).toBeGreaterThan(0);
    // Mid-transaction: just after a send of the next transaction.
    const committedBefore = p.count('commit');
    await new Promise((res) => setTimeout(res, 200));
    await cluster.broker(victim).kill();
    const after = await cluster.waitFor(
      'a new transaction coordinator',
      async () => {
        const s = (await cluster.partitionStates('__transaction_state')).get(partition);
        return s && s.leader > 0 && s.leader !== victim ? s.leader : undefined;
      },
      90_000,
    );
    await cluster.waitFor(
      '3 more committed transactions after the kill',
      () => (p.count('commit') >= committedBefore + 3 || !p.running ? true : undefined),
      180_000,
    );
    await cluster.broker(victim).start();
    await cluster.waitFullyReplicated(topic, 3, 3);
    await cluster.waitFullyReplicated('__transaction_state', TXN_STATE_PARTITIONS, 3);

    // Then the leader of a partition the transactions write to (not the coordinator), mid-transaction.
    expect(p.running, why(p)).toBe(true);
    const states = await cluster.partitionStates(topic);
    const [leaderPartition, leaderState] =
      [...states].find(([, st]) => st.leader !== after) ?? [...states][0]!;
    const leaderVictim = leaderState.leader;
    const committedBefore2 = p.count('commit');
    await cluster.broker(leaderVictim).kill();
    await cluster.waitFor(
      `a new leader of ${topic}-${leaderPartition}`,
      async () => {
        const st = (await cluster.partitionStates(topic)).get(leaderPartition);
        return st && st.leader > 0 && st.leader !== leaderVictim ? true : undefined;
      },
      90_000,
    );
    await cluster.waitFor(
      '3 more committed transactions after the partition leader was killed',
      () => (p.count('commit') >= committedBefore2 + 3 || !p.running ? true : undefined),
      180_000,
    );
    await cluster.broker(leaderVictim).start();
    const code = await Promise.race([
      p.exited,
      new Promise<string>((res) => setTimeout(() => res('timeout'), 300_000)),
    ]);
    expect(code, why(p)).toBe(0);

    const commits = new Set(lines(p.stdout, 'commit').map((l) => Number(l[0])));
    const given = lines(p.stdout, 'abort');
    expect(commits.size + given.length).toBe(TOTAL);
    const c = await proofs(['consume', cluster.bootstrap, topic, 'read_committed', String(commits.size * 3)]);
    expect(c.code, why(c)).toBe(0);
    for (let part = 0; part < 3; part++) {
      const got = lines(c.stdout, 'rec')
        .filter((l) => l[0] === String(part))
        .map((l) => l[2]);
      const want = [...commits].sort((a, b) => a - b).map((i) => `t${i}-p${part}`);
      expect(got).toEqual(want);
    }
    // Nothing hanging: once the cluster settled, the LSO is the high watermark everywhere.
    await cluster.waitFor(
      'the last stable offset at the high watermark',
      async () => {
        const r = await proofs(['consume', cluster.bootstrap, topic, 'read_committed', '0']);
        const end = lines(r.stdout, 'end').map((l) => l.join(' '));
        const hw = lines(r.stdout, 'hw').map((l) => l.join(' '));
        return r.code === 0 && end.length === 3 && end.join() === hw.join() ? true : undefined;
      },
      120_000,
      1000,
    );
    for (const b of [1, 2, 3]) {
      const h = await runKafkaTool('kafka-transactions', [
        '--bootstrap-server',
        cluster.bootstrap,
        'find-hanging',
        '--broker-id',
        String(b),
      ]);
      expect(h.code, why(h)).toBe(0);
      // Only the header line: no hanging transaction.
      expect(h.stdout.trim().split('\n').filter(Boolean).length, h.stdout).toBeLessThanOrEqual(1);
    }
    // And each partition leader knows no open transaction (DescribeProducers).
    for (let part = 0; part < 3; part++) {
      const dp = await runKafkaTool('kafka-transactions', [
        '--bootstrap-server',
        cluster.bootstrap,
        'describe-producers',
        '--topic',
        topic,
        '--partition',
        String(part),
      ]);
      expect(dp.code, why(dp)).toBe(0);
      const open = dp.stdout
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((l) => l.split('\t').map((c) => c.trim()))
        .filter((c) => c[5] !== 'None');
      expect(open, dp.stdout).toEqual([]);
    }
    const d = await runKafkaTool('kafka-transactions', [
      '--bootstrap-server',
      cluster.bootstrap,
      'describe',
      '--transactional-id',
      txnId,
    ]);
    expect(d.code, why(d)).toBe(0);
    console.log(
      `failover: killed broker ${victim} (coordinator of __transaction_state-${partition}), ` +
        `broker ${after} took over; then broker ${leaderVictim} (leader of ${topic}-${leaderPartition}); ${commits.size} committed, ${given.length} given up ` +
        `(${given.map((g) => g.join(' ')).join(', ')})\n${d.stdout}`,
    );
  });
});
