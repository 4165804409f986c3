/**
 * `npm run gen:protocol`: regenerate src/protocol/messages/ from Kafka's message definitions.
 *
 *   tsx tools/protocol-gen/main.ts [--in <messages dir>] [--out <dir>] [--check]
 *
 * The input defaults to ../shared/kafka-protocol/messages beside the repository (how CI checks it
 * out), or $SLUICE_KAFKA_MESSAGES. --check writes nothing and exits 1 if the committed output differs,
 * which is what CI runs. Output is deterministic: files and entries are sorted, formatting is fixed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './generate.js';
import { loadMessages } from './schema.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function argValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined) throw new Error(`${name} needs a value`);
  return v;
}

function main(args: readonly string[]): number {
  const inDir = resolve(
    argValue(args, '--in') ??
      process.env['SLUICE_KAFKA_MESSAGES'] ??
      join(repoRoot, '..', 'shared', 'kafka-protocol', 'messages'),
  );
  const outDir = resolve(argValue(args, '--out') ?? join(repoRoot, 'src', 'protocol', 'messages'));
  const check = args.includes('--check');
  if (!existsSync(inDir)) {
    console.error(
      `protocol-gen: message definitions not found at ${inDir} (use --in or SLUICE_KAFKA_MESSAGES)`,
    );
    return 2;
  }
  const files = generate(loadMessages(inDir));
  const existing = existsSync(outDir) ? readdirSync(outDir).filter((f) => /\.(ts|json)$/.test(f)) : [];
  const stale = existing.filter((f) => !files.has(f));
  const changed = [...files].filter(([name, text]) => {
    const p = join(outDir, name);
    return !existsSync(p) || readFileSync(p, 'utf8') !== text;
  });
  if (check) {
    for (const [name] of changed) console.error(`protocol-gen: ${name} is out of date`);
    for (const name of stale) console.error(`protocol-gen: ${name} should not exist`);
    return changed.length + stale.length === 0 ? 0 : 1;
  }
  mkdirSync(outDir, { recursive: true });
  for (const [name, text] of changed) writeFileSync(join(outDir, name), text);
  for (const name of stale) rmSync(join(outDir, name));
  console.log(
    `protocol-gen: ${files.size} files in ${outDir} (${changed.length} written, ${stale.length} removed)`,
  );
  return 0;
}

process.exitCode = main(process.argv.slice(2));
