/**
 * Three brokers on one machine, replication factor 3, min.insync.replicas 2 — Sluice with one etcd
 * (Debian's etcd-server) as its metadata store, Apache Kafka as three KRaft combined nodes (each one
 * broker and controller, -Xmx1G like kafka-server-start.sh). One cluster at a time: six brokers on two
 * cores would measure the scheduler. On each: ProducerPerformance (1 KiB and 100 B, acks=all,
 * 16 partitions), then end-to-end latency at a fixed LATENCY_RATE records/s with acks=all
 * (bench/kafka/BenchClient.java, as in the latency scenario), then the CPU seconds and RSS of the
 * whole cluster (Sluice's includes etcd: it does the work of Kafka's controller quorum).
 */
import { randomBytes } from 'node:crypto';
import type { BenchResult } from '../main.js';
import {
  brokerKinds,
  kafkaClusterId,
  KAFKA_BROKER_JVM,
  startKafka,
  startSluice,
  type Broker,
  type BrokerKind,
} from '../lib/brokers.js';
import { attempt, pair, QUICK, withFailures } from '../lib/compare.js';
import { benchLatency, producerPerf } from '../lib/java.js';
import { freePort, sampleProc, track } from '../lib/proc.js';
import { createTopic, deleteTopic } from '../lib/wire.js';
import { EtcdProcess } from '../../test/helpers/etcd.js';

export const name = 'cluster';
export const description =
  '3 brokers, RF=3, min.insync.replicas=2 on one machine: produce MiB/s, acks=all latency, cluster CPU/RSS';
export const needsBuild = true;

const PARTITIONS = 16;
const RF = 3;
const TOPIC_CONFIG = { 'min.insync.replicas': '2' };
/**
 * Below saturation for both: at 2000/s (the single-node rate) Kafka's three JVMs on two cores fell
 * behind the one-record-per-request load and queued (p50 1.8 s), which measures the queue, not the
 * latency.
 */
const LATENCY_RATE = 500;

interface Config {
  size: number;
  acks: '1' | 'all';
}
const CONFIGS: Config[] = QUICK
  ? [{ size: 1024, acks: 'all' }]
  : [
      { size: 1024, acks: 'all' },
      { size: 100, acks: 'all' },
    ];
const label = (c: Config) => `${c.size === 1024 ? '1KiB' : `${c.size}B`} acks=${c.acks} ${PARTITIONS}p RF3`;

interface Cluster {
  kind: BrokerKind;
  brokers: Broker[];
  /** every process of the cluster (brokers, and etcd for Sluice) for CPU and RSS */
  pids: number[];
  bootstrap: string;
  port: number;
  stop(): Promise<void>;
}

/** The tests' etcd (Debian's etcd-server on free loopback ports), registered for cleanup on exit. */
async function startEtcd(): Promise<{ endpoint: string; pid: number; stop(): Promise<void> }> {
  const etcd = await new EtcdProcess().start();
  track(etcd.child!, etcd.dataDir);
  return { endpoint: etcd.endpoint, pid: etcd.child!.pid!, stop: () => etcd.stop() };
}

async function startSluiceCluster(): Promise<Cluster> {
  const etcd = await startEtcd();
  const clusterId = `bench-${randomBytes(4).toString('hex')}`;
  const started = await Promise.allSettled(
    [1, 2, 3].map((id) =>
      startSluice({
        extraArgs: ['--etcd', etcd.endpoint, '--cluster-id', clusterId, '--node-id', String(id)],
        overrides: { 'offsets.topic.replication.factor': '3' },
      }),
    ),
  );
  const brokers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(brokers.map((b) => b.stop()));
    await etcd.stop();
    throw failed.reason as Error;
  }
  return {
    kind: 'sluice',
    brokers,
    pids: [...brokers.map((b) => b.pid), etcd.pid],
    bootstrap: brokers.map((b) => b.bootstrap).join(','),
    port: brokers[0]!.port,
    async stop() {
      await Promise.all(brokers.map((b) => b.stop()));
      await etcd.stop();
    },
  };
}

async function startKafkaCluster(): Promise<Cluster> {
  const nodes = await Promise.all(
    [1, 2, 3].map(async (nodeId) => ({ nodeId, port: await freePort(), controllerPort: await freePort() })),
  );
  const voters = nodes.map((n) => `${n.nodeId}@127.0.0.1:${n.controllerPort}`).join(',');
  const clusterId = kafkaClusterId();
  // All at once: a KRaft node is not "started" until its controller quorum has a leader.
  const started = await Promise.allSettled(
    nodes.map((n) => startKafka({ ...n, voters, clusterId, internalTopicsRf: 3 })),
  );
  const brokers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value.broker] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(brokers.map((b) => b.stop()));
    throw failed.reason as Error;
  }
  return {
    kind: 'kafka',
    brokers,
    pids: brokers.map((b) => b.pid),
    bootstrap: brokers.map((b) => b.bootstrap).join(','),
    port: brokers[0]!.port,
    stop: async () => void (await Promise.all(brokers.map((b) => b.stop()))),
  };
}

function clusterCpu(c: Cluster): number {
  return c.pids.reduce((a, pid) => a + (sampleProc(pid)?.cpuSeconds ?? 0), 0);
}

