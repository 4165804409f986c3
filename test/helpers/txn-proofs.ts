/**
 * Shared by the Java transaction proofs (test/clients/java/TxnProofs.java) on one broker
 * (test/compat/transactions-java.test.ts) and on three (test/cluster/transactions.test.ts).
 */
import { expect } from 'vitest';
import { runJava, type RunResult } from './clients.js';

export const TXN_PROOFS_CLIENT = '4.4.0';

export function txnProofs(args: string[], timeoutMs = 300_000): Promise<RunResult> {
  return runJava('TxnProofs.java', args, timeoutMs, TXN_PROOFS_CLIENT);
}

/** The program's own lines ("rec …", "commit …"), split, without the prefix. */
export function proofLines(stdout: string, prefix: string): string[][] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(prefix + ' '))
    .map((l) => l.split(' ').slice(1));
}

/**
 * `txns` transactions of one record per partition of `topic` (which has `partitions`), every 3rd
 * aborted after its records reached the log. Transaction i's records are then at offset 2i of every
 * partition and its marker at 2i+1: a read_committed consumer must get exactly the committed
 * records, per partition in transaction order, at those offsets; a read_uncommitted one all of
 * them; both end offsets (LSO and high watermark) are 2 × txns. Returns how long the producer took.
 */
export async function checkManyTransactions(
  bootstrap: string,
  topic: string,
  partitions: number,
  txns: number,
  why: (r: RunResult) => string,
): Promise<number> {
  const t0 = Date.now();
  const r = await txnProofs(['produce', bootstrap, topic, `${topic}-producer`, String(txns), '3'], 600_000);
  expect(r.code, why(r)).toBe(0);
  const produceMs = Date.now() - t0;
  const aborted = proofLines(r.stdout, 'abort').map((l) => Number(l[0]));
  expect(aborted.length).toBe(Math.floor(txns / 3));
  expect(aborted.every((i) => (i + 1) % 3 === 0)).toBe(true);
  expect(proofLines(r.stdout, 'commit').length).toBe(txns - aborted.length);

  const ps = Array.from({ length: partitions }, (_, p) => p);
  const expected = (committedOnly: boolean) =>
    ps.flatMap((p) => {
      const out: string[] = [];
      for (let i = 0; i < txns; i++) {
        if (committedOnly && (i + 1) % 3 === 0) continue;
        out.push(`${p} ${2 * i} t${i}-p${p}`);
      }
      return out;
    });
  // Per partition, in the order consumed.
  const byPartition = (stdout: string) =>
    ps.flatMap((p) =>
      proofLines(stdout, 'rec')
        .filter((l) => l[0] === String(p))
        .map((l) => l.join(' ')),
    );
  const ends = (stdout: string, what: string) =>
    proofLines(stdout, what)
      .map((l) => l.join(' '))
      .sort();
  const full = ps.map((p) => `${p} ${2 * txns}`).sort();

  const committed = expected(true);
  const c = await txnProofs(['consume', bootstrap, topic, 'read_committed', String(committed.length)]);
  expect(c.code, why(c)).toBe(0);
  expect(byPartition(c.stdout)).toEqual(committed);
  expect(ends(c.stdout, 'end')).toEqual(full);
  expect(ends(c.stdout, 'hw')).toEqual(full);

  const all = expected(false);
  const u = await txnProofs(['consume', bootstrap, topic, 'read_uncommitted', String(all.length)]);
  expect(u.code, why(u)).toBe(0);
  expect(byPartition(u.stdout)).toEqual(all);
  expect(ends(u.stdout, 'end')).toEqual(full);
  return produceMs;
}
