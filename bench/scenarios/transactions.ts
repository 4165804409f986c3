/**
 * Transactional produce throughput, Sluice next to Apache Kafka 4.4.0 (KRaft combined mode, the
 * jars of test/clients/kafka-4.4/pom.xml, kafka-server-start.sh's JVM flags), both running at the
 * same time and taking turns on each configuration (S,K then K,S). The load generator is
 * bench/kafka/TxnBench.java on kafka-clients 4.4.0: one transactional producer committing
 * transactions of 100 records back to back (records round robin over the topic's partitions), for
 * 1 KiB and 100 B values on 1 and 6 partitions. Reported: transactions/s, MiB/s of record values,
 * commitTransaction latency p50/p99, broker CPU seconds per 1,000 transactions. Each broker first
 * gets one untimed transactional run so its JIT has compiled the transaction paths.
 *
 * Each broker uses its defaults (single node: `transaction.state.log.replication.factor` 1). Kafka
 * 4.4 finalizes transaction.version 2 at format, so the 4.4 client runs KIP-890's protocol there
 * (epoch bump per transaction, partitions added by Produce); Sluice offers transaction version 1
 * (AddPartitionsToTxn from the client), see docs/transactions.md.
 */
import { join } from 'node:path';
import type { BenchResult } from '../main.js';
import { ensureJavaClient } from '../../test/helpers/clients.js';
import { BENCH_DIR } from '../lib/paths.js';
import { brokerKinds, startSluice, type Broker, type BrokerKind } from '../lib/brokers.js';
import { attempt, inTurn, MiB, pair, QUICK, withFailures } from '../lib/compare.js';
import { javaBin } from '../lib/java.js';
import { runToEnd } from '../lib/proc.js';
import { createTopic } from '../lib/wire.js';
import { startKafka44 } from './compaction.js';

export const name = 'transactions';
export const description =
  'transactional produce (Java 4.4.0, 100 records per transaction): transactions/s, MiB/s, commit p50/p99; vs Kafka 4.4.0';
export const needsBuild = true;

const PER_TXN = 100;
const WARMUP_S = QUICK ? 3 : 5;
const RUN_S = QUICK ? 8 : 15;
/** An untimed run per broker before the first configuration. */
const WARMUP_RUN_S = QUICK ? 5 : 15;
const CONFIGS: { size: number; partitions: number }[] = QUICK
  ? [{ size: 1024, partitions: 6 }]
  : [
      { size: 1024, partitions: 1 },
      { size: 1024, partitions: 6 },
      { size: 100, partitions: 6 },
    ];

interface Figures {
  txnPerSec: number;
  mibPerSec: number;
  commitP50: number;
  commitP99: number;
  cpuPer1000: number;
}

async function measure(
  b: Broker,
  lib: string,
  size: number,
  partitions: number,
  i: number,
  runS = RUN_S,
): Promise<Figures> {
  const topic = i < 0 ? `txn-warm-up-${b.kind}` : `txn-bench-${i}-${b.kind}`;
  await createTopic(b.port, topic, partitions);
  const cpu0 = b.stats().cpuSeconds;
  const { stdout } = await runToEnd(
    javaBin(),
    [
      '-Xmx512M',
      '-cp',
      `${lib}/*`,
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      join(BENCH_DIR, 'kafka/TxnBench.java'),
      b.bootstrap,
      topic,
      String(PER_TXN),
      String(size),
      String(WARMUP_S),
      String(runS),
    ],
    { timeoutMs: (WARMUP_S + runS) * 1000 + 180_000 },
  );
  const cpu = b.stats().cpuSeconds - cpu0;
  const line = stdout.split('\n').find((l) => l.startsWith('result '));
  if (!line) throw new Error(`TxnBench printed no result:\n${stdout.slice(-2000)}`);
  const [txns, , bytes, ms, p50, p99] = line.split(' ').slice(1).map(Number) as number[];
  // CPU over the whole run (warm-up included) per transaction of the whole run, estimated from the rate.
  const totalTxns = (txns! * (WARMUP_S + runS)) / runS;
  return {
    txnPerSec: (txns! * 1000) / ms!,
    mibPerSec: bytes! / MiB / (ms! / 1000),
    commitP50: p50!,
    commitP99: p99!,
    cpuPer1000: (cpu / totalTxns) * 1000,
  };
}

export async function run(): Promise<BenchResult[]> {
  const failures: string[] = [];
  const lib = await ensureJavaClient('4.4.0');
  const brokers: Broker[] = [];
  try {
    for (const kind of brokerKinds()) {
      const b = await attempt(
        `${kind} start`,
        () => (kind === 'sluice' ? startSluice() : startKafka44()),
        failures,
      );
      if (b) brokers.push(b);
    }
    // Warm-up: neither broker is measured while its JIT still compiles the transaction paths (the
    // first runs showed Kafka's rate rising through the configurations). Discarded.
    for (const b of brokers)
      await attempt(`${b.kind} warm-up`, () => measure(b, lib, 1024, 6, -1, WARMUP_RUN_S), failures);
    const rows: BenchResult[] = [];
    for (const [i, c] of CONFIGS.entries()) {
      const figs: Partial<Record<BrokerKind, Figures>> = {};
      for (const b of inTurn(brokers, i)) {
        const f = await attempt(
          `${b.kind} ${c.size} B × ${c.partitions} partitions`,
          () => measure(b, lib, c.size, c.partitions, i),
          failures,
        );
        if (f) {
          figs[b.kind] = f;
          console.log(`  ${b.kind} ${c.size} B, ${c.partitions} partition(s): ${JSON.stringify(f)}`);
        }
      }
      const of = (k: keyof Figures) => ({
        ...(figs.sluice ? { sluice: figs.sluice[k] } : {}),
        ...(figs.kafka ? { kafka: figs.kafka[k] } : {}),
      });
      const what = `${c.size === 1024 ? '1 KiB' : `${c.size} B`} × ${PER_TXN}/txn, ${c.partitions} partition(s)`;
      rows.push(
        pair(name, `transactions/s, ${what}`, 'txn/s', of('txnPerSec'), { better: 'higher' }),
        pair(name, `throughput, ${what}`, 'MiB/s', of('mibPerSec'), {
          better: 'higher',
          chart: 'throughput',
        }),
        pair(name, `commit p50, ${what}`, 'ms', of('commitP50'), { better: 'lower' }),
        pair(name, `commit p99, ${what}`, 'ms', of('commitP99'), { better: 'lower', chart: 'latency' }),
        pair(name, `broker CPU per 1,000 txns, ${what}`, 's', of('cpuPer1000'), { better: 'lower' }),
      );
    }
    for (const r of rows) if (r.reference !== undefined) r.referenceName = 'Kafka 4.4.0';
    return withFailures(rows, failures, name);
  } finally {
    await Promise.all(brokers.map((b) => b.stop()));
  }
}
