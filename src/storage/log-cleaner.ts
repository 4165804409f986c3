/**
 * LogCleaner: log compaction for every log whose cleanup.policy includes `compact` (Kafka's
 * LogCleaner). The broker answers requests on one thread, so the cleaning itself — reading dirty
 * segments, building the offset map, writing `.cleaned` segments and their indexes — happens in
 * worker threads (cleaner-worker.ts, one per `log.cleaner.threads`), on segment files the main
 * thread no longer writes. The main thread keeps what must stay consistent with the log:
 *
 *   - choosing the filthiest log and its cleanable range (LogCleanerManager, synchronous);
 *   - swapping each cleaned group in (UnifiedLog.replaceSegments: a few renames, no data copied);
 *   - the cleaner-offset-checkpoint, the abort of a job when its log is truncated or deleted (the
 *     log's onTruncated hook, LogManager.deleteLog), retention of compacted logs between cleanings.
 *
 * Each cleaner thread is an async loop here plus a worker: pick a log, send the job, apply the
 * worker's swap requests, record the outcome; back off log.cleaner.backoff.ms when there was nothing
 * to clean. A job whose log was truncated or deleted meanwhile is aborted (its swaps refused, its
 * files deleted); a job that fails marks its partition uncleanable (uncleanable-partitions-count);
 * a worker that dies counts in dead-thread-count until the thread count is reconfigured.
 *
 * Config is read through getters on every pick, so dynamic broker configs apply without a restart:
 * log.cleaner.enable, threads (threads are added or retired), dedupe/I-O buffer sizes and load factor
 * (next job), io.max.bytes.per.second (the shared throttle at once), backoff.ms (next sleep).
 */
import { readdirSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type CleanerConfig, perThreadBuffers } from './cleaner-config.js';
import {
  type AbortedTxn,
  type CleanJob,
  type CleanResult,
  CleanerControl,
  type CleanerStats,
  type JobSegment,
  type MainToWorker,
  type ProducerLastRecord,
  type WorkerToMain,
} from './cleaner-messages.js';
import {
  type CleanableLog,
  LogCleanerManager,
  type LogToClean,
  type PreCleanStats,
  newPreCleanStats,
} from './log-cleaner-manager.js';
import type { LogConfig } from './log-config.js';
import { CLEANED_FILE_SUFFIX } from './log-file-utils.js';
import type { LogSegment } from './log-segment.js';
import { SharedThrottler } from './throttler.js';
import { SwapRefusedError, type UnifiedLog } from './unified-log.js';

/** The logging the cleaner does (a pino logger fits). */
export interface CleanerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface LogCleanerOptions {
  logDirs: readonly string[];
  logs: () => Iterable<CleanableLog>;
  configOf: (log: UnifiedLog) => Readonly<LogConfig>;
  cleanerConfig: () => Readonly<CleanerConfig>;
  /**
   * Active producers' last records (Kafka's lastRecordsOfActiveProducers, from the partition's
   * producer state). Absent or null: the worker derives them from the log's batch headers.
   */
  producerLastRecords?: (key: string, log: UnifiedLog) => ProducerLastRecord[] | null;
  /**
   * The seam for transactions: aborted transactions of the log overlapping [from, to) (from its
   * .txnindex). null while the log has no transaction index: every transactional batch then counts
   * as committed and control batches are kept.
   */
  abortedTransactions?: (log: UnifiedLog, from: bigint, to: bigint) => AbortedTxn[] | null;
  /** Where cleaning must stop (the last stable offset); default the high watermark. */
  lastStableOffset?: (log: UnifiedLog) => bigint;
  time?: () => number;
  log?: CleanerLogger;
}

/** The outcome of one cleaning attempt. */
export interface CleanOutcome {
  key: string;
  status: 'cleaned' | 'aborted' | 'failed';
  firstDirtyOffset: bigint;
  /** The new checkpoint (cleaned), else null. */
  endOffset: bigint | null;
  stats: CleanerStats | null;
  segmentsSwapped: number;
  error?: string;
}

