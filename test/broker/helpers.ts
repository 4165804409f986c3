/**
 * Fixtures for the broker's in-process unit tests: real logs in a temp dir (LogManager, UnifiedLog),
 * Partitions built on them with a recording metrics sink, record batches as real clients send them.
 * Every temp dir and log manager made here is removed by `cleanup()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { LogManager } from '../../src/storage/log-manager.js';
import { logConfigFromProps } from '../../src/storage/log-config.js';
import { buildRecordBatch } from '../../src/protocol/records/build.js';
import { scanRecordBatches } from '../../src/protocol/records/batch.js';
import { readBatchHeader } from '../../src/protocol/records/batch-header.js';
import {
  Partition,
  type AlterPartitionFn,
  type PartitionContext,
  type ReplicaMetrics,
} from '../../src/broker/partition.js';

export const silentLog = pino({ level: 'silent' });

/** Temp dirs and log managers of one test; `cleanup()` in afterEach. */
export class Fixture {
  readonly dir = mkdtempSync(join(tmpdir(), 'sluice-broker-unit-'));
  readonly #managers: LogManager[] = [];

  /** A started LogManager over `<dir>/<name>`, with topic configs from `props`. */
  logManager(name: string, props: Record<string, string> = {}): LogManager {
    const lm = new LogManager({
      logDirs: [join(this.dir, name)],
      defaultConfig: logConfigFromProps(props),
      topicConfig: () => logConfigFromProps(props),
      retentionCheckIntervalMs: 1 << 30,
    });
    lm.startup();
    this.#managers.push(lm);
    return lm;
  }

  cleanup(): void {
    for (const m of this.#managers) {
      try {
        m.shutdown();
      } catch {
        /* already shut down by the test */
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A ReplicaMetrics sink that counts what partitions report. */
export class RecordingMetrics implements ReplicaMetrics {
  bytesInTotal = 0;
  messagesInTotal = 0;
  bytesOutTotal = 0;
  duplicates = 0;
  replicationBytes = 0;
  readonly isrChanges: string[] = [];
  bytesIn(_topic: string, bytes: number, records: number): void {
    this.bytesInTotal += bytes;
    this.messagesInTotal += records;
  }
  bytesOut(_topic: string, bytes: number): void {
    this.bytesOutTotal += bytes;
  }
  duplicateBatch(): void {
    this.duplicates++;
  }
  replicationBytesIn(bytes: number): void {
    this.replicationBytes += bytes;
  }
  isrChange(kind: 'shrink' | 'expand'): void {
    this.isrChanges.push(kind);
  }
}

export interface PartitionOptions {
  alterPartition?: AlterPartitionFn | null;
  alive?: (id: number) => boolean;
  lagMs?: number;
  time?: () => number;
  /** Topic configs (cleanup.policy, message.timestamp.type, ...). */
  props?: Record<string, string>;
  /** Reuse this log dir name (a restart); default `n<node>`. */
  dirName?: string;
  topic?: string;
}

export interface TestPartition {
  p: Partition;
  metrics: RecordingMetrics;
  /** Partitions that reported a change of their own (AlterPartition answers). */
  changes: Partition[];
  logManager: LogManager;
}

/** A Partition of `t-0` (by default) on broker `node`, on a real log under the fixture's dir. */
export function partitionOn(fx: Fixture, node: number, o: PartitionOptions = {}): TestPartition {
  const metrics = new RecordingMetrics();
  const changes: Partition[] = [];
  const ctx: PartitionContext = {
    nodeId: node,
    alterPartition: o.alterPartition ?? null,
    isBrokerAlive: o.alive ?? (() => true),
    replicaLagTimeMaxMs: () => o.lagMs ?? 30_000,
    metrics,
    onStateChanged: (p) => changes.push(p),
    log: silentLog,
    ...(o.time ? { time: o.time } : {}),
  };
  const topic = o.topic ?? 't';
  const logManager = fx.logManager(o.dirName ?? `n${node}`, o.props);
  const p = new Partition(topic, 0, logManager.getOrCreateLog(topic, 0), ctx);
  return { p, metrics, changes, logManager };
}

export interface BatchOpts {
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  keys?: boolean;
  timestamp?: bigint;
}

/** One uncompressed batch of `n` records `k<i>`/`v<i>`, idempotent when a producer id is given. */
export function batch(n: number, o: BatchOpts = {}): Buffer {
  const ts = o.timestamp ?? BigInt(Date.now());
  return buildRecordBatch(
    Array.from({ length: n }, (_, i) => ({
      key: o.keys === false ? null : `k${i}`,
      value: `v${i}`,
      timestamp: ts,
    })),
    o.producerId !== undefined
      ? { producerId: o.producerId, producerEpoch: o.producerEpoch ?? 0, baseSequence: o.baseSequence ?? 0 }
      : {},
  );
}

/** [first offset, last offset] of every whole batch in `records`. */
export function batchOffsets(records: Buffer | null): [bigint, bigint][] {
  if (!records || records.length === 0) return [];
  return scanRecordBatches(records).batches.map((s) => {
    const h = readBatchHeader(records, s.position);
    return [h.baseOffset, h.baseOffset + BigInt(h.lastOffsetDelta)];
  });
}

/** The offset after the last record in `records` (-1 when empty). */
export function nextOffsetAfter(records: Buffer | null): bigint {
  const o = batchOffsets(records);
  return o.length === 0 ? -1n : o[o.length - 1]![1] + 1n;
}

/** A promise with its resolve/reject outside (an AlterPartition the test answers when it wants). */
export function deferred<T>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Let promise callbacks (an AlterPartition answer) run. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
