/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and names where the time went: self time per function
 * (file:line), and per source file, as shares of all samples.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './paths.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface Cost {
  name: string;
  selfMs: number;
  share: number;
}

function where(url: string): string {
  if (!url) return '';
  let path = url;
  try {
    if (url.startsWith('file://')) path = relative(REPO_ROOT, fileURLToPath(url));
  } catch {
    /* keep the url */
  }
  return path.replace(/^node_modules\//, 'npm:');
}

export function summarize(
  file: string,
  top = 15,
): { totalMs: number; byFunction: Cost[]; byFile: Cost[]; idleShare: number } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const totalMs = (p.endTime - p.startTime) / 1000;
  const hits = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
  const msPerHit = totalMs / hits;
  const fn = new Map<string, number>();
  const files = new Map<string, number>();
  let idle = 0;
  for (const n of p.nodes) {
    const h = n.hitCount ?? 0;
    if (!h) continue;
    const f = n.callFrame;
    if (f.functionName === '(idle)') {
      idle += h;
      continue;
    }
    const w = where(f.url);
    const key = w ? `${f.functionName || '(anonymous)'} ${w}:${f.lineNumber + 1}` : f.functionName;
    fn.set(key, (fn.get(key) ?? 0) + h);
    const fileKey = w || f.functionName;
    files.set(fileKey, (files.get(fileKey) ?? 0) + h);
  }
  const busy = hits - idle || 1;
  const rank = (m: Map<string, number>): Cost[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, h]) => ({ name, selfMs: h * msPerHit, share: h / busy }));
  return { totalMs, byFunction: rank(fn), byFile: rank(files), idleShare: idle / hits };
}

// `tsx bench/lib/cpuprofile.ts FILE.cpuprofile` prints the summary.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const s = summarize(process.argv[2]!, Number(process.argv[3] ?? 20));
  console.log(
    `profile ${(s.totalMs / 1000).toFixed(1)} s, idle ${(s.idleShare * 100).toFixed(0)} %; shares are of non-idle samples`,
  );
  console.log('\nself time by function:');
  for (const c of s.byFunction) console.log(`  ${(c.share * 100).toFixed(1).padStart(5)} %  ${c.name}`);
  console.log('\nself time by file:');
  for (const c of s.byFile) console.log(`  ${(c.share * 100).toFixed(1).padStart(5)} %  ${c.name}`);
}
