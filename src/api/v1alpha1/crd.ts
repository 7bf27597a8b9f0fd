// Builds the CustomResourceDefinitions from the TypeBox schemas.
import type { TObject } from '@sinclair/typebox';
import { COLUMN, type ColumnMark } from './fields.js';
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
  spec: TObject;
  status: TObject;
}

/** What each kind does, after its name and version. */
const DESCRIPTIONS: Record<string, string> = {
  [KIND]: `backs up one PersistentVolumeClaim to S3-compatible storage: it clones the PVC, syncs the clone with a mover Job, and optionally deletes the clone.`,
  [SCHEDULE_KIND]: `creates DataMovers on a cron schedule for one PVC or every PVC a label selector picks, keeps a history of them, prunes old backups in the bucket and records each PVC's recovery point.`,
  [RESTORE_KIND]: `restores one backup of a DataMover or a DataMoverSchedule into a new or an existing PVC with a restore Job, and verifies the volume against the backup's manifest.`,
};

interface Column {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  /** 1: only with -o wide. */
  priority?: number;
}

/** Every kind shows these last. */
const LAST_COLUMNS: Column[] = [
  { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

/** kubectl get's columns: the spec and status properties marked with column() (fields.ts), in order. */
function columnsOf(k: Pick<Kind, 'spec' | 'status'>): Column[] {
  const marked = (['spec', 'status'] as const).flatMap((part) =>
    Object.entries(k[part].properties).flatMap(([name, schema]) => {
      const mark = (schema as { [COLUMN]?: ColumnMark })[COLUMN];
      if (!mark) return [];
      const type = schema.format === 'date-time' && !mark.asText ? 'date' : (schema.type as Column['type']);
      const column: Column = { name: mark.name, type, jsonPath: `.${part}.${name}` };
      if (schema.description) column.description = schema.description;
      if (mark.wide) column.priority = 1;
      return [{ at: mark.at, column }];
    }),
  );
  return marked.sort((a, b) => a.at - b.at).map((m) => m.column);
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
          additionalPrinterColumns: [...columnsOf(k), ...LAST_COLUMNS],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: `${k.kind} (${API_VERSION}) ${DESCRIPTIONS[k.kind]}`,
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

export const dataMoverCrd = () =>
  crd({
    kind: KIND,
    plural: PLURAL,
    shortName: 'dm',
    spec: DataMoverSpecSchema,
    status: DataMoverStatusSchema,
  });

export const dataMoverScheduleCrd = () =>
  crd({
    kind: SCHEDULE_KIND,
    plural: SCHEDULE_PLURAL,
    shortName: 'dms',
    spec: DataMoverScheduleSpecSchema,
    status: DataMoverScheduleStatusSchema,
  });

export const dataMoverRestoreCrd = () =>
  crd({
    kind: RESTORE_KIND,
    plural: RESTORE_PLURAL,
    shortName: 'dmr',
    spec: DataMoverRestoreSpecSchema,
    status: DataMoverRestoreStatusSchema,
  });
