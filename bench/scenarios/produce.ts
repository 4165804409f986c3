/**
 * Produce throughput, Sluice next to Apache Kafka on the same machine in the same run, with Kafka's own
 * ProducerPerformance as the load generator for both: 100 B and 1 KiB records x acks=1 and acks=all x
 * 1 and 16 partitions x 1 and 4 producers (client defaults otherwise: batch.size 16 KiB, linger.ms 0,
 * idempotence on with acks=all). Both brokers run at once; each configuration runs on one, then the
 * other (the order flips every configuration), on a fresh topic. Throughput is ProducerPerformance's
 * second 5-second report (the first is warm-up), summed over the producers. The broker's CPU seconds
 * per GiB produced come from /proc/<pid>/stat over the whole run.
 */
import type { BenchResult } from '../main.js';
import { brokerKinds, withBrokers, type BrokerKind } from '../lib/brokers.js';
import { attempt, inTurn, pair, QUICK, withFailures } from '../lib/compare.js';
import { producerPerf } from '../lib/java.js';
import { createTopic, deleteTopic } from '../lib/wire.js';

export const name = 'produce';
export const description =
  'produce MB/s via ProducerPerformance: 100 B / 1 KiB x acks 1 / all x 1 / 16 partitions x 1 / 4 producers';
export const needsBuild = true;
export const sharesBrokers = true;

interface Config {
  size: number;
  acks: '1' | 'all';
  partitions: number;
  producers: number;
}

function configs(): Config[] {
  if (QUICK)
    return [
      { size: 1024, acks: '1', partitions: 1, producers: 1 },
      { size: 100, acks: 'all', partitions: 16, producers: 4 },
    ];
  const out: Config[] = [];
  for (const size of [100, 1024])
    for (const acks of ['1', 'all'] as const)
      for (const partitions of [1, 16])
        for (const producers of [1, 4]) out.push({ size, acks, partitions, producers });
  return out;
}

const label = (c: Config) =>
  `${c.size === 1024 ? '1KiB' : `${c.size}B`} acks=${c.acks} ${c.partitions}p ${c.producers}prod`;

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const failures: string[] = [];
  await withBrokers(brokerKinds(), async (brokers) => {
    let n = 0;
    for (const c of configs()) {
      const mbps: Partial<Record<BrokerKind, number>> = {};
      const recs: Partial<Record<BrokerKind, number>> = {};
      const cpuPerGiB: Partial<Record<BrokerKind, number>> = {};
      for (const b of inTurn(brokers, n)) {
        const topic = `produce-${n}`;
        await createTopic(b.port, topic, c.partitions);
        const cpu0 = b.stats().cpuSeconds;
        const r = await attempt(
          `${b.kind} ${label(c)}`,
          () =>
            producerPerf({
              bootstrap: b.bootstrap,
              topic,
              recordSize: c.size,
              acks: c.acks,
              producers: c.producers,
            }),
          failures,
        );
        const cpu = b.stats().cpuSeconds - cpu0;
        if (r) {
          mbps[b.kind] = r.mbPerSec;
          recs[b.kind] = r.recordsPerSec;
          cpuPerGiB[b.kind] = cpu / ((r.totalRecords * c.size) / 2 ** 30);
        }
        await deleteTopic(b.port, topic);
      }
      n++;
      const note = `records/s: Sluice ${Math.round(recs.sluice ?? NaN)}, Kafka ${Math.round(recs.kafka ?? NaN)}`;
      results.push(
        pair(name, `${label(c)} throughput`, 'MiB/s', mbps, { better: 'higher', chart: 'throughput', note }),
        pair(name, `${label(c)} broker CPU per GiB`, 'CPU s', cpuPerGiB, { better: 'lower' }),
      );
      console.log(
        `    ${label(c)}: Sluice ${mbps.sluice?.toFixed(1)} MiB/s, Kafka ${mbps.kafka?.toFixed(1)} MiB/s`,
      );
    }
    const peak: Partial<Record<BrokerKind, number>> = {};
    for (const b of brokers) peak[b.kind] = b.stats().peakRssBytes / 2 ** 20;
    results.push(pair(name, 'broker peak RSS (VmHWM) over the scenario', 'MiB', peak, { better: 'lower' }));
  });
  return withFailures(results, failures);
}
