import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRecordBatch } from '../../src/protocol/records/build.js';

export function tempDir(prefix = 'sluice-storage-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A batch of `count` records with `valueSize`-byte values and the given timestamp. */
export function makeBatch(count: number, valueSize = 10, timestamp = BigInt(Date.now()), seed = 0): Buffer {
  const records = [];
  for (let i = 0; i < count; i++) {
    const v = Buffer.alloc(valueSize, (seed + i) & 0xff);
    records.push({ key: `k${seed}-${i}`, value: v, timestamp: timestamp + BigInt(i) });
  }
  return buildRecordBatch(records);
}

/** Split raw bytes into whole batches (a trailing partial batch is dropped). */
export function splitBatches(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos + 12 <= buf.length) {
    const size = buf.readInt32BE(pos + 8) + 12;
    if (pos + size > buf.length) break;
    out.push(buf.subarray(pos, pos + size));
    pos += size;
  }
  return out;
}
