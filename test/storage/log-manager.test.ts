import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LOG_CONFIG, LogManager } from '../../src/storage/index.js';
import { makeBatch, tempDir } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function dirs(n: number): string[] {
  return Array.from({ length: n }, () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    return t.path;
  });
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

describe('LogManager', () => {
  it('spreads partitions over log dirs, writes checkpoints and the clean-shutdown marker, reloads', () => {
    const logDirs = dirs(2);
    const m = new LogManager({ logDirs, maxOpenFiles: 32 });
    m.startup({ background: false });
    for (let p = 0; p < 4; p++) {
      const log = m.getOrCreateLog('my-topic', p);
      log.append(makeBatch(p + 1), { leaderEpoch: 2 });
      log.updateHighWatermark(log.logEndOffset);
    }
    expect(readdirSync(logDirs[0]!).filter((f) => f.startsWith('my-topic-')).length).toBe(2);
    expect(readdirSync(logDirs[1]!).filter((f) => f.startsWith('my-topic-')).length).toBe(2);
    m.shutdown();
    for (const d of logDirs) {
      expect(existsSync(join(d, '.kafka_cleanshutdown'))).toBe(true);
      expect(readFileSync(join(d, 'recovery-point-offset-checkpoint'), 'utf8')).toMatch(
        /^0\n2\nmy-topic \d \d+\n/,
      );
    }
    const leaderEpochs = readFileSync(
      join(
        logDirs[0]!,
        readdirSync(logDirs[0]!).find((f) => f.startsWith('my-topic-'))!,
        'leader-epoch-checkpoint',
      ),
      'utf8',
    );
    expect(leaderEpochs).toBe('0\n1\n2 0\n');

    const again = new LogManager({ logDirs, maxOpenFiles: 32 });
    again.startup({ background: false });
    expect(existsSync(join(logDirs[0]!, '.kafka_cleanshutdown'))).toBe(false);
    expect(again.logCount).toBe(4);
    for (let p = 0; p < 4; p++) {
      const log = again.getLog('my-topic', p)!;
      expect(log.logEndOffset).toBe(BigInt(p + 1));
      expect(log.highWatermark).toBe(BigInt(p + 1));
      expect(log.recoveryPoint).toBe(BigInt(p + 1));
    }
    expect(again.deleteLog('my-topic', 1)).toBe(true);
    expect(again.getLog('my-topic', 1)).toBeUndefined();
    again.shutdown();
    expect(
      readdirSync(logDirs[0]!)
        .concat(readdirSync(logDirs[1]!))
        .some((f) => f.startsWith('my-topic-1')),
    ).toBe(false);
  });

  it('background retention by time deletes old segments; group commit fsyncs for flush.messages=1', async () => {
    let now = 10_000_000;
    const m = new LogManager({
      logDirs: dirs(1),
      defaultConfig: { ...DEFAULT_LOG_CONFIG, segmentBytes: 400, retentionMs: 1000, fileDeleteDelayMs: 0 },
      topicConfig: (t) => (t === 'durable' ? { ...DEFAULT_LOG_CONFIG, flushMessages: 1 } : undefined),
      time: () => now,
    });
    m.startup({ background: false });
    const log = m.getOrCreateLog('old', 0);
    for (let i = 0; i < 10; i++) log.append(makeBatch(2, 40, BigInt(now)));
    log.updateHighWatermark(log.logEndOffset);
    const before = log.numberOfSegments;
    expect(m.cleanupLogs(now)).toBe(0);
    now += 5000;
    expect(m.cleanupLogs(now)).toBe(before - 1);
    expect(log.logStartOffset).toBe(log.activeSegment.baseOffset);

    const durable = m.getOrCreateLog('durable', 0);
    const acks = [];
    for (let i = 0; i < 20; i++)
      acks.push(durable.waitForFlush(durable.append(makeBatch(1)).lastOffset + 1n));
    expect(durable.recoveryPoint).toBe(0n);
    await Promise.all(acks);
    expect(durable.recoveryPoint).toBe(20n);
    m.shutdown();
  });

  it('10,000 partitions open, append and read within a bounded number of file descriptors', async () => {
    // The work is synchronous: yield to the event loop now and then, or the test worker cannot answer
    // vitest's RPC for tens of seconds on a busy machine and the run fails with "Timeout calling
    // onTaskUpdate" although every test passed.
    const breathe = (): Promise<void> => new Promise((r) => setImmediate(r));
    const [dir] = dirs(1);
    const maxOpenFiles = 256;
    const N = 10_000;
    const fd0 = openFds();
    let maxFds = fd0;
    const sample = (): void => {
      maxFds = Math.max(maxFds, openFds());
    };
    const t0 = Date.now();
    const rss0 = process.memoryUsage().rss;
    const m = new LogManager({ logDirs: [dir!], maxOpenFiles });
    m.startup({ background: false });
    const batch = makeBatch(1, 100);
    for (let p = 0; p < N; p++) {
      const log = m.getOrCreateLog('many', p);
      log.append(Buffer.from(batch));
      if (p % 500 === 0) {
        sample();
        await breathe();
      }
    }
    const tCreate = Date.now() - t0;
    for (let p = 0; p < N; p++) {
      const log = m.getLog('many', p)!;
      log.append(Buffer.from(batch));
      const r = log.read(0n, { maxBytes: 1 << 16 });
      expect(r.records.length).toBe(2 * batch.length);
      if (p % 500 === 0) {
        sample();
        await breathe();
      }
    }
    const tAll = Date.now() - t0;
    const rssAll = process.memoryUsage().rss;
    expect(m.pool.openCount).toBeLessThanOrEqual(maxOpenFiles);
    const ts = Date.now();
    m.shutdown();
    const tShutdown = Date.now() - ts;
    await breathe();
    const t1 = Date.now();
    const again = new LogManager({ logDirs: [dir!], maxOpenFiles });
    again.startup({ background: false });
    sample();
    await breathe();
    expect(again.logCount).toBe(N);
    for (let p = 0; p < N; p += 97) expect(again.getLog('many', p)!.logEndOffset).toBe(2n);
    const tLoad = Date.now() - t1;
    sample();
    const ts2 = Date.now();
    again.shutdown();
    const tShutdown2 = Date.now() - ts2;
    console.log(
      `10k partitions: fds before ${fd0}, peak ${maxFds} (pool limit ${maxOpenFiles}), ` +
        `create+append ${tCreate} ms, +append+read ${tAll} ms, clean shutdown (fsync of every log) ${tShutdown} ms, clean reload ${tLoad} ms, idle shutdown ${tShutdown2} ms, ` +
        `RSS ${(rss0 / 2 ** 20).toFixed(0)} → ${(rssAll / 2 ** 20).toFixed(0)} MiB, pool opens ${m.pool.totalOpens}`,
    );
    expect(maxFds - fd0).toBeLessThanOrEqual(maxOpenFiles + 8);
  }, 300_000);
});
