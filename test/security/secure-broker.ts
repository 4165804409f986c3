/**
 * A real `sluice broker` with every kind of listener, for the security tests:
 *
 *   PLAINTEXT       open (setup, and to show what a secured listener refuses)
 *   SASL_SSL        SCRAM-SHA-512, SCRAM-SHA-256, PLAIN, OAUTHBEARER (unsecured tokens, Kafka's default)
 *   SSL             mTLS: ssl.client.auth=required, principal from the client certificate
 *   SASL_PLAINTEXT  the same mechanisms without TLS
 *
 * Users: alice / alice-secret for SCRAM-SHA-512 and SCRAM-SHA-256 (created by --add-scram) and PLAIN
 * (the listener's JAAS config). Certificates from TestCerts; the broker's serves 127.0.0.1/localhost.
 */
import { BrokerProcess, type BrokerProcessOptions } from '../helpers/broker-process.js';
import { TestCerts } from './certs.js';

export const ALICE = { username: 'alice', password: 'alice-secret' };

export const PLAIN_JAAS =
  'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret" user_bob="bob-secret";';

export interface SecureBroker {
  broker: BrokerProcess;
  certs: TestCerts;
  port(listener: 'PLAINTEXT' | 'SASL_SSL' | 'SSL' | 'SASL_PLAINTEXT'): number;
  bootstrap(listener: 'PLAINTEXT' | 'SASL_SSL' | 'SSL' | 'SASL_PLAINTEXT'): string;
  cleanup(): Promise<void>;
}

export function secureBrokerOverrides(certs: TestCerts): Record<string, string> {
  return {
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': certs.brokerPem,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': certs.caCert,
    'listener.name.ssl.ssl.client.auth': 'required',
    'sasl.enabled.mechanisms': 'SCRAM-SHA-512,SCRAM-SHA-256,PLAIN,OAUTHBEARER',
    'listener.name.sasl_ssl.plain.sasl.jaas.config': PLAIN_JAAS,
    'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS,
    'inter.broker.listener.name': 'PLAINTEXT',
    'group.initial.rebalance.delay.ms': '0',
    'offsets.topic.replication.factor': '1',
  };
}

export async function startSecureBroker(
  opts: { certs?: TestCerts; overrides?: Record<string, string> } & Pick<
    BrokerProcessOptions,
    'logLevel'
  > = {},
): Promise<SecureBroker> {
  const certs = opts.certs ?? new TestCerts();
  const broker = new BrokerProcess({
    listeners: {
      listeners:
        'PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
    },
    overrides: { ...secureBrokerOverrides(certs), ...opts.overrides },
    extraArgs: [
      '--add-scram',
      `SCRAM-SHA-512=[name=${ALICE.username},password=${ALICE.password},iterations=8192]`,
      '--add-scram',
      `SCRAM-SHA-256=[name=${ALICE.username},password=${ALICE.password}]`,
    ],
    ...(opts.logLevel ? { logLevel: opts.logLevel } : {}),
  });
  try {
    await broker.start();
  } catch (err) {
    await broker.cleanup();
    if (!opts.certs) certs.cleanup();
    throw err;
  }
  const port = (l: string) => broker.listenerPorts[l]!;
  return {
    broker,
    certs,
    port,
    bootstrap: (l) => `127.0.0.1:${port(l)}`,
    cleanup: async () => {
      await broker.cleanup();
      if (!opts.certs) certs.cleanup();
    },
  };
}
