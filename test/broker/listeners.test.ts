/**
 * Named listeners on one broker process: INTERNAL bound and advertised on 127.0.0.1, EXTERNAL on
 * 127.0.0.2. A client bootstrapping through either listener is told only that listener's address,
 * and kcat produces and consumes through it without ever connecting to the other (its own connection
 * log and the broker's per-listener connection gauge say so). Bad listener configs stop the broker
 * at startup with exit code 2 and a message naming the problem.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { BrokerProcess, REPO_ROOT } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { run } from '../helpers/clients.js';
import { freePort } from '../helpers/etcd.js';
import { ApiKeys } from '../../src/protocol/messages/index.js';

const TOPIC = 'listeners-topic';

describe('two listeners on one broker', { timeout: 120_000 }, () => {
  let broker: BrokerProcess;
  let internal: string;
  let external: string;

  beforeAll(async () => {
    const [pi, pe] = [await freePort(), await freePort()];
    broker = await new BrokerProcess({
      listeners: {
        listeners: `internal://127.0.0.1:${pi},EXTERNAL://127.0.0.2:${pe}`,
        'listener.security.protocol.map': 'INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT',
      },
      overrides: { 'num.partitions': '2', 'offsets.topic.replication.factor': '1' },
    }).start();
    internal = `127.0.0.1:${pi}`;
    external = `127.0.0.2:${pe}`;
    expect(broker.listenerPorts).toEqual({ INTERNAL: pi, EXTERNAL: pe });
  });

  afterAll(async () => {
    await broker?.cleanup();
  });

  const kcatBrokers = async (bootstrap: string) => {
    const r = await run('kcat', ['-b', bootstrap, '-L', '-J']);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { brokers: { id: number; name: string }[] }).brokers;
  };

  it('answers kcat -L with the addresses of the listener asked', async () => {
    expect(await kcatBrokers(internal)).toEqual([{ id: 1, name: internal }]);
    expect(await kcatBrokers(external)).toEqual([{ id: 1, name: external }]);
  });

  it('Metadata (v0, v5, v12), DescribeCluster and FindCoordinator answer per listener', async () => {
    for (const [addr, port, host] of [
      [internal, broker.listenerPorts.INTERNAL!, '127.0.0.1'],
      [external, broker.listenerPorts.EXTERNAL!, '127.0.0.2'],
    ] as const) {
      const c = await RawClient.connect(port, host);
      for (const v of [0, 5, 12]) {
        const md = await c.request(ApiKeys.Metadata, v, { topics: v === 0 ? [] : null });
        expect(
          md.brokers.map((b) => `${b.host}:${b.port}`),
          `v${v} via ${addr}`,
        ).toEqual([addr]);
      }
      const dc = await c.request(ApiKeys.DescribeCluster, 0, { includeClusterAuthorizedOperations: false });
      expect(dc.brokers.map((b) => `${b.host}:${b.port}`)).toEqual([addr]);
      const fc = await c.request(ApiKeys.FindCoordinator, 3, { key: 'listeners-group', keyType: 0 });
      expect(fc.errorCode).toBe(0);
      expect(`${fc.host}:${fc.port}`).toBe(addr);
      const fc4 = await c.request(ApiKeys.FindCoordinator, 4, {
        keyType: 0,
        coordinatorKeys: ['listeners-group'],
      });
      expect(fc4.coordinators!.map((x) => `${x.host}:${x.port}`)).toEqual([addr]);
      c.close();
    }
  });

  it('kcat produces through EXTERNAL and consumes through each listener, connecting only there', async () => {
    const input = Array.from({ length: 200 }, (_, i) => `k${i}\tv${i}\n`).join('');
    const p = await run('kcat', ['-b', external, '-P', '-t', TOPIC, '-K', '\t', '-d', 'broker'], {
      input,
    });
    expect(p.code, p.stderr).toBe(0);
    const connected = (log: string) =>
      [...log.matchAll(/Connected to ipv4#([0-9.]+:\d+)/g)].map((m) => m[1]!).sort();
    // The bootstrap connection and the partition leaders' connections: all on EXTERNAL.
    expect(connected(p.stderr).length).toBeGreaterThan(0);
    expect(new Set(connected(p.stderr))).toEqual(new Set([external]));

    for (const addr of [external, internal]) {
      const c = await run(
        'kcat',
        ['-b', addr, '-C', '-t', TOPIC, '-e', '-q', '-f', '%k %s\n', '-d', 'broker'],
        { timeoutMs: 60_000 },
      );
      expect(c.code, c.stderr).toBe(0);
      expect(c.stdout.split('\n').filter(Boolean).sort()).toEqual(
        Array.from({ length: 200 }, (_, i) => `k${i} v${i}`).sort(),
      );
      expect(new Set(connected(c.stderr))).toEqual(new Set([addr]));
    }
  });

  it('counts connections per listener', async () => {
    const c = await RawClient.connect(broker.listenerPorts.EXTERNAL!, '127.0.0.2');
    await c.request(ApiKeys.Metadata, 1, { topics: [] });
    const text = await (await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`)).text();
    expect(text).toMatch(/^sluice_connections\{[^}]*listener="EXTERNAL"[^}]*\} 1$/m);
    expect(text).toMatch(/^sluice_connections\{[^}]*listener="INTERNAL"[^}]*\} 0$/m);
    c.close();
  });
});

describe('bad listener configs stop the broker at startup', { timeout: 120_000 }, () => {
  const start = (args: string[]) =>
    run(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO_ROOT, 'src/cli/main.ts'),
        'broker',
        '--data-dir',
        join(tmpdir(), `sluice-bad-listeners-${process.pid}`),
        ...args,
      ],
      { timeoutMs: 60_000 },
    );
  const o = (kv: Record<string, string>) =>
    Object.entries(kv).flatMap(([k, v]) => ['--override', `${k}=${v}`]);
  const MAP = 'listener.security.protocol.map';

  it.each([
    [
      'duplicate names',
      o({ listeners: 'A://127.0.0.1:0,a://127.0.0.2:0', [MAP]: 'A:PLAINTEXT' }),
      /Each listener must have a different name/,
    ],
    [
      'duplicate ports',
      o({ listeners: 'A://127.0.0.1:19092,B://127.0.0.2:19092', [MAP]: 'A:PLAINTEXT,B:PLAINTEXT' }),
      /Each listener must have a different port/,
    ],
    [
      'an unknown protocol',
      o({ listeners: 'A://127.0.0.1:0', [MAP]: 'A:PLAINTEXTISH' }),
      /unknown security protocol \W*PLAINTEXTISH\W* for listener A/,
    ],
    [
      'SSL without a keystore',
      o({ listeners: 'A://127.0.0.1:0,B://127.0.0.2:0', [MAP]: 'A:PLAINTEXT,B:SSL' }),
      /Listener B \(SSL\) needs a keystore: set listener\.name\.b\.ssl\.keystore\.location/,
    ],
    [
      'SASL_SSL by name, without a keystore',
      o({ listeners: 'SASL_SSL://127.0.0.1:0' }),
      /Listener SASL_SSL \(SASL_SSL\) needs a keystore/,
    ],
    [
      "SASL with Kafka's default mechanism (GSSAPI)",
      o({ listeners: 'SASL_PLAINTEXT://127.0.0.1:0' }),
      /SASL mechanism GSSAPI \(Kerberos\) is not supported; set sasl\.enabled\.mechanisms/,
    ],
    [
      'SASL/PLAIN without users',
      o({ listeners: 'SASL_PLAINTEXT://127.0.0.1:0', 'sasl.enabled.mechanisms': 'PLAIN' }),
      /SASL\/PLAIN on listener SASL_PLAINTEXT needs users: set listener\.name\.sasl_plaintext\.plain\.sasl\.jaas\.config/,
    ],
    [
      '0.0.0.0 advertised',
      o({ listeners: 'A://0.0.0.0:0', [MAP]: 'A:PLAINTEXT' }),
      /advertised.listeners cannot use the nonroutable meta-address 0.0.0.0/,
    ],
    ['--listen 0.0.0.0 without --advertise', ['--listen', '0.0.0.0:0'], /nonroutable meta-address 0.0.0.0/],
    [
      'a name missing from the map',
      o({ listeners: 'A://127.0.0.1:0,B://127.0.0.2:0', [MAP]: 'A:PLAINTEXT' }),
      /No security protocol defined for listener B/,
    ],
    [
      'an advertised name not in listeners',
      o({ listeners: 'A://127.0.0.1:0', [MAP]: 'A:PLAINTEXT', 'advertised.listeners': 'C://h:1' }),
      /C is not in listeners/,
    ],
    [
      'an unknown inter-broker listener',
      o({ listeners: 'A://127.0.0.1:0', [MAP]: 'A:PLAINTEXT', 'inter.broker.listener.name': 'B' }),
      /inter.broker.listener.name must be a listener name defined in listeners/,
    ],
    [
      '--listen together with listeners',
      ['--listen', '127.0.0.1:0', ...o({ listeners: 'PLAINTEXT://127.0.0.1:0' })],
      /--listen describes a single PLAINTEXT listener/,
    ],
  ])('%s', async (_, args, message) => {
    const r = await start(args);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout + r.stderr).toMatch(message);
  });
});
