/**
 * BrokerSession on a real etcd: a broker cut off from etcd for longer than its session loses its
 * lease, so etcd deletes its registration and the controller key it held, and another broker takes
 * over as controller. When the broker reaches etcd again, its session registers it under a new
 * lease and says so; its Controller campaigns under that lease, and wins once the other one is gone.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EtcdMetadataStore } from '../../src/controller/etcd-store.js';
import type { Lease } from '../../src/controller/metadata-store.js';
import { EtcdProcess } from '../helpers/etcd.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { ControllerNode, waitActive, waitFor } from './harness.js';

let etcd: EtcdProcess;
const cleanups: (() => Promise<void> | void)[] = [];
beforeAll(async () => {
  etcd = await new EtcdProcess().start();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await etcd?.stop();
});

describe('BrokerSession', () => {
  it('registers again under a new lease after losing one, and the controller campaigns with it', async () => {
    const root = `/session-${Date.now()}`;
    const proxy = await new TcpProxy('127.0.0.1', etcd.clientPort).listen();
    const storeA = new EtcdMetadataStore([proxy.endpoint]);
    const storeB = new EtcdMetadataStore([etcd.endpoint]);
    cleanups.push(
      () => proxy.close(),
      () => storeA.close(),
      () => storeB.close(),
    );
    const a = await ControllerNode.start({ id: 1, store: storeA, root, ttlSeconds: 2 });
    cleanups.push(() => a.close());
    await waitActive(a);
    const b = await ControllerNode.start({ id: 2, store: storeB, root, ttlSeconds: 10 });
    cleanups.push(() => b.close());
    const renewed: Lease[] = [];
    a.session.onRenewed((lease) => renewed.push(lease));
    const firstLease = a.session.lease;

    proxy.cut();
    // etcd ends A's lease: its registration and the controller key go; B is elected.
    await waitActive(b, 20_000);
    await waitFor('A unregistered', () => (b.table.brokers.has(1) ? undefined : true), 20_000);
    proxy.restore();

    await waitFor('A registered again', () => (b.table.brokers.has(1) ? true : undefined), 30_000);
    await waitFor('the session to announce its new lease', () => (renewed.length > 0 ? true : undefined));
    expect(renewed).toHaveLength(1);
    expect(a.session.lease).toBe(renewed[0]);
    expect(a.session.lease.id).not.toBe(firstLease.id);
    const reg = await storeB.client.kv.range({ key: Buffer.from(`${root}/brokers/1`) });
    expect(reg.kvs[0]!.lease).toBe(a.session.lease.id);
    await waitFor(
      'A to see B as controller',
      () => (a.table.controller?.nodeId === 2 ? true : undefined),
      20_000,
    );
    expect(a.c.isActive).toBe(false);

    // B goes: A campaigns under its new lease and wins.
    await b.kill();
    await waitActive(a, 20_000);
    const ctl = await storeB.client.kv.range({ key: Buffer.from(`${root}/controller`) });
    expect(ctl.kvs[0]!.lease).toBe(a.session.lease.id);
  }, 120_000);
});