function clusterRssMiB(c: Cluster): number {
  return c.pids.reduce((a, pid) => a + (sampleProc(pid)?.rssBytes ?? 0), 0) / 2 ** 20;
}

export async function run(): Promise<BenchResult[]> {
  const failures: string[] = [];
  const mbps = CONFIGS.map(() => ({}) as Partial<Record<BrokerKind, number>>);
  const recs = CONFIGS.map(() => ({}) as Partial<Record<BrokerKind, number>>);
  const cpuPerGiB = CONFIGS.map(() => ({}) as Partial<Record<BrokerKind, number>>);
  const lat: Record<'p50' | 'p99' | 'p999', Partial<Record<BrokerKind, number>>> = {
    p50: {},
    p99: {},
    p999: {},
  };
  const rss: Partial<Record<BrokerKind, number>> = {};
  const startSeconds: Partial<Record<BrokerKind, number>> = {};

  for (const kind of brokerKinds()) {
    const t0 = performance.now();
    const c = await attempt(
      `${kind} cluster start`,
      () => (kind === 'sluice' ? startSluiceCluster() : startKafkaCluster()),
      failures,
    );
    if (!c) continue;
    try {
      // Warm-up on a scratch RF-3 topic (JIT on every broker, replica fetchers running).
      await createTopic(c.port, 'warm-up', 4, TOPIC_CONFIG, 120_000, RF);
      startSeconds[kind] = (performance.now() - t0) / 1000;
      await attempt(
        `${kind} warm-up`,
        () =>
          producerPerf({
            bootstrap: c.bootstrap,
            topic: 'warm-up',
            recordSize: 1024,
            acks: 'all',
            producers: 1,
            warmup: 1,
            measure: 0,
          }),
        failures,
      );
      await deleteTopic(c.port, 'warm-up');

      for (const [i, cfg] of CONFIGS.entries()) {
        const topic = `cluster-${i}`;
        await createTopic(c.port, topic, PARTITIONS, TOPIC_CONFIG, 120_000, RF);
        const cpu0 = clusterCpu(c);
        const r = await attempt(
          `${kind} ${label(cfg)}`,
          () =>
            producerPerf({
              bootstrap: c.bootstrap,
              topic,
              recordSize: cfg.size,
              acks: cfg.acks,
              producers: 1,
            }),
          failures,
        );
        const cpu = clusterCpu(c) - cpu0;
        if (r) {
          mbps[i]![kind] = r.mbPerSec;
          recs[i]![kind] = r.recordsPerSec;
          cpuPerGiB[i]![kind] = cpu / ((r.totalRecords * cfg.size) / 2 ** 30);
        }
        await deleteTopic(c.port, topic);
        console.log(`    ${kind} ${label(cfg)}: ${r?.mbPerSec.toFixed(1)} MiB/s`);
      }

      await createTopic(c.port, 'cluster-latency', 1, TOPIC_CONFIG, 120_000, RF);
      const l = await attempt(
        `${kind} latency acks=all`,
        () =>
          benchLatency({
            bootstrap: c.bootstrap,
            topic: 'cluster-latency',
            rate: LATENCY_RATE,
            seconds: QUICK ? 5 : 8,
            warmupSeconds: 2,
            size: 1024,
            acks: 'all',
          }),
        failures,
      );
      if (l && l.samples > 0) {
        lat.p50[kind] = l.p50Us / 1000;
        lat.p99[kind] = l.p99Us / 1000;
        lat.p999[kind] = l.p999Us / 1000;
        if (l.errors > 0 || l.received < l.sent)
          failures.push(`${kind} latency: ${l.errors} send errors, ${l.sent - l.received} not received`);
      }
      rss[kind] = clusterRssMiB(c);
    } finally {
      await c.stop();
    }
  }

  const results: BenchResult[] = [];
  for (const [i, cfg] of CONFIGS.entries()) {
    const note = `records/s: Sluice ${Math.round(recs[i]!.sluice ?? NaN)}, Kafka ${Math.round(recs[i]!.kafka ?? NaN)}`;
    results.push(
      pair(name, `${label(cfg)} throughput`, 'MiB/s', mbps[i]!, {
        better: 'higher',
        chart: 'throughput',
        note,
      }),
      pair(name, `${label(cfg)} cluster CPU per GiB`, 'CPU s', cpuPerGiB[i]!, { better: 'lower' }),
    );
  }
  for (const q of ['p50', 'p99', 'p999'] as const)
    results.push(
      pair(name, `${LATENCY_RATE}/s 1KiB acks=all RF3 ${q === 'p999' ? 'p99.9' : q}`, 'ms', lat[q], {
        better: 'lower',
        chart: 'latency',
      }),
    );
  results.push(
    pair(name, 'cluster RSS after the runs (3 brokers, + etcd for Sluice)', 'MiB', rss, {
      better: 'lower',
    }),
    pair(name, 'cluster start until an RF-3 topic has leaders', 's', startSeconds, {
      better: 'lower',
      note: `Kafka: 3 storage formats and JVMs (${KAFKA_BROKER_JVM[0]} each) in parallel; Sluice: etcd, then 3 brokers in parallel`,
    }),
  );
  return withFailures(results, failures, name);
}
