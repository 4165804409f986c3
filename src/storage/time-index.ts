/**
 * TimeIndex: the sparse `.timeindex` of a segment, Kafka's format, 12-byte big-endian entries
 *
 *   0  8  timestamp: the largest batch MaxTimestamp seen so far in the segment
 *   8  4  relative offset: the LAST offset of the first batch that carried that timestamp
 *
 * An entry is considered whenever an offset index entry is added, and once more when the segment
 * stops taking appends (Kafka's LogSegment.append and onBecomeInactiveSegment, with
 * maxTimestampAndOffsetSoFar), and only added when the maximum grew: timestamps strictly increase
 * from entry to entry, so every batch before an entry's batch has MaxTimestamp < that entry's
 * timestamp. offset-for-timestamp starts its scan at the last entry whose timestamp is below the
 * target.
 */
import { AbstractIndex, CorruptIndexError } from './abstract-index.js';

export interface TimestampOffset {
  timestamp: bigint;
  offset: bigint;
}

export class TimeIndex extends AbstractIndex {
  readonly entrySize = 12;
  protected readonly relativeOffsetAt = 8;

  entry(i: number): TimestampOffset {
    const b = this.entryAt(i);
    return { timestamp: b.readBigInt64BE(0), offset: this.baseOffset + BigInt(b.readInt32BE(8)) };
  }

  lastEntry(): TimestampOffset | null {
    const n = this.entries;
    return n === 0 ? null : this.entry(n - 1);
  }

  /** The last entry with timestamp < target (strictly), or null: scan from the segment start. */
  lookupBelow(target: bigint): TimestampOffset | null {
    const raw = this.raw();
    const i = this.largestLowerBound(target - 1n, (k) => raw.readBigInt64BE(k * 12));
    return i < 0 ? null : this.entry(i);
  }

  /**
   * Add (timestamp, offset) when the timestamp is above the last entry's (above -1, Kafka's
   * NO_TIMESTAMP, for an empty index, whose last entry Kafka reads as (-1, base offset)).
   */
  maybeAppend(timestamp: bigint, offset: bigint): void {
    const last = this.lastEntry();
    if (
      last ? timestamp <= last.timestamp || offset < last.offset : timestamp < 0n || offset < this.baseOffset
    )
      return;
    this.appendEntry((b, at) => {
      b.writeBigInt64BE(timestamp, at);
      b.writeInt32BE(Number(offset - this.baseOffset), at + 8);
    });
  }

  /** Remove entries for offsets >= offset. */
  truncateTo(offset: bigint): void {
    const n = this.entries;
    let keep = n;
    while (keep > 0 && this.entry(keep - 1).offset >= offset) keep--;
    this.truncateToEntries(keep);
  }

  sanityCheck(_logSize: number, nextOffset: bigint | null): void {
    const n = this.entries;
    let prevTs = -1n << 63n;
    let prevRel = -1;
    for (let i = 0; i < n; i++) {
      const b = this.entryAt(i);
      const ts = b.readBigInt64BE(0);
      const rel = b.readInt32BE(8);
      if (ts <= prevTs || rel < prevRel || rel < 0) {
        throw new CorruptIndexError(`${this.file.path}: entry ${i} (${ts}, ${rel}) is out of order`);
      }
      if (nextOffset !== null && this.baseOffset + BigInt(rel) >= nextOffset) {
        throw new CorruptIndexError(`${this.file.path}: entry ${i} offset is past the segment end`);
      }
      prevTs = ts;
      prevRel = rel;
    }
  }
}
