/**
 * Connection quotas on real broker processes, with raw TCP connections from chosen loopback source
 * addresses (127.0.0.1 … 127.0.0.4), Kafka's own kafka-configs tool for dynamic updates, and kcat:
 *  - max.connections.per.ip=100: 1,000 attempts from one IP leave exactly 100 open (each answers an
 *    ApiVersions request), the other 900 are closed by the broker and counted; the broker still serves
 *    a produce and a consume afterwards;
 *  - max.connections.per.ip.overrides gives 127.0.0.2 its own limit; a dynamic update (IP and host
 *    name, `localhost` → 127.0.0.1) applies to the next connections;
 *  - max.connections (dynamic): over it, the acceptor waits (connections are held, unread, and taken in
 *    arrival order as slots free), the inter-broker listener is exempt, and when it takes the broker
 *    over the limit the other listener closes its oldest connections (Kafka's closeExcessConnections);
 *    a per-listener max.connections limits that listener only;
 *  - max.connection.creation.rate per listener (KIP-612): a burst of connections is taken at about the
 *    rate, in order, all of them eventually; the other listener is not throttled;
 *  - an IP's connection_creation_rate client quota (KIP-612, set with kafka-configs --entity-type ips):
 *    that IP's connections over the rate are closed unanswered, another IP's are not;
 *  - on a TLS listener a connection over the limit waits before its handshake, and completes it once
 *    a slot frees.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess } from '../helpers/broker-process.js';
import { freePort } from '../helpers/etcd.js';
import { run } from '../helpers/clients.js';
import { runKafkaTool } from '../helpers/kafka-tools.js';
import { startSecureBroker, type SecureBroker } from '../security/secure-broker.js';

/** ApiVersions v0 request frame (header v1, client id "q"). */
function apiVersionsFrame(correlationId: number): Buffer {
  const clientId = Buffer.from('q');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(18, 0);
  body.writeInt16BE(0, 2);
  body.writeInt32BE(correlationId, 4);
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

interface Probe {
  socket: Socket;
  /** true once the broker answered the ApiVersions request, false when it closed the connection first. */
  outcome: Promise<boolean>;
  settled: boolean | null;
  answeredAt: number;
}

/** Connect from `from` to 127.0.0.1:port and send ApiVersions; resolves once the TCP connect is done. */
function probe(port: number, from: string): Promise<Probe> {
  return new Promise((resolveConnected, rejectConnected) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress: from });
    let connected = false;
    const p: Probe = { socket, outcome: Promise.resolve(false), settled: null, answeredAt: 0 };
    p.outcome = new Promise<boolean>((resolve) => {
      socket.once('data', () => {
        p.settled ??= true;
        p.answeredAt = Date.now();
        resolve(true);
      });
      socket.once('close', () => {
        p.settled ??= false;
        resolve(p.settled);
      });
    });
    socket.on('error', (err) => {
      if (!connected) rejectConnected(err);
    });
    socket.once('connect', () => {
      connected = true;
      socket.write(apiVersionsFrame(1));
      resolveConnected(p);
    });
  });
}

async function probes(port: number, from: string, n: number, parallel = 50): Promise<Probe[]> {
  const out: Probe[] = [];
  for (let i = 0; i < n; i += parallel) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(parallel, n - i) }, () => probe(port, from)),
    );
    out.push(...batch);
  }
  return out;
}

async function waitFor<T>(
  what: string,
  f: () => T | undefined | Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const settledCount = (ps: Probe[], v: boolean | null) => ps.filter((p) => p.settled === v).length;

async function closeAll(ps: Probe[]): Promise<void> {
  await Promise.all(
    ps.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.socket.destroyed) return resolve();
          p.socket.once('close', () => resolve());
          p.socket.destroy();
        }),
    ),
  );
}

