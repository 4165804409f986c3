/**
 * The one schema definition (src/operator/api/): lowering TypeBox to Kubernetes' structural
 * dialect, defaults applied in code, and what the in-code check refuses. The CRDs it generates are
 * installed on a real API server in crds.test.ts.
 */
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { customResourceDefinitions } from '../../src/operator/api/crds.js';
import {
  IntEnum,
  IntOrString,
  Preserved,
  SchemaError,
  StringEnum,
  StringMap,
  toStructural,
} from '../../src/operator/api/structural.js';
import { withClusterDefaults, withTopicDefaults } from '../../src/operator/model/defaults.js';

describe('structural schema', () => {
  it('lowers maps, enums and int-or-string; defaulted properties are not required', () => {
    const s = Type.Object(
      {
        mode: StringEnum(['a', 'b'], { default: 'a' }),
        size: IntEnum([1, 3]),
        labels: Type.Optional(StringMap(Type.String())),
        config: StringMap(IntOrString()),
        affinity: Type.Optional(Preserved<{ x: number }>()),
        name: Type.String({ minLength: 1 }),
      },
      { 'x-kubernetes-validations': [{ rule: 'self.size > 0', message: 'm' }] },
    );
    expect(toStructural(s)).toEqual({
      type: 'object',
      required: ['size', 'config', 'name'],
      properties: {
        mode: { type: 'string', enum: ['a', 'b'], default: 'a' },
        size: { type: 'integer', format: 'int32', enum: [1, 3] },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        config: { type: 'object', additionalProperties: { 'x-kubernetes-int-or-string': true } },
        affinity: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        name: { type: 'string', minLength: 1 },
      },
      'x-kubernetes-validations': [{ rule: 'self.size > 0', message: 'm' }],
    });
  });

  it('refuses what Kubernetes cannot store', () => {
    expect(() => toStructural(Type.Object({ t: Type.Tuple([Type.String()]) }))).toThrow(
      /\.t: TypeBox kind Tuple/,
    );
    expect(() => toStructural(Type.Object({ u: Type.Union([Type.String(), Type.Boolean()]) }))).toThrow(
      /\.u: only enums and int-or-string unions/,
    );
    expect(() => toStructural(Type.Object({ r: Type.String({ $id: 'x' }) }))).toThrow(/"\$id" has no place/);
  });

  it('both CRDs generate, with their printer columns and the scale subresource', () => {
    const crds = customResourceDefinitions();
    expect([...crds.keys()]).toEqual(['sluice.dev_kafkaclusters.yaml', 'sluice.dev_kafkatopics.yaml']);
    const kc = crds.get('sluice.dev_kafkaclusters.yaml')!.spec.versions[0]!;
    expect(kc.subresources?.scale?.specReplicasPath).toBe('.spec.replicas');
    expect(kc.additionalPrinterColumns?.map((c) => c.name)).toEqual([
      'Replicas',
      'Ready-Brokers',
      'Ready',
      'Reason',
      'Controller',
      'Bootstrap',
      'Age',
    ]);
    expect((kc.schema.openAPIV3Schema as { required: string[] }).required).toEqual(['spec']);
  });
});

describe('defaults in code', () => {
  const meta = { name: 'c', namespace: 'ns' };

  it('fill a minimal spec, nested defaults included, without changing the input', () => {
    const spec = { etcd: { managed: {} }, listeners: { external: { type: 'LoadBalancer' as const } } };
    const c = withClusterDefaults({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'KafkaCluster',
      metadata: meta,
      spec,
    });
    expect(c.spec).toEqual({
      replicas: 3,
      image: 'sluice:latest',
      imagePullPolicy: 'IfNotPresent',
      listeners: { internal: { port: 9092 }, external: { type: 'LoadBalancer', port: 9094 } },
      storage: { type: 'ephemeral', deleteClaim: false },
      etcd: { managed: { replicas: 1, image: 'quay.io/coreos/etcd:v3.5.17' } },
    });
    expect(spec).toEqual({ etcd: { managed: {} }, listeners: { external: { type: 'LoadBalancer' } } });
    expect(withTopicDefaults({ apiVersion: 'v', kind: 'KafkaTopic', metadata: { name: 't' } }).spec).toEqual({
      partitions: 1,
      replicas: 1,
    });
  });

  it('refuse a spec the API server would refuse, with paths', () => {
    const bad = (spec: object) => {
      try {
        withClusterDefaults({ apiVersion: 'v', kind: 'KafkaCluster', metadata: meta, spec: spec as never });
      } catch (err) {
        if (err instanceof SchemaError) return err.problems;
        throw err;
      }
      return [];
    };
    expect(bad({})).toContainEqual(expect.stringMatching(/^spec\.etcd: /));
    expect(bad({ etcd: { endpoints: ['http://e:2379'] }, replicas: 0 })).toContainEqual(
      expect.stringMatching(/^spec\.replicas: .*greater or equal to 1/),
    );
    expect(bad({ etcd: { endpoints: ['http://e:2379'] }, storage: { type: 'nfs' } })).toContainEqual(
      expect.stringMatching(/^spec\.storage\.type: /),
    );
    expect(bad({ etcd: { endpoints: ['http://e:2379'] } })).toEqual([]);
  });
});
