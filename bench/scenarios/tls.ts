/**
 * Produce throughput over TLS, Sluice next to Apache Kafka 4.4.0 (KRaft combined mode, as the
 * transactions scenario), each broker with a PLAINTEXT and an SSL listener (TLS 1.3, the PEM key and
 * certificate of test/security/certs.ts, `ssl.keystore.type=PEM` with the key encrypted, on both). Kafka's
 * ProducerPerformance (3.9.1 tools, as `produce`) writes 1 KiB records to each listener in turn:
 * MiB/s over SSL and over PLAINTEXT on the same broker (so the TLS cost shows as a ratio too), and
 * the broker's CPU seconds per GiB. Both brokers run at the same time and take turns (S,K then K,S).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResult } from '../main.js';
import { brokerKinds, startSluice, type Broker, type BrokerKind } from '../lib/brokers.js';
import { attempt, pair, QUICK, withFailures } from '../lib/compare.js';
import { producerPerf } from '../lib/java.js';
import { freePort } from '../lib/proc.js';
import { createTopic, deleteTopic } from '../lib/wire.js';
import { BROKER_KEY_PASSWORD, TestCerts } from '../../test/security/certs.js';
import { startKafka44 } from './compaction.js';

export const name = 'tls';
export const description =
  'produce MiB/s over SSL (TLS 1.3) and PLAINTEXT on the same broker, 1 KiB records; vs Kafka 4.4.0';
export const needsBuild = true;

interface Config {
  acks: '1' | 'all';
  partitions: number;
  producers: number;
}

const CONFIGS: Config[] = QUICK
  ? [{ acks: '1', partitions: 1, producers: 1 }]
  : [
      { acks: '1', partitions: 1, producers: 1 },
      { acks: 'all', partitions: 16, producers: 4 },
    ];
const SIZE = 1024;

interface TlsBroker {
  b: Broker;
  ssl: string;
}

export async function run(): Promise<BenchResult[]> {
  const failures: string[] = [];
  const certs = new TestCerts();
  // The key encrypted with PBE-SHA1-3DES: Java 17 (Kafka's PEM keystore reader) cannot decrypt
  // PKCS#8 PBES2 (test/security/certs.ts's AES-256 broker-enc.pem); Node reads both.
  const keystore = join(certs.dir, 'broker-java.pem');
  execFileSync('openssl', [
    'pkcs8',
    '-topk8',
    '-in',
    join(certs.dir, 'broker.key'),
    '-out',
    join(certs.dir, 'broker-java.key'),
    '-v1',
    'PBE-SHA1-3DES',
    '-passout',
    `pass:${BROKER_KEY_PASSWORD}`,
  ]);
  writeFileSync(
    keystore,
    readFileSync(join(certs.dir, 'broker-java.key'), 'utf8') +
      readFileSync(join(certs.dir, 'broker.crt'), 'utf8'),
  );
  const ssl = {
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': keystore,
    'ssl.key.password': BROKER_KEY_PASSWORD,
  };
  const client = [
    'security.protocol=SSL',
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${certs.caCert}`,
  ];
  const brokers: TlsBroker[] = [];
  try {
    for (const kind of brokerKinds()) {
      const sslPort = await freePort();
      const b = await attempt(
        `${kind} start`,
        async () => {
          if (kind === 'kafka') return startKafka44(ssl, [`SSL://127.0.0.1:${sslPort}`]);
          const port = await freePort();
          return startSluice({
            overrides: {
              ...ssl,
              listeners: `PLAINTEXT://127.0.0.1:${port},SSL://127.0.0.1:${sslPort}`,
            },
          });
        },
        failures,
      );
      if (b) brokers.push({ b, ssl: `127.0.0.1:${sslPort}` });
    }
    // Warm-up, discarded: ~6 s of produce per broker on each listener, so neither JVM nor node is
    // measured while its JIT still compiles the produce and TLS paths.
    for (const { b, ssl: sslBootstrap } of brokers)
      for (const protocol of ['PLAINTEXT', 'SSL'] as const)
        await attempt(
          `${b.kind} warm-up ${protocol}`,
          async () => {
            await createTopic(b.port, `tls-warm-up-${protocol}`, 4);
            await producerPerf({
              bootstrap: protocol === 'SSL' ? sslBootstrap : b.bootstrap,
              topic: `tls-warm-up-${protocol}`,
              recordSize: SIZE,
              acks: '1',
              producers: 1,
              warmup: 1,
              measure: 0,
              extraProps: protocol === 'SSL' ? client : [],
            });
            await deleteTopic(b.port, `tls-warm-up-${protocol}`);
          },
          failures,
        );
    const results: BenchResult[] = [];
    let n = 0;
    for (const c of CONFIGS) {
      for (const protocol of ['SSL', 'PLAINTEXT'] as const) {
        const label = `1KiB acks=${c.acks} ${c.partitions}p ${c.producers}prod ${protocol}`;
        const mbps: Partial<Record<BrokerKind, number>> = {};
        const cpuPerGiB: Partial<Record<BrokerKind, number>> = {};
        // In turn, as inTurn(): S,K then K,S.
        for (const { b, ssl: sslBootstrap } of n % 2 === 0 ? brokers : [...brokers].reverse()) {
          const topic = `tls-${n}`;
          await createTopic(b.port, topic, c.partitions);
          const cpu0 = b.stats().cpuSeconds;
          const r = await attempt(
            `${b.kind} ${label}`,
            () =>
              producerPerf({
                bootstrap: protocol === 'SSL' ? sslBootstrap : b.bootstrap,
                topic,
                recordSize: SIZE,
                acks: c.acks,
                producers: c.producers,
                extraProps: protocol === 'SSL' ? client : [],
              }),
            failures,
          );
          const cpu = b.stats().cpuSeconds - cpu0;
          if (r) {
            mbps[b.kind] = r.mbPerSec;
            cpuPerGiB[b.kind] = cpu / ((r.totalRecords * SIZE) / 2 ** 30);
          }
          await deleteTopic(b.port, topic);
        }
        n++;
        results.push(
          pair(name, `${label} throughput`, 'MiB/s', mbps, { better: 'higher', chart: 'throughput' }),
          pair(name, `${label} broker CPU per GiB`, 'CPU s', cpuPerGiB, { better: 'lower' }),
        );
        console.log(
          `    ${label}: Sluice ${mbps.sluice?.toFixed(1)} MiB/s, Kafka ${mbps.kafka?.toFixed(1)} MiB/s`,
        );
      }
    }
    for (const r of results) if (r.reference !== undefined) r.referenceName = 'Kafka 4.4.0';
    return withFailures(results, failures, name);
  } finally {
    await Promise.all(brokers.map(({ b }) => b.stop()));
    certs.cleanup();
  }
}
