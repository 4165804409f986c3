/**
 * Common part of OffsetIndex and TimeIndex. Kafka memory-maps preallocated index files; Node cannot
 * mmap, so the entries live in a growable in-memory Buffer laid out exactly as the file, loaded lazily
 * on first use. New entries are written to the file on flush() and close() only (not per append): after
 * a clean shutdown the file is complete, and after a crash every index past the recovery point is rebuilt
 * from the log anyway, so writing eagerly would buy nothing.
 *
 * Indexes are not checksummed. On load each is sanity-checked (whole entries, strictly increasing,
 * inside the segment); a failing index is reported as corrupt and rebuilt by its LogSegment.
 */
import { existsSync } from 'node:fs';
import type { PooledFile } from './file-handle-pool.js';

export class CorruptIndexError extends Error {
  override readonly name = 'CorruptIndexError';
}

export abstract class AbstractIndex {
  abstract readonly entrySize: number;
  #buf: Buffer = Buffer.alloc(0);
  #count = 0;
  /** Entries already in the file. */
  #persisted = 0;
  #loaded = false;

  constructor(
    readonly file: PooledFile,
    readonly baseOffset: bigint,
    readonly maxIndexSize: number,
  ) {}

  get maxEntries(): number {
    return Math.floor(this.maxIndexSize / this.entrySize);
  }
  get entries(): number {
    this.ensureLoaded();
    return this.#count;
  }
  get isFull(): boolean {
    return this.entries >= this.maxEntries;
  }
  get sizeInBytes(): number {
    return this.entries * this.entrySize;
  }
  get isLoaded(): boolean {
    return this.#loaded;
  }

  /** Start empty without reading the file (new segment, or before a rebuild). */
  reset(): void {
    this.#buf = Buffer.alloc(this.entrySize * 8);
    this.#count = 0;
    this.#persisted = 0;
    this.#loaded = true;
    // A new segment's index file is created by its first flush; only empty one that is already there.
    if (this.file.isOpen || existsSync(this.file.path)) this.file.truncate(0);
  }

  /** Load from the file; throws CorruptIndexError when the file fails the sanity check. */
  ensureLoaded(): void {
    if (this.#loaded) return;
    const size = this.file.size();
    if (size % this.entrySize !== 0) {
      throw new CorruptIndexError(`${this.file.path}: size ${size} is not a multiple of ${this.entrySize}`);
    }
    if (size > this.maxIndexSize) {
      throw new CorruptIndexError(`${this.file.path}: size ${size} exceeds ${this.maxIndexSize}`);
    }
    const data = this.file.read(0, size);
    this.#buf = Buffer.alloc(Math.max(size, this.entrySize * 8));
    data.copy(this.#buf);
    this.#count = size / this.entrySize;
    this.#persisted = this.#count;
    this.#loaded = true;
  }

  protected entryAt(i: number): Buffer {
    return this.#buf.subarray(i * this.entrySize, (i + 1) * this.entrySize);
  }

  protected appendEntry(write: (b: Buffer, at: number) => void): void {
    this.ensureLoaded();
    const at = this.#count * this.entrySize;
    if (at + this.entrySize > this.#buf.length) {
      const bigger = Buffer.alloc(
        Math.min(Math.max(this.#buf.length * 2, this.entrySize * 8), this.maxIndexSize + this.entrySize),
      );
      this.#buf.copy(bigger, 0, 0, at);
      this.#buf = bigger;
    }
    write(this.#buf, at);
    this.#count++;
  }

  /** Keep the first `n` entries. */
  protected truncateToEntries(n: number): void {
    this.ensureLoaded();
    if (n >= this.#count) return;
    this.#count = n;
    if (this.#persisted > n) {
      this.#persisted = n;
      this.file.truncate(n * this.entrySize);
    }
  }

  /** Binary search: index of the last entry whose key <= target, or -1. */
  protected largestLowerBound(target: bigint, keyOf: (i: number) => bigint): number {
    this.ensureLoaded();
    let lo = 0;
    let hi = this.#count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (keyOf(mid) <= target) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  protected raw(): Buffer {
    return this.#buf;
  }

  /** Write entries not yet in the file; fsync when asked. */
  flush(sync: boolean): void {
    if (!this.#loaded) return;
    if (this.#persisted < this.#count) {
      const from = this.#persisted * this.entrySize;
      this.file.write(this.#buf.subarray(from, this.#count * this.entrySize), from);
      this.#persisted = this.#count;
      if (sync) this.file.sync();
    }
  }

  /** Drop the in-memory copy of a fully persisted index (inactive segments); it reloads on demand. */
  unload(): void {
    if (!this.#loaded || this.#persisted < this.#count) return;
    this.#buf = Buffer.alloc(0);
    this.#count = 0;
    this.#persisted = 0;
    this.#loaded = false;
  }

  abstract sanityCheck(logSize: number, nextOffset: bigint | null): void;
}
