/**
 * `npm run bench -- [scenario|all]`: runs benchmark scenarios from bench/scenarios/*.ts.
 * Each scenario module exports `name`, `description` and `run(): Promise<BenchResult[]>`; optionally
 * `needsBuild` (runs `npm run build` first: the Sluice broker runs from dist/), `inAll = false` (only
 * when named), `skip` (a reason: listed, not run) and `sharesBrokers` (it runs on `withBrokers`: in a
 * run of several scenarios these go first, back to back, on one warmed-up Sluice/Kafka pair).
 * After the run the results go to bench/results/<time>-<scenarios>.{json,md,svg} (BENCH_OUT=dir to
 * write elsewhere, BENCH_OUT=none not at all); see docs/benchmarks.md.
 * Not part of CI: speed is measured here, never asserted in tests.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchResult {
  scenario: string;
  metric: string;
  value: number;
  unit: string;
  /** Optional comparison (e.g. plain file write, Apache Kafka): ratio = value / reference. */
  reference?: number;
  /** What the reference is (e.g. "Kafka 3.9.1"); shown in the results table. */
  referenceName?: string;
  /** Whether a higher or a lower value is better (for reading ratios). */
  better?: 'higher' | 'lower';
  /** Plotted in the SVG chart of the run. */
  chart?: 'throughput' | 'latency';
  note?: string;
}

export interface Scenario {
  name: string;
  description: string;
  run(): Promise<BenchResult[]>;
  needsBuild?: boolean;
  sharesBrokers?: boolean;
  inAll?: boolean;
  skip?: string;
}

const dir = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');

async function loadScenarios(): Promise<Scenario[]> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .sort();
  const mods = await Promise.all(
    files.map((f) => import(pathToFileURL(join(dir, f)).href) as Promise<Scenario>),
  );
  return mods;
}

function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

/** `npm run build`, retried: someone else's work in progress may not compile for a minute. */
async function build(): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync('npm', ['run', '-s', 'build'], { stdio: 'pipe' });
      return;
    } catch (e) {
      if (attempt >= 5) throw e;
      console.log(`  npm run build failed (attempt ${attempt}); retrying in 60 s`);
      await new Promise((r) => setTimeout(r, 60_000));
    }
  }
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => a !== '--');
  const all = await loadScenarios();
  const picked =
    wanted.length === 0 || wanted.includes('all')
      ? all.filter((s) => s.inAll !== false || wanted.includes(s.name))
      : all.filter((s) => wanted.includes(s.name));
  // Scenarios sharing the broker pair first, so it can be stopped before the others start theirs.
  const sharing = picked.filter((s) => s.sharesBrokers && !s.skip);
  const chosen = [...sharing, ...picked.filter((s) => !sharing.includes(s))];
  if (chosen.length === 0) {
    console.error(`unknown scenario; available: ${all.map((s) => s.name).join(', ')}`);
    process.exit(2);
  }
  const started = new Date();
  if (chosen.some((s) => s.needsBuild && !s.skip)) {
    console.log('building Sluice (npm run build) ...');
    await build();
  }
  const brokers = await import('./lib/brokers.js');
  if (sharing.length > 1) brokers.shareBrokersAcrossScenarios();
  const results: BenchResult[] = [];
  const timings: Record<string, number> = {};
  const skipped: Record<string, string> = {};
  for (const s of chosen) {
    console.log(`\n## ${s.name}: ${s.description}`);
    if (s.skip) {
      console.log(`  SKIPPED: ${s.skip}`);
      skipped[s.name] = s.skip;
      continue;
    }
    if (!s.sharesBrokers) await brokers.stopSharedBrokers();
    const t0 = performance.now();
    const res = await s.run();
    timings[s.name] = (performance.now() - t0) / 1000;
    results.push(...res);
    for (const r of res) {
      const ratio =
        r.reference !== undefined
          ? `  (ratio ${(r.value / r.reference).toFixed(2)} vs ${fmt(r.reference)})`
          : '';
      console.log(
        `  ${r.metric.padEnd(48)} ${fmt(r.value).padStart(10)} ${r.unit}${ratio}${r.note ? `  ${r.note}` : ''}`,
      );
    }
    console.log(`  (${timings[s.name]!.toFixed(0)} s)`);
  }
  await brokers.stopSharedBrokers();
  const { writeReport } = await import('./lib/report.js');
  const files = writeReport({
    started,
    finished: new Date(),
    scenarios: chosen.map((s) => s.name),
    tag: wanted.length === 0 || wanted.includes('all') ? 'all' : chosen.map((s) => s.name).join('+'),
    timings,
    skipped,
    results,
  });
  if (files.length) console.log(`\nwrote ${files.join(', ')}`);
  console.log(`total ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s`);
}

await main();
