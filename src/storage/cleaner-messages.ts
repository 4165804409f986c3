/**
 * What the main thread and a cleaner worker say to each other (structured clone; bigint survives).
 *
 *   main → worker   {type:'clean', job}            clean one log (one LogToClean)
 *   worker → main   {type:'swap', jobId, swap}     one group is written and fsynced as .cleaned files:
 *                                                  swap it in (the main thread owns the log)
 *   main → worker   {type:'swapped', jobId, ok}    done (ok) or refused (the log changed: abort)
 *   worker → main   {type:'done', jobId, result}   the pass ended; checkpoint result.endOffset
 *   worker → main   {type:'aborted', jobId}        the job was aborted (flag or refused swap)
 *   worker → main   {type:'failed', jobId, error}  the job threw: the partition becomes uncleanable
 *
 * Aborting does not wait for a message round trip: the main thread writes the job id into a shared
 * Int32Array the worker polls between chunks (CleanerControl).
 */
import type { LogConfig } from './log-config.js';

/** An aborted transaction of the log (from the .txnindex, once transactions exist): Kafka's AbortedTxn. */
export interface AbortedTxn {
  producerId: bigint;
  firstOffset: bigint;
  lastOffset: bigint;
  lastStableOffset: bigint;
}

/** The last record of an active producer (Kafka's LastRecord): what the cleaner must keep of it. */
export interface ProducerLastRecord {
  producerId: bigint;
  /** Last offset of its last data batch; null when its last entry is a transaction marker. */
  lastDataOffset: bigint | null;
  producerEpoch: number;
}

export interface JobSegment {
  baseOffset: bigint;
  /** Bytes to read: the segment's size when the job was made (non-active segments do not grow). */
  size: number;
  /** .log mtime, kept by the cleaned segment that replaces it. */
  lastModified: number;
}

export interface CleanJob {
  jobId: number;
  dir: string;
  /** For messages only. */
  name: string;
  config: LogConfig;
  /** Every segment below firstUncleanableOffset, oldest first (the active segment is never one). */
  segments: JobSegment[];
  /**
   * The rest of the log at job time (active segment included): read only when producerLastRecords is
   * null, to find each producer's last batch from the batch headers.
   */
  tail: JobSegment[];
  firstDirtyOffset: bigint;
  firstUncleanableOffset: bigint;
  /** Where in the segment holding firstDirtyOffset reading starts (its index entry). */
  dirtyStartPosition: number;
  /** The cleaning time (ms): delete horizons are set from and compared with it. */
  now: number;
  /** Active producers' last records (Partition's producer state); null: derive from the log. */
  producerLastRecords: ProducerLastRecord[] | null;
  /**
   * Aborted transactions overlapping the cleaned range; null while the log has no transaction index
   * (every transactional batch then counts as committed and every control batch is kept).
   */
  abortedTxns: AbortedTxn[] | null;
  offsetMapBytes: number;
  loadFactor: number;
  ioBufferBytes: number;
  maxIoBufferBytes: number;
}

export interface SwapRequest {
  /** Base offset of the cleaned segment (= the first replaced segment's). */
  newBaseOffset: bigint;
  /** The segments it replaces, oldest first. */
  oldBaseOffsets: bigint[];
  /** Aborted transactions the cleaned segment still holds data of (its future .txnindex). */
  retainedAbortedTxns: AbortedTxn[];
  bytes: number;
}

export interface CleanerStats {
  startTime: number;
  mapCompleteTime: number;
  endTime: number;
  bytesRead: number;
  bytesWritten: number;
  mapBytesRead: number;
  mapMessagesRead: number;
  messagesRead: number;
  messagesWritten: number;
  invalidMessagesRead: number;
  bufferUtilization: number;
  /** Milliseconds the I/O throttle made this pass sleep. */
  throttledMs: number;
  /** Largest V8 heap use (bytes) of the worker during the pass, and its ArrayBuffer memory then. */
  peakHeapBytes: number;
  arrayBufferBytes: number;
}

export interface CleanResult {
  /** The first offset not cleaned: the next pass starts here (cleaner-offset-checkpoint). */
  endOffset: bigint;
  stats: CleanerStats;
  segmentsSwapped: number;
}

export type MainToWorker = { type: 'clean'; job: CleanJob } | { type: 'swapped'; jobId: number; ok: boolean };

export type WorkerToMain =
  | { type: 'swap'; jobId: number; swap: SwapRequest }
  | { type: 'done'; jobId: number; result: CleanResult }
  | { type: 'aborted'; jobId: number }
  | { type: 'failed'; jobId: number; error: string };

/** Shared flags: [0] the job id to abort, [1] 1 when the worker must stop. */
export class CleanerControl {
  readonly buffer: SharedArrayBuffer;
  readonly #flags: Int32Array;
  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(8);
    this.#flags = new Int32Array(this.buffer);
  }
  abort(jobId: number): void {
    Atomics.store(this.#flags, 0, jobId);
  }
  isAborted(jobId: number): boolean {
    return Atomics.load(this.#flags, 0) === jobId || Atomics.load(this.#flags, 1) === 1;
  }
  shutdown(): void {
    Atomics.store(this.#flags, 1, 1);
  }
}
