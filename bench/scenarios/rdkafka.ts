/**
 * A second, unrelated client so no figure depends on the Java client alone: librdkafka through
 * confluent-kafka-python (Debian's python3-confluent-kafka, run with /usr/bin/python3), producing
 * 100 B and 1 KiB records to one partition with acks=1 and acks=all, librdkafka defaults otherwise
 * (linger.ms 5, batches up to 1 MB). bench/clients/rdkafka_produce.py counts delivery reports in an
 * 8 s window after 2 s of warm-up. Both brokers run at once and take turns.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResult } from '../main.js';
import { brokerKinds, withBrokers, type BrokerKind } from '../lib/brokers.js';
import { attempt, inTurn, pair, QUICK, withFailures } from '../lib/compare.js';
import { BENCH_DIR } from '../lib/paths.js';
import { runToEnd } from '../lib/proc.js';
import { createTopic, deleteTopic } from '../lib/wire.js';

export const name = 'rdkafka';
export const description = 'produce throughput with librdkafka (confluent-kafka-python), 1 partition';
export const needsBuild = true;
export const sharesBrokers = true;
export const skip = existsSync('/usr/bin/python3')
  ? undefined
  : 'no /usr/bin/python3 (Debian python3-confluent-kafka)';

const PY = '/usr/bin/python3';
const SCRIPT = join(BENCH_DIR, 'clients/rdkafka_produce.py');
const CONFIGS = QUICK
  ? [{ size: 1024, acks: '1' }]
  : [
      { size: 100, acks: '1' },
      { size: 1024, acks: '1' },
      { size: 1024, acks: 'all' },
    ];

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const failures: string[] = [];
  await withBrokers(brokerKinds(), async (brokers) => {
    let n = 0;
    for (const c of CONFIGS) {
      const label = `${c.size === 1024 ? '1KiB' : `${c.size}B`} acks=${c.acks} 1p`;
      const mibps: Partial<Record<BrokerKind, number>> = {};
      const recs: Partial<Record<BrokerKind, number>> = {};
      for (const b of inTurn(brokers, n)) {
        const topic = `rdkafka-${n}`;
        await createTopic(b.port, topic, 1);
        const r = await attempt(
          `${b.kind} rdkafka ${label}`,
          async () => {
            const { stdout } = await runToEnd(
              PY,
              [SCRIPT, b.bootstrap, topic, String(c.size), c.acks, '2', QUICK ? '4' : '8'],
              {
                timeoutMs: 90_000,
              },
            );
            return JSON.parse(stdout.trim().split('\n').pop()!) as {
              recordsPerSec: number;
              mibPerSec: number;
              errors: number;
            };
          },
          failures,
        );
        if (r) {
          mibps[b.kind] = r.mibPerSec;
          recs[b.kind] = r.recordsPerSec;
          if (r.errors) failures.push(`${b.kind} rdkafka ${label}: ${r.errors} delivery errors`);
        }
        await deleteTopic(b.port, topic);
      }
      n++;
      const note = `records/s: Sluice ${Math.round(recs.sluice ?? NaN)}, Kafka ${Math.round(recs.kafka ?? NaN)}`;
      results.push(
        pair(name, `librdkafka ${label} throughput`, 'MiB/s', mibps, {
          better: 'higher',
          chart: 'throughput',
          note,
        }),
      );
      console.log(
        `    ${label}: Sluice ${mibps.sluice?.toFixed(1)} MiB/s, Kafka ${mibps.kafka?.toFixed(1)} MiB/s`,
      );
    }
  });
  return withFailures(results, failures, name);
}
