/**
 * Storage engine throughput: UnifiedLog append and read of 1 KiB records in 16 KiB and 1 MiB batches,
 * next to a plain sequential file write/read of the same bytes with the same chunk sizes, in the same
 * run on the same disk (ratio = log / plain). Appends include CRC-32C validation and offset stamping;
 * neither side fsyncs (Kafka's default), so both measure the page cache path.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRecordBatch } from '../../src/protocol/records/build.js';
import { DEFAULT_LOG_CONFIG, FileHandlePool, UnifiedLog } from '../../src/storage/index.js';
import type { BenchResult } from '../main.js';

export const name = 'storage';
export const description =
  'UnifiedLog append/read MB/s for 1 KiB records in 16 KiB and 1 MiB batches vs plain sequential file I/O';

const TOTAL = 256 * 1024 * 1024;
const MB = 1e6;

function batchOf(records: number): Buffer {
  const value = Buffer.alloc(1024 - 30, 7);
  return buildRecordBatch(Array.from({ length: records }, (_, i) => ({ key: `key-${i}`, value })));
}

function plainWriteRead(dir: string, batch: Buffer, count: number): { write: number; read: number } {
  const path = join(dir, 'plain.bin');
  const fd = openSync(path, 'w+');
  let t = process.hrtime.bigint();
  let pos = 0;
  for (let i = 0; i < count; i++) {
    writeSync(fd, batch, 0, batch.length, pos);
    pos += batch.length;
  }
  const write = pos / MB / (Number(process.hrtime.bigint() - t) / 1e9);
  t = process.hrtime.bigint();
  let rpos = 0;
  while (rpos < pos) {
    const buf = Buffer.allocUnsafe(batch.length);
    rpos += readSync(fd, buf, 0, batch.length, rpos);
  }
  const read = rpos / MB / (Number(process.hrtime.bigint() - t) / 1e9);
  closeSync(fd);
  rmSync(path);
  return { write, read };
}

function logWriteRead(
  dir: string,
  batch: Buffer,
  count: number,
  label: string,
): { write: number; read: number } {
  const log = UnifiedLog.load({
    dir: join(dir, `bench-${label}`),
    topicPartition: { topic: 'bench', partition: 0 },
    config: { ...DEFAULT_LOG_CONFIG, maxMessageBytes: 4 * 1024 * 1024 },
    pool: new FileHandlePool(64),
    hadCleanShutdown: true,
  });
  let t = process.hrtime.bigint();
  for (let i = 0; i < count; i++) log.append(batch, { leaderEpoch: 0 });
  const write = log.size / MB / (Number(process.hrtime.bigint() - t) / 1e9);
  t = process.hrtime.bigint();
  let off = 0n;
  let bytes = 0;
  while (off < log.logEndOffset) {
    const r = log.read(off, { maxBytes: batch.length });
    bytes += r.records.length;
    off =
      r.records.readBigInt64BE(r.records.length - batch.length) +
      BigInt(r.records.readInt32BE(r.records.length - batch.length + 23)) +
      1n;
  }
  const read = bytes / MB / (Number(process.hrtime.bigint() - t) / 1e9);
  log.close();
  rmSync(log.dir, { recursive: true, force: true });
  return { write, read };
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-storage-'));
  const results: BenchResult[] = [];
  try {
    for (const [label, records] of [
      ['16KiB', 16],
      ['1MiB', 1024],
    ] as const) {
      const batch = batchOf(records);
      const count = Math.floor(TOTAL / batch.length);
      // Alternate plain and log runs and keep the best of two, to blunt noise from a shared machine.
      const plain = [plainWriteRead(dir, batch, count), plainWriteRead(dir, batch, count)];
      const log = [
        logWriteRead(dir, batch, count, `${label}-a`),
        logWriteRead(dir, batch, count, `${label}-b`),
      ];
      const best = (xs: { write: number; read: number }[], k: 'write' | 'read'): number =>
        Math.max(...xs.map((x) => x[k]));
      const pw = best(plain, 'write');
      const pr = best(plain, 'read');
      results.push(
        {
          scenario: name,
          metric: `append 1KiB records, ${label} batches`,
          value: best(log, 'write'),
          unit: 'MB/s',
          reference: pw,
          note: 'vs plain file write',
        },
        {
          scenario: name,
          metric: `read 1KiB records, ${label} batches`,
          value: best(log, 'read'),
          unit: 'MB/s',
          reference: pr,
          note: 'vs plain file read',
        },
        { scenario: name, metric: `plain sequential write, ${label} chunks`, value: pw, unit: 'MB/s' },
        { scenario: name, metric: `plain sequential read, ${label} chunks`, value: pr, unit: 'MB/s' },
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
