/**
 * A CPU profile of the Sluice broker (node --cpu-prof) under the load where it trails Kafka most:
 * by default ProducerPerformance with 100 B records, acks=all, 16 partitions, 4 producers (the most
 * broker work per byte); BENCH_PROFILE="SIZE ACKS PARTITIONS PRODUCERS" picks another produce load,
 * BENCH_PROFILE="consume SIZE PARTITIONS RECORDS" profiles reading a filled topic instead, and
 * BENCH_PROFILE="connections N" the scale-connections load (N sockets, 10 x 1 KiB per Produce, 16
 * partitions, 10 s). Prints the top
 * self-time functions and files; the .cpuprofile is kept in bench/results/profiles/ (not committed)
 * for Chrome DevTools or speedscope. Not part of `all`: run `npm run bench -- profile`.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResult } from '../main.js';
import { startSluice } from '../lib/brokers.js';
import { summarize } from '../lib/cpuprofile.js';
import { benchConsume, produceFixed, producerPerf } from '../lib/java.js';
import { BENCH_DIR } from '../lib/paths.js';
import { connectionLoad, createTopic } from '../lib/wire.js';

export const name = 'profile';
export const description = 'CPU profile (node --cpu-prof) of Sluice under its slowest produce load';
export const needsBuild = true;
export const inAll = false;

export async function run(): Promise<BenchResult[]> {
  const spec = (process.env.BENCH_PROFILE ?? '100 all 16 4').split(/\s+/);
  const consume = spec[0] === 'consume';
  const connections = spec[0] === 'connections';
  const dir = join(BENCH_DIR, 'results/profiles', new Date().toISOString().slice(0, 16).replace(/:/g, ''));
  mkdirSync(dir, { recursive: true });
  const b = await startSluice({ cpuProfDir: dir });
  let mibps = NaN;
  let metric: string;
  try {
    if (connections) {
      const n = Number(spec[1] ?? '1000');
      metric = `produce from ${n} connections (10 x 1KiB per request, 16p) under --cpu-prof`;
      await createTopic(b.port, 'profile', 16);
      const r = await connectionLoad({
        port: b.port,
        topic: 'profile',
        partitions: 16,
        connections: n,
        recordsPerRequest: 10,
        recordSize: 1024,
        warmupMs: 2000,
        measureMs: 10_000,
      });
      mibps = r.mbPerSec;
    } else if (consume) {
      // consume SIZE PARTITIONS RECORDS: fill the topic, then read it all once
      const [, size = '1024', partitions = '16', records = '200000'] = spec;
      metric = `consume ${size}B ${partitions}p ${records} records under --cpu-prof`;
      await createTopic(b.port, 'profile', Number(partitions));
      await produceFixed(b.bootstrap, 'profile', Number(records), Number(size));
      const r = await benchConsume(b.bootstrap, 'profile', 0);
      mibps = r.bytes / 2 ** 20 / r.seconds;
    } else {
      const [size = '100', acks = 'all', partitions = '16', producers = '4'] = spec;
      metric = `produce ${size}B acks=${acks} ${partitions}p ${producers}prod under --cpu-prof`;
      await createTopic(b.port, 'profile', Number(partitions));
      const r = await producerPerf({
        bootstrap: b.bootstrap,
        topic: 'profile',
        recordSize: Number(size),
        acks,
        producers: Number(producers),
        warmup: 1,
        measure: 2,
      });
      mibps = r.mbPerSec;
    }
  } finally {
    await b.stop(300_000); // SIGTERM: node writes the profile on a clean exit, however long it takes
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  const s = summarize(join(dir, file), 15);
  console.log(
    `    profile: ${join(dir, file)} (${(s.totalMs / 1000).toFixed(1)} s, idle ${(s.idleShare * 100).toFixed(0)} %)`,
  );
  console.log('    self time by function (share of busy samples):');
  for (const c of s.byFunction) console.log(`      ${(c.share * 100).toFixed(1).padStart(5)} %  ${c.name}`);
  console.log('    self time by file:');
  for (const c of s.byFile.slice(0, 10))
    console.log(`      ${(c.share * 100).toFixed(1).padStart(5)} %  ${c.name}`);
  console.log("    inclusive time of Sluice's functions (self + callees):");
  for (const c of s.sluiceInclusive.slice(0, 12))
    console.log(`      ${(c.share * 100).toFixed(1).padStart(5)} %  ${c.name}`);
  return [
    {
      scenario: name,
      metric,
      value: mibps,
      unit: 'MiB/s',
      note: `top: ${s.byFunction
        .slice(0, 5)
        .map((c) => `${c.name} ${(c.share * 100).toFixed(1)}%`)
        .join('; ')}`,
    },
  ];
}
