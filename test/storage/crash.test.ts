/**
 * Crash test with real processes: a child appends and reports each acknowledged batch; it is killed
 * with SIGKILL at a random moment; then the tail of the last segment is cut or overwritten at a random
 * byte position (or left alone). After restart the log must open, serve every batch before the damage
 * byte-for-byte, serve nothing from the first bad byte on, and continue appending at the right offset.
 * Repeated over several rounds on the same directory, alternating clean and unclean parent closes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateBatch } from '../../src/protocol/records/batch-header.js';
import { DEFAULT_LOG_CONFIG, LogManager } from '../../src/storage/index.js';
import { makeBatch, splitBatches, tempDir } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/crash-appender.ts', import.meta.url));
const ROUNDS = 8;

function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

/** Run the child until it has printed `ready` and at least a few lines, wait `delayMs`, SIGKILL it. */
async function runAndKill(
  dir: string,
  seed: number,
  epoch: number,
  delayMs: number,
): Promise<Map<bigint, Buffer>> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', FIXTURE, dir, String(seed), String(epoch)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    const deadline = Date.now() + 30_000;
    while (!/ready \d+\n/.test(out)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`child failed to start: ${err}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, delayMs));
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  const acked = new Map<bigint, Buffer>();
  for (const line of out.split('\n').slice(0, -1)) {
    if (!line.startsWith('{')) continue;
    const { o, b } = JSON.parse(line) as { o: string; b: string };
    acked.set(BigInt(o), Buffer.from(b, 'base64'));
  }
  return acked;
}

describe('crash recovery with SIGKILL and a damaged tail', () => {
  it(`survives ${ROUNDS} kill/damage/restart rounds`, async () => {
    const t = tempDir();
    const rand = rng(Number(process.env.CRASH_SEED ?? Date.now() % 1e9));
    const partDir = join(t.path, 'crash-0');
    const config = { ...DEFAULT_LOG_CONFIG, segmentBytes: 48 * 1024, indexIntervalBytes: 512 };
    /** Every batch ever acknowledged and not lost to damage, by base offset. */
    const known = new Map<bigint, Buffer>();
    const summary: string[] = [];
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        const epoch = round;
        const acked = await runAndKill(t.path, 1 + rand(1e9), epoch, 20 + rand(400));
        for (const [o, b] of acked) known.set(o, b);

        // What is on disk right now, segment by segment.
        const logs = readdirSync(partDir)
          .filter((f) => f.endsWith('.log'))
          .sort();
        const lastName = logs[logs.length - 1]!;
        const lastPath = join(partDir, lastName);
        const earlier = Buffer.concat(logs.slice(0, -1).map((f) => readFileSync(join(partDir, f))));
        const lastBytes = readFileSync(lastPath);
        const lastBase = BigInt(lastName.slice(0, 20));

        // Damage the tail of the last segment.
        const mode = ['cut', 'overwrite', 'none'][rand(3)]!;
        let p = lastBytes.length;
        if (mode !== 'none') {
          p = Math.max(0, lastBytes.length - rand(Math.min(lastBytes.length, 6000) + 1));
          if (mode === 'cut') truncateSync(lastPath, p);
          else {
            // At least 22 bytes, so the damage reaches a CRC-covered byte of the batch it starts in
            // (only BaseOffset and PartitionLeaderEpoch are outside the CRC; see the report).
            const len = 22 + rand(300);
            const garbage = Buffer.from(lastBytes.subarray(p, p + len));
            const damaged = Buffer.alloc(len);
            for (let i = 0; i < len; i++) damaged[i] = (garbage[i] ?? 0) ^ (1 + rand(255));
            const whole = Buffer.concat([lastBytes.subarray(0, p), damaged, lastBytes.subarray(p + len)]);
            writeFileSync(lastPath, whole);
          }
        }
        // Whole valid batches of the last segment that end at or before the first bad byte.
        let good = 0;
        let expectedLeo = lastBase;
        for (const b of splitBatches(lastBytes)) {
          if (good + b.length > p) break;
          validateBatch(b);
          good += b.length;
          expectedLeo = b.readBigInt64BE(0) + BigInt(b.readInt32BE(23)) + 1n;
        }
        const expected = Buffer.concat([earlier, lastBytes.subarray(0, good)]);

        const manager = new LogManager({ logDirs: [t.path], defaultConfig: config, maxOpenFiles: 16 });
        manager.startup({ background: false });
        const log = manager.getLog('crash', 0)!;
        expect(log).toBeDefined();
        expect(log.logEndOffset).toBe(expectedLeo);

        // Everything served equals the files up to the first bad byte, nothing more.
        const served: Buffer[] = [];
        let off = log.logStartOffset;
        while (off < log.logEndOffset) {
          const bs = splitBatches(log.read(off, { maxBytes: 64 * 1024 }).records);
          expect(bs.length).toBeGreaterThan(0);
          served.push(...bs);
          const last = bs[bs.length - 1]!;
          off = last.readBigInt64BE(0) + BigInt(last.readInt32BE(23)) + 1n;
        }
        const servedAll = Buffer.concat(served);
        expect(servedAll.length).toBe(expected.length);
        expect(servedAll.equals(expected)).toBe(true);

        // Every acknowledged batch before the damage reads back byte-for-byte at its offset.
        const byOffset = new Map(served.map((b) => [b.readBigInt64BE(0), b] as const));
        let checked = 0;
        for (const [o, b] of [...known]) {
          if (o >= expectedLeo) {
            known.delete(o); // lost to the damage: may be rewritten by later appends
            continue;
          }
          const got = byOffset.get(o);
          expect(got, `acked batch at ${o}`).toBeDefined();
          expect(got!.equals(b)).toBe(true);
          checked++;
        }

        // Appends continue at the right offset.
        const next = makeBatch(2, 30);
        const info = log.append(next, { leaderEpoch: epoch });
        expect(info.firstOffset).toBe(expectedLeo);
        expect(log.read(expectedLeo, { maxBytes: 1 }).records.equals(next)).toBe(true);
        known.set(info.firstOffset, Buffer.from(next));
        summary.push(
          `round ${round}: acked ${acked.size}, ${mode} at ${p}/${lastBytes.length} of ${lastName}, leo ${expectedLeo}, verified ${checked}`,
        );
        if (round % 2 === 0) manager.shutdown();
        else manager.abandon();
      }
      console.log(`crash test\n  ${summary.join('\n  ')}`);
    } finally {
      t.cleanup();
    }
  }, 120_000);
});
