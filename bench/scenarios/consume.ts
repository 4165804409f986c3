/**
 * Consume throughput: a topic is filled with ProducerPerformance, then read from the beginning to its
 * end by one Java consumer (kafka-clients 3.9, default fetch settings) with assign() — Kafka's
 * ConsumerPerformance subscribes through a consumer group, which Sluice does not serve yet, so
 * bench/kafka/BenchClient.java does the same reading without the group. The clock starts at the first
 * non-empty poll. Both brokers run at once and take turns, on fresh topics.
 */
import type { BenchResult } from '../main.js';
import { brokerKinds, withBrokers, type BrokerKind } from '../lib/brokers.js';
import { attempt, inTurn, pair, QUICK, withFailures } from '../lib/compare.js';
import { benchConsume, produceFixed } from '../lib/java.js';
import { createTopic, deleteTopic } from '../lib/wire.js';

export const name = 'consume';
export const description = 'consume MiB/s from the beginning of a filled topic (Java consumer, assign())';
export const needsBuild = true;
export const sharesBrokers = true;

const CONFIGS = [
  { size: 1024, partitions: 1, records: QUICK ? 50_000 : 200_000 },
  { size: 1024, partitions: 16, records: QUICK ? 50_000 : 200_000 },
  { size: 100, partitions: 1, records: QUICK ? 200_000 : 1_000_000 },
];

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const failures: string[] = [];
  await withBrokers(brokerKinds(), async (brokers) => {
    let n = 0;
    for (const c of CONFIGS) {
      const label = `${c.size === 1024 ? '1KiB' : `${c.size}B`} ${c.partitions}p ${c.records} records`;
      const mibps: Partial<Record<BrokerKind, number>> = {};
      const recs: Partial<Record<BrokerKind, number>> = {};
      const cpuPerGiB: Partial<Record<BrokerKind, number>> = {};
      for (const b of inTurn(brokers, n)) {
        const topic = `consume-${n}`;
        await createTopic(b.port, topic, c.partitions);
        await produceFixed(b.bootstrap, topic, c.records, c.size);
        const cpu0 = b.stats().cpuSeconds;
        const r = await attempt(
          `${b.kind} consume ${label}`,
          () => benchConsume(b.bootstrap, topic, 0),
          failures,
        );
        const cpu = b.stats().cpuSeconds - cpu0;
        if (r && r.records >= c.records) {
          mibps[b.kind] = r.bytes / 2 ** 20 / r.seconds;
          recs[b.kind] = r.records / r.seconds;
          cpuPerGiB[b.kind] = cpu / (r.bytes / 2 ** 30);
        } else if (r) failures.push(`${b.kind} consume ${label}: read ${r.records} of ${c.records} records`);
        await deleteTopic(b.port, topic);
      }
      n++;
      const note = `records/s: Sluice ${Math.round(recs.sluice ?? NaN)}, Kafka ${Math.round(recs.kafka ?? NaN)}`;
      results.push(
        pair(name, `${label} throughput`, 'MiB/s', mibps, { better: 'higher', chart: 'throughput', note }),
        pair(name, `${label} broker CPU per GiB read`, 'CPU s', cpuPerGiB, { better: 'lower' }),
      );
      console.log(
        `    ${label}: Sluice ${mibps.sluice?.toFixed(1)} MiB/s, Kafka ${mibps.kafka?.toFixed(1)} MiB/s`,
      );
    }
  });
  return withFailures(results, failures, name);
}
