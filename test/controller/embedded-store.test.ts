import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedMetadataStore } from '../../src/controller/embedded-store.js';
import type { WatchEvent } from '../../src/controller/metadata-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('EmbeddedMetadataStore', () => {
  it('applies compare-and-set transactions atomically and persists across reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-meta-'));
    dirs.push(dir);
    const path = join(dir, 'metadata.json');
    const s = new EmbeddedMetadataStore(path);
    const r1 = await s.txn(
      [{ key: '/t/a', target: 'exists', value: false }],
      [{ type: 'put', key: '/t/a', value: '1' }],
    );
    expect(r1).toEqual({ succeeded: true, revision: 1 });
    const r2 = await s.txn(
      [{ key: '/t/a', target: 'exists', value: false }],
      [{ type: 'put', key: '/t/a', value: '2' }],
    );
    expect(r2.succeeded).toBe(false);
    await s.txn(
      [{ key: '/t/a', target: 'modRevision', op: '=', value: 1 }],
      [
        { type: 'put', key: '/t/a', value: '3' },
        { type: 'put', key: '/t/b', value: '4' },
      ],
    );
    await s.close();

    const s2 = new EmbeddedMetadataStore(path);
    const { kvs, revision } = await s2.range('/t/');
    expect(revision).toBe(2);
    expect(kvs.map((kv) => [kv.key, kv.value, kv.modRevision, kv.createRevision])).toEqual([
      ['/t/a', '3', 2, 1],
      ['/t/b', '4', 2, 2],
    ]);
    await s2.close();
  });

  it('delivers watch events in revision order, grouped per transaction, including missed ones', async () => {
    const s = new EmbeddedMetadataStore(null);
    await s.txn([], [{ type: 'put', key: '/x/1', value: 'a' }]);
    const got: WatchEvent[][] = [];
    const w = await s.watch('/x/', 0, (evs) => got.push(evs));
    await s.txn(
      [],
      [
        { type: 'put', key: '/x/2', value: 'b' },
        { type: 'put', key: '/y/1', value: 'ignored' },
      ],
    );
    await s.txn([], [{ type: 'deletePrefix', prefix: '/x/' }]);
    await new Promise((r) => setTimeout(r, 0));
    expect(got.map((evs) => evs.map((e) => `${e.type}:${e.key}@${e.modRevision}`))).toEqual([
      ['put:/x/1@1'],
      ['put:/x/2@2'],
      ['delete:/x/1@3', 'delete:/x/2@3'],
    ]);
    await w.close();
    await s.close();
  });
});
