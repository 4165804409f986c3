/**
 * Kafka Streams 4.4.0 with processing.guarantee=exactly_once_v2 against one Sluice broker, and
 * against three (etcd, every topic RF 3 with min.insync.replicas 2, so the transaction markers, the
 * changelog and the offsets all go through replication and the coordinators' partitions have
 * followers) (test/clients/kafka-streams-4.4/EosWordCount.java): lines of two words are split, re-keyed by word
 * through a repartition topic, counted in a RocksDB store with a changelog, and each new count goes
 * to the output as "word:count" (record cache off: one output record per input word). The Streams
 * process is SIGKILLed SLUICE_STREAMS_KILLS times (default 2) after a random amount of counting,
 * and restarted with the same state directory; after the last run has counted everything, the
 * output read read_committed holds, for every word, exactly the counts 1, 2, …, n in order — a lost
 * or a duplicated update (at-least-once after a crash) would show as a gap or a repeat.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess, REPO_ROOT } from '../helpers/broker-process.js';
import { TestCluster } from '../helpers/cluster.js';
import { ensureJavaClient } from '../helpers/clients.js';
import { ensureKafkaApps } from '../helpers/kafka-apps.js';
import { proofLines, TXN_PROOFS_CLIENT, txnProofs } from '../helpers/txn-proofs.js';

const KILLS = Number(process.env.SLUICE_STREAMS_KILLS ?? 2);
const LINES = Number(process.env.SLUICE_STREAMS_LINES ?? 4000);
const DISTINCT = 40;
const APP = 'eos-wordcount';

/** The Streams app as a live process: stdout read as it comes, SIGKILL at will. */
class StreamsProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(lib: string, args: string[]) {
    this.child = spawn(
      'java',
      [
        '-cp',
        `${lib}/*`,
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
        join(REPO_ROOT, 'test/clients/kafka-streams-4.4/EosWordCount.java'),
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-20_000)));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  get processed(): number {
    const p = proofLines(this.stdout, 'processed');
    return p.length ? Number(p[p.length - 1]![0]) : 0;
  }
  kill(): Promise<number | null> {
    if (this.running) this.child.kill('SIGKILL');
    return this.exited;
  }
}

async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, ms: number) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** What the suite needs of a running Sluice: one broker or a cluster. */
interface Target {
  bootstrap: string;
  logs(): string[];
  cleanup(): Promise<void>;
}

const TARGETS: { name: string; rf: number; start: () => Promise<Target> }[] = [
  {
    name: 'one broker',
    rf: 1,
    start: async () => {
      const b = await new BrokerProcess().start();
      return { bootstrap: b.bootstrap, logs: () => b.logs, cleanup: () => b.cleanup() };
    },
  },
  {
    name: '3 brokers, RF 3',
    rf: 3,
    start: async () => {
      const c = await new TestCluster({
        // Streams' internal topics (repartition, changelog) take the broker's default RF.
        overrides: { 'default.replication.factor': '3', 'min.insync.replicas': '2' },
      }).start();
      return {
        bootstrap: c.bootstrap,
        logs: () => c.brokers.flatMap((b, i) => b.logs.slice(-5).map((l) => `[broker ${i + 1}] ${l}`)),
        cleanup: () => c.cleanup(),
      };
    },
  },
];

describe.each(TARGETS)('Kafka Streams 4.4.0 exactly_once_v2 on $name', { timeout: 600_000 }, (target) => {
  let broker: Target;
  let lib = '';
  let stateDir = '';
  const procs: StreamsProcess[] = [];
  const why = (r: { stdout: string; stderr: string }) =>
    `${r.stdout.slice(-3000)}\n${r.stderr.slice(-4000)}\n${broker.logs().slice(-15).join('\n')}`;

  beforeAll(async () => {
    lib = await ensureKafkaApps();
    await ensureJavaClient(TXN_PROOFS_CLIENT);
    stateDir = mkdtempSync(join(tmpdir(), 'sluice-streams-eos-'));
    broker = await target.start();
  }, 300_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    await broker?.cleanup();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  it(`counts are exact after ${KILLS} SIGKILLs and restarts`, async () => {
    for (const t of ['eos-lines', 'eos-counts']) {
      const r = await txnProofs(['create', broker.bootstrap, t, '3', String(target.rf)]);
      expect(r.code, why(r)).toBe(0);
    }
    const f = await txnProofs(['words', broker.bootstrap, 'eos-lines', String(LINES), String(DISTINCT)]);
    expect(f.code, why(f)).toBe(0);
    const expected = new Map<string, number>();
    for (let n = 0; n < LINES; n++)
      for (const w of [`w${n % DISTINCT}`, `w${(7 * n + 3) % DISTINCT}`])
        expected.set(w, (expected.get(w) ?? 0) + 1);
    const total = 2 * LINES;

    const args = [broker.bootstrap, APP, stateDir, 'eos-lines', 'eos-counts', String(target.rf)];
    const kills: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      const p = new StreamsProcess(lib, args);
      procs.push(p);
      await waitFor(
        'Streams RUNNING',
        () => (p.stdout.includes('state RUNNING') || !p.running ? true : undefined),
        180_000,
      );
      expect(p.running, why(p)).toBe(true);
      // Kill after a random share of the words (or 30 s, if it is slower than that).
      const at = 500 * (1 + Math.floor(Math.random() * 4));
      const t0 = Date.now();
      await waitFor(
        `${at} words counted`,
        () => (p.processed >= at || Date.now() - t0 > 30_000 || !p.running ? true : undefined),
        60_000,
      );
      expect(p.running, why(p)).toBe(true);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
      await p.kill();
      kills.push(`after ${p.processed}+ words`);
    }
    const last = new StreamsProcess(lib, args);
    procs.push(last);
    // The output, read_committed, until every word's update is there (the consumer waits for them).
    const c = await txnProofs(
      ['consume', broker.bootstrap, 'eos-counts', 'read_committed', String(total)],
      300_000,
    );
    expect(c.code, why(c)).toBe(0);
    expect(last.running, why(last)).toBe(true);
    await last.kill();

    const seen = new Map<string, number[]>();
    for (const [, , v] of proofLines(c.stdout, 'rec')) {
      const [w, n] = v!.split(':');
      seen.set(w!, [...(seen.get(w!) ?? []), Number(n)]);
    }
    expect([...seen.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [w, n] of expected) expect(seen.get(w), w).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    // Nothing open: the last stable offset is the high watermark.
    expect(proofLines(c.stdout, 'end').map((l) => l.join(' '))).toEqual(
      proofLines(c.stdout, 'hw').map((l) => l.join(' ')),
    );
    const u = await txnProofs(['consume', broker.bootstrap, 'eos-counts', 'read_uncommitted', String(total)]);
    expect(u.code, why(u)).toBe(0);
    console.log(
      `Streams exactly_once_v2 on ${target.name}: ${total} words, killed ${kills.join('; ')}; output ${total} committed, ` +
        `${proofLines(u.stdout, 'rec').length - total} aborted records in the log`,
    );
  });
});
