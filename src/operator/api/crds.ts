/**
 * The CustomResourceDefinitions, built from the resources' schemas (api/kafka-cluster.ts,
 * api/kafka-topic.ts). tools/gen-crds.ts writes them to crds/ and charts/sluice/crds/; the tests
 * install those files on a real API server.
 *
 * Typed with @kubernetes/client-node's V1CustomResourceDefinition, except the schema itself:
 * client-node's V1JSONSchemaProps renames wire keys (`_default`, `x_kubernetes_validations`), so the
 * schema stays in its wire form (api/structural.ts).
 */
import type {
  V1CustomResourceDefinition,
  V1CustomResourceDefinitionSpec,
  V1CustomResourceDefinitionVersion,
} from '@kubernetes/client-node';
import { Type } from '@sinclair/typebox';
import { GROUP, VERSION, type ResourceDefinition } from './common.js';
import { KAFKA_CLUSTER_DEFINITION } from './kafka-cluster.js';
import { KAFKA_TOPIC_DEFINITION } from './kafka-topic.js';
import { toStructural, type JsonSchema } from './structural.js';

export type CrdVersion = Omit<V1CustomResourceDefinitionVersion, 'schema'> & {
  schema: { openAPIV3Schema: JsonSchema };
};

export type CustomResourceDefinition = Omit<V1CustomResourceDefinition, 'spec' | 'status'> & {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: Omit<V1CustomResourceDefinitionSpec, 'versions'> & { versions: CrdVersion[] };
};

export const RESOURCES: readonly ResourceDefinition[] = [KAFKA_CLUSTER_DEFINITION, KAFKA_TOPIC_DEFINITION];

/** The CRD's whole openAPIV3Schema: the object envelope around spec and status. */
export function openApiSchema(r: ResourceDefinition): JsonSchema {
  return toStructural(
    Type.Object(
      {
        apiVersion: Type.Optional(Type.String()),
        kind: Type.Optional(Type.String()),
        metadata: Type.Optional(Type.Object({})),
        spec: r.spec,
        status: Type.Optional(r.status),
      },
      { description: r.description },
    ),
  );
}

export function customResourceDefinition(r: ResourceDefinition): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${r.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'sluice', 'app.kubernetes.io/part-of': 'sluice' },
    },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: r.kind,
        listKind: `${r.kind}List`,
        plural: r.plural,
        singular: r.singular,
        shortNames: r.shortNames,
        categories: ['sluice'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {}, ...(r.scale ? { scale: r.scale } : {}) },
          additionalPrinterColumns: r.printerColumns,
          schema: { openAPIV3Schema: openApiSchema(r) },
        },
      ],
    },
  };
}

/** File name (as kubebuilder names them) → CRD. */
export function customResourceDefinitions(): Map<string, CustomResourceDefinition> {
  return new Map(RESOURCES.map((r) => [`${GROUP}_${r.plural}.yaml`, customResourceDefinition(r)]));
}
