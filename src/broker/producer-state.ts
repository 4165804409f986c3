/**
 * ProducerStateManager: per partition, what each idempotent producer last wrote, so retried batches
 * are recognised and gaps refused (Kafka's ProducerStateManager / ProducerAppendInfo).
 *
 * For each producer id: its epoch and the metadata of its last 5 batches (Kafka's
 * NUM_BATCHES_TO_RETAIN, matching max.in.flight.requests.per.connection <= 5). On append:
 *   - epoch older than known                 → INVALID_PRODUCER_EPOCH (fenced)
 *   - epoch newer than known                 → sequence must start at 0
 *   - same epoch, batch equal to a cached one → duplicate: answer with the original offsets
 *   - same epoch, first sequence != last + 1  → OUT_OF_ORDER_SEQUENCE_NUMBER
 *   - producer unknown (state expired or removed with old segments) → any sequence accepted
 *     (Kafka since KIP-360 does the same rather than failing the producer).
 *
 * State survives restarts through snapshots: `<20-digit offset>.snapshot` files in Kafka's binary
 * format (src/storage/producer-snapshot-file.ts; `kafka-dump-log.sh` reads them) written at clean
 * shutdown and periodically, and on load the batches after the snapshot are replayed from the log's
 * batch headers. Like Kafka's, a snapshot keeps each producer's last batch only. Snapshots written by
 * earlier Sluice versions (JSON, see LegacyJsonSnapshot) are still read, and rewritten in Kafka's
 * format the first time they are loaded.
 */
import { existsSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ProducerSnapshotEntry,
  decodeProducerSnapshot,
  writeProducerSnapshotFile,
} from '../storage/producer-snapshot-file.js';

export const NUM_BATCHES_TO_RETAIN = 5;

export interface BatchMetadata {
  firstSeq: number;
  lastSeq: number;
  firstOffset: bigint;
  lastOffset: bigint;
  timestamp: bigint;
}

export interface ProducerEntry {
  producerId: bigint;
  epoch: number;
  /** Oldest first, at most NUM_BATCHES_TO_RETAIN. */
  batches: BatchMetadata[];
  lastTimestamp: number;
  /** Epoch of the transaction coordinator that wrote this producer's last marker; -1 when none. */
  coordinatorEpoch: number;
  /** First offset of the producer's ongoing transaction; null when none. */
  currentTxnFirstOffset: bigint | null;
}

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; batch: BatchMetadata }
  | { kind: 'error'; errorName: 'INVALID_PRODUCER_EPOCH' | 'OUT_OF_ORDER_SEQUENCE_NUMBER'; message: string };

/** Sequence numbers wrap at Int32.MAX_VALUE to 0. */
function nextSeq(seq: number, by = 1): number {
  const n = seq + by;
  return n > 0x7fffffff ? n - 0x80000000 : n;
}

/** Snapshots as Sluice wrote them before it used Kafka's format: JSON, all retained batches. */
interface LegacyJsonSnapshot {
  /** 1; anything else is a file this code does not know. */
  version: number;
  offset: string;
  producers: {
    producerId: string;
    epoch: number;
    lastTimestamp: number;
    batches: {
      firstSeq: number;
      lastSeq: number;
      firstOffset: string;
      lastOffset: string;
      timestamp: string;
    }[];
  }[];
}

export class ProducerStateManager {
  readonly #producers = new Map<bigint, ProducerEntry>();
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  get producerCount(): number {
    return this.#producers.size;
  }

  entry(producerId: bigint): ProducerEntry | undefined {
    return this.#producers.get(producerId);
  }

