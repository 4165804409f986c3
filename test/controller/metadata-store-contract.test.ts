/**
 * The MetadataStore contract, run against both implementations: the embedded store (single node) and
 * a real etcd (cluster mode). Code above the store relies on exactly these behaviours.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedMetadataStore } from '../../src/controller/embedded-store.js';
import { EtcdMetadataStore } from '../../src/controller/etcd-store.js';
import type { MetadataStore, WatchEvent } from '../../src/controller/metadata-store.js';
import { EtcdProcess } from '../helpers/etcd.js';

let etcd: EtcdProcess;
beforeAll(async () => {
  etcd = await new EtcdProcess().start();
});
afterAll(async () => {
  await etcd?.stop();
});

const impls: [string, () => MetadataStore][] = [
  ['embedded', () => new EmbeddedMetadataStore(null)],
  ['etcd', () => new EtcdMetadataStore([etcd.endpoint])],
];

describe.each(impls)('%s store', (name, make) => {
  it('applies transactions atomically, only when every compare holds', async () => {
    const s = make();
    const root = `/contract-${name}-${Date.now()}`;
    try {
      const r1 = await s.txn([{ key: `${root}/a`, target: 'exists', value: false }], [
        { type: 'put', key: `${root}/a`, value: '1' },
        { type: 'put', key: `${root}/b`, value: '2' },
      ]);
      expect(r1.succeeded).toBe(true);
      const a = (await s.get(`${root}/a`))!;
      expect(a.value).toBe('1');
      expect(a.modRevision).toBe(r1.revision);
      expect(a.createRevision).toBe(r1.revision);

      // A failed compare changes nothing.
      const r2 = await s.txn([{ key: `${root}/a`, target: 'exists', value: false }], [{ type: 'put', key: `${root}/c`, value: 'x' }]);
      expect(r2.succeeded).toBe(false);
      expect(await s.get(`${root}/c`)).toBeNull();

      // Compare on modRevision and value; all compares must hold.
      const stale = await s.txn(
        [
          { key: `${root}/a`, target: 'modRevision', op: '=', value: r1.revision },
          { key: `${root}/b`, target: 'value', op: '=', value: 'not-2' },
        ],
        [{ type: 'put', key: `${root}/a`, value: 'no' }],
      );
      expect(stale.succeeded).toBe(false);
      const ok = await s.txn(
        [
          { key: `${root}/a`, target: 'modRevision', op: '=', value: r1.revision },
          { key: `${root}/b`, target: 'value', op: '=', value: '2' },
        ],
        [{ type: 'put', key: `${root}/a`, value: 'yes' }],
      );
      expect(ok.succeeded).toBe(true);
      expect((await s.get(`${root}/a`))!).toMatchObject({ value: 'yes', createRevision: r1.revision, modRevision: ok.revision });

      const { kvs, revision } = await s.range(`${root}/`);
      expect(kvs.map((kv) => [kv.key, kv.value])).toEqual([
        [`${root}/a`, 'yes'],
        [`${root}/b`, '2'],
      ]);
      expect(revision).toBeGreaterThanOrEqual(ok.revision);

      await s.txn([], [{ type: 'deletePrefix', prefix: `${root}/` }]);
      expect((await s.range(`${root}/`)).kvs).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('delivers watch events in revision order, one batch per transaction, from a past revision', async () => {
    const s = make();
    const root = `/watch-${name}-${Date.now()}`;
    try {
      const first = await s.txn([], [{ type: 'put', key: `${root}/1`, value: 'a' }]);
      const got: WatchEvent[][] = [];
      const w = await s.watch(`${root}/`, first.revision - 1, (evs) => got.push(evs));
      const second = await s.txn([], [
        { type: 'put', key: `${root}/2`, value: 'b' },
        { type: 'put', key: `/elsewhere-${name}`, value: 'not watched' },
      ]);
      const third = await s.txn([], [{ type: 'deletePrefix', prefix: `${root}/` }]);
      const deadline = Date.now() + 5000;
      while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(got.map((evs) => evs.map((e) => `${e.type}:${e.key.slice(root.length)}@${e.modRevision}${e.value ? '=' + e.value : ''}`))).toEqual([
        [`put:/1@${first.revision}=a`],
        [`put:/2@${second.revision}=b`],
        [`delete:/1@${third.revision}`, `delete:/2@${third.revision}`],
      ]);
      await w.close();
    } finally {
      await s.close();
    }
  });
});
