// Builds the CustomResourceDefinitions from the TypeBox schemas.
import {
  API_VERSION,
  DataMoverSpecSchema,
  DataMoverStatusSchema,
  GROUP,
  KIND,
  PLURAL,
  VERSION,
} from './schema.js';
import {
  DataMoverScheduleSpecSchema,
  DataMoverScheduleStatusSchema,
  SCHEDULE_KIND,
  SCHEDULE_PLURAL,
} from './schedule.js';
import {
  DataMoverRestoreSpecSchema,
  DataMoverRestoreStatusSchema,
  RESTORE_KIND,
  RESTORE_PLURAL,
} from './restore.js';

/** TypeBox keeps its bookkeeping in symbol keys; a JSON round trip leaves plain OpenAPI. */
const plain = (schema: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(schema));

interface Kind {
  kind: string;
  plural: string;
  singular: string;
  shortName: string;
  description: string;
  spec: unknown;
  status: unknown;
  columns: Array<Record<string, unknown>>;
}

function crd(k: Kind) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        singular: k.singular,
        shortNames: [k.shortName],
        // Not 'datamover': with two kinds in it, the category would shadow the singular name
        // (kubectl get datamover x: "you must specify only one resource").
        categories: ['datamover-all'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: k.columns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: k.description,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string', description: 'APIVersion of the object.' },
                kind: { type: 'string', description: 'Kind of the object.' },
                metadata: { type: 'object' },
                spec: plain(k.spec),
                status: plain(k.status),
              },
            },
          },
        },
      ],
    },
  };
}

export function dataMoverCrd() {
  return crd({
    kind: KIND,
    plural: PLURAL,
    singular: 'datamover',
    shortName: 'dm',
    description: `${KIND} (${API_VERSION}) backs up one PersistentVolumeClaim to S3-compatible storage: it clones the PVC, syncs the clone with a mover Job, and optionally deletes the clone.`,
    spec: DataMoverSpecSchema,
    status: DataMoverStatusSchema,
    columns: [
      { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Current phase' },
      { name: 'Source', type: 'string', jsonPath: '.spec.sourcePvc', description: 'PVC backed up' },
      {
        name: 'Clone',
        type: 'string',
        jsonPath: '.status.restoredPvcName',
        description: 'The clone, while it exists',
      },
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
  });
}

export function dataMoverScheduleCrd() {
  return crd({
    kind: SCHEDULE_KIND,
    plural: SCHEDULE_PLURAL,
    singular: 'datamoverschedule',
    shortName: 'dms',
    description: `${SCHEDULE_KIND} (${API_VERSION}) creates DataMovers on a cron schedule for one PVC or every PVC a label selector picks, keeps a history of them, prunes old backups in the bucket and records each PVC's recovery point.`,
    spec: DataMoverScheduleSpecSchema,
    status: DataMoverScheduleStatusSchema,
    columns: [
      { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule', description: 'Cron expression' },
      { name: 'Suspend', type: 'boolean', jsonPath: '.spec.suspend', description: 'No runs while true' },
      {
        name: 'Last Success',
        type: 'date',
        jsonPath: '.status.lastSuccessfulTime',
        description: 'Newest successful run of any PVC',
      },
      { name: 'Next', type: 'string', jsonPath: '.status.nextScheduleTime', description: 'Next fire time' },
      { name: 'Missed', type: 'integer', jsonPath: '.status.missedRuns', priority: 1 },
      { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  });
}

export function dataMoverRestoreCrd() {
  return crd({
    kind: RESTORE_KIND,
    plural: RESTORE_PLURAL,
    singular: 'datamoverrestore',
    shortName: 'dmr',
    description: `${RESTORE_KIND} (${API_VERSION}) restores one backup of a DataMover or a DataMoverSchedule into a new or an existing PVC with a restore Job, and verifies the volume against the backup's manifest.`,
    spec: DataMoverRestoreSpecSchema,
    status: DataMoverRestoreStatusSchema,
    columns: [
      { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Current phase' },
      { name: 'Source', type: 'string', jsonPath: '.status.source', description: 'Backups read from' },
      { name: 'Run', type: 'string', jsonPath: '.status.run', description: 'Run folder restored' },
      { name: 'Target', type: 'string', jsonPath: '.status.targetPvc', description: 'PVC restored into' },
      {
        name: 'Bytes',
        type: 'integer',
        jsonPath: '.status.bytesRestored',
        description: 'Bytes restored',
        priority: 1,
      },
      { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  });
}