  /** Decide what to do with a batch from an idempotent producer (producerId >= 0). */
  check(producerId: bigint, epoch: number, firstSeq: number, recordCount: number): SequenceCheck {
    const e = this.#producers.get(producerId);
    if (!e) return { kind: 'append' };
    if (epoch < e.epoch) {
      return {
        kind: 'error',
        errorName: 'INVALID_PRODUCER_EPOCH',
        message: `Producer epoch ${epoch} is older than the current epoch ${e.epoch} of producer ${producerId}`,
      };
    }
    if (epoch > e.epoch) {
      if (firstSeq !== 0) {
        return {
          kind: 'error',
          errorName: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
          message: `Invalid sequence number for new epoch ${epoch} of producer ${producerId}: ${firstSeq} (expected 0)`,
        };
      }
      return { kind: 'append' };
    }
    const lastSeq = nextSeq(firstSeq, recordCount - 1);
    const dup = e.batches.find((b) => b.firstSeq === firstSeq && b.lastSeq === lastSeq);
    if (dup) return { kind: 'duplicate', batch: dup };
    const last = e.batches[e.batches.length - 1];
    if (last && firstSeq !== nextSeq(last.lastSeq)) {
      return {
        kind: 'error',
        errorName: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
        message: `Out of order sequence number for producer ${producerId} at epoch ${epoch}: ${firstSeq} (incoming seq. number), ${last.lastSeq} (current end sequence number)`,
      };
    }
    return { kind: 'append' };
  }

  /** Record an appended batch (leader append, follower append, or log replay on load). */
  update(
    producerId: bigint,
    epoch: number,
    firstSeq: number,
    lastSeq: number,
    firstOffset: bigint,
    lastOffset: bigint,
    timestamp: bigint,
    now = Date.now(),
  ): void {
    let e = this.#producers.get(producerId);
    if (!e || epoch > e.epoch) {
      e = {
        producerId,
        epoch,
        batches: [],
        lastTimestamp: now,
        coordinatorEpoch: -1,
        currentTxnFirstOffset: null,
      };
      this.#producers.set(producerId, e);
    } else if (epoch < e.epoch) {
      return; // a stale batch replayed from the log; the newer epoch wins
    }
    e.batches.push({ firstSeq, lastSeq, firstOffset, lastOffset, timestamp });
    if (e.batches.length > NUM_BATCHES_TO_RETAIN) e.batches.shift();
    e.lastTimestamp = now;
  }

