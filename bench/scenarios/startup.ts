/**
 * Time from starting the broker process to the first acknowledged message, on an empty data dir: a
 * client (bench/lib/wire.ts) connects as soon as the port accepts, asks for a new topic's metadata
 * (auto-creation on) until it has a leader, and produces one record with acks=1. Kafka needs its
 * storage formatted first; that step is timed separately and not counted. Also the broker's RSS and
 * CPU seconds at that moment, and its RSS after 5 idle seconds.
 */
import type { BenchResult } from '../main.js';
import { brokerKinds, startKafka, startSluice, type Broker, type BrokerKind } from '../lib/brokers.js';
import { attempt, pair, QUICK, withFailures } from '../lib/compare.js';
import { freePort, sleep } from '../lib/proc.js';
import { firstAck } from '../lib/wire.js';

export const name = 'startup';
export const description =
  'start to first acknowledged message; RSS and CPU seconds at that point and when idle';
export const needsBuild = true;

const REPS = QUICK ? 1 : 3;

export async function run(): Promise<BenchResult[]> {
  const failures: string[] = [];
  const toAck: Partial<Record<BrokerKind, number[]>> = {};
  const rss: Partial<Record<BrokerKind, number>> = {};
  const cpu: Partial<Record<BrokerKind, number>> = {};
  const idle: Partial<Record<BrokerKind, number>> = {};
  let formatSeconds = NaN;
  for (let rep = 0; rep < REPS; rep++) {
    for (const kind of rep % 2 === 0 ? brokerKinds() : [...brokerKinds()].reverse()) {
      const port = await freePort();
      let broker: Broker | undefined;
      await attempt(
        `${kind} startup`,
        async () => {
          const probe = firstAck(port, 'first-topic');
          probe.catch(() => undefined); // awaited below; a failed start must not leave it unhandled
          const start =
            kind === 'sluice'
              ? startSluice({ port })
              : startKafka({ port }).then((k) => {
                  formatSeconds = k.formatSeconds;
                  return k.broker;
                });
          broker = await start;
          const ackedAt = await probe;
          const s = broker.stats();
          (toAck[kind] ??= []).push((ackedAt - broker.spawnedAt) / 1000);
          if (rep === 0) {
            rss[kind] = s.rssBytes / 2 ** 20;
            cpu[kind] = s.cpuSeconds;
            await sleep(5000);
            idle[kind] = broker.stats().rssBytes / 2 ** 20;
          }
        },
        failures,
      );
      await (broker as Broker | undefined)?.stop();
    }
  }
  const median = (xs: number[] | undefined) =>
    xs?.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : undefined;
  const t: Partial<Record<BrokerKind, number>> = {};
  for (const k of brokerKinds()) {
    const m = median(toAck[k]);
    if (m !== undefined) t[k] = m;
  }
  console.log(`    to first ack: ${JSON.stringify(toAck)}`);
  return withFailures(
    [
      pair(name, 'start to first acknowledged message', 's', t, {
        better: 'lower',
        note: `median of ${REPS}; Kafka storage format before it took ${formatSeconds.toFixed(1)} s more`,
      }),
      pair(name, 'CPU seconds used by then', 'CPU s', cpu, { better: 'lower' }),
      pair(name, 'RSS at first ack', 'MiB', rss, { better: 'lower' }),
      pair(name, 'RSS after 5 s idle', 'MiB', idle, { better: 'lower' }),
    ],
    failures,
    name,
  );
}
