// Builds the DataMover CustomResourceDefinition from the TypeBox schema.
import {
  API_VERSION,
  DataMoverSpecSchema,
  DataMoverStatusSchema,
  GROUP,
  KIND,
  PLURAL,
  VERSION,
} from './schema.js';

/** TypeBox keeps its bookkeeping in symbol keys; a JSON round trip leaves plain OpenAPI. */
const plain = (schema: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(schema));

export function dataMoverCrd() {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: 'datamover',
        shortNames: ['dm'],
        categories: ['datamover'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Current phase' },
            { name: 'Source', type: 'string', jsonPath: '.spec.sourcePvc', description: 'PVC backed up' },
            { name: 'Clone', type: 'string', jsonPath: '.status.restoredPvcName', description: 'Cloned PVC' },
            {
              name: 'Bytes',
              type: 'integer',
              jsonPath: '.status.bytesTransferred',
              description: 'Bytes transferred',
              priority: 1,
            },
            { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: `${KIND} (${API_VERSION}) backs up one PersistentVolumeClaim to S3-compatible storage: it clones the PVC, syncs the clone with a mover Job, and optionally deletes the clone.`,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string', description: 'APIVersion of the object.' },
                kind: { type: 'string', description: 'Kind of the object.' },
                metadata: { type: 'object' },
                spec: plain(DataMoverSpecSchema),
                status: plain(DataMoverStatusSchema),
              },
            },
          },
        },
      ],
    },
  };
}