  /**
   * Each producer's last record, for the log cleaner (Kafka's lastRecordsOfActiveProducers): the
   * last offset of its last data batch (null when it has none, e.g. only a transaction marker) and
   * its epoch. The cleaner keeps the batch ending there so the producer's sequence survives.
   */
  lastRecordsOfActiveProducers(): {
    producerId: bigint;
    lastDataOffset: bigint | null;
    producerEpoch: number;
  }[] {
    return [...this.#producers.values()].map((e) => ({
      producerId: e.producerId,
      lastDataOffset: e.batches.length > 0 ? e.batches[e.batches.length - 1]!.lastOffset : null,
      producerEpoch: e.epoch,
    }));
  }

  /** Forget state at or past `offset` (log truncation): producers are rebuilt by replay after it. */
  truncateAndReload(offset: bigint): void {
    for (const [pid, e] of this.#producers) {
      e.batches = e.batches.filter((b) => b.lastOffset < offset);
      if (e.batches.length === 0) this.#producers.delete(pid);
    }
  }

  /** Drop producers idle longer than producer.id.expiration.ms. */
  removeExpired(now: number, expirationMs: number): number {
    let n = 0;
    for (const [pid, e] of this.#producers) {
      if (now - e.lastTimestamp >= expirationMs) {
        this.#producers.delete(pid);
        n++;
      }
    }
    return n;
  }

  // ---- snapshots ----

  static snapshotName(offset: bigint): string {
    return `${offset.toString().padStart(20, '0')}.snapshot`;
  }

  /** Offsets of the snapshot files in the partition directory, ascending. */
  snapshotOffsets(): bigint[] {
    if (!existsSync(this.#dir)) return [];
    return readdirSync(this.#dir)
      .filter((f) => /^\d{20}\.snapshot$/.test(f))
      .map((f) => BigInt(f.slice(0, 20)))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * Write a snapshot of the state as of `offset` (the log end) in Kafka's format, keeping the two
   * newest. Each producer's last batch goes in (Kafka keeps no more); its timestamp is that batch's.
   */
  takeSnapshot(offset: bigint): void {
    const entries: ProducerSnapshotEntry[] = [...this.#producers.values()].map((e) => {
      const last = e.batches[e.batches.length - 1];
      return {
        producerId: e.producerId,
        epoch: e.epoch,
        lastSequence: last ? last.lastSeq : -1,
        lastOffset: last ? last.lastOffset : -1n,
        offsetDelta: last ? Number(last.lastOffset - last.firstOffset) : 0,
        timestamp: last ? last.timestamp : BigInt(e.lastTimestamp),
        coordinatorEpoch: e.coordinatorEpoch,
        currentTxnFirstOffset: e.currentTxnFirstOffset ?? -1n,
      };
    });
    writeProducerSnapshotFile(join(this.#dir, ProducerStateManager.snapshotName(offset)), entries);
    const all = this.snapshotOffsets();
    for (const o of all.slice(0, Math.max(0, all.length - 2))) this.#unlink(o);
  }

  #unlink(offset: bigint): void {
    try {
      unlinkSync(join(this.#dir, ProducerStateManager.snapshotName(offset)));
    } catch {
      /* already gone */
    }
  }

  /**
   * Load the newest snapshot at or below `logEndOffset` (newer ones describe truncated data and are
   * removed; unreadable ones are skipped and removed). Returns the offset replay must start from.
   */
  loadSnapshot(logEndOffset: bigint, logStartOffset: bigint): bigint {
    this.#producers.clear();
    const offsets = this.snapshotOffsets();
    for (const o of offsets) if (o > logEndOffset) this.#unlink(o);
    for (const o of offsets.filter((x) => x <= logEndOffset).reverse()) {
      let legacy: bigint | null = null;
      const path = join(this.#dir, ProducerStateManager.snapshotName(o));
      try {
        const data = readFileSync(path);
        if (data[0] === 0x7b /* '{' */) {
          this.#loadLegacyJson(data);
          legacy = o;
        } else {
          for (const entry of decodeProducerSnapshot(data)) this.#loadEntry(entry);
        }
      } catch {
        this.#producers.clear();
        this.#unlink(o);
        continue;
      }
      // A JSON snapshot is read once; from now on it is kept in Kafka's format. If that write fails
      // the JSON file stays and is read again next time.
      if (legacy !== null) {
        try {
          this.takeSnapshot(legacy);
        } catch {
          /* keep the JSON file */
        }
      }
      return o < logStartOffset ? logStartOffset : o;
    }
    return logStartOffset;
  }

  /** One entry of a Kafka-format snapshot (as ProducerStateManager.readSnapshot builds its entries). */
  #loadEntry(p: ProducerSnapshotEntry): void {
    const batches: BatchMetadata[] = [];
    if (p.lastOffset >= 0n) {
      // Kafka's BatchMetadata.firstSeq: the sequence offsetDelta before the last, wrapping at 2^31.
      const firstSeq =
        p.lastSequence < p.offsetDelta
          ? 0x7fffffff - (p.offsetDelta - p.lastSequence) + 1
          : p.lastSequence - p.offsetDelta;
      batches.push({
        firstSeq,
        lastSeq: p.lastSequence,
        firstOffset: p.lastOffset - BigInt(p.offsetDelta),
        lastOffset: p.lastOffset,
        timestamp: p.timestamp,
      });
    }
    this.#producers.set(p.producerId, {
      producerId: p.producerId,
      epoch: p.epoch,
      batches,
      // Kafka's entry keeps the last batch's timestamp as lastTimestamp (producer expiration).
      lastTimestamp: Number(p.timestamp),
      coordinatorEpoch: p.coordinatorEpoch,
      currentTxnFirstOffset: p.currentTxnFirstOffset >= 0n ? p.currentTxnFirstOffset : null,
    });
  }

  #loadLegacyJson(data: Buffer): void {
    const json = JSON.parse(data.toString('utf8')) as LegacyJsonSnapshot;
    if (json.version !== 1) throw new Error(`unknown JSON snapshot version ${json.version}`);
    for (const p of json.producers) {
      this.#producers.set(BigInt(p.producerId), {
        producerId: BigInt(p.producerId),
        epoch: p.epoch,
        lastTimestamp: p.lastTimestamp,
        batches: p.batches.map((b) => ({
          firstSeq: b.firstSeq,
          lastSeq: b.lastSeq,
          firstOffset: BigInt(b.firstOffset),
          lastOffset: BigInt(b.lastOffset),
          timestamp: BigInt(b.timestamp),
        })),
        coordinatorEpoch: -1,
        currentTxnFirstOffset: null,
      });
    }
  }
}
