/**
 * Transaction version 2 (KIP-890 part 2) with the Java client 4.4.0 against one real broker, through
 * test/clients/java/TxnCompat.java (mode `epochs`), and the way back to TV1 with kafka-features.sh:
 *  - a new cluster finalizes transaction.version 2 (kafka-features.sh describe);
 *  - a producer commits and aborts 9 transactions (every 3rd aborted), each writing one record to
 *    each of 2 partitions and committing a group offset (sendOffsetsToTransaction). It speaks TV2:
 *    the broker serves no AddPartitionsToTxn and no AddOffsetsToTxn, and serves EndTxn v5, Produce
 *    v12 and TxnOffsetCommit v5 (sluice_requests_total); the producer epoch DescribeTransactions
 *    reports goes up by one with every commit/abort; DescribeProducers on the partitions shows the
 *    last (bumped) epoch the markers carried; a read_committed consumer gets exactly the committed
 *    records at their offsets (each transaction takes 2 offsets per partition: record, marker), the
 *    group's committed offset is the last committed transaction's, and Kafka's own
 *    `kafka-dump-log --transaction-log-decoder` reads each PrepareCommit/PrepareAbort record of
 *    `__transaction_state` with ClientTransactionVersion 2 and the bumped epoch;
 *  - after `kafka-features.sh downgrade --feature transaction.version=1` a new producer speaks TV1
 *    (AddPartitionsToTxn v3-, AddOffsetsToTxn, EndTxn v4 are served; the epoch stays across
 *    transactions) and the same checks hold on a second topic.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.js';
import { ensureJavaClient, runJava } from '../helpers/clients.js';
import { ensureKafkaTools, runKafkaTool } from '../helpers/kafka-tools.js';
import { metricSum, servedVersions } from './metrics.js';

const VERSION = '4.4.0';
const TXNS = 9;
const ABORT_EVERY = 3;

function txn(args: string[], timeoutMs = 170_000) {
  return runJava('TxnCompat.java', args, timeoutMs, VERSION);
}

function lines(stdout: string, prefix: string): string[][] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(prefix + ' '))
    .map((l) => l.split(' ').slice(1));
}

const committed = (i: number) => (i + 1) % ABORT_EVERY !== 0;

describe('transaction version 2 with the Java client 4.4.0', { timeout: 600_000 }, () => {
  let broker: BrokerProcess;
  const why = (r: { stdout: string; stderr: string }) =>
    `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}\n${broker.logs.slice(-15).join('\n')}`;
  const features = (...args: string[]) =>
    runKafkaTool('kafka-features', ['--bootstrap-server', broker.bootstrap, ...args]);
  const requests = (api: string) => metricSum(broker.metricsPort, 'sluice_requests_total', { api });

  beforeAll(async () => {
    await Promise.all([ensureJavaClient(VERSION), ensureKafkaTools()]);
    broker = await new BrokerProcess().start();
  }, 600_000);

  afterAll(async () => {
    await broker?.cleanup();
  });

  /** Run the `epochs` program on a new topic; check what every client and tool sees. */
  async function runAndCheck(topic: string, txnId: string, group: string, tv: 1 | 2) {
    let r = await txn(['create', broker.bootstrap, topic, '2']);
    expect(r.code, why(r)).toBe(0);
    r = await txn(['epochs', broker.bootstrap, topic, txnId, String(TXNS), String(ABORT_EVERY), group]);
    expect(r.code, why(r)).toBe(0);
    const outcomes = [...lines(r.stdout, 'commit'), ...lines(r.stdout, 'abort')].map((l) => Number(l[0]));
    expect(outcomes.sort((a, b) => a - b)).toEqual([...Array(TXNS).keys()]);
    expect(lines(r.stdout, 'abort').map((l) => Number(l[0]))).toEqual([2, 5, 8]);

    // DescribeTransactions after initTransactions and after each commit/abort.
    const epochs = lines(r.stdout, 'epoch');
    expect(epochs).toHaveLength(TXNS + 1);
    const [, pid, e0] = epochs[0]!;
    for (const [k, [label, p, e, state]] of epochs.entries()) {
      expect(p, `producer id after ${label}`).toBe(pid);
      // TV2: every EndTxn bumps the epoch; TV1: it stays.
      expect(Number(e), `epoch after ${label}`).toBe(Number(e0) + (tv === 2 ? k : 0));
      if (k > 0)
        expect(state, `state after ${label}`).toMatch(
          committed(k - 1) ? /^(PrepareCommit|CompleteCommit)$/ : /^(PrepareAbort|CompleteAbort)$/,
        );
    }
    // Each partition's producer state holds the epoch of the last marker (TV2: the bumped one).
    const lastEpoch = String(Number(e0) + (tv === 2 ? TXNS : 0));
    expect(lines(r.stdout, 'producer').sort()).toEqual([
      ['0', pid, lastEpoch],
      ['1', pid, lastEpoch],
    ]);

    // read_committed: exactly the committed transactions' records, transaction i's at offset 2i.
    const expected: string[] = [];
    for (let i = 0; i < TXNS; i++)
      if (committed(i)) for (const p of [0, 1]) expected.push(`${p} ${2 * i} t${i}-r${p}`);
    const c = await txn(['consume', broker.bootstrap, topic, 'read_committed', String(expected.length)]);
    expect(c.code, why(c)).toBe(0);
    expect(
      lines(c.stdout, 'rec')
        .map((l) => l.join(' '))
        .sort(),
    ).toEqual(expected.sort());
    expect(lines(c.stdout, 'end').sort()).toEqual([
      ['0', String(2 * TXNS)],
      ['1', String(2 * TXNS)],
    ]);
    // The group's offset is the last committed transaction's (transaction 7 committed offset 8).
    const g = await txn(['group-offsets', broker.bootstrap, group]);
    expect(g.code, why(g)).toBe(0);
    expect(lines(g.stdout, 'offset')).toEqual([[topic, '0', '8']]);

    // __transaction_state as Kafka 4.4's own decoder reads it: each PrepareCommit/PrepareAbort
    // record carries the transaction's client version and (TV2) the bumped epoch.
    const files = readdirSync(broker.dataDir)
      .filter((d) => d.startsWith('__transaction_state-'))
      .flatMap((d) =>
        readdirSync(join(broker.dataDir, d))
          .filter((f) => f.endsWith('.log'))
          .map((f) => join(broker.dataDir, d, f)),
      );
    const dump = await runKafkaTool('kafka-dump-log', [
      '--transaction-log-decoder',
      '--print-data-log',
      '--files',
      files.join(','),
    ]);
    expect(dump.code, dump.stderr).toBe(0);
    const prepares = dump.stdout
      .split('\n')
      .filter((l) => l.includes(`"transactionalId":"${txnId}"`))
      .map(
        (l) =>
          (
            JSON.parse(l.slice(l.indexOf('payload: ') + 9)) as {
              data: { producerEpoch: number; transactionStatus: string; clientTransactionVersion?: number };
            }
          ).data,
      )
      .filter((d) => d.transactionStatus.startsWith('Prepare'));
    expect(
      prepares.map((d) => [d.transactionStatus, d.producerEpoch, d.clientTransactionVersion ?? 0]),
    ).toEqual(
      [...Array(TXNS).keys()].map((i) => [
        committed(i) ? 'PrepareCommit' : 'PrepareAbort',
        Number(e0) + (tv === 2 ? i + 1 : 0),
        tv === 2 ? 2 : 0,
      ]),
    );
  }

  it('a new cluster finalizes transaction.version 2; a 4.4 producer speaks TV2', async () => {
    const d = await features('describe');
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(
      /Feature: transaction\.version\s+SupportedMinVersion: 0\s+SupportedMaxVersion: 2\s+FinalizedVersionLevel: 2\s/,
    );

    await runAndCheck('tv2-topic', 'tv2-txn', 'tv2-group', 2);
    const served = await servedVersions(broker.metricsPort);
    expect(await requests('AddPartitionsToTxn')).toBe(0);
    expect(await requests('AddOffsetsToTxn')).toBe(0);
    expect([...(served.get('EndTxn') ?? [])]).toEqual([5]);
    expect([...(served.get('TxnOffsetCommit') ?? [])]).toEqual([5]);
    expect(served.get('Produce')?.has(12)).toBe(true);
  });

  it('after kafka-features.sh downgrade --feature transaction.version=1 a new producer speaks TV1', async () => {
    const down = await features('downgrade', '--feature', 'transaction.version=1');
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(down.stdout).toContain('transaction.version was downgraded to 1.');
    const d = await features('describe');
    expect(d.stdout).toMatch(/Feature: transaction\.version\s+.*FinalizedVersionLevel: 1\s/);

    const endTxnV5 = await metricSum(broker.metricsPort, 'sluice_requests_total', {
      api: 'EndTxn',
      version: '5',
    });
    await runAndCheck('tv1-topic', 'tv1-txn', 'tv1-group', 1);
    const served = await servedVersions(broker.metricsPort);
    expect(await requests('AddPartitionsToTxn')).toBeGreaterThanOrEqual(TXNS);
    expect(await requests('AddOffsetsToTxn')).toBe(TXNS);
    expect(served.get('EndTxn')?.has(4)).toBe(true);
    expect(
      await metricSum(broker.metricsPort, 'sluice_requests_total', { api: 'EndTxn', version: '5' }),
    ).toBe(endTxnV5);
  });
});
