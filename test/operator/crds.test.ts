/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are untyped JSON here */
/** The CRDs on a real kube-apiserver: they install, default, and reject invalid resources clearly. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { KubeApiError, resourceFor, type AnyObject } from '../../src/operator/kube/client.js';
import { withClusterDefaults, withTopicDefaults } from '../../src/operator/model/defaults.js';
import { KubeApiServer, kubeApiserverSkipReason } from '../helpers/kube-apiserver.js';

const skip = kubeApiserverSkipReason();
if (skip) console.warn(`skipping CRD tests: ${skip}`);
const KC = resourceFor('sluice.dev/v1alpha1', 'KafkaCluster');
const KT = resourceFor('sluice.dev/v1alpha1', 'KafkaTopic');
const NS = 'crd-test';

describe.skipIf(skip !== null)('CRDs on a real kube-apiserver', () => {
  const api = new KubeApiServer();
  beforeAll(async () => {
    await api.start();
    await api.installCrds(join(import.meta.dirname, '../../crds'));
    await api.createNamespace(NS);
  }, 120_000);
  afterAll(async () => {
    await api.stop();
  });

  async function rejected(r: typeof KC, obj: AnyObject): Promise<string> {
    try {
      await api.client.create(r, obj);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 422) return err.message;
      throw err;
    }
    throw new Error(`${obj.metadata.name} was accepted`);
  }

  const cluster = (name: string, spec: Record<string, unknown>): AnyObject => ({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'KafkaCluster',
    metadata: { name, namespace: NS },
    spec,
  });
  const topic = (name: string, spec: Record<string, unknown>): AnyObject => ({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'KafkaTopic',
    metadata: { name, namespace: NS, labels: { 'sluice.dev/cluster': 'c' } },
    spec,
  });

  it('applies defaults', async () => {
    const c = await api.client.create<AnyObject & { spec: any }>(
      KC,
      cluster('defaults', { etcd: { endpoints: ['http://etcd:2379'] } }),
    );
    expect(c.spec).toMatchObject({
      replicas: 3,
      image: 'sluice:latest',
      imagePullPolicy: 'IfNotPresent',
      listeners: { internal: { port: 9092 } },
      storage: { type: 'ephemeral' },
    });
    const t = await api.client.create<AnyObject & { spec: any }>(KT, topic('t-defaults', {}));
    expect(t.spec).toEqual({ partitions: 1, replicas: 1 });
  });

  it("the defaults applied in code are the API server's (one schema for both)", async () => {
    const specs: Record<string, unknown>[] = [
      { etcd: { endpoints: ['http://etcd:2379'] } },
      {
        replicas: 5,
        etcd: { managed: {} },
        listeners: { external: { type: 'NodePort' } },
        storage: { type: 'persistent-claim', size: '1Gi' },
        metrics: { serviceMonitor: {} },
        config: { 'num.partitions': 3, 'log.retention.ms': '1000' },
      },
    ];
    for (const [i, spec] of specs.entries()) {
      const stored = await api.client.create<AnyObject & { spec: any }>(
        KC,
        cluster(`code-defaults-${i}`, spec),
      );
      expect(
        withClusterDefaults({
          apiVersion: 'v',
          kind: 'KafkaCluster',
          metadata: { name: 'x' },
          spec: spec as any,
        }).spec,
      ).toEqual(stored.spec);
    }
    for (const [i, spec] of [{}, { topicName: 't', config: { 'retention.ms': 1 } }].entries()) {
      const stored = await api.client.create<AnyObject & { spec: any }>(
        KT,
        topic(`code-defaults-${i}`, spec),
      );
      expect(
        withTopicDefaults({ apiVersion: 'v', kind: 'KafkaTopic', metadata: { name: 'x' }, spec: spec as any })
          .spec,
      ).toEqual(stored.spec);
    }
  });

  it('rejects invalid KafkaClusters with clear messages', async () => {
    expect(
      await rejected(KC, cluster('zero', { replicas: 0, etcd: { endpoints: ['http://e:2379'] } })),
    ).toMatch(/spec.replicas: Invalid value: 0: .*greater than or equal to 1/);
    expect(
      await rejected(
        KC,
        cluster('both-etcd', { etcd: { endpoints: ['http://e:2379'], managed: { replicas: 1 } } }),
      ),
    ).toContain('set exactly one of etcd.endpoints or etcd.managed');
    expect(
      await rejected(
        KC,
        cluster('no-size', { etcd: { endpoints: ['http://e:2379'] }, storage: { type: 'persistent-claim' } }),
      ),
    ).toContain('storage.size is required for persistent-claim storage');
    expect(
      await rejected(
        KC,
        cluster('bad-ext', {
          etcd: { endpoints: ['http://e:2379'] },
          listeners: { external: { type: 'Ingress' } },
        }),
      ),
    ).toMatch(/spec.listeners.external.type: Unsupported value: "Ingress"/);
    expect(
      await rejected(
        KC,
        cluster('np', {
          etcd: { endpoints: ['http://e:2379'] },
          listeners: { external: { type: 'LoadBalancer', nodePorts: [31000] } },
        }),
      ),
    ).toContain('nodePorts is only valid with type NodePort');
    expect(await rejected(KC, cluster('no-etcd', {}))).toMatch(/spec.etcd: Required value/);
  });

  it('rejects invalid KafkaTopics, and a partition decrease', async () => {
    expect(await rejected(KT, topic('bad-name', { topicName: 'no spaces allowed' }))).toMatch(
      /spec.topicName: Invalid value/,
    );
    expect(await rejected(KT, topic('zero', { partitions: 0 }))).toMatch(/spec.partitions: Invalid value: 0/);
    await api.client.create(KT, topic('shrink', { partitions: 6, replicas: 1 }));
    await expect(api.client.mergePatch(KT, NS, 'shrink', { spec: { partitions: 3 } })).rejects.toThrow(
      /spec.partitions cannot decrease/,
    );
    await api.client.mergePatch(KT, NS, 'shrink', { spec: { partitions: 8 } });
  });

  it('storage type cannot change', async () => {
    await api.client.create(KC, cluster('st', { etcd: { endpoints: ['http://e:2379'] } }));
    await expect(
      api.client.mergePatch(KC, NS, 'st', { spec: { storage: { type: 'persistent-claim', size: '1Gi' } } }),
    ).rejects.toThrow(/storage.type cannot change/);
  });

  it('serves the scale subresource', async () => {
    await api.client.create(KC, cluster('scale', { replicas: 2, etcd: { endpoints: ['http://e:2379'] } }));
    const s = await api.client.request<{ spec: { replicas: number } }>(
      'GET',
      `/apis/sluice.dev/v1alpha1/namespaces/${NS}/kafkaclusters/scale/scale`,
    );
    expect(s.spec.replicas).toBe(2);
  });
});
