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

export interface Summary {
  totalMs: number;
  /** self time per function */
  byFunction: Cost[];
  /** self time per source file */
  byFile: Cost[];
  /** inclusive time (self + callees) of Sluice's own functions (src/), each counted once per stack */
  sluiceInclusive: Cost[];
  idleShare: number;
}

export function summarize(file: string, top = 15): Summary {
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
  // Inclusive time: walk the call tree with the keys on the current stack.
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const childIds = new Set(p.nodes.flatMap((n) => n.children ?? []));
  const incl = new Map<string, number>();
  const onStack = new Map<string, number>();
  const visit = (n: ProfileNode) => {
    const w = where(n.callFrame.url);
    const key = /(^|\/)src\//.test(w)
      ? `${n.callFrame.functionName || '(anonymous)'} ${w}:${n.callFrame.lineNumber + 1}`
      : '';
    if (key) onStack.set(key, (onStack.get(key) ?? 0) + 1);
    const h = n.callFrame.functionName === '(idle)' ? 0 : (n.hitCount ?? 0);
    if (h) for (const k of onStack.keys()) incl.set(k, (incl.get(k) ?? 0) + h);
    for (const c of n.children ?? []) {
      const child = byId.get(c);
      if (child) visit(child);
    }
    if (key) {
      const left = onStack.get(key)! - 1;
      if (left) onStack.set(key, left);
      else onStack.delete(key);
    }
  };
  for (const n of p.nodes) if (!childIds.has(n.id)) visit(n);
  const rank = (m: Map<string, number>): Cost[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, h]) => ({ name, selfMs: h * msPerHit, share: h / busy }));
  return {
    totalMs,
    byFunction: rank(fn),
    byFile: rank(files),
    sluiceInclusive: rank(incl),
    idleShare: idle / hits,
  };
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
  console.log("\ninclusive time of Sluice's functions:");
  for (const c of s.sluiceInclusive) console.log(`  ${(c.share * 100).toFixed(1).padStart(5)} %  ${c.name}`);
}
