/**
 * SCRAM users through Kafka 4.4.0's own `kafka-configs.sh` (ConfigCommand) against a Sluice broker:
 * add (the tool salts and hashes the password itself and sends AlterUserScramCredentials), describe,
 * use (a client authenticates with the new password, not with another), delete; and Kafka's
 * validation answers to the API (AlterUserScramCredentials / DescribeUserScramCredentials).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type kafkajs from 'kafkajs';
import { runKafkaTool } from '../helpers/kafka-tools.js';
import { RawClient } from '../helpers/raw-client.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { kafkajsClient, pem } from './client-programs.js';
import { startSecureBroker, type SecureBroker } from './secure-broker.js';

let sb: SecureBroker;
beforeAll(async () => {
  sb = await startSecureBroker();
}, 120_000);
afterAll(async () => {
  const logs = sb?.broker.logs.join('\n') ?? '';
  await sb?.cleanup();
  expect(logs).not.toContain('carol-secret');
});

const configs = (args: string[]) =>
  runKafkaTool('kafka-configs', ['--bootstrap-server', sb.bootstrap('PLAINTEXT'), ...args]);

async function canLogIn(
  user: string,
  password: string,
  mechanism: 'scram-sha-512' | 'scram-sha-256',
): Promise<boolean> {
  const a = kafkajsClient(sb.bootstrap('SASL_SSL'), {
    ssl: { ca: [pem(sb.certs.caCert)] },
    sasl: { mechanism, username: user, password } as kafkajs.SASLOptions,
    retry: { retries: 0 },
  }).admin();
  try {
    await a.connect();
    await a.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await a.disconnect();
  }
}

describe('kafka-configs.sh --entity-type users (SCRAM)', () => {
  it('adds, describes, uses and deletes SCRAM credentials', async () => {
    expect(await canLogIn('carol', 'carol-secret', 'scram-sha-512')).toBe(false);
    // As Kafka 4.4 (KRaft's ScramControlManager): one user twice in one request is refused, even
    // for two mechanisms; the tool reports it.
    const both = await configs([
      '--alter',
      '--add-config',
      'SCRAM-SHA-512=[iterations=8192,password=carol-secret],SCRAM-SHA-256=[password=carol-secret]',
      '--entity-type',
      'users',
      '--entity-name',
      'carol',
    ]);
    expect(both.code).not.toBe(0);
    expect(both.stdout + both.stderr).toContain(
      'DuplicateResourceException: A user credential cannot be altered twice in the same request',
    );
    for (const spec of [
      'SCRAM-SHA-512=[iterations=8192,password=carol-secret]',
      'SCRAM-SHA-256=[password=carol-secret]',
    ]) {
      const add = await configs([
        '--alter',
        '--add-config',
        spec,
        '--entity-type',
        'users',
        '--entity-name',
        'carol',
      ]);
      expect(add.code, add.stdout + add.stderr).toBe(0);
      expect(add.stdout).toContain('Completed updating config for user carol.');
    }

    const describe1 = await configs(['--describe', '--entity-type', 'users', '--entity-name', 'carol']);
    expect(describe1.code, describe1.stdout + describe1.stderr).toBe(0);
    expect(describe1.stdout).toContain(
      "SCRAM credential configs for user-principal 'carol' are SCRAM-SHA-256=iterations=4096, SCRAM-SHA-512=iterations=8192",
    );

    expect(await canLogIn('carol', 'carol-secret', 'scram-sha-512')).toBe(true);
    expect(await canLogIn('carol', 'carol-secret', 'scram-sha-256')).toBe(true);
    expect(await canLogIn('carol', 'not-carols', 'scram-sha-512')).toBe(false);

    const del = await configs([
      '--alter',
      '--delete-config',
      'SCRAM-SHA-512',
      '--entity-type',
      'users',
      '--entity-name',
      'carol',
    ]);
    expect(del.code, del.stdout + del.stderr).toBe(0);
    const describe2 = await configs(['--describe', '--entity-type', 'users', '--entity-name', 'carol']);
    expect(describe2.stdout).toContain(
      "SCRAM credential configs for user-principal 'carol' are SCRAM-SHA-256=iterations=4096",
    );
    expect(describe2.stdout).not.toContain('SCRAM-SHA-512');
    expect(await canLogIn('carol', 'carol-secret', 'scram-sha-512')).toBe(false);
    expect(await canLogIn('carol', 'carol-secret', 'scram-sha-256')).toBe(true);

    // Deleting what is not there is Kafka's error, reported by the tool.
    const again = await configs([
      '--alter',
      '--delete-config',
      'SCRAM-SHA-512',
      '--entity-type',
      'users',
      '--entity-name',
      'carol',
    ]);
    expect(again.code).not.toBe(0);
    expect(again.stdout + again.stderr).toContain('Attempt to delete a user credential that does not exist');

    const all = await configs(['--describe', '--entity-type', 'users']);
    expect(all.stdout).toContain("SCRAM credential configs for user-principal 'alice' are");
    expect(all.stdout).toContain("SCRAM credential configs for user-principal 'carol' are");
  }, 300_000);
});

describe('AlterUserScramCredentials / DescribeUserScramCredentials validation', () => {
  it("answers Kafka's error codes and sentences", async () => {
    const c = await RawClient.connect(sb.port('PLAINTEXT'));
    try {
      const up = (name: string, mechanism: number, iterations: number) => ({
        name,
        mechanism,
        iterations,
        salt: randomBytes(16),
        saltedPassword: randomBytes(64),
      });
      const r = await c.request(51, 0, {
        deletions: [
          { name: 'alice', mechanism: 1 },
          { name: 'ghost', mechanism: 2 },
        ],
        upsertions: [
          up('alice', 2, 8192),
          up('few', 2, 100),
          up('many', 1, 20000),
          up('', 1, 4096),
          up('weird', 7, 4096),
          up('dave', 2, 4096),
        ],
      });
      const by = Object.fromEntries(r.results.map((x) => [x.user, [x.errorCode, x.errorMessage]]));
      expect(by).toEqual({
        alice: [
          ErrorCode.DUPLICATE_RESOURCE,
          'A user credential cannot be altered twice in the same request',
        ],
        ghost: [ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist'],
        few: [ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too few iterations'],
        many: [ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too many iterations'],
        '': [ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty'],
        weird: [ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism'],
        dave: [ErrorCode.NONE, null],
      });
      const d = await c.request(50, 0, {
        users: [{ name: 'dave' }, { name: 'nobody' }, { name: 'alice' }, { name: 'alice' }],
      });
      const dby = Object.fromEntries(d.results.map((x) => [x.user, x]));
      expect(dby.dave).toMatchObject({ errorCode: 0, credentialInfos: [{ mechanism: 2, iterations: 4096 }] });
      expect(dby.nobody).toMatchObject({
        errorCode: ErrorCode.RESOURCE_NOT_FOUND,
        errorMessage: 'Attempt to describe a user credential that does not exist: nobody',
      });
      expect(dby.alice).toMatchObject({
        errorCode: ErrorCode.DUPLICATE_RESOURCE,
        errorMessage: 'Cannot describe SCRAM credentials for the same user twice in a single request: alice',
      });
    } finally {
      c.close();
    }
  }, 60_000);
});
