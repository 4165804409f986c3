/**
 * Protocol-layer hot paths: CRC-32C (checked on every append and on recovery) and parsing whole
 * uncompressed batches (validate + iterate records), both in GB/s of input.
 */
import { crc32c } from '@node-rs/crc32';
import { randomBytes } from 'node:crypto';
import type { BenchResult } from '../main.js';
import { validateBatch } from '../../src/protocol/records/batch-header.js';
import { decodeRecordBatchSync } from '../../src/protocol/records/batch.js';
import { validateRecordBatchForAppend } from '../../src/protocol/records/validate.js';
import { buildRecordBatch } from '../../src/protocol/records/build.js';

export const name = 'protocol';
export const description =
  'CRC-32C over 1 MiB buffers; validate + decode uncompressed batches of 1 KiB records';

/** Run `fn` repeatedly for about `ms`, after a warm-up; returns bytes per second. */
function throughput(bytesPerCall: number, fn: () => void, ms = 1500): number {
  const warm = performance.now() + 200;
  while (performance.now() < warm) fn();
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 8; i++) fn();
    calls += 8;
    now = performance.now();
  }
  return (calls * bytesPerCall) / ((now - start) / 1000);
}

export async function run(): Promise<BenchResult[]> {
  const mib = randomBytes(1024 * 1024);
  let sink = 0;
  const crc = throughput(mib.length, () => {
    sink ^= crc32c(mib);
  });

  // ~1 MiB batch of 1 KiB values (what a busy producer sends per partition).
  const records = Array.from({ length: 1000 }, (_, i) => ({
    key: `key-${i}`,
    value: randomBytes(1024),
    timestamp: 1_700_000_000_000n + BigInt(i),
  }));
  const batch = buildRecordBatch(records);
  const validateOnly = throughput(batch.length, () => {
    sink ^= validateBatch(batch);
  });
  const parse = throughput(batch.length, () => {
    sink ^= decodeRecordBatchSync(batch).records.length;
  });
  // What the broker runs on every produced batch (CRC, counts, offset deltas, keys, timestamps).
  let appendBytes = 0;
  const appendStart = performance.now();
  while (performance.now() - appendStart < 1000) {
    const v = await validateRecordBatchForAppend(batch);
    if (v.ok) appendBytes += v.batch.size;
  }
  const append = appendBytes / ((performance.now() - appendStart) / 1000);
  if (sink === 0.5) console.log(sink); // keep the work observable

  return [
    { scenario: name, metric: 'crc32c 1 MiB', value: crc / 1e9, unit: 'GB/s' },
    {
      scenario: name,
      metric: `validate batch (CRC, ${batch.length} B)`,
      value: validateOnly / 1e9,
      unit: 'GB/s',
    },
    {
      scenario: name,
      metric: 'validate + decode records (1000 x 1 KiB)',
      value: parse / 1e9,
      unit: 'GB/s',
      note: `${(((parse / batch.length) * 1000) / 1e6).toFixed(2)} M records/s`,
    },
    {
      scenario: name,
      metric: 'append validation (broker produce path)',
      value: append / 1e9,
      unit: 'GB/s',
      note: `${(((append / batch.length) * 1000) / 1e6).toFixed(2)} M records/s`,
    },
  ];
}
