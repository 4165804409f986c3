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
      const r1 = await s.txn(
        [{ key: `${root}/a`, target: 'exists', value: false }],
        [
          { type: 'put', key: `${root}/a`, value: '1' },
          { type: 'put', key: `${root}/b`, value: '2' },
        ],
      );
      expect(r1.succeeded).toBe(true);
      const a = (await s.get(`${root}/a`))!;
      expect(a.value).toBe('1');
      expect(a.modRevision).toBe(r1.revision);
      expect(a.createRevision).toBe(r1.revision);

      // A failed compare changes nothing.
      const r2 = await s.txn(
        [{ key: `${root}/a`, target: 'exists', value: false }],
        [{ type: 'put', key: `${root}/c`, value: 'x' }],
      );
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
      expect((await s.get(`${root}/a`))!).toMatchObject({
        value: 'yes',
        createRevision: r1.revision,
        modRevision: ok.revision,
      });

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
      const second = await s.txn(
        [],
        [
          { type: 'put', key: `${root}/2`, value: 'b' },
          { type: 'put', key: `/elsewhere-${name}`, value: 'not watched' },
        ],
      );
      const third = await s.txn([], [{ type: 'deletePrefix', prefix: `${root}/` }]);
      const deadline = Date.now() + 5000;
      while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(
        got.map((evs) =>
          evs.map(
            (e) => `${e.type}:${e.key.slice(root.length)}@${e.modRevision}${e.value ? '=' + e.value : ''}`,
          ),
        ),
      ).toEqual([
        [`put:/1@${first.revision}=a`],
        [`put:/2@${second.revision}=b`],
        [`delete:/1@${third.revision}`, `delete:/2@${third.revision}`],
      ]);
      await w.close();
    } finally {
      await s.close();
    }
  });
  it('deletes keys put under a lease when it is revoked, and compares on create revision', async () => {
    const s = make();
    const root = `/lease-${name}-${Date.now()}`;
    try {
      const lease = await s.grantLease(5);
      const put = await s.txn(
        [{ key: `${root}/controller`, target: 'exists', value: false }],
        [{ type: 'put', key: `${root}/controller`, value: 'node-1', lease: lease.id }],
      );
      expect(put.succeeded).toBe(true);
      // The controller's fence: its key still has the create revision it won with.
      const fenced = await s.txn(
        [{ key: `${root}/controller`, target: 'createRevision', op: '=', value: put.revision }],
        [{ type: 'put', key: `${root}/data`, value: 'by-controller' }],
      );
      expect(fenced.succeeded).toBe(true);
      await lease.revoke();
      expect(await s.get(`${root}/controller`)).toBeNull();
      const stale = await s.txn(
        [{ key: `${root}/controller`, target: 'createRevision', op: '=', value: put.revision }],
        [{ type: 'put', key: `${root}/data`, value: 'by-a-deposed-controller' }],
      );
      expect(stale.succeeded).toBe(false);
      expect((await s.get(`${root}/data`))!.value).toBe('by-controller');
    } finally {
      await s.close();
    }
  });
});

describe('etcd leases', () => {
  it('expire when their holder dies', async () => {
    const observer = new EtcdMetadataStore([etcd.endpoint]);
    const key = `/expiry-${Date.now()}`;
    // The holder is a separate process that is SIGKILLed, as a broker would be.
    const { spawn } = await import('node:child_process');
    const script = `
      import { EtcdMetadataStore } from ${JSON.stringify(new URL('../../src/controller/etcd-store.ts', import.meta.url).pathname)};
      const s = new EtcdMetadataStore([${JSON.stringify(etcd.endpoint)}]);
      const lease = await s.grantLease(2);
      await s.txn([], [{ type: 'put', key: ${JSON.stringify(key)}, value: 'alive', lease: lease.id }]);
      console.log('held');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
        child.once('exit', () => reject(new Error('holder exited early')));
      });
      expect((await observer.get(key))!.value).toBe('alive');
      // Kept alive while the holder runs, past the TTL.
      await new Promise((r) => setTimeout(r, 3000));
      expect((await observer.get(key))!.value).toBe('alive');
      child.kill('SIGKILL');
      const deadline = Date.now() + 10_000;
      while ((await observer.get(key)) !== null && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 200));
      expect(await observer.get(key)).toBeNull();
    } finally {
      child.kill('SIGKILL');
      await observer.close();
    }
  });
});
