/**
 * OffsetIndex: the sparse `.index` of a segment, Kafka's format, 8-byte big-endian entries
 *
 *   0  4  relative offset: the LAST offset of the indexed batch − segment base offset
 *   4  4  file position of that batch (its first byte) in the .log
 *
 * One entry every index.interval.bytes of log (Kafka's LogSegment.append: before a batch is written,
 * when more than index.interval.bytes have been appended since the last entry, that batch is
 * indexed). lookup(offset) gives the last entry whose offset is at or below the target; the batch
 * holding the target starts at or after that entry's position, and the segment scans batch headers
 * forward from there. An entry can be checked against the batch header it points to (base offset +
 * last offset delta must equal it), so an index is never trusted blindly.
 */
import { AbstractIndex, CorruptIndexError } from './abstract-index.js';

export interface OffsetPosition {
  offset: bigint;
  position: number;
}

export class OffsetIndex extends AbstractIndex {
  readonly entrySize = 8;
  protected readonly relativeOffsetAt = 0;

  entry(i: number): OffsetPosition {
    const b = this.entryAt(i);
    return { offset: this.baseOffset + BigInt(b.readInt32BE(0)), position: b.readInt32BE(4) };
  }

  lastEntry(): OffsetPosition {
    const n = this.entries;
    return n === 0 ? { offset: this.baseOffset, position: 0 } : this.entry(n - 1);
  }

  /** The last entry with offset <= target, or the segment start. */
  lookup(target: bigint): OffsetPosition {
    const raw = this.raw();
    const i = this.largestLowerBound(target, (k) => this.baseOffset + BigInt(raw.readInt32BE(k * 8)));
    return i < 0 ? { offset: this.baseOffset, position: 0 } : this.entry(i);
  }

  append(offset: bigint, position: number): void {
    const rel = offset - this.baseOffset;
    const last = this.entries > 0 ? this.lastEntry() : null;
    if (last && (offset <= last.offset || position <= last.position)) {
      throw new Error(
        `offset index entry (${offset}, ${position}) is not after (${last.offset}, ${last.position})`,
      );
    }
    this.appendEntry((b, at) => {
      b.writeInt32BE(Number(rel), at);
      b.writeInt32BE(position, at + 4);
    });
  }

  /** Remove entries for offsets >= offset (Kafka's OffsetIndex.truncateTo). */
  truncateTo(offset: bigint): void {
    const raw = this.raw();
    const i = this.largestLowerBound(offset - 1n, (k) => this.baseOffset + BigInt(raw.readInt32BE(k * 8)));
    this.truncateToEntries(i + 1);
  }

  sanityCheck(logSize: number, nextOffset: bigint | null): void {
    const n = this.entries;
    let prevRel = -1;
    let prevPos = -1;
    for (let i = 0; i < n; i++) {
      const b = this.entryAt(i);
      const rel = b.readInt32BE(0);
      const pos = b.readInt32BE(4);
      if (rel <= prevRel || pos <= prevPos || pos >= logSize || rel < 0) {
        throw new CorruptIndexError(
          `${this.file.path}: entry ${i} (${rel}, ${pos}) is out of order or past the log`,
        );
      }
      if (nextOffset !== null && this.baseOffset + BigInt(rel) >= nextOffset) {
        throw new CorruptIndexError(`${this.file.path}: entry ${i} offset is past the segment end`);
      }
      prevRel = rel;
      prevPos = pos;
    }
  }
}
