/**
 * Common part of OffsetIndex and TimeIndex: the file layout and lifecycle of Kafka's AbstractIndex.
 *
 * On disk an index is a sequence of fixed-size entries (big-endian), exactly as Kafka writes them.
 * While its segment takes appends (the active segment) the file is preallocated, as Kafka's is, to
 * segment.index.bytes rounded down to a whole number of entries; the unused tail is zeros (a sparse
 * file, so it costs no disk blocks). When the segment stops taking appends — it is rolled, or the log
 * is closed cleanly — the file is trimmed to exactly its entries. A segment opened again after a
 * restart is preallocated again when it takes its next append (Kafka resizes the active segment's
 * indexes when it loads the log; Sluice does it on first use, so that opening 10,000 partitions costs
 * no I/O).
 *
 * How many entries a file holds is read from its data, not its size: entry 0 is an entry unless it
 * is all zeros, and any later entry whose relative offset is 0 is the first unused slot (relative
 * offsets strictly increase from entry to entry, so only a zero tail has that). This is the rule
 * Kafka's DumpLogSegments uses on a preallocated file; Kafka's own AbstractIndex counts the whole file
 * and relies on recovery resetting the indexes of the active segment after a crash. Sluice does both.
 *
 * Kafka memory-maps index files; Node cannot mmap, so the entries live in a growable in-memory Buffer
 * laid out exactly as the file, loaded lazily on first use. New entries reach the file when the
 * segment flushes, rolls or closes, and periodically (LogManager's flush-check timer, every second,
 * writes pending entries of every active segment) so tools reading a running broker's files see
 * them, as they see Kafka's mmap. They are fsynced only with the log (flush): after a crash every index
 * past the recovery point is rebuilt from the log anyway.
 *
 * Indexes are not checksummed. On load each is sanity-checked (strictly increasing, inside the
 * segment); a failing index is reported as corrupt and rebuilt by its LogSegment.
 */
import { existsSync } from 'node:fs';
import type { PooledFile } from './file-handle-pool.js';

export class CorruptIndexError extends Error {
  override readonly name = 'CorruptIndexError';
}

/** Files up to this size are read whole on load; larger (preallocated) ones are searched for their end. */
const READ_WHOLE_LIMIT = 64 * 1024;

export abstract class AbstractIndex {
  abstract readonly entrySize: number;
  /** Byte position of the 4-byte relative offset inside an entry (0 in .index, 8 in .timeindex). */
  protected abstract readonly relativeOffsetAt: number;
  #buf: Buffer = Buffer.alloc(0);
  #count = 0;
  /** Entries already written to the file (not necessarily fsynced). */
  #written = 0;
  /** The file changed (entries, zeros or its size) since the last fsync. */
  #unsynced = false;
  /** The file is preallocated to the maximum size (its segment takes appends). */
  #preallocated = false;
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
  /** The file is preallocated to segment.index.bytes (rounded down to whole entries). */
  get isPreallocated(): boolean {
    return this.#preallocated;
  }

  /** Start empty without reading the file (new segment, or before a rebuild); the file is emptied. */
  reset(): void {
    this.#buf = Buffer.alloc(this.entrySize * 8);
    this.#count = 0;
    this.#written = 0;
    this.#loaded = true;
    this.#preallocated = false;
    if (this.file.isOpen || existsSync(this.file.path)) {
      this.file.truncate(0);
      this.#unsynced = true;
    }
  }

  /**
   * Grow the file to its maximum size (segment.index.bytes rounded down to whole entries), as Kafka
   * creates the index of an active segment. Entries already in the file stay; the rest is zeros.
   */
  preallocate(): void {
    this.ensureLoaded();
    if (this.#preallocated) return;
    const slots = Math.max(this.maxEntries, this.#written);
    this.file.truncate(slots * this.entrySize);
    this.#preallocated = true;
    this.#unsynced = true;
  }

  /**
   * Write pending entries and cut the file to exactly its entries (Kafka's trimToValidSize: on roll
   * and on close). A no-op for an index that is not loaded: its file was never grown by this process.
   */
  trimToValidSize(): boolean {
    if (!this.#loaded) return false;
    this.flush(false);
    if (!this.#preallocated) return false;
    this.file.truncate(this.#count * this.entrySize);
    this.#preallocated = false;
    this.#unsynced = true;
    return true;
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
    const slots = size / this.entrySize;
    let data: Buffer;
    let n: number;
    if (size <= READ_WHOLE_LIMIT) {
      data = this.file.read(0, size);
      n = this.#countEntries(slots, (i) => data.subarray(i * this.entrySize, (i + 1) * this.entrySize));
    } else {
      n = this.#countEntries(slots, (i) => this.file.read(i * this.entrySize, this.entrySize));
      data = this.file.read(0, n * this.entrySize);
    }
    this.#buf = Buffer.alloc(Math.max(n * this.entrySize, this.entrySize * 8));
    data.copy(this.#buf, 0, 0, n * this.entrySize);
    this.#count = n;
    this.#written = n;
    this.#preallocated = n < slots;
    this.#loaded = true;
  }

  /**
   * Entries before the first unused slot: slot 0 is unused when all zeros, a later slot when its
   * relative offset is 0. Binary search, since used slots come first (O(log n) reads of a large file).
   */
  #countEntries(slots: number, slot: (i: number) => Buffer): number {
    if (slots === 0) return 0;
    if (slot(0).every((b) => b === 0)) return 0;
    const unused = (i: number): boolean => slot(i).readInt32BE(this.relativeOffsetAt) === 0;
    let lo = 1;
    let hi = slots;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (unused(mid)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
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

  /**
   * Keep the first `n` entries. Entries already in a preallocated file are overwritten with zeros, so
   * the file stays "entries, then zeros" for anyone reading it; a trimmed file is cut.
   */
  protected truncateToEntries(n: number): void {
    this.ensureLoaded();
    if (n >= this.#count) return;
    this.#count = n;
    if (this.#written > n) {
      if (this.#preallocated) {
        this.file.write(Buffer.alloc((this.#written - n) * this.entrySize), n * this.entrySize);
      } else {
        this.file.truncate(n * this.entrySize);
      }
      this.#written = n;
      this.#unsynced = true;
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

  /** Entries appended but not yet written to the file. */
  get pendingEntries(): number {
    return this.#loaded ? this.#count - this.#written : 0;
  }

  /** Write entries not yet in the file; with `sync`, fsync whatever changed since the last fsync. */
  flush(sync: boolean): void {
    if (!this.#loaded) return;
    if (this.#written < this.#count) {
      const from = this.#written * this.entrySize;
      this.file.write(this.#buf.subarray(from, this.#count * this.entrySize), from);
      this.#written = this.#count;
      this.#unsynced = true;
    }
    if (sync && this.#unsynced) {
      this.file.sync();
      this.#unsynced = false;
    }
  }

  /** Drop the in-memory copy of a fully written, trimmed index (inactive segments); it reloads on demand. */
  unload(): void {
    if (!this.#loaded || this.#written < this.#count || this.#preallocated) return;
    this.#buf = Buffer.alloc(0);
    this.#count = 0;
    this.#written = 0;
    this.#loaded = false;
  }

  abstract sanityCheck(logSize: number, nextOffset: bigint | null): void;
}