interface ActiveJob {
  jobId: number;
  ltc: LogToClean;
  segments: Map<bigint, LogSegment>;
  swapped: number;
  finish: (o: CleanOutcome) => void;
}

const NOOP_LOGGER: CleanerLogger = { info() {}, warn() {}, error() {} };

let nextJobId = 1;

/** Starts a cleaner worker: the compiled .js next to this module, or the .ts source through tsx. */
function createCleanerWorker(workerData: unknown): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // Running from TypeScript sources (tsx, vitest): the worker registers tsx's loader first.
    const entry = new URL('./cleaner-worker.ts', here).href;
    // tsx's ESM entry (its CommonJS one cannot be imported from an ESM worker).
    const tsx = pathToFileURL(
      createRequire(here)
        .resolve('tsx/esm/api')
        .replace(/\.cjs$/, '.mjs'),
    ).href;
    return new Worker(
      `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`,
      { eval: true, workerData, execArgv: [] },
    );
  }
  return new Worker(new URL('./cleaner-worker.js', here), { workerData, execArgv: [] });
}

/** One cleaner thread: a worker and the loop that feeds it (Kafka's CleanerThread). */
class CleanerThread {
  readonly control = new CleanerControl();
  #worker: Worker | null = null;
  job: ActiveJob | null = null;
  lastStats: CleanerStats | null = null;
  lastPreCleanStats: PreCleanStats = newPreCleanStats();
  dead = false;
  retiring = false;
  #wake: (() => void) | null = null;

  constructor(
    readonly id: number,
    private readonly owner: LogCleaner,
  ) {}

