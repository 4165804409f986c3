/**
 * TODO (cluster mode is not built yet): three brokers on one machine, replication factor 3 — Sluice
 * with etcd, Kafka in KRaft with three combined nodes — produce throughput with acks=all and
 * end-to-end latency, the same load generators as the single-node scenarios. Skipped until
 * `sluice broker --etcd` serves replicated partitions.
 */
import type { BenchResult } from '../main.js';

export const name = 'cluster';
export const description = '3 brokers, RF=3, acks=all, on one machine (TODO)';
export const skip = 'TODO: Sluice cluster mode (etcd, replication) is not built yet';

export async function run(): Promise<BenchResult[]> {
  return [];
}
