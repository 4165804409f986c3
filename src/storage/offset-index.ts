/**
 * OffsetIndex: the sparse `.index` of a segment, 8-byte entries
 *
 *   0  4  relative offset (batch base offset − segment base offset)
 *   4  4  file position of that batch in the .log
 *
 * One entry every index.interval.bytes of log. lookup(offset) gives the last entry at or below an
 * offset, and the segment scans batch headers forward from there. Unlike Kafka (which indexes a batch's
 * last offset) an entry names the batch's base offset, so a lookup can be checked against the batch
 * header it points to — an index is never trusted blindly.
 */
import { AbstractIndex, CorruptIndexError } from './abstract-index.js';

export interface OffsetPosition {
  offset: bigint;
  position: number;
}

export class OffsetIndex extends AbstractIndex {
  readonly entrySize = 8;

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

  /** Remove entries for offsets >= offset. */
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
