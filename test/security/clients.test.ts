/**
 * Real clients against one broker with SASL_SSL, SSL (mTLS) and PLAINTEXT listeners: the Java client
 * (Kafka 4.4.0), librdkafka (confluent-kafka-python and kcat) and kafkajs each produce (acks=all) and
 * consume over SASL_SSL with SCRAM-SHA-512 and over mTLS, and are refused with Kafka's errors for a
 * wrong password, an unknown user, an expired OAUTHBEARER token and a client certificate from another
 * CA. The broker counts every refusal (sluice_failed_authentication_total) and never logs a secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { unsecuredToken } from '../../src/broker/security/oauthbearer.js';
import { scrapeMetric } from './metrics.js';
import { javaClient, kafkajsClient, kafkajsRoundtrip, kcat, pem, pythonClient } from './client-programs.js';
import { ALICE, startSecureBroker, type SecureBroker } from './secure-broker.js';

const GENERIC =
  'Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512';
const WRONG = 'not-alices-password';
const expiredToken = () => unsecuredToken({ sub: 'alice', exp: Math.floor(Date.now() / 1000) - 60 });

let sb: SecureBroker;
let admin: kafkajs.Admin;
const failed = async (mechanism: string) =>
  (await scrapeMetric(sb.broker.metricsPort, 'sluice_failed_authentication_total', {
    listener: mechanism === 'SSL' ? 'SSL' : 'SASL_SSL',
    mechanism,
  })) ?? 0;

beforeAll(async () => {
  sb = await startSecureBroker();
  sb.certs.issue('alice', '/O=Sluice Test/OU=Clients/CN=alice');
  admin = kafkajsClient(sb.bootstrap('PLAINTEXT'), {}).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      'sec-java',
      'sec-java-mtls',
      'sec-py',
      'sec-py-mtls',
      'sec-kcat',
      'sec-kcat-mtls',
      'sec-js',
      'sec-js-mtls',
    ].map((topic) => ({ topic, numPartitions: 2 })),
  });
}, 120_000);

afterAll(async () => {
  await admin?.disconnect();
  // No password, salted password or token ever reaches the broker's log.
  const logs = sb?.broker.logs.join('\n') ?? '';
  await sb?.cleanup();
  for (const secret of [ALICE.password, WRONG, 'bob-secret', 'eyJhbGciOiJub25lIn0'])
    expect(logs).not.toContain(secret);
});

describe('Java client (kafka-clients 4.4.0)', () => {
  const sasl = () => ({
    'bootstrap.servers': sb.bootstrap('SASL_SSL'),
    'security.protocol': 'SASL_SSL',
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': sb.certs.caCert,
    'sasl.mechanism': 'SCRAM-SHA-512',
    'sasl.jaas.config': `org.apache.kafka.common.security.scram.ScramLoginModule required username="${ALICE.username}" password="${ALICE.password}";`,
  });
  const mtls = (client: string) => ({
    'bootstrap.servers': sb.bootstrap('SSL'),
    'security.protocol': 'SSL',
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': sb.certs.caCert,
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': sb.certs.client(client).pem,
  });
  const expectedValues = (n: number) =>
    Array.from({ length: n }, (_, i) => `java-${i}`)
      .sort()
      .join(',');

  it('produces and consumes over SASL_SSL with SCRAM-SHA-512', async () => {
    const r = await javaClient(['roundtrip', 'sec-java', '20'], sasl());
    expect(r.stdout, r.stderr).toContain('produced 20');
    expect(r.stdout, r.stderr).toContain(`consumed 20 ${expectedValues(20)}`);
  }, 180_000);

  it('produces and consumes over mTLS', async () => {
    const r = await javaClient(['roundtrip', 'sec-java-mtls', '20'], mtls('alice'));
    expect(r.stdout, r.stderr).toContain(`consumed 20 ${expectedValues(20)}`);
  }, 180_000);

  it("is refused with Kafka's errors: wrong password, unknown user, expired token, certificate from another CA", async () => {
    const before = {
      scram: await failed('SCRAM-SHA-512'),
      oauth: await failed('OAUTHBEARER'),
      ssl: await failed('SSL'),
    };
    const jaas = (u: string, p: string) =>
      `org.apache.kafka.common.security.scram.ScramLoginModule required username="${u}" password="${p}";`;
    const wrong = await javaClient(['connect'], {
      ...sasl(),
      'sasl.jaas.config': jaas(ALICE.username, WRONG),
    });
    expect(wrong.stdout).toContain(
      `error org.apache.kafka.common.errors.SaslAuthenticationException: ${GENERIC}`,
    );
    const unknown = await javaClient(['connect'], { ...sasl(), 'sasl.jaas.config': jaas('nobody', 'x') });
    expect(unknown.stdout).toContain(
      `error org.apache.kafka.common.errors.SaslAuthenticationException: ${GENERIC}`,
    );
    // Java's unsecured login module with a negative lifetime makes a token that expired a minute ago.
    const expired = await javaClient(['connect'], {
      ...sasl(),
      'sasl.mechanism': 'OAUTHBEARER',
      'sasl.jaas.config':
        'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="alice" unsecuredLoginLifetimeSeconds="-60";',
    });
    expect(expired.stdout).toContain(
      'error org.apache.kafka.common.errors.SaslAuthenticationException: {"status":"invalid_token"}',
    );
    const mallory = await javaClient(['connect'], mtls('mallory'));
    expect(mallory.stdout).toMatch(/^error org\.apache\.kafka\.common\.errors\.SslAuthenticationException/m);
    expect(await failed('SCRAM-SHA-512')).toBeGreaterThanOrEqual(before.scram + 2);
    expect(await failed('OAUTHBEARER')).toBeGreaterThan(before.oauth);
    expect(await failed('SSL')).toBeGreaterThan(before.ssl);
  }, 300_000);
});

describe('librdkafka: confluent-kafka-python', () => {
  const sasl = () => ({
    'bootstrap.servers': sb.bootstrap('SASL_SSL'),
    'security.protocol': 'SASL_SSL',
    'ssl.ca.location': sb.certs.caCert,
    'sasl.mechanisms': 'SCRAM-SHA-512',
    'sasl.username': ALICE.username,
    'sasl.password': ALICE.password,
  });
  const mtls = (client: string) => ({
    'bootstrap.servers': sb.bootstrap('SSL'),
    'security.protocol': 'SSL',
    'ssl.ca.location': sb.certs.caCert,
    'ssl.certificate.location': sb.certs.client(client).cert,
    'ssl.key.location': sb.certs.client(client).key,
  });
  const values = (n: number) =>
    Array.from({ length: n }, (_, i) => `py-${i}`)
      .sort()
      .join(',');

  it('produces and consumes over SASL_SSL with SCRAM-SHA-512 and over mTLS', async () => {
    const a = await pythonClient(sasl(), ['roundtrip', 'sec-py', '20']);
    expect(a.stdout, a.stderr).toContain(`consumed 20 ${values(20)}`);
    const b = await pythonClient(mtls('alice'), ['roundtrip', 'sec-py-mtls', '20']);
    expect(b.stdout, b.stderr).toContain(`consumed 20 ${values(20)}`);
  }, 240_000);

  it("is refused with Kafka's errors", async () => {
    const wrong = await pythonClient({ ...sasl(), 'sasl.password': WRONG }, ['connect']);
    expect(wrong.stdout).toContain(`SASL authentication error: ${GENERIC}`);
    const unknown = await pythonClient({ ...sasl(), 'sasl.username': 'nobody' }, ['connect']);
    expect(unknown.stdout).toContain(`SASL authentication error: ${GENERIC}`);
    const expired = await pythonClient(
      { ...sasl(), 'sasl.mechanisms': 'OAUTHBEARER', oauth_token: expiredToken() },
      ['connect'],
    );
    expect(expired.stdout).toMatch(/SASL authentication error: \{"status":"invalid_token"\}/);
    // Node's TLS closes the connection instead of sending Kafka's TLS alert: librdkafka sees the close.
    const mallory = await pythonClient(mtls('mallory'), ['connect']);
    expect(mallory.stdout).toMatch(/^error /m);
    expect(mallory.stdout).not.toMatch(/^brokers /m);
  }, 240_000);
});

describe('librdkafka: kcat', () => {
  const sasl = () => ({
    'security.protocol': 'SASL_SSL',
    'ssl.ca.location': sb.certs.caCert,
    'sasl.mechanisms': 'SCRAM-SHA-512',
    'sasl.username': ALICE.username,
    'sasl.password': ALICE.password,
  });
  const mtls = (client: string) => ({
    'security.protocol': 'SSL',
    'ssl.ca.location': sb.certs.caCert,
    'ssl.certificate.location': sb.certs.client(client).cert,
    'ssl.key.location': sb.certs.client(client).key,
  });

  it('produces and consumes over SASL_SSL with SCRAM-SHA-512 and over mTLS', async () => {
    for (const [topic, conf, bootstrap] of [
      ['sec-kcat', sasl(), sb.bootstrap('SASL_SSL')],
      ['sec-kcat-mtls', mtls('alice'), sb.bootstrap('SSL')],
    ] as const) {
      const lines = Array.from({ length: 10 }, (_, i) => `kcat-${i}`);
      const p = await kcat(
        ['-b', bootstrap, '-P', '-t', topic, '-p', '0', '-X', 'acks=all'],
        conf,
        lines.join('\n') + '\n',
      );
      expect(p.code, p.stderr).toBe(0);
      const c = await kcat(
        ['-b', bootstrap, '-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-f', '%s\n'],
        conf,
      );
      expect(c.code, c.stderr).toBe(0);
      expect(c.stdout.trim().split('\n')).toEqual(lines);
    }
  }, 120_000);

  it("is refused with Kafka's error for a wrong password", async () => {
    const r = await kcat(['-b', sb.bootstrap('SASL_SSL'), '-L', '-m', '5'], {
      ...sasl(),
      'sasl.password': WRONG,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`SASL authentication error: ${GENERIC}`);
  }, 60_000);
});

describe('kafkajs', () => {
  const sasl = (password = ALICE.password, username = ALICE.username) =>
    kafkajsClient(sb.bootstrap('SASL_SSL'), {
      ssl: { ca: [pem(sb.certs.caCert)] },
      sasl: { mechanism: 'scram-sha-512', username, password },
    });
  const mtls = (client: string) =>
    kafkajsClient(sb.bootstrap('SSL'), {
      ssl: {
        ca: [pem(sb.certs.caCert)],
        cert: pem(sb.certs.client(client).cert),
        key: pem(sb.certs.client(client).key),
      },
    });
  const values = (n: number) => Array.from({ length: n }, (_, i) => `js-${i}`).sort();

  it('produces and consumes over SASL_SSL with SCRAM-SHA-512 and over mTLS', async () => {
    expect(await kafkajsRoundtrip(sasl(), 'sec-js', 20)).toEqual(values(20));
    expect(await kafkajsRoundtrip(mtls('alice'), 'sec-js-mtls', 20)).toEqual(values(20));
  }, 180_000);

  it("is refused with Kafka's errors", async () => {
    for (const k of [sasl(WRONG), sasl('x', 'nobody')]) {
      const a = k.admin();
      await expect(a.connect()).rejects.toThrow(`SASL SCRAM SHA512 authentication failed: ${GENERIC}`);
    }
    // kafkajs takes the broker's OAUTHBEARER error challenge for success (it does not answer it, as
    // Kafka's protocol asks), so the refusal shows on the first request: the broker closed the connection.
    const before = await failed('OAUTHBEARER');
    const expired = kafkajsClient(sb.bootstrap('SASL_SSL'), {
      ssl: { ca: [pem(sb.certs.caCert)] },
      sasl: {
        mechanism: 'oauthbearer',
        oauthBearerProvider: () => Promise.resolve({ value: expiredToken() }),
      },
      retry: { retries: 0 },
    }).admin();
    await expect(
      (async () => {
        await expired.connect();
        await expired.listTopics();
      })(),
    ).rejects.toThrow();
    await expired.disconnect();
    expect(await failed('OAUTHBEARER')).toBeGreaterThan(before);
    const mallory = mtls('mallory').admin();
    await expect(
      (async () => {
        await mallory.connect();
        await mallory.listTopics();
      })(),
    ).rejects.toThrow();
    await mallory.disconnect();
  }, 180_000);
});
