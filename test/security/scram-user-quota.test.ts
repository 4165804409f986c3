/**
 * A user-level client quota for a SASL/SCRAM user (issue 17): the quota is keyed by the principal
 * the connection authenticated as, so a Java producer logged in as alice over SASL_PLAINTEXT is
 * throttled by `--entity-type users --entity-name alice`, whatever its client id, and the broker's
 * quota metrics carry user="alice".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureJavaClient, runJava, type RunResult } from '../helpers/clients.js';
import { ensureKafkaTools, runKafkaTool } from '../helpers/kafka-tools.js';
import { ALICE, startSecureBroker, type SecureBroker } from './secure-broker.js';

const show = (r: RunResult): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe('user quota for a SCRAM user', { timeout: 300_000 }, () => {
  let sb: SecureBroker;
  beforeAll(async () => {
    [sb] = await Promise.all([startSecureBroker(), ensureKafkaTools(), ensureJavaClient()]);
  }, 300_000);
  afterAll(async () => {
    await sb?.cleanup();
  });

  it('throttles alice (SASL_PLAINTEXT, SCRAM-SHA-512) by her user quota', async () => {
    const quota = 262144;
    let r = await runKafkaTool('kafka-configs', [
      '--bootstrap-server',
      sb.bootstrap('PLAINTEXT'),
      '--alter',
      '--add-config',
      `producer_byte_rate=${quota}`,
      '--entity-type',
      'users',
      '--entity-name',
      ALICE.username,
    ]);
    expect(r.code, show(r)).toBe(0);
    const props = [
      'security.protocol=SASL_PLAINTEXT',
      'sasl.mechanism=SCRAM-SHA-512',
      `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${ALICE.username}" password="${ALICE.password}";`,
    ].join('|');
    r = await runJava(
      'QuotaLoad.java',
      ['produce', sb.bootstrap('SASL_PLAINTEXT'), 'alice-topic', 'any-client', '12', '0', props],
      120_000,
    );
    expect(r.code, show(r)).toBe(0);
    const m = /result rate=(\d+) throttleAvg=([\d.E]+) throttleMax=([\d.E]+)/.exec(r.stdout);
    expect(m, show(r)).not.toBeNull();
    const rate = Number(m![1]);
    const throttleMax = Number(m![3]);
    console.log(
      `SCRAM user alice producer_byte_rate=256 KiB/s: ${(rate / 1024).toFixed(0)} KiB/s over 12 s, throttle max ${throttleMax} ms`,
    );
    expect(throttleMax).toBeGreaterThan(0);
    // 12 s holds the first burst a new sensor allows (10 windows' worth) and the quota after it.
    expect(rate).toBeLessThan(1.2 * quota);
    const text = await (
      await fetch(`http://127.0.0.1:${sb.broker.metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) })
    ).text();
    expect(text).toMatch(/kafka_server_produce_throttle_time_max\{user="alice",client_id="",[^}]*\} [1-9]/);
  });
});
