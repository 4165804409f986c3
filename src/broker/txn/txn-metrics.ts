/**
 * The transaction coordinator's Prometheus metrics (docs/metrics.md maps each to Kafka's JMX name).
 * Registered on the broker's registry; gauges are computed at scrape time from the coordinator's
 * live state, so requests only bump counters.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { MarkerChannelMetrics, TransactionResult } from './transaction-marker-channel.js';
import type { CoordinatorMetrics } from './transaction-coordinator.js';
import { ALL_STATES } from './transaction-state.js';

export interface TransactionStateSource {
  /** Transactional ids this broker coordinates, by state. */
  transactionsByState(): Record<string, number>;
  /** __transaction_state partitions loaded here, and being loaded. */
  partitions(): { owned: number; loading: number };
  /** Transactions whose markers are not all written, and marker queue sizes. */
  markers(): {
    pendingTransactions: number;
    queued: number;
    unknownDestination: number;
    appendRetries: number;
  };
}

export class TransactionMetrics implements MarkerChannelMetrics, CoordinatorMetrics {
  readonly #partitionLoad: Histogram;
  readonly #markerErrors: Counter<'error'>;
  readonly #markersWritten: Counter;
  readonly #completed: Counter<'result'>;
  readonly #timedOut: Counter;

  constructor(registry: Registry, live: TransactionStateSource) {
    const reg = [registry];
    new Gauge({
      name: 'sluice_transactions',
      help: 'Transactional ids this broker coordinates, by transaction state',
      labelNames: ['state'],
      registers: reg,
      collect() {
        this.reset();
        const by = live.transactionsByState();
        for (const s of ALL_STATES)
          if (s !== 'Dead' && s !== 'PrepareEpochFence') this.set({ state: s }, by[s] ?? 0);
      },
    });
    new Gauge({
      name: 'sluice_transactional_ids',
      help: 'Transactional ids this broker coordinates (all states)',
      registers: reg,
      collect() {
        this.set(Object.values(live.transactionsByState()).reduce((a, b) => a + b, 0));
      },
    });
    new Gauge({
      name: 'sluice_transaction_coordinator_partitions',
      help: '__transaction_state partitions this broker coordinates (owned) or is loading',
      labelNames: ['state'],
      registers: reg,
      collect() {
        const p = live.partitions();
        this.set({ state: 'owned' }, p.owned);
        this.set({ state: 'loading' }, p.loading);
      },
    });
    new Gauge({
      name: 'sluice_transaction_markers_pending_transactions',
      help: 'Transactions in PrepareCommit/PrepareAbort whose markers are still being written',
      registers: reg,
      collect() {
        this.set(live.markers().pendingTransactions);
      },
    });
    new Gauge({
      name: 'sluice_transaction_marker_queue_size',
      help: 'Transaction markers queued for a partition leader, by destination (known broker or unknown)',
      labelNames: ['destination'],
      registers: reg,
      collect() {
        const m = live.markers();
        this.set({ destination: 'known' }, m.queued);
        this.set({ destination: 'unknown' }, m.unknownDestination);
      },
    });
    new Gauge({
      name: 'sluice_transaction_log_append_retry_queue_size',
      help: 'Transaction completions waiting to be written to __transaction_state again',
      registers: reg,
      collect() {
        this.set(live.markers().appendRetries);
      },
    });
    this.#partitionLoad = new Histogram({
      name: 'sluice_transaction_partition_load_seconds',
      help: 'Time to load a __transaction_state partition when this broker becomes its leader',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
      registers: reg,
    });
    this.#markerErrors = new Counter({
      name: 'sluice_transaction_marker_errors_total',
      help: 'Failed transaction marker writes (whole requests and single partitions), by error; each is retried unless the error makes it obsolete',
      labelNames: ['error'],
      registers: reg,
    });
    this.#markersWritten = new Counter({
      name: 'sluice_transaction_markers_written_total',
      help: 'Transaction markers partition leaders confirmed',
      registers: reg,
    });
    this.#completed = new Counter({
      name: 'sluice_transactions_completed_total',
      help: 'Transactions completed (CompleteCommit / CompleteAbort written), by result',
      labelNames: ['result'],
      registers: reg,
    });
    this.#timedOut = new Counter({
      name: 'sluice_transactions_timed_out_total',
      help: 'Transactions the coordinator aborted because they were open longer than their transaction.timeout.ms',
      registers: reg,
    });
  }

  partitionLoaded(ms: number): void {
    this.#partitionLoad.observe(ms / 1000);
  }

  markerSendError(error: string): void {
    this.#markerErrors.inc({ error });
  }

  markersWritten(n: number): void {
    this.#markersWritten.inc(n);
  }

  transactionCompleted(result: TransactionResult): void {
    this.#completed.inc({ result: result === 'COMMIT' ? 'commit' : 'abort' });
  }

  timedOutTransactionAborted(): void {
    this.#timedOut.inc();
  }
}
