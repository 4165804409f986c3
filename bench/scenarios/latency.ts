/**
 * End-to-end latency (produce → broker → consume) at a fixed rate below saturation: one Java producer
 * (linger.ms 0) sends 1 KiB records at RATE/s to one partition and a consumer in the same JVM, assigned
 * to that partition, timestamps each arrival (bench/kafka/BenchClient.java: p50 / p99 / p99.9 in µs
 * over ~RATE x 6 records after a 2 s warm-up), for acks=1 and acks=all. Then Kafka's own
 * EndToEndLatency tool (one record in flight at a time, whole-ms resolution) on both brokers as a
 * second opinion. Both brokers run at once and take turns.
 */
import type { BenchResult } from '../main.js';
import { brokerKinds, withBrokers, type BrokerKind } from '../lib/brokers.js';
import { attempt, inTurn, pair, QUICK, withFailures } from '../lib/compare.js';
import { benchLatency, kafkaEndToEnd } from '../lib/java.js';
import { createTopic, deleteTopic } from '../lib/wire.js';

export const name = 'latency';
export const description =
  'end-to-end latency p50/p99/p99.9 at a fixed 2000 records/s of 1 KiB; Kafka EndToEndLatency';
export const needsBuild = true;
export const sharesBrokers = true;

const RATE = 2000;
const SECONDS = QUICK ? 5 : 8;
const WARMUP = 2;
const E2E_RECORDS = QUICK ? 500 : 1000;

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const failures: string[] = [];
  await withBrokers(brokerKinds(), async (brokers) => {
    let n = 0;
    for (const acks of ['1', 'all']) {
      const p: Record<'p50' | 'p99' | 'p999', Partial<Record<BrokerKind, number>>> = {
        p50: {},
        p99: {},
        p999: {},
      };
      for (const b of inTurn(brokers, n)) {
        const topic = `latency-${n}`;
        await createTopic(b.port, topic, 1);
        const r = await attempt(
          `${b.kind} latency acks=${acks}`,
          () =>
            benchLatency({
              bootstrap: b.bootstrap,
              topic,
              rate: RATE,
              seconds: SECONDS,
              warmupSeconds: WARMUP,
              size: 1024,
              acks,
            }),
          failures,
        );
        if (r && r.samples > 0) {
          p.p50[b.kind] = r.p50Us / 1000;
          p.p99[b.kind] = r.p99Us / 1000;
          p.p999[b.kind] = r.p999Us / 1000;
          if (r.errors > 0 || r.received < r.sent)
            failures.push(
              `${b.kind} acks=${acks}: ${r.errors} send errors, ${r.sent - r.received} not received`,
            );
        }
        await deleteTopic(b.port, topic);
      }
      n++;
      for (const q of ['p50', 'p99', 'p999'] as const) {
        const metric = `${RATE}/s 1KiB acks=${acks} ${q === 'p999' ? 'p99.9' : q}`;
        results.push(pair(name, metric, 'ms', p[q], { better: 'lower', chart: 'latency' }));
      }
      console.log(
        `    acks=${acks}: p99 Sluice ${p.p99.sluice?.toFixed(2)} ms, Kafka ${p.p99.kafka?.toFixed(2)} ms`,
      );
    }
    // Kafka's EndToEndLatency: closed loop, one record at a time.
    const e: Record<'avg' | 'p50' | 'p99' | 'p999', Partial<Record<BrokerKind, number>>> = {
      avg: {},
      p50: {},
      p99: {},
      p999: {},
    };
    for (const b of inTurn(brokers, n)) {
      const topic = 'e2e-latency';
      await createTopic(b.port, topic, 1);
      const r = await attempt(
        `${b.kind} EndToEndLatency`,
        () => kafkaEndToEnd(b.bootstrap, topic, E2E_RECORDS, '1', 1024),
        failures,
      );
      if (r) {
        e.avg[b.kind] = r.avgMs;
        e.p50[b.kind] = r.p50;
        e.p99[b.kind] = r.p99;
        e.p999[b.kind] = r.p999;
      }
      await deleteTopic(b.port, topic);
    }
    results.push(
      pair(name, `EndToEndLatency 1KiB acks=1 avg`, 'ms', e.avg, {
        better: 'lower',
        note: `Kafka's tool, ${E2E_RECORDS} records one at a time`,
      }),
      pair(name, `EndToEndLatency 1KiB acks=1 p50`, 'ms', e.p50, { better: 'lower', note: 'whole ms' }),
      pair(name, `EndToEndLatency 1KiB acks=1 p99`, 'ms', e.p99, { better: 'lower', note: 'whole ms' }),
      pair(name, `EndToEndLatency 1KiB acks=1 p99.9`, 'ms', e.p999, { better: 'lower', note: 'whole ms' }),
    );
  });
  return withFailures(results, failures, name);
}
