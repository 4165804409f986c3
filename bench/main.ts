/**
 * `npm run bench -- [scenario|all]`: runs benchmark scenarios from bench/scenarios/*.ts.
 * Each scenario module exports `name`, `description` and `run(): Promise<BenchResult[]>`.
 * Not part of CI: speed is measured here, never asserted in tests.
 */
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
  note?: string;
}

interface Scenario {
  name: string;
  description: string;
  run(): Promise<BenchResult[]>;
}

const dir = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');

async function loadScenarios(): Promise<Scenario[]> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();
  const mods = await Promise.all(files.map((f) => import(pathToFileURL(join(dir, f)).href) as Promise<Scenario>));
  return mods;
}

function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => a !== '--');
  const all = await loadScenarios();
  const chosen = wanted.length === 0 || wanted.includes('all') ? all : all.filter((s) => wanted.includes(s.name));
  if (chosen.length === 0) {
    console.error(`unknown scenario; available: ${all.map((s) => s.name).join(', ')}`);
    process.exit(2);
  }
  for (const s of chosen) {
    console.log(`\n## ${s.name}: ${s.description}`);
    const results = await s.run();
    for (const r of results) {
      const ratio = r.reference !== undefined ? `  (ratio ${(r.value / r.reference).toFixed(2)} vs ${fmt(r.reference)})` : '';
      console.log(`  ${r.metric.padEnd(48)} ${fmt(r.value).padStart(10)} ${r.unit}${ratio}${r.note ? `  ${r.note}` : ''}`);
    }
  }
}

await main();
