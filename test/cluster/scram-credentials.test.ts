/**
 * SCRAM credentials in cluster mode (etcd): AlterUserScramCredentials sent to a broker that is not
 * the controller is forwarded to the active controller, which writes it fenced by its epoch (as
 * Kafka's brokers forward it to the KRaft controller); the receiving broker answers once its own
 * view has the credential, and the other broker authenticates the user with it (kcat,
 * SASL_PLAINTEXT SCRAM-SHA-512) within a bounded delay. A deletion through the other broker takes
 * it away everywhere again.
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeys } from '../../src/protocol/messages/index.js';
import { errorName } from '../../src/protocol/error-codes.js';
import { run } from '../helpers/clients.js';
import { TestCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';

const SHA512 = 2;
const USER = 'carol';
const PASSWORD = 'carol-secret';

describe('SCRAM credentials across a cluster', { timeout: 180_000 }, () => {
  let cluster: TestCluster;
  const open: RawClient[] = [];

  beforeAll(async () => {
    cluster = await new TestCluster({
      brokers: 2,
      overrides: { 'sasl.enabled.mechanisms': 'SCRAM-SHA-512' },
      listeners: () => ({
        listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
        'inter.broker.listener.name': 'PLAINTEXT',
      }),
    }).start();
  }, 120_000);

  afterAll(async () => {
    for (const c of open) c.close();
    await cluster?.cleanup();
  }, 60_000);

  /** kcat -L over SASL/SCRAM-SHA-512 against one broker: whether it authenticated. */
  const kcatLogin = async (id: number, password: string) => {
    const r = await run(
      'kcat',
      [
        '-L',
        '-b',
        `127.0.0.1:${cluster.broker(id).listenerPorts.SASL_PLAINTEXT!}`,
        '-X',
        'security.protocol=SASL_PLAINTEXT',
        '-X',
        'sasl.mechanisms=SCRAM-SHA-512',
        '-X',
        `sasl.username=${USER}`,
        '-X',
        `sasl.password=${password}`,
        '-m',
        '5',
      ],
      { timeoutMs: 30_000 },
    );
    return r.code === 0 && r.stdout.includes('broker');
  };

  const within = async (what: string, ms: number, f: () => Promise<boolean>) => {
    const deadline = Date.now() + ms;
    while (!(await f())) {
      if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  it('a credential written through broker A authenticates on broker B; its deletion through B ends it on A', async () => {
    const controller = await cluster.waitFor(
      'a controller',
      async () => {
        const c = await cluster.controller();
        return c > 0 ? c : undefined;
      },
      30_000,
    );
    const a = controller === 1 ? 2 : 1; // not the controller: its writes are forwarded
    const b = controller;
    const clientA = await RawClient.connect(cluster.broker(a).port);
    const clientB = await RawClient.connect(cluster.broker(b).port);
    open.push(clientA, clientB);

    expect(await kcatLogin(b, PASSWORD)).toBe(false);
    const salt = randomBytes(16);
    const iterations = 8192;
    const altered = await clientA.request(ApiKeys.AlterUserScramCredentials, 0, {
      deletions: [],
      upsertions: [
        {
          name: USER,
          mechanism: SHA512,
          iterations,
          salt,
          saltedPassword: pbkdf2Sync(PASSWORD, salt, iterations, 64, 'sha512'),
        },
      ],
    });
    expect(altered.results.map((r) => [r.user, errorName(r.errorCode)])).toEqual([[USER, 'NONE']]);
    // Broker A answered once it has the credential itself (read-your-writes).
    expect(await kcatLogin(a, PASSWORD)).toBe(true);
    await within('broker B to authenticate the new user', 10_000, () => kcatLogin(b, PASSWORD));
    expect(await kcatLogin(b, 'wrong-password')).toBe(false);
    const described = await clientB.request(ApiKeys.DescribeUserScramCredentials, 0, {
      users: [{ name: USER }],
    });
    expect(described.results.map((r) => [r.user, errorName(r.errorCode), r.credentialInfos])).toEqual([
      [USER, 'NONE', [{ mechanism: SHA512, iterations }]],
    ]);

    const deleted = await clientB.request(ApiKeys.AlterUserScramCredentials, 0, {
      deletions: [{ name: USER, mechanism: SHA512 }],
      upsertions: [],
    });
    expect(deleted.results.map((r) => [r.user, errorName(r.errorCode)])).toEqual([[USER, 'NONE']]);
    await within('broker A to refuse the deleted user', 10_000, async () => !(await kcatLogin(a, PASSWORD)));
  });
});
