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
  shortName: string;
  /** What the kind does, after its name and version. */
  description: string;
  spec: unknown;
  status: unknown;
  /** kubectl get's columns before Message and Age, which every kind shows last. */
  columns: Column[];
}

interface Column {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  /** 1: only with -o wide. */
  priority?: number;
}

const column = (
  name: string,
  type: Column['type'],
  jsonPath: string,
  description?: string,
  priority?: number,
): Column => ({
  name,
  type,
  jsonPath,
  ...(description ? { description } : {}),
  ...(priority ? { priority } : {}),
});

const LAST_COLUMNS = [
  column('Message', 'string', '.status.message', undefined, 1),
  column('Age', 'date', '.metadata.creationTimestamp'),
];

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
        singular: k.kind.toLowerCase(),
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
          additionalPrinterColumns: [...k.columns, ...LAST_COLUMNS],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: `${k.kind} (${API_VERSION}) ${k.description}`,
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
    shortName: 'dm',
    description: `backs up one PersistentVolumeClaim to S3-compatible storage: it clones the PVC, syncs the clone with a mover Job, and optionally deletes the clone.`,
    spec: DataMoverSpecSchema,
    status: DataMoverStatusSchema,
    columns: [
      column('Phase', 'string', '.status.phase', 'Current phase'),
      column('Source', 'string', '.spec.sourcePvc', 'PVC backed up'),
      column('Clone', 'string', '.status.restoredPvcName', 'The clone, while it exists'),
      column('Bytes', 'integer', '.status.bytesTransferred', 'Bytes transferred', 1),
      column('Uploaded', 'integer', '.status.bytesUploaded', 'Bytes uploaded from the volume', 1),
    ],
  });
}

export function dataMoverScheduleCrd() {
  return crd({
    kind: SCHEDULE_KIND,
    plural: SCHEDULE_PLURAL,
    shortName: 'dms',
    description: `creates DataMovers on a cron schedule for one PVC or every PVC a label selector picks, keeps a history of them, prunes old backups in the bucket and records each PVC's recovery point.`,
    spec: DataMoverScheduleSpecSchema,
    status: DataMoverScheduleStatusSchema,
    columns: [
      column('Schedule', 'string', '.spec.schedule', 'Cron expression'),
      column('Suspend', 'boolean', '.spec.suspend', 'No runs while true'),
      column('Last Success', 'date', '.status.lastSuccessfulTime', 'Newest successful run of any PVC'),
      column('Next', 'string', '.status.nextScheduleTime', 'Next fire time'),
      column('Missed', 'integer', '.status.missedRuns', undefined, 1),
    ],
  });
}

export function dataMoverRestoreCrd() {
  return crd({
    kind: RESTORE_KIND,
    plural: RESTORE_PLURAL,
    shortName: 'dmr',
    description: `restores one backup of a DataMover or a DataMoverSchedule into a new or an existing PVC with a restore Job, and verifies the volume against the backup's manifest.`,
    spec: DataMoverRestoreSpecSchema,
    status: DataMoverRestoreStatusSchema,
    columns: [
      column('Phase', 'string', '.status.phase', 'Current phase'),
      column('Source', 'string', '.status.source', 'Backups read from'),
      column('Run', 'string', '.status.run', 'Run folder restored'),
      column('Target', 'string', '.status.targetPvc', 'PVC restored into'),
      column('Bytes', 'integer', '.status.bytesRestored', 'Bytes restored', 1),
    ],
  });
}
