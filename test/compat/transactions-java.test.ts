/**
 * Kafka transactions with the Java client (kafka-clients 4.4.0) against one real broker, through
 * test/clients/java/TxnCompat.java:
 *  - a transactional producer commits 20 transactions and aborts 10 (every 3rd, after flushing its
 *    records into the log); each transaction writes 2 records to each of 2 partitions, so on each
 *    partition transaction i holds offsets 3i and 3i+1 and its COMMIT/ABORT marker takes 3i+2. A
 *    read_committed consumer gets exactly the committed records at exactly those offsets; a
 *    read_uncommitted one gets every record; both see end offset 90 (markers take offsets);
 *  - zombie fencing: a second producer with the same transactional.id fences the first, whose
 *    commit fails with ProducerFencedException (or, when it sends once more first, with the
 *    partition's InvalidProducerEpochException, which Kafka's own tests accept too);
 *  - consume-transform-produce with sendOffsetsToTransaction: the output holds each committed input
 *    record once, transformed, and the group's committed offsets are the inputs' last offsets + 1;
 *  - a producer that disappears with its transaction open: read_committed consumers stop at the
 *    last stable offset (ListOffsets and Fetch) until the coordinator aborts the transaction at
 *    its transaction.timeout.ms, after which the abort marker ends it and read_committed sees none
 *    of its records;
 *  - Kafka 4.4's kafka-transactions.sh (TransactionsCommand): list, describe, describe-producers
 *    show an abandoned transaction, and `abort` ends it at the partition (WriteTxnMarkers from the
 *    tool), which moves the last stable offset past it;
 *  - 1,000 transactions (SLUICE_TXN_COUNT), one record per partition of a 6-partition topic, every
 *    3rd aborted: read_committed gets exactly the committed records in order at their offsets,
 *    read_uncommitted all (test/helpers/txn-proofs.ts; the three-broker run is in
 *    test/cluster/transactions.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.js';
import { ensureJavaClient, runJava } from '../helpers/clients.js';
import { runKafkaTool } from '../helpers/kafka-tools.js';
import { checkManyTransactions, txnProofs } from '../helpers/txn-proofs.js';

const VERSION = '4.4.0';
const MANY_TXNS = Number(process.env.SLUICE_TXN_COUNT ?? 1000);

function txn(args: string[], timeoutMs = 170_000) {
  return runJava('TxnCompat.java', args, timeoutMs, VERSION);
}

/** The program's own lines ("rec …", "end …"), without the client's logging. */
function lines(stdout: string, prefix: string): string[][] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(prefix + ' '))
    .map((l) => l.split(' ').slice(1));
}

