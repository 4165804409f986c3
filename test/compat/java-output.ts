/** Parsing ClientCompat.java's output, and the exactly-once check the compat tests share. */
import { expect } from 'vitest';

/** "ack <index> <partition> <offset>" lines → index → [partition, offset]. */
export function parseAcks(stdout: string): { acks: Map<number, [number, number]>; errors: string[] } {
  const acks = new Map<number, [number, number]>();
  const errors: string[] = [];
  for (const line of stdout.split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'ack') acks.set(Number(f[1]), [Number(f[2]), Number(f[3])]);
    else if (f[0] === 'error') errors.push(line);
  }
  return { acks, errors };
}

/** "rec <partition> <offset> <key> <value>" and "end <partition> <offset>" lines. */
export function parseRecords(stdout: string): {
  records: { partition: number; offset: number; key: string; value: string }[];
  end: Map<number, number>;
} {
  const records: { partition: number; offset: number; key: string; value: string }[] = [];
  const end = new Map<number, number>();
  for (const line of stdout.split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'rec')
      records.push({ partition: Number(f[1]), offset: Number(f[2]), key: f[3]!, value: f[4]! });
    else if (f[0] === 'end') end.set(Number(f[1]), Number(f[2]));
  }
  return { records, end };
}

/** Every acknowledged message is read back exactly once at its acknowledged offset; offsets are dense. */
export function expectExactlyOnce(
  n: number,
  acks: Map<number, [number, number]>,
  read: ReturnType<typeof parseRecords>,
): void {
  expect(acks.size).toBe(n);
  expect(read.records).toHaveLength(n);
  const at = new Map(read.records.map((r) => [`${r.partition}/${r.offset}`, r]));
  expect(at.size).toBe(n);
  for (let i = 0; i < n; i++) {
    const [p, o] = acks.get(i)!;
    const r = at.get(`${p}/${o}`);
    expect(r, `message ${i} acknowledged at ${p}/${o}`).toBeDefined();
    expect([r!.key, r!.value]).toEqual([`key-${i}`, `value-${i}`]);
  }
  const counts = new Map<number, number>();
  for (const r of read.records) {
    expect(r.offset, `${r.partition}/${r.offset}`).toBe(counts.get(r.partition) ?? 0);
    counts.set(r.partition, r.offset + 1);
  }
  for (const [p, end] of read.end) expect(end, `end offset of partition ${p}`).toBe(counts.get(p) ?? 0);
}
