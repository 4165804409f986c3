/**
 * A log cleaner thread (Kafka's CleanerThread minus the scheduling, which stays on the main thread):
 * a worker_threads worker that runs one Cleaner job at a time. It reads segment files the main
 * thread no longer appends to and writes `.cleaned` files nobody else knows of, with file
 * descriptors of its own (outside the main thread's FileHandlePool: at most one source segment and
 * the three files of one cleaned segment at a time). It never touches the log's segment list: each
 * cleaned group goes back to the main thread as a swap request, and the worker waits for the answer.
 *
 * workerData: { control: SharedArrayBuffer (CleanerControl), throttle: SharedArrayBuffer (SharedThrottler),
 * ioBufferBytes }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Cleaner, LogCleaningAbortedError } from './cleaner.js';
import {
  CleanerControl,
  type MainToWorker,
  type SwapRequest,
  type WorkerToMain,
} from './cleaner-messages.js';
import { fsyncDir } from './checkpoint-file.js';
import { SharedThrottler } from './throttler.js';

interface CleanerWorkerData {
  control: SharedArrayBuffer;
  throttle: SharedArrayBuffer;
  ioBufferBytes: number;
}

const port = parentPort;
if (!port) throw new Error('cleaner-worker.ts runs as a worker thread');
const data = workerData as CleanerWorkerData;
const control = new CleanerControl(data.control);
const throttler = new SharedThrottler(data.throttle);

let currentJob = -1;
let pendingSwap: { jobId: number; resolve: (ok: boolean) => void } | null = null;
let dir = '';

const post = (m: WorkerToMain): void => port.postMessage(m);

const cleaner = new Cleaner(data.ioBufferBytes, {
  checkDone() {
    if (control.isAborted(currentJob))
      throw new LogCleaningAbortedError(`cleaning job ${currentJob} aborted`);
  },
  swap(swap: SwapRequest): Promise<boolean> {
    const jobId = currentJob;
    return new Promise<boolean>((resolve) => {
      pendingSwap = { jobId, resolve };
      post({ type: 'swap', jobId, swap });
    }).then((ok) => {
      // The renames happened on the main thread; make them durable here, off its event loop
      // (a crash before this still leaves .swap files that the next load completes).
      if (ok) fsyncDir(dir);
      return ok;
    });
  },
  throttler,
});

let queue: Promise<void> = Promise.resolve();

port.on('message', (m: MainToWorker) => {
  if (m.type === 'swapped') {
    const p = pendingSwap;
    if (p && p.jobId === m.jobId) {
      pendingSwap = null;
      p.resolve(m.ok);
    }
    return;
  }
  const job = m.job;
  queue = queue.then(async () => {
    currentJob = job.jobId;
    dir = job.dir;
    try {
      const result = await cleaner.clean(job);
      post({ type: 'done', jobId: job.jobId, result });
    } catch (err) {
      if (err instanceof LogCleaningAbortedError || control.isAborted(job.jobId)) {
        post({ type: 'aborted', jobId: job.jobId });
      } else {
        post({
          type: 'failed',
          jobId: job.jobId,
          error: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err),
        });
      }
    } finally {
      currentJob = -1;
    }
  });
});