describe('transactions with the Java client 4.4.0', { timeout: 400_000 }, () => {
  let broker: BrokerProcess;
  const why = (r: { stdout: string; stderr: string }) =>
    `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}\n${broker.logs.slice(-15).join('\n')}`;

  beforeAll(async () => {
    await ensureJavaClient(VERSION);
    // The timed-out transaction check runs every second (Kafka's default is 10 s).
    broker = await new BrokerProcess({
      overrides: { 'transaction.abort.timed.out.transaction.cleanup.interval.ms': '1000' },
    }).start();
  }, 300_000);

  afterAll(async () => {
    await broker?.cleanup();
  });

  it('commits and aborts: read_committed sees exactly the committed records at their offsets', async () => {
    const topic = 'txn-commit-abort';
    const TXNS = 30;
    let r = await txn(['create', broker.bootstrap, topic, '2']);
    expect(r.code, why(r)).toBe(0);
    r = await txn(['produce', broker.bootstrap, topic, 'txn-ca', String(TXNS), '4', '3']);
    expect(r.code, why(r)).toBe(0);
    const outcomes = lines(r.stdout, 'commit').length + lines(r.stdout, 'abort').length;
    expect(outcomes).toBe(TXNS);
    expect(lines(r.stdout, 'abort').map((l) => Number(l[0]))).toEqual([2, 5, 8, 11, 14, 17, 20, 23, 26, 29]);

    // What each partition must hold: transaction i's records j (j % 2 == partition) at 3i, 3i+1.
    const expected = (committedOnly: boolean) => {
      const out: string[] = [];
      for (let i = 0; i < TXNS; i++) {
        if (committedOnly && (i + 1) % 3 === 0) continue;
        for (const p of [0, 1]) {
          out.push(`${p} ${3 * i} t${i}-r${p}`);
          out.push(`${p} ${3 * i + 1} t${i}-r${p + 2}`);
        }
      }
      return out.sort();
    };

    const committed = await txn(['consume', broker.bootstrap, topic, 'read_committed', '80']);
    expect(committed.code, why(committed)).toBe(0);
    const got = lines(committed.stdout, 'rec').map((l) => l.join(' '));
    expect(got.length).toBe(80);
    expect(got.sort()).toEqual(expected(true));
    // Offsets strictly increase per partition as consumed (order within a partition kept).
    for (const p of ['0', '1']) {
      const offs = lines(committed.stdout, 'rec')
        .filter((l) => l[0] === p)
        .map((l) => Number(l[1]));
      expect(offs).toEqual([...offs].sort((a, b) => a - b));
    }
    // The last stable offset is the log end once every transaction is complete: 30 × 3 offsets.
    expect(
      lines(committed.stdout, 'end')
        .map((l) => l.join(' '))
        .sort(),
    ).toEqual(['0 90', '1 90']);
    expect(
      lines(committed.stdout, 'position')
        .map((l) => l.join(' '))
        .sort(),
    ).toEqual(['0 90', '1 90']);

    const all = await txn(['consume', broker.bootstrap, topic, 'read_uncommitted', '120']);
    expect(all.code, why(all)).toBe(0);
    const gotAll = lines(all.stdout, 'rec').map((l) => l.join(' '));
    expect(gotAll.length).toBe(120);
    expect(gotAll.sort()).toEqual(expected(false));
    expect(
      lines(all.stdout, 'end')
        .map((l) => l.join(' '))
        .sort(),
    ).toEqual(['0 90', '1 90']);
  });

  it('a second producer with the same transactional.id fences the first', async () => {
    const topic = 'txn-fence';
    let r = await txn(['create', broker.bootstrap, topic, '1']);
    expect(r.code, why(r)).toBe(0);

    r = await txn(['fence', broker.bootstrap, topic, 'txn-zombie-1', 'commit']);
    expect(r.code, why(r)).toBe(0);
    expect(lines(r.stdout, 'fenced')).toEqual([['org.apache.kafka.common.errors.ProducerFencedException']]);
    expect(r.stdout).toContain('b-committed');

    r = await txn(['fence', broker.bootstrap, topic, 'txn-zombie-2', 'send']);
    expect(r.code, why(r)).toBe(0);
    expect([
      'org.apache.kafka.common.errors.ProducerFencedException',
      'org.apache.kafka.common.errors.InvalidProducerEpochException',
    ]).toContain(lines(r.stdout, 'fenced')[0]?.[0]);
    expect(r.stdout).toContain('b-committed');

    // Only the fencing producers' records are committed; the zombies' were aborted.
    const c = await txn(['consume', broker.bootstrap, topic, 'read_committed', '2']);
    expect(c.code, why(c)).toBe(0);
    expect(lines(c.stdout, 'rec').map((l) => l[2])).toEqual(['from-b', 'from-b']);
    // The zombies' first records are in the log (aborted); the send after the fence was refused.
    const u = await txn(['consume', broker.bootstrap, topic, 'read_uncommitted', '4']);
    expect(u.code, why(u)).toBe(0);
    expect(lines(u.stdout, 'rec').map((l) => l[2])).toEqual(['from-a', 'from-b', 'from-a', 'from-b']);
  });

  it('consume-transform-produce with sendOffsetsToTransaction', async () => {
    const input = 'ctp-in';
    const output = 'ctp-out';
    for (const t of [input, output]) {
      const r = await txn(['create', broker.bootstrap, t, '2']);
      expect(r.code, why(r)).toBe(0);
    }
    // 10 transactions of 4 records, every 5th aborted: 32 committed input records.
    let r = await txn(['produce', broker.bootstrap, input, 'ctp-source', '10', '4', '5']);
    expect(r.code, why(r)).toBe(0);

    r = await txn(['ctp', broker.bootstrap, input, output, 'ctp-group', 'ctp-transformer', '32']);
    expect(r.code, why(r)).toBe(0);
    expect(lines(r.stdout, 'processed')).toEqual([['32']]);

    const expected: string[] = [];
    for (let i = 0; i < 10; i++) {
      if ((i + 1) % 5 === 0) continue;
      for (let j = 0; j < 4; j++) expected.push(`${j % 2} T${i}-R${j}`);
    }
    const c = await txn(['consume', broker.bootstrap, output, 'read_committed', '32']);
    expect(c.code, why(c)).toBe(0);
    expect(
      lines(c.stdout, 'rec')
        .map((l) => `${l[0]} ${l[2]}`)
        .sort(),
    ).toEqual(expected.sort());

    // The last committed input transaction (8) holds offsets 24 and 25 on each partition.
    const o = await txn(['group-offsets', broker.bootstrap, 'ctp-group']);
    expect(o.code, why(o)).toBe(0);
    expect(
      lines(o.stdout, 'offset')
        .map((l) => l.join(' '))
        .sort(),
    ).toEqual([`${input} 0 26`, `${input} 1 26`]);
  });

  it('an abandoned transaction holds the LSO until its timeout aborts it', async () => {
    const topic = 'txn-timeout';
    let r = await txn(['create', broker.bootstrap, topic, '1']);
    expect(r.code, why(r)).toBe(0);
    // Committed first: offsets 0-1 and the marker at 2.
    r = await txn(['produce', broker.bootstrap, topic, 'txn-before', '1', '2', '100']);
    expect(r.code, why(r)).toBe(0);
    // 60 s: the three JVMs that look at it while it is open must finish first, also on a loaded machine.
    r = await txn(['hang', broker.bootstrap, topic, 'txn-abandoned', '3', '60000']);
    expect(r.code, why(r)).toBe(0);
    expect(r.stdout).toContain('open');

    // While open (60 s): read_committed ends at the LSO 3, the abandoned transaction's first offset;
    // read_uncommitted at the high watermark 6.
    const during = await txn(['consume', broker.bootstrap, topic, 'read_committed', '2']);
    expect(during.code, why(during)).toBe(0);
    expect(lines(during.stdout, 'rec').map((l) => l.join(' '))).toEqual(['0 0 t0-r0', '0 1 t0-r1']);
    expect(lines(during.stdout, 'end')).toEqual([['0', '3']]);
    const uncommitted = await txn(['consume', broker.bootstrap, topic, 'read_uncommitted', '5']);
    expect(uncommitted.code, why(uncommitted)).toBe(0);
    expect(lines(uncommitted.stdout, 'end')).toEqual([['0', '6']]);
    expect(lines(uncommitted.stdout, 'rec').map((l) => l[2])).toEqual([
      't0-r0',
      't0-r1',
      'open-0',
      'open-1',
      'open-2',
    ]);

    // After the timeout the coordinator aborts: the ABORT marker at 6, LSO = 7.
    const deadline = Date.now() + 120_000;
    let end = '';
    let after = during;
    while (Date.now() < deadline) {
      after = await txn(['consume', broker.bootstrap, topic, 'read_committed', '2']);
      expect(after.code, why(after)).toBe(0);
      end = lines(after.stdout, 'end')[0]?.[1] ?? '';
      if (end === '7') break;
      await new Promise((res) => setTimeout(res, 2000));
    }
    expect(end).toBe('7');
    expect(lines(after.stdout, 'rec').map((l) => l.join(' '))).toEqual(['0 0 t0-r0', '0 1 t0-r1']);
    expect(lines(after.stdout, 'position')).toEqual([['0', '7']]);
  });

  it('kafka-transactions.sh lists, describes and aborts a hanging transaction', async () => {
    const topic = 'txn-tools';
    let r = await txn(['create', broker.bootstrap, topic, '1']);
    expect(r.code, why(r)).toBe(0);
    r = await txn(['produce', broker.bootstrap, topic, 'txn-tools-ok', '1', '2', '100']);
    expect(r.code, why(r)).toBe(0);
    // Open at offsets 3-4 with a 10 min timeout: only the tool ends it during the test.
    r = await txn(['hang', broker.bootstrap, topic, 'txn-tools-hung', '2', '600000']);
    expect(r.code, why(r)).toBe(0);

    const tool = (args: string[]) =>
      runKafkaTool('kafka-transactions', ['--bootstrap-server', broker.bootstrap, ...args]);
    const rows = (out: string) =>
      out
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((l) => l.split('\t').map((c) => c.trim()));

    const list = await tool(['list']);
    expect(list.code, why(list)).toBe(0);
    const states = new Map(rows(list.stdout).map((c) => [c[0], c[3]]));
    expect(states.get('txn-tools-ok')).toBe('CompleteCommit');
    expect(states.get('txn-tools-hung')).toBe('Ongoing');

    const describe = await tool(['describe', '--transactional-id', 'txn-tools-hung']);
    expect(describe.code, why(describe)).toBe(0);
    const d = rows(describe.stdout)[0]!;
    expect(d[1]).toBe('txn-tools-hung');
    expect(d[4]).toBe('Ongoing');
    expect(d[5]).toBe('600000');
    expect(d[8]).toBe(`${topic}-0`);

    const producers = await tool(['describe-producers', '--topic', topic, '--partition', '0']);
    expect(producers.code, why(producers)).toBe(0);
    const open = rows(producers.stdout).filter((c) => c[5] !== 'None');
    expect(open.map((c) => c[5])).toEqual(['3']);

    const abort = await tool(['abort', '--topic', topic, '--partition', '0', '--start-offset', '3']);
    expect(abort.code, why(abort)).toBe(0);

    // The ABORT marker at 5: the LSO is 6 and the abandoned records are not committed.
    const c = await txn(['consume', broker.bootstrap, topic, 'read_committed', '2']);
    expect(c.code, why(c)).toBe(0);
    expect(lines(c.stdout, 'rec').map((l) => l.join(' '))).toEqual(['0 0 t0-r0', '0 1 t0-r1']);
    expect(lines(c.stdout, 'end')).toEqual([['0', '6']]);
    const after = await tool(['describe-producers', '--topic', topic, '--partition', '0']);
    expect(after.code, why(after)).toBe(0);
    expect(rows(after.stdout).filter((c) => c[5] !== 'None')).toEqual([]);
  });

  it(`${MANY_TXNS} transactions to 6 partitions, every 3rd aborted: read_committed sees exactly the committed records in order`, async () => {
    const topic = 'txn-many';
    const r = await txnProofs(['create', broker.bootstrap, topic, '6', '1']);
    expect(r.code, why(r)).toBe(0);
    const ms = await checkManyTransactions(broker.bootstrap, topic, 6, MANY_TXNS, why);
    console.log(`${MANY_TXNS} transactions × 6 partitions on one broker: produced in ${ms} ms`);
  });
});