async function metric(
  broker: BrokerProcess,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Open connections of the broker, all listeners (the sluice_connections gauge). */
const openConnections = (b: BrokerProcess, listener?: string) =>
  metric(b, 'sluice_connections', listener ? { listener } : {});

describe('connection quotas', { timeout: 300_000 }, () => {
  let broker: BrokerProcess;
  let external = 0;
  let internal = 0;
  const open: Probe[] = [];

  const configs = async (args: string[]) => {
    const r = await runKafkaTool('kafka-configs', [
      '--bootstrap-server',
      `127.0.0.1:${internal}`,
      '--entity-type',
      'brokers',
      '--entity-default',
      '--alter',
      ...args,
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
  };

  beforeAll(async () => {
    const [pi, pe] = [await freePort(), await freePort()];
    broker = await new BrokerProcess({
      listeners: {
        listeners: `INTERNAL://127.0.0.1:${pi},EXTERNAL://127.0.0.1:${pe}`,
        'listener.security.protocol.map': 'INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT',
        'inter.broker.listener.name': 'INTERNAL',
      },
      overrides: {
        'max.connections.per.ip': '100',
        'max.connections.per.ip.overrides': '127.0.0.2:5',
        'offsets.topic.replication.factor': '1',
      },
    }).start();
    internal = broker.listenerPorts.INTERNAL!;
    external = broker.listenerPorts.EXTERNAL!;
  }, 120_000);

  afterAll(async () => {
    await closeAll(open);
    await broker?.cleanup();
  }, 60_000);

  it('max.connections.per.ip=100: of 1,000 attempts from one IP exactly 100 stay open; the broker still serves', async () => {
    const t0 = Date.now();
    const ps = await probes(external, '127.0.0.1', 1000);
    open.push(...ps);
    await Promise.all(ps.map((p) => p.outcome));
    expect(settledCount(ps, true)).toBe(100);
    expect(settledCount(ps, false)).toBe(900);
    // The first 100 got in (attempts are made in order, 50 at a time).
    expect(ps.slice(0, 100).every((p) => p.settled === true)).toBe(true);
    expect(await openConnections(broker, 'EXTERNAL')).toBe(100);
    expect(await metric(broker, 'sluice_connections_rejected_total', { reason: 'per_ip' })).toBe(900);
    expect(
      broker.logs.some((l) =>
        l.includes(
          'Rejected connection from 127.0.0.1, address already has the configured maximum of 100 connections.',
        ),
      ),
    ).toBe(true);
    console.log('per-ip figures', JSON.stringify({ attempts: 1000, open: 100, elapsedMs: Date.now() - t0 }));
    // The 100 are healthy: each answers another request.
    const open100 = ps.filter((p) => p.settled === true);
    await closeAll(ps.filter((p) => p.settled === false));
    await closeAll(open100);
    await waitFor('the connections to close', async () =>
      (await openConnections(broker)) === 0 ? true : undefined,
    );

    // Produce and consume through the same listener afterwards.
    const bootstrap = `127.0.0.1:${external}`;
    const topic = 'after-flood';
    const input = Array.from({ length: 20 }, (_, i) => `m-${i}`).join('\n') + '\n';
    const prod = await run('kcat', ['-b', bootstrap, '-P', '-t', topic, '-p', '0'], { input });
    expect(prod.code, prod.stderr).toBe(0);
    const cons = await run('kcat', [
      '-b',
      bootstrap,
      '-C',
      '-t',
      topic,
      '-p',
      '0',
      '-o',
      'beginning',
      '-e',
      '-q',
    ]);
    expect(cons.code, cons.stderr).toBe(0);
    expect(cons.stdout.trim().split('\n')).toEqual(input.trim().split('\n'));
  });

  it('max.connections.per.ip.overrides: 127.0.0.2 has its own limit; dynamic updates by IP and host name', async () => {
    const two = await probes(external, '127.0.0.2', 20);
    const three = await probes(external, '127.0.0.3', 20);
    open.push(...two, ...three);
    await Promise.all([...two, ...three].map((p) => p.outcome));
    expect(settledCount(two, true)).toBe(5);
    expect(settledCount(three, true)).toBe(20);
    await closeAll([...two, ...three]);
    await waitFor('the connections to close', async () =>
      (await openConnections(broker)) === 0 ? true : undefined,
    );

    // Cluster-wide dynamic default, as kafka-configs.sh sets it (host names resolve: localhost → 127.0.0.1).
    await configs(['--add-config', 'max.connections.per.ip.overrides=[127.0.0.2:8,localhost:3]']);
    await waitFor('the tool connection to close', async () =>
      (await openConnections(broker)) === 0 ? true : undefined,
    );
    const two2 = await probes(external, '127.0.0.2', 20);
    const one2 = await probes(external, '127.0.0.1', 10);
    open.push(...two2, ...one2);
    await Promise.all([...two2, ...one2].map((p) => p.outcome));
    expect(settledCount(two2, true)).toBe(8);
    expect(settledCount(one2, true)).toBe(3);
    await closeAll([...two2, ...one2]);
    await waitFor('the connections to close', async () =>
      (await openConnections(broker)) === 0 ? true : undefined,
    );
    await configs(['--delete-config', 'max.connections.per.ip.overrides']);

    // Bad input: Kafka's answer (INVALID_REQUEST with KafkaConfig's sentence); nothing is stored.
    const bad = await runKafkaTool('kafka-configs', [
      '--bootstrap-server',
      `127.0.0.1:${internal}`,
      '--entity-type',
      'brokers',
      '--entity-default',
      '--alter',
      '--add-config',
      'max.connections.per.ip.overrides=[a/b:1]',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr + bad.stdout).toContain(
      'max.connections.per.ip.overrides contains invalid addresses : a/b',
    );
  });

  it('max.connections: the acceptor waits for a slot, takes waiting connections in order; the inter-broker listener is exempt', async () => {
    await configs(['--add-config', 'max.connections=10']);
    await waitFor('the tool connection to close', async () =>
      (await openConnections(broker)) === 0 ? true : undefined,
    );
    const ps: Probe[] = [];
    for (let i = 0; i < 15; i++) ps.push(await probe(external, '127.0.0.4'));
    open.push(...ps);
    await waitFor('10 answers', () => (settledCount(ps, true) === 10 ? true : undefined));
    // The other 5 are connected (TCP) but wait, unanswered, not closed.
    await new Promise((r) => setTimeout(r, 1000));
    expect(ps.slice(0, 10).every((p) => p.settled === true)).toBe(true);
    expect(ps.slice(10).every((p) => p.settled === null)).toBe(true);
    expect(await openConnections(broker)).toBe(10);

    // Three close: the next three waiting, in arrival order, are taken.
    await closeAll(ps.slice(0, 3));
    await waitFor('3 more answers', () => (settledCount(ps.slice(10), true) === 3 ? true : undefined));
    expect(ps.slice(10, 13).every((p) => p.settled === true)).toBe(true);
    expect(ps.slice(13).every((p) => p.settled === null)).toBe(true);

    // The inter-broker listener is protected: it takes 2 more, and the broker, now over
    // max.connections, closes the two oldest EXTERNAL connections (Kafka's closeExcessConnections).
    const ib = [await probe(internal, '127.0.0.4'), await probe(internal, '127.0.0.4')];
    open.push(...ib);
    expect(await Promise.all(ib.map((p) => p.outcome))).toEqual([true, true]);
    await waitFor('the two oldest external connections to close', () =>
      ps[3]!.socket.destroyed && ps[4]!.socket.destroyed ? true : undefined,
    );
    expect(ps.slice(5, 13).every((p) => !p.socket.destroyed)).toBe(true);
    await closeAll(ib);

    // Slots free again (the inter-broker and some external connections close): the two waiting are taken.
    await closeAll(ps.slice(5, 13));
    await waitFor('the waiting two', () =>
      ps.slice(13).every((p) => p.settled === true) ? true : undefined,
    );
    await closeAll(ps);
    await waitFor('the connections to close', async () =>
      (await openConnections(broker)) === 0 ? true : undefined,
    );
    expect(
      await metric(broker, 'sluice_acceptor_blocked_seconds_total', { listener: 'EXTERNAL' }),
    ).toBeGreaterThan(0);

    // A per-listener limit limits that listener only.
    await configs(['--add-config', 'max.connections=1000,listener.name.external.max.connections=4']);
    await waitFor('the tool connection to close', async () =>
      (await openConnections(broker)) === 0 ? true : undefined,
    );
    const ext = await probes(external, '127.0.0.4', 6, 1);
    const int = await probes(internal, '127.0.0.4', 6, 1);
    open.push(...ext, ...int);
    await waitFor('answers', () =>
      settledCount(ext, true) === 4 && settledCount(int, true) === 6 ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(ext.slice(4).every((p) => p.settled === null)).toBe(true);
    await closeAll([...ext, ...int]);
    await waitFor('the connections to close', async () =>
      (await openConnections(broker)) === 0 ? true : undefined,
    );
    await configs(['--delete-config', 'max.connections,listener.name.external.max.connections']);
  });
});

describe('connection creation rate (KIP-612)', { timeout: 180_000 }, () => {
  let broker: BrokerProcess;
  const all: Probe[] = [];
  const RATE = 5;

  beforeAll(async () => {
    const [pi, pe] = [await freePort(), await freePort()];
    broker = await new BrokerProcess({
      listeners: {
        listeners: `INTERNAL://127.0.0.1:${pi},EXTERNAL://127.0.0.1:${pe}`,
        'listener.security.protocol.map': 'INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT',
        'inter.broker.listener.name': 'INTERNAL',
      },
      overrides: {
        // A 2 × 1 s window: the rate is averaged over at least 1 s, so the burst let through at first is
        // about RATE connections (Kafka's default 11 × 1 s window lets about 10 × RATE through).
        'quota.window.num': '2',
        'quota.window.size.seconds': '1',
        'listener.name.external.max.connection.creation.rate': String(RATE),
      },
    }).start();
  }, 120_000);

  afterAll(async () => {
    await closeAll(all);
    await broker?.cleanup();
  }, 60_000);

  it('takes a burst at about the listener rate, in order, and does not throttle the other listener', async () => {
    const N = 30;
    const t0 = Date.now();
    const ext = await probes(broker.listenerPorts.EXTERNAL!, '127.0.0.1', N, N);
    all.push(...ext);
    expect(await Promise.all(ext.map((p) => p.outcome))).toEqual(Array(N).fill(true));
    const elapsed = Date.now() - ext.reduce((m, p) => Math.min(m, p.answeredAt), Infinity);
    const total = Math.max(...ext.map((p) => p.answeredAt)) - t0;
    // About (N − RATE) / RATE = 5 s after the first burst; generous lower bound, no upper bound.
    expect(total).toBeGreaterThan(((N - 2 * RATE) / RATE) * 1000 * 0.7);
    // Taken in arrival order (the acceptor waits; nothing overtakes).
    for (let i = 1; i < N; i++)
      expect(ext[i]!.answeredAt).toBeGreaterThanOrEqual(ext[i - 1]!.answeredAt - 50);
    expect(
      await metric(broker, 'sluice_connection_accept_throttled_total', { listener: 'EXTERNAL' }),
    ).toBeGreaterThan(0);

    // INTERNAL has no rate of its own and the broker-wide one is unlimited: no throttle there.
    const t1 = Date.now();
    const int = await probes(broker.listenerPorts.INTERNAL!, '127.0.0.1', N, N);
    all.push(...int);
    expect(await Promise.all(int.map((p) => p.outcome))).toEqual(Array(N).fill(true));
    const internalMs = Date.now() - t1;
    expect(await metric(broker, 'sluice_connection_accept_throttled_total', { listener: 'INTERNAL' })).toBe(
      0,
    );
    console.log(
      'creation-rate figures',
      JSON.stringify({ N, rate: RATE, externalMs: total, spreadMs: elapsed, internalMs }),
    );
  });

  it("an IP's connection_creation_rate (kafka-configs --entity-type ips): its connections over the rate are closed, other IPs are not", async () => {
    const port = broker.listenerPorts.INTERNAL!;
    const r = await runKafkaTool('kafka-configs', [
      '--bootstrap-server',
      `127.0.0.1:${port}`,
      '--alter',
      '--add-config',
      'connection_creation_rate=3',
      '--entity-type',
      'ips',
      '--entity-name',
      '127.0.0.5',
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const d = await runKafkaTool('kafka-configs', [
      '--bootstrap-server',
      `127.0.0.1:${port}`,
      '--describe',
      '--entity-type',
      'ips',
      '--entity-name',
      '127.0.0.5',
    ]);
    expect(d.stdout).toContain('connection_creation_rate=3');
    // Over a 2 × 1 s window a 3/s quota lets about 3 of a burst of 10 in; the rest are closed after
    // their throttle time, never answered. The same burst from 127.0.0.6 (no quota) is all answered.
    const limited = await probes(port, '127.0.0.5', 10, 10);
    const free = await probes(port, '127.0.0.6', 10, 10);
    all.push(...limited, ...free);
    const answered = (await Promise.all(limited.map((p) => p.outcome))).filter(Boolean).length;
    expect(answered).toBeGreaterThanOrEqual(3);
    expect(answered).toBeLessThanOrEqual(6);
    expect(await Promise.all(free.map((p) => p.outcome))).toEqual(Array(10).fill(true));
    expect(
      await metric(broker, 'sluice_connections_rejected_total', { listener: 'INTERNAL', reason: 'ip_rate' }),
    ).toBe(10 - answered);
  });
});

describe('connection quotas on a TLS listener', { timeout: 120_000 }, () => {
  let secure: SecureBroker;
  const sockets: TLSSocket[] = [];

  beforeAll(async () => {
    secure = await startSecureBroker({ overrides: { 'listener.name.sasl_ssl.max.connections': '2' } });
  }, 120_000);

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await secure?.cleanup();
  }, 60_000);

  it('a connection over the listener limit waits before its handshake and completes it once a slot frees', async () => {
    const port = secure.port('SASL_SSL');
    const handshake = () => {
      const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
      sockets.push(s);
      s.on('error', () => {});
      const secured = new Promise<number>((resolve) => s.once('secureConnect', () => resolve(Date.now())));
      return { s, secured };
    };
    const a = handshake();
    const b = handshake();
    await Promise.all([a.secured, b.secured]);
    const c = handshake();
    // The third waits (TCP connected, no handshake), longer than any handshake here takes.
    expect(await Promise.race([c.secured, new Promise((r) => setTimeout(() => r('waiting'), 1500))])).toBe(
      'waiting',
    );
    const closedAt = Date.now();
    a.s.destroy();
    expect(await c.secured).toBeGreaterThanOrEqual(closedAt);
    expect(c.s.destroyed).toBe(false);
  });
});
