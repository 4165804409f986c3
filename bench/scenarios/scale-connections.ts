/**
 * Scaling with connections: 1 → 10 → 100 → 1,000 client connections, each sending Produce requests
 * (acks=1, 10 x 1 KiB records per request) one at a time, to a 16-partition topic; acknowledged
 * MiB/s over 4 s after 1 s of warm-up, the mean request round trip, and the broker's RSS. The load
 * comes from one node process speaking the protocol directly (bench/lib/wire.ts, the same bytes to
 * both brokers): a thousand Java producers would measure the JVM more than the broker.
 */
import type { BenchResult } from '../main.js';
import { brokerKinds, withBrokers, type BrokerKind } from '../lib/brokers.js';
import { attempt, inTurn, pair, QUICK, withFailures } from '../lib/compare.js';
import { sleep } from '../lib/proc.js';
import { connectionLoad, createTopic, deleteTopic } from '../lib/wire.js';

export const name = 'scale-connections';
export const description = 'produce MiB/s, round trip and broker RSS with 1 → 1,000 connections';
export const needsBuild = true;
export const sharesBrokers = true;

const COUNTS = QUICK ? [1, 100] : [1, 10, 100, 1000];

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const failures: string[] = [];
  await withBrokers(brokerKinds(), async (brokers) => {
    for (const [n, conns] of COUNTS.entries()) {
      const mibps: Partial<Record<BrokerKind, number>> = {};
      const rtt: Partial<Record<BrokerKind, number>> = {};
      const rss: Partial<Record<BrokerKind, number>> = {};
      for (const b of inTurn(brokers, n)) {
        const topic = `conns-${n}`;
        await createTopic(b.port, topic, 16);
        const r = await attempt(
          `${b.kind} ${conns} connections`,
          async () => {
            let peak = 0;
            const timer = setInterval(() => (peak = Math.max(peak, b.stats().rssBytes)), 250);
            try {
              const res = await connectionLoad({
                port: b.port,
                topic,
                partitions: 16,
                connections: conns,
                recordsPerRequest: 10,
                recordSize: 1024,
                warmupMs: 1000,
                measureMs: QUICK ? 2000 : 4000,
              });
              return { ...res, peak: Math.max(peak, b.stats().rssBytes) };
            } finally {
              clearInterval(timer);
            }
          },
          failures,
        );
        if (r) {
          mibps[b.kind] = r.mbPerSec * (1e6 / 2 ** 20);
          rtt[b.kind] = r.meanRttMs;
          rss[b.kind] = r.peak / 2 ** 20;
          if (r.errors) failures.push(`${b.kind} ${conns} connections: ${r.errors} errors`);
        }
        await sleep(500); // let the closed connections go before the next broker's turn
        await deleteTopic(b.port, topic);
      }
      results.push(
        pair(name, `${conns} connections: produce 10x1KiB acks=1`, 'MiB/s', mibps, {
          better: 'higher',
          chart: 'throughput',
        }),
        pair(name, `${conns} connections: mean request round trip`, 'ms', rtt, { better: 'lower' }),
        pair(name, `${conns} connections: broker peak RSS`, 'MiB', rss, { better: 'lower' }),
      );
      console.log(
        `    ${conns} connections: Sluice ${mibps.sluice?.toFixed(1)} MiB/s, Kafka ${mibps.kafka?.toFixed(1)} MiB/s`,
      );
    }
  });
  return withFailures(results, failures, name);
}
