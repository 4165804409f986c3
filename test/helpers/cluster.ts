/**
 * A Sluice cluster for tests: one real etcd and N `sluice broker` processes (node ids 1..N) in
 * cluster mode on loopback, each on a free port kept across restarts, with its own data dir.
 * Helpers read the cluster's metadata through kafkajs-free means (etcd's JSON gateway) and wait for
 * conditions with deadlines. cleanup() kills every process and removes every temp dir.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { BrokerProcess } from './broker-process.js';
import { EtcdProcess } from './etcd.js';

export interface PartitionStateDoc {
  leader: number;
  leaderEpoch: number;
  isr: number[];
  partitionEpoch: number;
}

export interface ClusterOptions {
  brokers?: number;
  overrides?: Record<string, string>;
  clusterId?: string;
  logLevel?: 'info' | 'debug' | 'trace';
  /** Named listeners per broker id instead of --listen (see BrokerProcessOptions.listeners). */
  listeners?: (id: number) => Record<string, string>;
  /** More `sluice broker` arguments for every broker (e.g. --add-scram). */
  extraArgs?: string[];
}

/** Low timeouts so failures are noticed quickly on a test machine. */
export const FAST_CLUSTER_OVERRIDES: Record<string, string> = {
  'broker.session.timeout.ms': '3000',
  'replica.lag.time.max.ms': '5000',
  'controlled.shutdown.retry.backoff.ms': '500',
  'offsets.topic.num.partitions': '6',
  'offsets.topic.replication.factor': '3',
  'group.initial.rebalance.delay.ms': '0',
};

export class TestCluster {
  readonly etcd = new EtcdProcess();
  readonly brokers: BrokerProcess[] = [];
  readonly clusterId: string;
  readonly #opts: ClusterOptions;

