/**
 * Writes one bench run: <stamp>-<scenarios>.json (every figure, the machine, the commit), .md (the table
 * of absolute figures and Sluice/Kafka ratios) and .svg (throughput and latency bars, Sluice next to
 * Kafka), into bench/results/ or BENCH_OUT.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { BenchResult } from '../main.js';
import { BENCH_DIR, REPO_ROOT } from './paths.js';

export interface Run {
  started: Date;
  finished: Date;
  scenarios: string[];
  /** file name tag: "all" or the scenario names */
  tag: string;
  timings: Record<string, number>;
  skipped: Record<string, string>;
  results: BenchResult[];
}

function tryRun(cmd: string, args: string[]): string {
  // stdout and stderr together: `java -version` prints to stderr
  const r = spawnSync(cmd, args, { cwd: REPO_ROOT, encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.trim();
}

function machine(): Record<string, string | number> {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    java: tryRun('java', ['-version']).split('\n')[0] ?? '',
  };
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return '—';
  return n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

export function ratioOf(r: BenchResult): number | undefined {
  if (
    r.reference === undefined ||
    !Number.isFinite(r.value) ||
    !Number.isFinite(r.reference) ||
    r.reference === 0
  )
    return undefined;
  return r.value / r.reference;
}

/** "ahead" / "behind" / "even" (within 10 %) for a Sluice-vs-Kafka row. */
export function verdict(r: BenchResult): string {
  const q = ratioOf(r);
  if (q === undefined || !r.better) return '';
  const good = r.better === 'higher' ? q : 1 / q;
  if (good >= 1.1) return 'ahead';
  if (good <= 0.9) return 'behind';
  return 'even';
}

function markdown(run: Run, info: Record<string, string | number>, commit: string): string {
  const lines = [
    `# Bench run ${run.started.toISOString()}`,
    '',
    `commit ${commit}; ${info.cpus} × ${info.cpu}, ${info.memoryGiB} GiB, Linux ${info.kernel}, node ${info.node}, ${info.java}`,
    `scenarios: ${run.scenarios.join(', ')}; took ${((run.finished.getTime() - run.started.getTime()) / 1000).toFixed(0)} s`,
    '',
    'Ratio = Sluice / reference. "behind" / "ahead" read the ratio the right way round for the metric',
    '(higher throughput is better, lower latency / RSS / CPU is better); within 10 % is "even".',
    '',
    '| scenario | metric | Sluice | reference | unit | ratio | | note |',
    '|---|---|---:|---:|---|---:|---|---|',
  ];
  for (const r of run.results) {
    const q = ratioOf(r);
    lines.push(
      `| ${r.scenario} | ${r.metric} | ${fmt(r.value)} | ${r.reference !== undefined ? `${fmt(r.reference)}${r.referenceName ? ` (${r.referenceName})` : ''}` : ''} | ${r.unit} | ${q !== undefined ? q.toFixed(2) : ''} | ${verdict(r)} | ${r.note ?? ''} |`,
    );
  }
  for (const [name, why] of Object.entries(run.skipped))
    lines.push(`| ${name} | SKIPPED | | | | | | ${why} |`);
  return lines.join('\n') + '\n';
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Horizontal bar pairs (Sluice, reference) per metric; log scale for latency. */
function panel(
  title: string,
  rows: BenchResult[],
  y0: number,
  log: boolean,
): { svg: string; height: number } {
  const left = 330;
  const width = 520;
  const rowH = 30;
  const parts = [`<text x="10" y="${y0 + 20}" font-size="15" font-weight="bold">${esc(title)}</text>`];
  const vals = rows.flatMap((r) => [r.value, r.reference ?? NaN]).filter((v) => Number.isFinite(v) && v > 0);
  const max = Math.max(...vals, 1e-9);
  const min = Math.min(...vals, max);
  const lo = log ? Math.log10(min) - 0.3 : 0;
  const hi = log ? Math.log10(max) : max;
  const scale = (v: number) => {
    if (!Number.isFinite(v) || v <= 0) return 0;
    const x = log ? (Math.log10(v) - lo) / (hi - lo) : v / hi;
    return Math.max(1, x * width);
  };
  rows.forEach((r, i) => {
    const y = y0 + 35 + i * rowH;
    const label = `${r.scenario}: ${r.metric}`;
    parts.push(
      `<text x="${left - 8}" y="${y + 15}" font-size="11" text-anchor="end">${esc(label.length > 52 ? label.slice(0, 51) + '…' : label)}</text>`,
    );
    const ws = scale(r.value);
    const wk = scale(r.reference ?? NaN);
    parts.push(`<rect x="${left}" y="${y + 2}" width="${ws.toFixed(1)}" height="11" fill="#2b7bb9"/>`);
    parts.push(
      `<text x="${left + ws + 4}" y="${y + 12}" font-size="10">${fmt(r.value)} ${esc(r.unit)}</text>`,
    );
    if (r.reference !== undefined) {
      parts.push(`<rect x="${left}" y="${y + 14}" width="${wk.toFixed(1)}" height="11" fill="#e3882d"/>`);
      parts.push(`<text x="${left + wk + 4}" y="${y + 24}" font-size="10">${fmt(r.reference)}</text>`);
    }
  });
  return { svg: parts.join('\n'), height: 45 + rows.length * rowH };
}

function svg(run: Run): string {
  const tput = run.results.filter((r) => r.chart === 'throughput');
  const lat = run.results.filter((r) => r.chart === 'latency');
  let y = 40;
  const body: string[] = [
    `<text x="10" y="22" font-size="16" font-weight="bold">Sluice vs Apache Kafka, ${esc(run.started.toISOString().slice(0, 16))}</text>`,
    `<rect x="560" y="10" width="12" height="12" fill="#2b7bb9"/><text x="577" y="20" font-size="12">Sluice</text>`,
    `<rect x="640" y="10" width="12" height="12" fill="#e3882d"/><text x="657" y="20" font-size="12">Apache Kafka</text>`,
  ];
  if (tput.length) {
    const p = panel('Throughput (higher is better)', tput, y, false);
    body.push(p.svg);
    y += p.height;
  }
  if (lat.length) {
    const p = panel('Latency (lower is better, log scale)', lat, y, true);
    body.push(p.svg);
    y += p.height;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="960" height="${y + 10}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${body.join('\n')}\n</svg>\n`;
}

export function writeReport(run: Run): string[] {
  const out = process.env.BENCH_OUT ?? join(BENCH_DIR, 'results');
  if (out === 'none') return [];
  mkdirSync(out, { recursive: true });
  const info = machine();
  const commit = tryRun('git', ['rev-parse', '--short', 'HEAD']);
  const stamp = run.started.toISOString().slice(0, 16).replace(/:/g, '');
  const base = join(out, `${stamp}-${run.tag}`);
  const json = {
    started: run.started.toISOString(),
    finished: run.finished.toISOString(),
    seconds: (run.finished.getTime() - run.started.getTime()) / 1000,
    commit,
    machine: info,
    scenarios: run.scenarios,
    scenarioSeconds: run.timings,
    skipped: run.skipped,
    results: run.results.map((r) => ({ ...r, ratio: ratioOf(r) ?? null, verdict: verdict(r) || undefined })),
  };
  writeFileSync(`${base}.json`, JSON.stringify(json, null, 2) + '\n');
  writeFileSync(`${base}.md`, markdown(run, info, commit));
  const files = [`${base}.json`, `${base}.md`];
  if (run.results.some((r) => r.chart)) {
    writeFileSync(`${base}.svg`, svg(run));
    files.push(`${base}.svg`);
  }
  return files;
}
