/**
 * Inter-broker security on a 3-broker cluster (real etcd, real broker processes): the inter-broker
 * listener is SASL_SSL with SCRAM-SHA-512, so replica fetching runs over TLS + SASL through the shared
 * client (src/client) and the control plane (gRPC) is TLS with the secret derived from the brokers'
 * SCRAM login. Sessions last 4 s (connections.max.reauth.ms), so the fetchers must re-authenticate on
 * their connections (KIP-368) to keep replicating.
 *
 *  - a topic created through a broker that is not the controller (forwarded over the secured gRPC)
 *    gets a full ISR; acks=all produce completes and every record is read back;
 *  - the followers' re-authentications are counted and none fails; the ISR stays full past several
 *    session lifetimes;
 *  - a control-plane call without the secret is refused with UNAUTHENTICATED;
 *  - a plaintext client gets no Kafka answer from the SASL_SSL port.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callUnary, controlPlaneChannel } from '../../src/controller/grpc/methods.js';
import { TestCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { TestCerts } from './certs.js';
import { scrapeMetric } from './metrics.js';

const { Kafka, logLevel } = kafkajs;
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const BROKER_USER = { name: 'broker', password: 'broker-secret' };
const SCRAM_JAAS = `org.apache.kafka.common.security.scram.ScramLoginModule required username="${BROKER_USER.name}" password="${BROKER_USER.password}";`;

describe('inter-broker SASL_SSL', { timeout: 300_000 }, () => {
  let certs: TestCerts;
  let cluster: TestCluster;

  beforeAll(async () => {
    certs = new TestCerts();
    cluster = new TestCluster({
      listeners: () => ({
        listeners: 'PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0',
        'inter.broker.listener.name': 'SASL_SSL',
      }),
      overrides: {
        'ssl.keystore.type': 'PEM',
        'ssl.keystore.location': certs.brokerPem,
        'ssl.truststore.type': 'PEM',
        'ssl.truststore.location': certs.caCert,
        'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
        'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
        'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': SCRAM_JAAS,
        'listener.name.sasl_ssl.connections.max.reauth.ms': '4000',
      },
      extraArgs: ['--add-scram', `SCRAM-SHA-512=[name=${BROKER_USER.name},password=${BROKER_USER.password}]`],
    });
    try {
      await cluster.start();
    } catch (err) {
      await cluster.cleanup();
      certs.cleanup();
      throw err;
    }
  }, 180_000);

  afterAll(async () => {
    await cluster?.cleanup();
    certs?.cleanup();
  }, 60_000);

  it('replicates over SASL_SSL with re-authentication; acks=all produce and consume work', async () => {
    const controller = await cluster.waitFor('a controller', async () => {
      const c = await cluster.controller();
      return c > 0 ? c : undefined;
    });
    const other = [1, 2, 3].find((id) => id !== controller)!;
    const plain = (id: number) => `127.0.0.1:${cluster.broker(id).listenerPorts['PLAINTEXT']}`;

    // Created through a broker that is not the controller: forwarded over the secured control plane.
    const kafka = new Kafka({
      brokers: [plain(other)],
      clientId: 'inter-broker-test',
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [
          {
            topic: 'secure-rep',
            numPartitions: 3,
            replicationFactor: 3,
            configEntries: [{ name: 'min.insync.replicas', value: '3' }],
          },
        ],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
    await cluster.waitFullyReplicated('secure-rep', 3, 3);

    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const values: string[] = [];
    try {
      for (let batch = 0; batch < 10; batch++) {
        const messages = Array.from({ length: 30 }, (_, i) => ({ value: `v-${batch}-${i}` }));
        values.push(...messages.map((m) => m.value));
        const res = await producer.send({ topic: 'secure-rep', acks: -1, messages });
        expect(res.every((r) => r.errorCode === 0)).toBe(true);
      }
    } finally {
      await producer.disconnect();
    }

    const consumer = kafka.consumer({ groupId: 'inter-broker-test' });
    const seen: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'secure-rep', fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value!.toString());
        },
      });
      await cluster.waitFor('every record consumed', () => (seen.length >= values.length ? true : undefined));
    } finally {
      await consumer.disconnect();
    }
    expect([...seen].sort()).toEqual([...values].sort());

    // Past several session lifetimes the followers have re-authenticated and still follow.
    await cluster.waitFor(
      'fetchers re-authenticated',
      async () => {
        let n = 0;
        for (const id of [1, 2, 3])
          n +=
            (await scrapeMetric(
              cluster.broker(id).metricsPort,
              'sluice_successful_reauthentication_total',
            )) ?? 0;
        return n >= 6 ? n : undefined;
      },
      60_000,
      500,
    );
    for (const id of [1, 2, 3]) {
      expect(
        (await scrapeMetric(cluster.broker(id).metricsPort, 'sluice_failed_reauthentication_total')) ?? 0,
      ).toBe(0);
      expect(
        (await scrapeMetric(cluster.broker(id).metricsPort, 'sluice_failed_authentication_total')) ?? 0,
      ).toBe(0);
    }
    const states = await cluster.partitionStates('secure-rep');
    for (const s of states.values()) expect(s.isr.length).toBe(3);
    // Still replicating after the re-authentications: one more acks=all write.
    const p2 = kafka.producer();
    await p2.connect();
    try {
      const r = await p2.send({ topic: 'secure-rep', acks: -1, messages: [{ value: 'after-reauth' }] });
      expect(r[0]!.errorCode).toBe(0);
    } finally {
      await p2.disconnect();
    }
  });

  it('refuses a control-plane call without the secret; a plaintext client gets nothing from SASL_SSL', async () => {
    const controller = await cluster.controller();
    const reg = await fetch(`${cluster.etcd.endpoint}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: Buffer.from(`${cluster.root}/brokers/${controller}`).toString('base64') }),
    }).then((r) => r.json() as Promise<{ kvs: { value: string }[] }>);
    const controlPort = (
      JSON.parse(Buffer.from(reg.kvs[0]!.value, 'base64').toString()) as { controlPort: number }
    ).controlPort;
    // TLS that trusts the cluster's CA, but no secret in the call.
    const channel = controlPlaneChannel(
      `127.0.0.1:${controlPort}`,
      grpc.credentials.createSsl(readFileSync(certs.caCert)),
    );
    try {
      const err = await callUnary(channel, 'describeClusterHealth', {}, Date.now() + 10_000).then(
        () => null,
        (e: grpc.ServiceError) => e,
      );
      expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      channel.close();
    }

    const raw = await RawClient.connect(cluster.broker(controller).listenerPorts['SASL_SSL']!);
    try {
      await expect(raw.request(3, 1, { topics: null })).rejects.toThrow();
    } finally {
      raw.close();
    }
  });
});
