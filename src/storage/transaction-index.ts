/**
 * TransactionIndex: the aborted-transaction index of one segment, `<20-digit base offset>.txnindex`,
 * in Kafka's format (TransactionIndex / AbortedTxn), so `kafka-dump-log.sh --files X.txnindex` reads
 * it. The file is a plain sequence of 34-byte big-endian entries, one per transaction whose ABORT
 * marker was written in this segment, in marker order:
 *
 *   0   2  version (int16) = 0
 *   2   8  producer id (int64)
 *   10  8  first offset (int64): the transaction's first record in this partition
 *   18  8  last offset (int64): the ABORT marker's offset
 *   26  8  last stable offset (int64): the LSO right after the abort (the first offset of the next
 *          undecided transaction of another producer, else the marker's offset + 1)
 *
 * Committed transactions leave no entry. A transaction may start in an earlier segment than the one
 * holding its marker, so a read_committed fetch collects entries from the segment it reads and the
 * later ones until an entry's last stable offset reaches the fetch's upper bound
 * (collectAbortedTxns' `complete`).
 *
 * Lifecycle, as Kafka's: the file does not exist until the segment's first abort is indexed (most
 * segments never have one); it is not preallocated; it is truncated, renamed and deleted with its
 * segment; entries are written to the file at once (page cache) and fsynced when the segment
 * flushes. After an unclean shutdown the partition rebuilds the entries past its producer snapshot
 * by replaying the log (Partition's producer-state rebuild), since only the producer state knows
 * where an aborted transaction started.
 *
 * Entries are kept in memory once read (a segment has few), so lookups cost no I/O after the first.
 * The log cleaner reads them through `allAbortedTxns()` / UnifiedLog.collectAbortedTransactions.
 */
import { existsSync } from 'node:fs';
import { CorruptIndexError } from './abstract-index.js';
import type { PooledFile } from './file-handle-pool.js';

export const ABORTED_TXN_SIZE = 34;
export const ABORTED_TXN_VERSION = 0;

/** One entry (Kafka's AbortedTxn). */
export interface AbortedTxn {
  producerId: bigint;
  firstOffset: bigint;
  lastOffset: bigint;
  lastStableOffset: bigint;
}

export function encodeAbortedTxn(t: AbortedTxn): Buffer {
  const b = Buffer.alloc(ABORTED_TXN_SIZE);
  b.writeInt16BE(ABORTED_TXN_VERSION, 0);
  b.writeBigInt64BE(t.producerId, 2);
  b.writeBigInt64BE(t.firstOffset, 10);
  b.writeBigInt64BE(t.lastOffset, 18);
  b.writeBigInt64BE(t.lastStableOffset, 26);
  return b;
}

/**
 * Entries of a `.txnindex` file's bytes. A trailing partial entry (a write cut by a crash) is
 * ignored, as Kafka's iterator ignores it; an entry of a newer version is an error (Kafka's
 * "Unexpected aborted transaction version").
 */
export function decodeAbortedTxns(buf: Buffer, what = 'transaction index'): AbortedTxn[] {
  const out: AbortedTxn[] = [];
  for (let at = 0; at + ABORTED_TXN_SIZE <= buf.length; at += ABORTED_TXN_SIZE) {
    const version = buf.readInt16BE(at);
    if (version > ABORTED_TXN_VERSION)
      throw new CorruptIndexError(
        `Unexpected aborted transaction version ${version} in ${what}, current version is ${ABORTED_TXN_VERSION}`,
      );
    out.push({
      producerId: buf.readBigInt64BE(at + 2),
      firstOffset: buf.readBigInt64BE(at + 10),
      lastOffset: buf.readBigInt64BE(at + 18),
      lastStableOffset: buf.readBigInt64BE(at + 26),
    });
  }
  return out;
}

/** What one segment's index contributes to a fetch (Kafka's TxnIndexSearchResult). */
export interface TxnIndexSearchResult {
  abortedTransactions: AbortedTxn[];
  /** An entry's last stable offset reached the upper bound: later segments cannot add to the range. */
  isComplete: boolean;
}

export class TransactionIndex {
  /** Entries in file order; null until first needed. */
  #entries: AbortedTxn[] | null = null;
  /** Written since the last fsync. */
  #unsynced = false;

  constructor(
    readonly file: PooledFile,
    readonly baseOffset: bigint,
  ) {}

  get path(): string {
    return this.file.path;
  }

  /** Entries in marker order (read from the file the first time). */
  allAbortedTxns(): readonly AbortedTxn[] {
    return this.#load();
  }

  get isEmpty(): boolean {
    return this.#load().length === 0;
  }

  #load(): AbortedTxn[] {
    if (this.#entries) return this.#entries;
    if (!existsSync(this.file.path)) return (this.#entries = []);
    const size = this.file.size();
    this.#entries = decodeAbortedTxns(this.file.read(0, size), this.file.path);
    // A partial tail (a cut write) would misalign the next append: drop it now.
    if (size % ABORTED_TXN_SIZE !== 0) this.file.truncate(this.#entries.length * ABORTED_TXN_SIZE);
    return this.#entries;
  }

  /** Index an aborted transaction; markers come in offset order (Kafka refuses otherwise). */
  append(t: AbortedTxn): void {
    const entries = this.#load();
    const last = entries[entries.length - 1];
    if (last && last.lastOffset >= t.lastOffset)
      throw new RangeError(
        `The last offset of appended transactions must increase sequentially, but ${t.lastOffset} is not greater than current last offset ${last.lastOffset} of index ${this.file.path}`,
      );
    this.file.write(encodeAbortedTxn(t), entries.length * ABORTED_TXN_SIZE);
    entries.push({ ...t });
    this.#unsynced = true;
  }

  /** Remove the entries whose marker is at or after `offset` (the segment is truncated there). */
  truncateTo(offset: bigint): void {
    const entries = this.#load();
    const keep = entries.findIndex((t) => t.lastOffset >= offset);
    if (keep < 0) return;
    entries.length = keep;
    this.file.truncate(keep * ABORTED_TXN_SIZE);
    this.#unsynced = true;
  }

  /** Remove every entry; the file goes (Kafka creates it only when it has an entry to hold). */
  reset(): void {
    this.file.unlink();
    this.#entries = [];
    this.#unsynced = false;
  }

  /**
   * Entries overlapping [fetchOffset, upperBoundOffset): aborted transactions whose marker is at or
   * after the fetch offset and that started before the upper bound (Kafka's collectAbortedTxns).
   */
  collectAbortedTxns(fetchOffset: bigint, upperBoundOffset: bigint): TxnIndexSearchResult {
    const abortedTransactions: AbortedTxn[] = [];
    for (const t of this.#load()) {
      if (t.lastOffset >= fetchOffset && t.firstOffset < upperBoundOffset) abortedTransactions.push(t);
      if (t.lastStableOffset >= upperBoundOffset) return { abortedTransactions, isComplete: true };
    }
    return { abortedTransactions, isComplete: false };
  }

  /** Kafka's sanity check: no entry ends before the segment starts. */
  sanityCheck(): void {
    for (const t of this.#load()) {
      if (t.lastOffset < this.baseOffset)
        throw new CorruptIndexError(
          `Last offset of aborted transaction ${t.lastOffset} in index ${this.file.path} is less than start offset ${this.baseOffset}`,
        );
    }
  }

  /** fsync what was written since the last flush (the segment flushes). */
  flush(): void {
    if (!this.#unsynced) return;
    if (existsSync(this.file.path)) this.file.sync();
    this.#unsynced = false;
  }

  close(): void {
    this.file.close();
  }
}