  constructor(opts: ClusterOptions = {}) {
    this.#opts = opts;
    this.clusterId = opts.clusterId ?? `test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  }

  async start(): Promise<this> {
    await this.etcd.start();
    const n = this.#opts.brokers ?? 3;
    for (let id = 1; id <= n; id++) {
      this.brokers.push(
        new BrokerProcess({
          nodeId: id,
          logLevel: this.#opts.logLevel ?? 'info',
          overrides: { ...FAST_CLUSTER_OVERRIDES, ...(this.#opts.overrides ?? {}) },
          ...(this.#opts.listeners ? { listeners: this.#opts.listeners(id) } : {}),
          extraArgs: [
            '--etcd',
            this.etcd.endpoint,
            '--cluster-id',
            this.clusterId,
            ...(this.#opts.extraArgs ?? []),
          ],
        }),
      );
    }
    await Promise.all(this.brokers.map((b) => b.start()));
    return this;
  }

  broker(id: number): BrokerProcess {
    return this.brokers[id - 1]!;
  }

  get bootstrap(): string {
    return this.brokers
      .filter((b) => b.port > 0)
      .map((b) => b.bootstrap)
      .join(',');
  }

  /** Every live broker's address (for clients that must not try a dead one first). */
  liveBootstrap(): string {
    return this.brokers
      .filter((b) => b.alive)
      .map((b) => b.bootstrap)
      .join(',');
  }

  // ---- etcd reads (v3 JSON gateway) ----

  async #range(prefix: string): Promise<{ key: string; value: string }[]> {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    const r = await fetch(`${this.etcd.endpoint}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: b64(prefix), range_end: b64(end) }),
      signal: AbortSignal.timeout(5000),
    });
    if (!r.ok) throw new Error(`etcd range ${prefix}: HTTP ${r.status}`);
    const body = (await r.json()) as { kvs?: { key: string; value: string }[] };
    return (body.kvs ?? []).map((kv) => ({
      key: Buffer.from(kv.key, 'base64').toString(),
      value: Buffer.from(kv.value, 'base64').toString(),
    }));
  }

  get root(): string {
    return `/sluice/${this.clusterId}`;
  }

  async controller(): Promise<number> {
    const kvs = await this.#range(`${this.root}/controller`);
    const c = kvs.find((kv) => kv.key === `${this.root}/controller`);
    return c ? (JSON.parse(c.value) as { nodeId: number }).nodeId : -1;
  }

  async registeredBrokers(): Promise<number[]> {
    const kvs = await this.#range(`${this.root}/brokers/`);
    return kvs.map((kv) => Number(kv.key.split('/').pop())).sort((a, b) => a - b);
  }

  async partitionStates(topic: string): Promise<Map<number, PartitionStateDoc>> {
    const kvs = await this.#range(`${this.root}/partitions/${topic}/`);
    return new Map(
      kvs.map((kv) => [Number(kv.key.split('/').pop()), JSON.parse(kv.value) as PartitionStateDoc]),
    );
  }

  /** Poll `check` until it returns a non-undefined value or the deadline passes. */
  async waitFor<T>(
    what: string,
    check: () => Promise<T | undefined> | T | undefined,
    timeoutMs = 60_000,
    everyMs = 200,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastErr: unknown = null;
    for (;;) {
      try {
        const v = await check();
        if (v !== undefined) return v;
      } catch (err) {
        lastErr = err;
      }
      if (Date.now() > deadline)
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`,
        );
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  /**
   * Create `topic` with a real client (kafkajs admin) and wait until every partition is fully
   * replicated; returns the partition states then.
   */
  async createTopic(
    topic: string,
    partitions: number,
    rf: number,
    configs: Record<string, string> = {},
  ): Promise<Map<number, PartitionStateDoc>> {
    const admin = new kafkajs.Kafka({
      brokers: this.bootstrap.split(','),
      clientId: 'test-cluster-admin',
      logLevel: kafkajs.logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [
          {
            topic,
            numPartitions: partitions,
            replicationFactor: rf,
            configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
          },
        ],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
    return this.waitFullyReplicated(topic, partitions, rf);
  }

  /** Wait until every partition of `topic` has a leader and a full ISR of `rf` replicas. */
  async waitFullyReplicated(
    topic: string,
    partitions: number,
    rf: number,
    timeoutMs = 90_000,
  ): Promise<Map<number, PartitionStateDoc>> {
    return this.waitFor(
      `${topic} fully replicated`,
      async () => {
        const s = await this.partitionStates(topic);
        if (s.size < partitions) return undefined;
        for (const st of s.values()) if (st.leader < 0 || st.isr.length < rf) return undefined;
        return s;
      },
      timeoutMs,
    );
  }

  async metricsOf(id: number): Promise<string> {
    const b = this.broker(id);
    const r = await fetch(`http://127.0.0.1:${b.metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) });
    return r.text();
  }

  /** Sum of a metric (all label sets) on one broker. */
  async metric(id: number, name: string): Promise<number> {
    const text = await this.metricsOf(id);
    let sum = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith('#')) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (m && m[1] === name) sum += Number(m[3]);
    }
    return sum;
  }

  pause(id: number): void {
    this.broker(id).child?.kill('SIGSTOP');
  }

  resume(id: number): void {
    this.broker(id).child?.kill('SIGCONT');
  }

  /** Write each broker's recent log lines to `dir` (set SLUICE_CLUSTER_LOGS to keep them). */
  dumpLogs(dir = process.env.SLUICE_CLUSTER_LOGS): void {
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    this.brokers.forEach((b, i) =>
      writeFileSync(join(dir, `${this.clusterId}-broker-${i + 1}.log`), b.logs.join('\n')),
    );
  }

  async cleanup(): Promise<void> {
    this.dumpLogs();
    for (const b of this.brokers) {
      b.child?.kill('SIGCONT');
    }
    await Promise.all(this.brokers.map((b) => b.cleanup().catch(() => {})));
    await this.etcd.stop().catch(() => {});
  }
}