  /** The worker, started on first use (an idle broker without compacted logs starts none). */
  worker(): Worker {
    if (this.#worker) return this.#worker;
    const w = createCleanerWorker({ ...this.owner.workerData(), control: this.control.buffer });
    w.unref();
    w.on('message', (m: WorkerToMain) => this.owner.onWorkerMessage(this, m));
    w.on('error', (err) => this.#died(err));
    w.on('exit', (code) => {
      if (this.#worker === w) this.#died(new Error(`cleaner worker exited with code ${code}`));
    });
    this.#worker = w;
    return w;
  }

  post(m: MainToWorker): void {
    this.worker().postMessage(m);
  }

  #died(err: Error): void {
    if (this.owner.stopped) return;
    this.#worker = null;
    this.dead = true;
    this.owner.onThreadDied(this, err);
  }

  /** Sleep up to `ms`, or until woken (shutdown, reconfiguration). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.#wake = done;
    });
  }

  wake(): void {
    this.#wake?.();
  }

  /** Stop the worker now (shutdown): an in-flight job's files are the caller's to delete. */
  terminate(): void {
    this.control.shutdown();
    const w = this.#worker;
    this.#worker = null;
    if (w) void w.terminate();
    this.wake();
  }
}

export class LogCleaner {
  readonly manager: LogCleanerManager;
  readonly #opts: LogCleanerOptions;
  readonly #time: () => number;
  readonly #log: CleanerLogger;
  readonly #throttler = new SharedThrottler();
  #threads: CleanerThread[] = [];
  #nextThreadId = 0;
  #running = false;
  #stopped = false;
  #configuredThreads = -1;
  /** The thread cleanOnce uses (tests and tools), outside the loops. */
  #manual: CleanerThread | null = null;

  constructor(opts: LogCleanerOptions) {
    this.#opts = opts;
    this.#time = opts.time ?? Date.now;
    this.#log = opts.log ?? NOOP_LOGGER;
    this.manager = new LogCleanerManager({
      logDirs: opts.logDirs,
      logs: opts.logs,
      configOf: opts.configOf,
      ...(opts.lastStableOffset ? { lastStableOffset: opts.lastStableOffset } : {}),
      onAbort: (key) => {
        for (const t of this.#allThreads()) if (t.job?.ltc.key === key) t.control.abort(t.job.jobId);
      },
    });
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  get config(): Readonly<CleanerConfig> {
    return this.#opts.cleanerConfig();
  }

  /** @internal what every worker is started with (besides its own control buffer) */
  workerData(): { throttle: SharedArrayBuffer; ioBufferBytes: number } {
    return { throttle: this.#throttler.buffer, ioBufferBytes: perThreadBuffers(this.config).ioBufferBytes };
  }

  // ---- lifecycle ----

  /** Start the cleaner threads (their workers start when they first have a log to clean). */
  startup(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopped = false;
    this.#reconcile();
  }

  /** Stop every thread; a cleaning in progress is abandoned and its `.cleaned` files removed. */
  shutdown(): void {
    this.#running = false;
    this.#stopped = true;
    for (const t of this.#allThreads()) this.#stopThread(t, true);
    this.#threads = [];
    this.#manual = null;
  }

  /** Like shutdown, without removing anything (a simulated crash). */
  abandon(): void {
    this.#running = false;
    this.#stopped = true;
    for (const t of this.#allThreads()) this.#stopThread(t, false);
    this.#threads = [];
    this.#manual = null;
  }

  #allThreads(): CleanerThread[] {
    return this.#manual ? [...this.#threads, this.#manual] : [...this.#threads];
  }

  #stopThread(t: CleanerThread, removeFiles: boolean): void {
    const job = t.job;
    t.terminate();
    if (job) {
      if (removeFiles) removeCleanedFiles(job.ltc.log.dir);
      this.manager.abortCleaning(job.ltc.key);
      job.finish({
        key: job.ltc.key,
        status: 'aborted',
        firstDirtyOffset: job.ltc.firstDirtyOffset,
        endOffset: null,
        stats: null,
        segmentsSwapped: job.swapped,
      });
    }
  }

  /**
   * Threads to match log.cleaner.threads (a changed count also replaces dead threads, as Kafka's
   * reconfiguration restarts its threads); the throttle to match its config.
   */
  #reconcile(): void {
    if (!this.#running) return;
    const cfg = this.config;
    this.#throttler.updateDesiredRatePerSec(cfg.maxIoBytesPerSecond);
    if (cfg.numThreads !== this.#configuredThreads) {
      this.#configuredThreads = cfg.numThreads;
      this.#threads = this.#threads.filter((t) => !t.dead);
    }
    const alive = this.#threads.filter((t) => !t.retiring);
    for (let i = alive.length; i < cfg.numThreads; i++) {
      const t = new CleanerThread(this.#nextThreadId++, this);
      this.#threads.push(t);
      void this.#loop(t);
    }
    const extra = alive.length - cfg.numThreads;
    for (let i = 0; i < extra; i++) {
      const t = alive[alive.length - 1 - i]!;
      t.retiring = true;
      t.wake();
    }
  }

  async #loop(t: CleanerThread): Promise<void> {
    // Let the caller of startup() finish first (the broker creates its partitions, whose producer
    // state the first job wants, right after starting the logs).
    await new Promise((r) => setImmediate(r));
    while (this.#keepsRunning(t)) {
      this.#reconcile();
      let cleaned = false;
      if (this.config.enableCleaner) {
        try {
          cleaned = (await this.#cleanFilthiestLog(t)) !== null;
        } catch (err) {
          this.#log.error({ err }, 'log cleaner thread error');
        }
        this.#deleteOldSegmentsOfCompactedLogs();
      }
      if (!this.#keepsRunning(t)) break;
      if (!cleaned) await t.sleep(this.config.backoffMs);
      this.manager.maintainUncleanablePartitions();
    }
    if (t.retiring || (!this.#running && !this.#stopped)) {
      this.#threads = this.#threads.filter((x) => x !== t);
      t.terminate();
    }
  }

  #keepsRunning(t: CleanerThread): boolean {
    return this.#running && !t.retiring && !t.dead;
  }

  /** Retention for compacted logs not being cleaned (Kafka's cleaner thread does it after each pass). */
  #deleteOldSegmentsOfCompactedLogs(): void {
    const now = this.#time();
    for (const c of this.manager.deletableLogs()) {
      try {
        c.log.deleteOldSegments(now);
      } catch (err) {
        this.#log.warn({ err, partition: c.key }, 'retention of a compacted log failed');
      }
    }
  }

  /**
   * Clean the filthiest log once, now, on the first thread (tests and tools; the threads' loops do
   * this on their own). null when no log qualifies.
   */
  async cleanOnce(now = this.#time()): Promise<CleanOutcome | null> {
    this.#stopped = false;
    if (!this.#manual || this.#manual.dead) this.#manual = new CleanerThread(this.#nextThreadId++, this);
    this.#throttler.updateDesiredRatePerSec(this.config.maxIoBytesPerSecond);
    const outcome = await this.#cleanFilthiestLog(this.#manual, now);
    if (outcome) this.#deleteOldSegmentsOfCompactedLogs();
    return outcome;
  }

  async #cleanFilthiestLog(t: CleanerThread, now = this.#time()): Promise<CleanOutcome | null> {
    const pre = newPreCleanStats();
    const ltc = this.manager.grabFilthiestCompactedLog(now, pre);
    if (!ltc) return null;
    t.lastPreCleanStats = pre;
    return this.#cleanLog(t, ltc, now);
  }

  #cleanLog(t: CleanerThread, ltc: LogToClean, now: number): Promise<CleanOutcome> {
    const jobId = nextJobId++;
    let job: CleanJob;
    let segments: Map<bigint, LogSegment>;
    try {
      ({ job, segments } = this.#buildJob(ltc, jobId, now));
    } catch (err) {
      this.manager.markPartitionUncleanable(ltc.logDir, ltc.key);
      this.manager.doneCleaning(ltc.key, ltc.logDir, null);
      this.#log.warn(
        { err, partition: ltc.key },
        'cannot prepare cleaning; marking the partition uncleanable',
      );
      return Promise.resolve({
        key: ltc.key,
        status: 'failed',
        firstDirtyOffset: ltc.firstDirtyOffset,
        endOffset: null,
        stats: null,
        segmentsSwapped: 0,
        error: String(err),
      });
    }
    return new Promise<CleanOutcome>((resolve) => {
      t.job = {
        jobId,
        ltc,
        segments,
        swapped: 0,
        finish: (o) => {
          t.job = null;
          resolve(o);
        },
      };
      t.post({ type: 'clean', job });
    });
  }

  /** The job for a worker: plain data, made on the main thread from the log's current segments. */
  #buildJob(
    ltc: LogToClean,
    jobId: number,
    now: number,
  ): { job: CleanJob; segments: Map<bigint, LogSegment> } {
    const log = ltc.log;
    const all = log.segments;
    const toClean = log.logSegments(all[0]!.baseOffset, ltc.firstUncleanableOffset);
    const segments = new Map<bigint, LogSegment>();
    const info = (s: LogSegment): JobSegment => ({
      baseOffset: s.baseOffset,
      size: s.size,
      lastModified: s.lastModified,
    });
    const jobSegments = toClean.map((s) => {
      segments.set(s.baseOffset, s);
      return info(s);
    });
    const dirtySeg = log.logSegments(ltc.firstDirtyOffset, ltc.firstDirtyOffset + 1n)[0];
    const dirtyStartPosition =
      dirtySeg && dirtySeg.baseOffset <= ltc.firstDirtyOffset
        ? (dirtySeg.translateOffset(ltc.firstDirtyOffset)?.position ?? dirtySeg.size)
        : 0;
    const producers = this.#opts.producerLastRecords?.(ltc.key, log) ?? null;
    const tail =
      producers === null
        ? all.slice(toClean.length).map((s) => ({ baseOffset: s.baseOffset, size: s.size, lastModified: 0 }))
        : [];
    const cfg = this.config;
    const buffers = perThreadBuffers(cfg);
    return {
      segments,
      job: {
        jobId,
        dir: log.dir,
        name: ltc.key,
        config: { ...ltc.config },
        segments: jobSegments,
        tail,
        firstDirtyOffset: ltc.firstDirtyOffset,
        firstUncleanableOffset: ltc.firstUncleanableOffset,
        dirtyStartPosition,
        now,
        producerLastRecords: producers,
        abortedTxns:
          this.#opts.abortedTransactions?.(log, toClean[0]?.baseOffset ?? 0n, ltc.firstUncleanableOffset) ??
          null,
        offsetMapBytes: buffers.offsetMapBytes,
        loadFactor: cfg.dedupeBufferLoadFactor,
        ioBufferBytes: buffers.ioBufferBytes,
        maxIoBufferBytes: Math.max(cfg.maxMessageSize, ltc.config.maxMessageBytes),
      },
    };
  }

  /** @internal a message from a thread's worker */
  onWorkerMessage(t: CleanerThread, m: WorkerToMain): void {
    const job = t.job;
    if (!job || job.jobId !== m.jobId) {
      if (m.type === 'swap') t.post({ type: 'swapped', jobId: m.jobId, ok: false });
      return;
    }
    const { ltc } = job;
    switch (m.type) {
      case 'swap': {
        let ok = false;
        if (!this.manager.isAborted(ltc.key) && !ltc.log.isClosed && !this.#stopped) {
          const olds = m.swap.oldBaseOffsets.map((b) => job.segments.get(b));
          if (olds.every((s): s is LogSegment => s !== undefined)) {
            try {
              ltc.log.replaceSegments(m.swap.newBaseOffset, olds);
              ok = true;
              job.swapped++;
            } catch (err) {
              if (!(err instanceof SwapRefusedError))
                this.#log.error({ err, partition: ltc.key }, 'swapping in a cleaned segment failed');
            }
          }
        }
        t.post({ type: 'swapped', jobId: m.jobId, ok });
        return;
      }
      case 'done':
        this.manager.doneCleaning(ltc.key, ltc.logDir, m.result.endOffset);
        t.lastStats = m.result.stats;
        this.#recordStats(t, ltc, m.result);
        job.finish({
          key: ltc.key,
          status: 'cleaned',
          firstDirtyOffset: ltc.firstDirtyOffset,
          endOffset: m.result.endOffset,
          stats: m.result.stats,
          segmentsSwapped: m.result.segmentsSwapped,
        });
        return;
      case 'aborted':
        this.manager.doneCleaning(ltc.key, ltc.logDir, null);
        job.finish({
          key: ltc.key,
          status: 'aborted',
          firstDirtyOffset: ltc.firstDirtyOffset,
          endOffset: null,
          stats: null,
          segmentsSwapped: job.swapped,
        });
        return;
      case 'failed':
        this.#log.warn(
          { partition: ltc.key, error: m.error },
          'unexpected error while cleaning; marking the partition uncleanable',
        );
        this.manager.markPartitionUncleanable(ltc.logDir, ltc.key);
        this.manager.doneCleaning(ltc.key, ltc.logDir, null);
        job.finish({
          key: ltc.key,
          status: 'failed',
          firstDirtyOffset: ltc.firstDirtyOffset,
          endOffset: null,
          stats: null,
          segmentsSwapped: job.swapped,
          error: m.error,
        });
        return;
    }
  }

  /** @internal a worker died (crash, out of memory): its thread counts as dead. */
  onThreadDied(t: CleanerThread, err: Error): void {
    this.#log.error({ err, thread: t.id }, 'log cleaner thread died');
    const job = t.job;
    if (job) {
      this.manager.abortCleaning(job.ltc.key);
      this.manager.doneCleaning(job.ltc.key, job.ltc.logDir, null);
      removeCleanedFiles(job.ltc.log.dir);
      job.finish({
        key: job.ltc.key,
        status: 'failed',
        firstDirtyOffset: job.ltc.firstDirtyOffset,
        endOffset: null,
        stats: null,
        segmentsSwapped: job.swapped,
        error: err.message,
      });
    }
  }

  #recordStats(t: CleanerThread, ltc: LogToClean, r: CleanResult): void {
    const s = r.stats;
    const mb = (b: number): number => Math.round((b / (1024 * 1024)) * 10) / 10;
    const secs = Math.max(0.001, (s.endTime - s.startTime) / 1000);
    this.#log.info(
      {
        thread: t.id,
        partition: ltc.key,
        dirtySection: [String(ltc.firstDirtyOffset), String(r.endOffset)],
        mbRead: mb(s.bytesRead),
        seconds: secs,
        mbPerSec: mb(s.bytesRead / secs),
        mapMbRead: mb(s.mapBytesRead),
        bufferUtilization: Math.round(s.bufferUtilization * 1000) / 10,
        messagesRead: s.messagesRead,
        messagesWritten: s.messagesWritten,
        mbWritten: mb(s.bytesWritten),
        segmentsSwapped: r.segmentsSwapped,
        invalidMessages: s.invalidMessagesRead,
      },
      'log cleaner cleaned a log',
    );
  }

  // ---- events from the logs ----

  /** A log was truncated to `newEnd`: abort its cleaning and bring its checkpoint back. */
  onTruncated(key: string, logDir: string, newEnd: bigint): void {
    this.manager.abortCleaning(key);
    this.manager.maybeTruncateCheckpoint(logDir, key, newEnd);
  }

  /** A log is being deleted. */
  onDeleted(key: string, logDir: string): void {
    this.manager.removePartition(logDir, key);
  }

  isCleaning(key: string): boolean {
    return this.manager.isInProgress(key);
  }

  /** Resolves true once `key`'s checkpoint reaches `offset` (Kafka's awaitCleaned), false after maxWaitMs. */
  async awaitCleaned(key: string, offset: bigint, maxWaitMs = 60_000): Promise<boolean> {
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      const c = this.manager.checkpointOf(key);
      if (c !== undefined && c >= offset) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  // ---- metrics (Kafka's names in the comments) ----

  #maxOverThreads(f: (t: CleanerThread) => number): number {
    return this.#allThreads().reduce((m, t) => Math.max(m, f(t)), 0);
  }
  /** max-buffer-utilization-percent */
  get maxBufferUtilizationPercent(): number {
    return Math.floor(this.#maxOverThreads((t) => (t.lastStats?.bufferUtilization ?? 0) * 100));
  }
  /** cleaner-recopy-percent: bytes written / bytes read over every thread's last cleaning. */
  get cleanerRecopyPercent(): number {
    let read = 0;
    let written = 0;
    for (const t of this.#allThreads()) {
      read += t.lastStats?.bytesRead ?? 0;
      written += t.lastStats?.bytesWritten ?? 0;
    }
    return Math.floor((100 * written) / Math.max(read, 1));
  }
  /** max-clean-time-secs */
  get maxCleanTimeSecs(): number {
    return Math.floor(
      this.#maxOverThreads((t) => (t.lastStats ? (t.lastStats.endTime - t.lastStats.startTime) / 1000 : 0)),
    );
  }
  /** max-compaction-delay-secs */
  get maxCompactionDelaySecs(): number {
    return Math.floor(this.#maxOverThreads((t) => t.lastPreCleanStats.maxCompactionDelayMs) / 1000);
  }
  /** DeadThreadCount */
  get deadThreadCount(): number {
    return this.#threads.filter((t) => t.dead).length;
  }
  /** Threads running their loop (not retiring, not dead). */
  get threadCount(): number {
    return this.#threads.filter((t) => !t.retiring && !t.dead).length;
  }
  get logDirs(): readonly string[] {
    return this.#opts.logDirs;
  }
}

/** Remove the `.cleaned` files a stopped worker may have left in a partition directory. */
function removeCleanedFiles(dir: string): void {
  try {
    for (const name of readdirSync(dir)) {
      if (name.endsWith(CLEANED_FILE_SUFFIX)) {
        try {
          unlinkSync(join(dir, name));
        } catch {
          /* gone */
        }
      }
    }
  } catch {
    /* the directory is gone */
  }
}
