/**
 * Checkpoint files, Kafka's text format (CheckpointFile.java):
 *
 *   <version>\n<count>\n<entry>\n...
 *
 * written atomically: a temporary file is written and fsynced, renamed over the old one, and the
 * directory fsynced, so a crash leaves either the old or the new file, never a mix.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TopicPartition } from './log-file-utils.js';

export class CorruptCheckpointError extends Error {
  override readonly name = 'CorruptCheckpointError';
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Write `data` (text as UTF-8) to `path` atomically; `syncDir: false` skips the directory fsync. */
export function writeFileAtomically(
  path: string,
  data: string | Buffer,
  opts: { syncDir?: boolean } = {},
): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let done = 0;
    while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done, done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  if (opts.syncDir ?? true) fsyncDir(dirname(path));
}

/** Write version, count and entry lines. */
export function writeCheckpoint(path: string, version: number, lines: string[]): void {
  writeFileAtomically(path, `${version}\n${lines.length}\n${lines.map((l) => `${l}\n`).join('')}`);
}

/**
 * Read entry lines; null when the file does not exist. Throws CorruptCheckpointError on a wrong
 * version, a wrong count, or trailing garbage.
 */
export function readCheckpoint(path: string, version: number): string[] | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length < 2 || lines[0] !== String(version)) {
    throw new CorruptCheckpointError(`${path}: bad version line ${JSON.stringify(lines[0])}`);
  }
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count !== lines.length - 2) {
    throw new CorruptCheckpointError(`${path}: expected ${lines[1]} entries, found ${lines.length - 2}`);
  }
  return lines.slice(2);
}

/**
 * OffsetCheckpointFile: "<topic> <partition> <offset>" per line, one file per log dir
 * (recovery-point-offset-checkpoint, log-start-offset-checkpoint, replication-offset-checkpoint).
 */
export class OffsetCheckpointFile {
  static readonly VERSION = 0;
  constructor(readonly path: string) {}

  write(offsets: Map<string, { tp: TopicPartition; offset: bigint }>): void {
    const lines = [...offsets.values()].map(({ tp, offset }) => `${tp.topic} ${tp.partition} ${offset}`);
    writeCheckpoint(this.path, OffsetCheckpointFile.VERSION, lines);
  }

  /** Keyed by "<topic>-<partition>". A corrupt file reads as empty: every value it held is a safe default. */
  read(): Map<string, bigint> {
    const out = new Map<string, bigint>();
    let lines: string[] | null;
    try {
      lines = readCheckpoint(this.path, OffsetCheckpointFile.VERSION);
    } catch (err) {
      if (err instanceof CorruptCheckpointError) return out;
      throw err;
    }
    for (const line of lines ?? []) {
      const m = /^(\S+) (\d+) (-?\d+)$/.exec(line);
      if (!m) return new Map();
      out.set(`${m[1]}-${m[2]}`, BigInt(m[3]!));
    }
    return out;
  }
}
