/**
 * Scaling with partitions: one topic grown 1 → 100 → 1,000 → 10,000 partitions (CreatePartitions),
 * and at each size the broker's RSS when idle, then one ProducerPerformance (1 KiB, acks=1, the
 * client's sticky partitioner spreading batches over every partition) for two 5-second reports (the
 * second counts), and the broker's RSS after it. Also how long growing the topic took, until every
 * partition accepted a write (a leader in Metadata is not enough: Kafka creates logs afterwards). One broker at a
 * time (a 10,000-partition broker next to another would skew both).
 */
import type { BenchResult } from '../main.js';
import { brokerKinds, startBroker, warmUp, type BrokerKind } from '../lib/brokers.js';
import { attempt, pair, QUICK, withFailures } from '../lib/compare.js';
import { producerPerf } from '../lib/java.js';
import { sleep } from '../lib/proc.js';
import { createTopic, growTopic, waitWritable } from '../lib/wire.js';

export const name = 'scale-partitions';
export const description =
  'produce MiB/s and broker RSS as one topic grows 1 → 100 → 1,000 → 10,000 partitions';
export const needsBuild = true;

const SIZES = QUICK ? [1, 1000] : [1, 100, 1000, 10_000];

export async function run(): Promise<BenchResult[]> {
  const failures: string[] = [];
  type Row = { mibps?: number; idleRss?: number; loadRss?: number; growSeconds?: number };
  const rows: Partial<Record<BrokerKind, Row[]>> = {};
  for (const kind of brokerKinds()) {
    const b = await startBroker(kind);
    const out: Row[] = (rows[kind] = []);
    try {
      await warmUp(b);
      const topic = 'scale';
      for (const [i, p] of SIZES.entries()) {
        const row: Row = {};
        out.push(row);
        const ok = await attempt(
          `${kind} grow to ${p} partitions`,
          async () => {
            const t0 = performance.now();
            if (i === 0) await createTopic(b.port, topic, p);
            else await growTopic(b.port, topic, p);
            await waitWritable(b.port, topic, p);
            row.growSeconds = (performance.now() - t0) / 1000;
            return true;
          },
          failures,
        );
        if (!ok) break;
        await sleep(2000);
        row.idleRss = b.stats().rssBytes / 2 ** 20;
        const r = await attempt(
          `${kind} produce to ${p} partitions`,
          () => producerPerf({ bootstrap: b.bootstrap, topic, recordSize: 1024, acks: '1', producers: 1 }),
          failures,
        );
        row.mibps = r?.mbPerSec;
        row.loadRss = b.stats().rssBytes / 2 ** 20;
        console.log(`    ${kind} ${p} partitions: ${JSON.stringify(row)}`);
      }
    } finally {
      await b.stop();
    }
  }
  const results: BenchResult[] = [];
  SIZES.forEach((p, i) => {
    const get = (f: keyof Row) => {
      const o: Partial<Record<BrokerKind, number>> = {};
      for (const k of brokerKinds()) {
        const v = rows[k]?.[i]?.[f];
        if (v !== undefined) o[k] = v;
      }
      return o;
    };
    results.push(
      pair(name, `${p} partitions: produce 1KiB acks=1`, 'MiB/s', get('mibps'), {
        better: 'higher',
        chart: 'throughput',
      }),
      pair(name, `${p} partitions: broker RSS idle`, 'MiB', get('idleRss'), { better: 'lower' }),
      pair(name, `${p} partitions: broker RSS after producing`, 'MiB', get('loadRss'), { better: 'lower' }),
    );
    if (i > 0)
      results.push(
        pair(
          name,
          `${p} partitions: time to grow the topic until all are writable`,
          's',
          get('growSeconds'),
          { better: 'lower' },
        ),
      );
  });
  return withFailures(results, failures, name);
}
