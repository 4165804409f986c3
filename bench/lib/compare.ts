/**
 * Helpers shared by the Sluice-vs-Kafka scenarios: turning a pair of figures into a BenchResult
 * (value = Sluice, reference = Kafka, ratio = Sluice / Kafka), alternating which broker goes first,
 * and the quick mode (BENCH_QUICK=1) that shrinks every matrix for harness development.
 */
import type { BenchResult } from '../main.js';
import { LABEL, type Broker, type BrokerKind } from './brokers.js';

export const QUICK = process.env.BENCH_QUICK === '1';

export function pair(
  scenario: string,
  metric: string,
  unit: string,
  figures: Partial<Record<BrokerKind, number>>,
  opts: { better: 'higher' | 'lower'; chart?: BenchResult['chart']; note?: string },
): BenchResult {
  const r: BenchResult = {
    scenario,
    metric,
    value: figures.sluice ?? NaN,
    unit,
    better: opts.better,
  };
  if (figures.kafka !== undefined) {
    r.reference = figures.kafka;
    r.referenceName = LABEL.kafka;
  }
  if (opts.chart) r.chart = opts.chart;
  if (opts.note) r.note = opts.note;
  return r;
}

/** The brokers in the order to run them for the i-th measurement: S,K then K,S, and so on. */
export function inTurn(brokers: Broker[], i: number): Broker[] {
  return i % 2 === 0 ? brokers : [...brokers].reverse();
}

export const MiB = 1024 * 1024;

export function mb(bytes: number): string {
  return `${(bytes / MiB).toFixed(0)} MiB`;
}

/** Runs `fn`, turning a failure into a logged NaN so one broker's failure keeps the rest of the run. */
export async function attempt<T>(
  what: string,
  fn: () => Promise<T>,
  failures: string[],
): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    const msg = `${what}: ${(e as Error).message.split('\n').slice(0, 6).join(' | ')}`;
    console.log(`  FAILED ${msg}`);
    failures.push(msg);
    return undefined;
  }
}

/** Appends a row listing what failed (a figure that is missing says why here). */
export function withFailures(
  results: BenchResult[],
  failures: string[],
  scenario = results[0]?.scenario ?? '',
): BenchResult[] {
  if (failures.length)
    results.push({
      scenario,
      metric: 'failures',
      value: failures.length,
      unit: '',
      note: failures.join(' / '),
    });
  return results;
}
