/**
 * The operator survives its API server going away: watches fail, restart with backoff, and once
 * the kube-apiserver is back (same etcd, same port) new resources are reconciled. The process never
 * exits on an API error.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are untyped JSON here */
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceFor, type AnyObject } from '../../src/operator/kube/client.js';
import { Operator } from '../../src/operator/operator.js';
import { KubeApiServer, kubeApiserverSkipReason, waitFor } from '../helpers/kube-apiserver.js';

const skip = kubeApiserverSkipReason();
if (skip) console.warn(`skipping the resilience test: ${skip}`);
const KC = resourceFor('sluice.dev/v1alpha1', 'KafkaCluster');
const NS = 'res-test';

describe.skipIf(skip !== null)('operator resilience', () => {
  const api = new KubeApiServer();
  let op: Operator;
  beforeAll(async () => {
    await api.start();
    await api.installCrds(join(import.meta.dirname, '../../crds'));
    await api.createNamespace(NS);
    op = new Operator({
      client: api.client,
      log: pino({ level: 'silent' }),
      namespace: NS,
      endpoints: { bootstrap: () => '127.0.0.1:1', control: () => new Map() },
      resyncMs: 1000,
      httpListen: { host: '127.0.0.1', port: 0 },
    });
    await op.start();
  }, 120_000);
  afterAll(async () => {
    await op?.stop();
    await api.stop();
  });

  const cluster = (name: string) => ({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'KafkaCluster',
    metadata: { name, namespace: NS },
    spec: { replicas: 1, etcd: { endpoints: ['http://etcd:2379'] } },
  });
  const observed = async (name: string) =>
    ((await api.client.getOrNull<AnyObject & { status?: any }>(KC, NS, name))?.status?.observedGeneration ??
      0) === 1;

  it('keeps running through an API server outage and reconciles afterwards', async () => {
    await api.client.create(KC, cluster('before'));
    await waitFor(() => observed('before'), 20_000, 'first cluster reconciled');

    await api.stopApiserver();
    const metrics = async () => (await fetch(`http://127.0.0.1:${op.httpPort}/metrics`)).text();
    // Watches fail and are restarted with backoff; the process is still here to say so.
    await waitFor(
      async () =>
        /sluice_operator_watch_restarts_total\{resource="kafkaclusters"\} [1-9]/.test(await metrics()),
      20_000,
      'watch restarts counted',
    );
    expect((await fetch(`http://127.0.0.1:${op.httpPort}/healthz`)).status).toBe(200);

    await api.restartApiserver();
    await api.client.create(KC, cluster('after'));
    await waitFor(() => observed('after'), 60_000, 'cluster created after the outage reconciled');
  }, 150_000);
});
