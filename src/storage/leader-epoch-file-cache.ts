/**
 * LeaderEpochFileCache (KIP-101): the start offset of each leader epoch in this log, persisted to
 * `leader-epoch-checkpoint` ("0\n<count>\n<epoch> <startOffset>\n..."). Followers ask the leader for
 * the end offset of their latest epoch (OffsetForLeaderEpoch) and truncate to it.
 *
 * The log assigns an epoch before it writes the batch that carries it, so the checkpoint's latest epoch
 * is an upper bound for every epoch on disk; recovery uses that to reject a damaged epoch field.
 */
import { CorruptCheckpointError, readCheckpoint, writeCheckpoint } from './checkpoint-file.js';

export interface EpochEntry {
  epoch: number;
  startOffset: bigint;
}

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1n;

export class LeaderEpochFileCache {
  static readonly VERSION = 0;
  #epochs: EpochEntry[] = [];

  /** `path` null keeps the cache in memory only (tests). */
  constructor(readonly path: string | null) {}

  /**
   * Load from the checkpoint. Returns 'missing', 'loaded' or 'corrupt' (the cache is then empty and
   * the log rebuilds it from batch headers).
   */
  load(): 'missing' | 'loaded' | 'corrupt' {
    if (this.path === null) return 'missing';
    try {
      const lines = readCheckpoint(this.path, LeaderEpochFileCache.VERSION);
      if (lines === null) return 'missing';
      const entries: EpochEntry[] = [];
      for (const line of lines) {
        const m = /^(\d+) (\d+)$/.exec(line);
        if (!m) throw new CorruptCheckpointError(`${this.path}: bad line ${JSON.stringify(line)}`);
        const e = { epoch: Number(m[1]), startOffset: BigInt(m[2]!) };
        const prev = entries[entries.length - 1];
        if (prev && (e.epoch <= prev.epoch || e.startOffset < prev.startOffset)) {
          throw new CorruptCheckpointError(`${this.path}: entries out of order`);
        }
        entries.push(e);
      }
      this.#epochs = entries;
      return 'loaded';
    } catch (err) {
      if (err instanceof CorruptCheckpointError) {
        this.#epochs = [];
        return 'corrupt';
      }
      throw err;
    }
  }

  get entries(): readonly EpochEntry[] {
    return this.#epochs;
  }
  get latestEpoch(): number {
    return this.#epochs[this.#epochs.length - 1]?.epoch ?? UNDEFINED_EPOCH;
  }
  get latestEntry(): EpochEntry | undefined {
    return this.#epochs[this.#epochs.length - 1];
  }
  get earliestEntry(): EpochEntry | undefined {
    return this.#epochs[0];
  }

  /**
   * Record that `epoch` starts at `startOffset`. No-op for an undefined epoch or when it is already the
   * latest with an earlier start. Entries that this one supersedes (same or higher epoch, same or later
   * offset) are removed. Persisted when it changed. Returns whether it changed.
   */
  assign(epoch: number, startOffset: bigint, persist = true): boolean {
    if (epoch < 0) return false;
    const latest = this.latestEntry;
    if (latest && latest.epoch === epoch && latest.startOffset <= startOffset) return false;
    this.#epochs = this.#epochs.filter((e) => e.epoch < epoch && e.startOffset < startOffset);
    this.#epochs.push({ epoch, startOffset });
    if (persist) this.flush();
    return true;
  }

  /** Remove entries starting at or after `endOffset` (the log was truncated to it). */
  truncateFromEnd(endOffset: bigint): void {
    const kept = this.#epochs.filter((e) => e.startOffset < endOffset);
    if (kept.length === this.#epochs.length) return;
    this.#epochs = kept;
    this.flush();
  }

  /**
   * The log start moved to `startOffset`: drop epochs that end before it and move the start of the
   * epoch that contains it.
   */
  truncateFromStart(startOffset: bigint): void {
    let i = 0;
    while (i < this.#epochs.length && this.#epochs[i]!.startOffset < startOffset) i++;
    if (i === 0) return;
    const containing = this.#epochs[i - 1]!;
    this.#epochs = [{ epoch: containing.epoch, startOffset }, ...this.#epochs.slice(i)];
    this.flush();
  }

  clearAndFlush(): void {
    this.#epochs = [];
    this.flush();
  }

  /**
   * OffsetForLeaderEpoch: the largest epoch <= requested, and the offset where the next higher epoch
   * starts (or the log end for the latest epoch). (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET) when the
   * requested epoch is unknown and nothing higher exists.
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: bigint): { epoch: number; endOffset: bigint } {
    if (requestedEpoch === UNDEFINED_EPOCH || this.#epochs.length === 0) {
      return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    }
    if (requestedEpoch === this.latestEpoch) return { epoch: requestedEpoch, endOffset: logEndOffset };
    const higher = this.#epochs.find((e) => e.epoch > requestedEpoch);
    if (!higher) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    let floor: EpochEntry | undefined;
    for (const e of this.#epochs) if (e.epoch <= requestedEpoch) floor = e;
    return { epoch: floor ? floor.epoch : requestedEpoch, endOffset: higher.startOffset };
  }

  /** The epoch that wrote `offset`, or UNDEFINED_EPOCH. */
  epochForOffset(offset: bigint): number {
    let epoch = UNDEFINED_EPOCH;
    for (const e of this.#epochs) {
      if (e.startOffset <= offset) epoch = e.epoch;
      else break;
    }
    return epoch;
  }

  flush(): void {
    if (this.path === null) return;
    writeCheckpoint(
      this.path,
      LeaderEpochFileCache.VERSION,
      this.#epochs.map((e) => `${e.epoch} ${e.startOffset}`),
    );
  }
}
