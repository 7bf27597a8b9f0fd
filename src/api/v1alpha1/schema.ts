// The single source of the DataMover API: the TypeScript types and the CRD's OpenAPI schema both
// come from these TypeBox definitions, so they cannot drift (`npm run gen:crd` writes config/crd).
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { Type, type Static } from '@sinclair/typebox';
import { RCLONE_TUNING } from '../../contract/tenant-env.js';
import { tenantEnvRules } from './env-rules.js';
import { KEEP_RULES } from '../../contract/retention.js';
import { column, enumOf, opaque, stringMap, time } from './fields.js';

export const GROUP = 'datamover.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'DataMover';
export const PLURAL = 'datamovers';

export const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

export const EnvVarSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256, description: 'Name of the environment variable.' }),
    value: Type.Optional(Type.String({ maxLength: 4096, description: 'Literal value of the variable.' })),
    valueFrom: Type.Optional(
      opaque<Record<string, unknown>>('Refused: additionalEnv takes literal values only (docs/security.md).'),
    ),
  },
  { 'x-kubernetes-validations': tenantEnvRules() },
);

export const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;

export const ImageSchema = Type.Object(
  {
    repository: Type.Optional(
      Type.String({ minLength: 1, description: 'Image repository, for example ghcr.io/org/mover.' }),
    ),
    tag: Type.Optional(Type.String({ minLength: 1, description: 'Image tag or digest.' })),
    pullPolicy: Type.Optional(enumOf(PULL_POLICIES, 'Image pull policy of the mover container.')),
  },
  {
    description:
      "Mover image. Defaults to the operator's default mover image; other images must be on the operator's allowlist.",
  },
);

export const SecurityContextSchema = Type.Object(
  {
    runAsUser: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'UID the mover runs as (default 65534). Root is not allowed.',
      }),
    ),
    runAsGroup: Type.Optional(Type.Integer({ minimum: 0, description: 'Primary GID of the mover.' })),
    fsGroup: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Supplementary group for mounted volumes.' }),
    ),
  },
  {
    description:
      "Identity of the mover process. Set it to the application's UID/GID so the mover can read private files.",
  },
);

const keepCount = (description: string) =>
  Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, description }));

/** The same test as invalidKeepPolicy's "keeps nothing" (src/contract/retention.ts). */
const KEEPS_SOMETHING_RULE = KEEP_RULES.map((r) => `(has(self.${r}) && self.${r} > 0)`).join(' || ');
export const KEEPS_NOTHING_MESSAGE =
  'retention.keep keeps nothing: set at least one of last, hourly, daily, weekly or monthly above 0';
export const RETENTION_NEEDS_TIMESTAMPS_MESSAGE =
  'retention needs addTimestampPrefix: true: only timestamped runs are kept or pruned (the mirror is replaced by each run)';

export const RetentionSchema = Type.Object(
  {
    keep: Type.Object(
      {
        last: keepCount('Keep the N newest backups.'),
        hourly: keepCount('Keep the newest backup of each of the N most recent hours (UTC) that have one.'),
        daily: keepCount('Keep the newest backup of each of the N most recent days (UTC) that have one.'),
        weekly: keepCount(
          'Keep the newest backup of each of the N most recent ISO weeks (Monday to Sunday, UTC) that have one.',
        ),
        monthly: keepCount('Keep the newest backup of each of the N most recent months (UTC) that have one.'),
      },
      {
        description:
          "Which backups to keep, as restic's and k8up's forget rules: a backup kept by any rule is kept, every other Complete backup of the schedule is deleted.",
        'x-kubernetes-validations': [{ rule: KEEPS_SOMETHING_RULE, message: KEEPS_NOTHING_MESSAGE }],
      },
    ),
  },
  {
    description:
      "The keep policy of the DataMoverSchedule that created this DataMover. After a successful sync the mover deletes the schedule's older timestamped backups of this PVC in the backup root that the policy does not keep; it never touches the mirror, other schedules' or manual backups, runs in progress, or folders without a marker. Allowed only on DataMovers whose controller is a DataMoverSchedule, with addTimestampPrefix: true.",
  },
);

/**
 * The CEL rules of a backup root (DataMover.destinationPath, DataMoverRestore's backupRoot): one
 * definition, so what a backup may write to and what a restore may read from are the same paths.
 */
export function rootPathRules(field: string) {
  return [
    {
      rule: "!self.matches('^[/\\\\s]*$')",
      message: `${field} must name a folder: '/', '//' and blank paths mean the bucket root, where a sync would delete every other backup`,
    },
    { rule: "!self.contains('//')", message: `${field} may not contain '//' (an empty folder name)` },
    {
      rule: "!self.split('/').exists(s, s == '..' || s == '.')",
      message: `${field} may not contain '.' or '..' segments`,
    },
    {
      rule: "!self.matches('(^|/)\\\\s+(/|$)')",
      message: `${field} may not contain a blank folder name`,
    },
    { rule: "!self.matches('[[:cntrl:]]')", message: `${field} may not contain control characters` },
  ];
}

export const DataMoverSpecSchema = Type.Object(
  {
    sourcePvc: Type.String({
      minLength: 1,
      maxLength: 253,
      pattern: DNS_SUBDOMAIN,
      description: 'Name of the PersistentVolumeClaim to back up, in the same namespace.',
      ...column(2, 'Source'),
    }),
    secretName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        pattern: DNS_SUBDOMAIN,
        description:
          'Secret whose keys become the mover environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, BUCKET_HOST, BUCKET_NAME, BUCKET_PORT, TLS_HOST.',
      }),
    ),
    additionalEnv: Type.Optional(
      Type.Array(EnvVarSchema, {
        maxItems: 64,
        description: `Extra environment variables for the mover, with literal values: plain names that nothing in the mover reads (upper-case letters, digits and underscores, such as ENVIRONMENT), and the rclone tuning flags ${Object.keys(RCLONE_TUNING).join(', ')}. Names that a runtime or tool in the mover reads as configuration (NODE_*, LD_*, PATH, proxies, other RCLONE_*, AWS_*, DATAMOVER_*, ...) and valueFrom are refused (docs/security.md).`,
      }),
    ),
    addTimestampPrefix: Type.Optional(
      Type.Boolean({
        description:
          'Sync into a YYYY-MM-DD-HHMMSS-<8 hex digits of the DataMover UID>/ folder computed once, in UTC, from status.startTime (retries reuse it; two DataMovers started in the same second get two folders).',
      }),
    ),
    deletePvcAfterBackup: Type.Optional(
      Type.Boolean({ description: 'Delete the cloned PVC after a successful sync.' }),
    ),
    image: Type.Optional(ImageSchema),
    destinationPath: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description:
          "The backup root inside the bucket (default <namespace>/<sourcePvc>); each run writes only its own folder below it: <root>/<YYYY-MM-DD-HHMMSS-uid8>/ or <root>/mirror/. It must lie below the namespace's own prefix (<namespace>/) unless an administrator allows more with the namespace annotation datamover.io/allowed-destination-prefixes. The mover refuses a root inside another backup, a root holding another backup, and one holding objects no DataMover wrote (see adoptExistingDestination).",
        'x-kubernetes-validations': rootPathRules('destinationPath'),
      }),
    ),
    adoptExistingDestination: Type.Optional(
      Type.Boolean({
        description:
          "Back up into a root (or run folder) that already holds objects no DataMover wrote, such as the original operator's backups; the mover refuses such a folder otherwise. It never allows a root inside, or holding, another DataMover backup.",
      }),
    ),
    bandwidthLimit: Type.Optional(
      Type.String({
        pattern: '^[0-9]+(\\.[0-9]+)?[KMGTP]?$',
        description:
          "Bandwidth limit of the transfer in bytes per second, with an optional K, M, G, T or P suffix (rclone's --bwlimit), for example 10M.",
      }),
    ),
    include: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        maxItems: 100,
        description: 'rclone filter patterns of files to back up (--include); everything else is left out.',
      }),
    ),
    exclude: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        maxItems: 100,
        description: 'rclone filter patterns of files to leave out (--exclude).',
      }),
    ),
    checksum: Type.Optional(
      Type.Boolean({
        description:
          'Compare files by checksum instead of size and modification time (slower, reads every file).',
      }),
    ),
    storageClassName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description: "Storage class of the clone. Defaults to the source PVC's storage class.",
      }),
    ),
    copyMethod: Type.Optional(
      Type.Unsafe<'Clone' | 'Snapshot'>({
        type: 'string',
        enum: ['Clone', 'Snapshot'],
        description:
          'How the point-in-time copy the mover reads is made: Clone (default) clones the source PVC through CSI; Snapshot takes a VolumeSnapshot of it, makes the PVC from the snapshot, and deletes the snapshot when the run ends (for CSI drivers that snapshot but cannot clone).',
      }),
    ),
    volumeSnapshotClassName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description:
          "With copyMethod Snapshot: the VolumeSnapshotClass of the snapshot (default: the cluster's default class for the source's driver).",
      }),
    ),
    backoffLimit: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 100,
        description: 'Retries of the mover Job before it is marked failed (default 2, so 3 attempts).',
      }),
    ),
    activeDeadlineSeconds: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Time limit of the mover Job in seconds.' }),
    ),
    ttlSecondsAfterFinished: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Delete this DataMover (and so its children) this many seconds after it finishes.',
      }),
    ),
    resources: Type.Optional(opaque<Record<string, unknown>>('Compute resources of the mover container.')),
    nodeSelector: Type.Optional(stringMap('Node selector of the mover pod.')),
    tolerations: Type.Optional(
      Type.Array(opaque<Record<string, unknown>>('A toleration, as in a Pod.'), {
        description: 'Tolerations of the mover pod.',
      }),
    ),
    affinity: Type.Optional(opaque<Record<string, unknown>>('Affinity of the mover pod.')),
    podLabels: Type.Optional(stringMap('Extra labels on the mover pod.')),
    podAnnotations: Type.Optional(stringMap('Extra annotations on the mover pod.')),
    securityContext: Type.Optional(SecurityContextSchema),
    privilegedReader: Type.Optional(
      Type.Boolean({
        description:
          'Run the mover as root with only CAP_DAC_READ_SEARCH, so it reads every file whatever its owner (the clone stays read-only). Allowed only in namespaces an administrator annotated datamover.io/privileged-movers=true; the namespace must also admit such pods (Pod Security privileged).',
      }),
    ),
    serviceAccountName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        pattern: DNS_SUBDOMAIN,
        description:
          'ServiceAccount of the mover pod. Refused unless the operator runs with --allow-mover-service-account.',
      }),
    ),
    retention: Type.Optional(RetentionSchema),
  },
  {
    description: 'What to back up and where. Immutable: a DataMover is the record of one run.',
    'x-kubernetes-validations': [
      {
        rule: 'self == oldSelf',
        message: 'spec is immutable: a DataMover records one run; create a new DataMover instead',
      },
      {
        rule: '!has(self.retention) || (has(self.addTimestampPrefix) && self.addTimestampPrefix)',
        message: RETENTION_NEEDS_TIMESTAMPS_MESSAGE,
      },
    ],
  },
);

export const PHASES = [
  'CreatingSnapshot',
  'CreatingClonedPVC',
  'CreatingPod',
  'CleaningUp',
  'Completed',
  'Failed',
] as const;
export type Phase = (typeof PHASES)[number];
/** Phases in which work is done and that metrics count. */
export const WORK_PHASES = ['CreatingSnapshot', 'CreatingClonedPVC', 'CreatingPod', 'CleaningUp'] as const;
export type WorkPhase = (typeof WORK_PHASES)[number];

export const ConditionSchema = Type.Object({
  type: Type.String({ maxLength: 316, description: 'Type of the condition.' }),
  status: enumOf(['True', 'False', 'Unknown'] as const, 'Status of the condition.'),
  reason: Type.String({ maxLength: 1024, description: 'Machine-readable reason in CamelCase.' }),
  message: Type.String({ maxLength: 32768, description: 'Human-readable explanation.' }),
  lastTransitionTime: time('When the status last changed.'),
  observedGeneration: Type.Optional(
    Type.Integer({ minimum: 0, description: 'metadata.generation the condition was computed from.' }),
  ),
});

/** status.conditions of a kind: merged by type (server-side apply). */
export const conditionsField = (description: string) =>
  Type.Optional(
    Type.Array(ConditionSchema, {
      description,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    }),
  );

/** How many pruned run names status.prune lists. */
export const MAX_STATUS_RUNS = 10;

export const PruneStatusSchema = Type.Object(
  {
    kept: Type.Integer({
      minimum: 0,
      description: "Backups of the schedule the keep policy kept, this run's included.",
    }),
    removed: Type.Integer({ minimum: 0, description: 'Backups the prune deleted.' }),
    removedRuns: Type.Array(Type.String(), {
      maxItems: MAX_STATUS_RUNS,
      description: `The first ${MAX_STATUS_RUNS} run folders deleted, oldest first.`,
    }),
    message: Type.String({ description: 'What the prune did, or why it stopped.' }),
    error: Type.Optional(
      Type.String({
        description:
          'Why the prune stopped, when it failed; the backup itself succeeded and the runs not yet deleted are intact.',
      }),
    ),
  },
  { description: "What the mover's prune did after the sync (spec.retention)." },
);

export const DataMoverStatusSchema = Type.Object(
  {
    phase: Type.Optional(enumOf(PHASES, 'Current phase of the run.', column(1, 'Phase'))),
    restoredPvcName: Type.Optional(
      Type.String({
        description:
          'Name of the cloned PVC (the name is kept for compatibility with the original operator), set when the clone is created and cleared when the clone is deleted: empty for a run that never made a clone or whose clone is gone (deletePvcAfterBackup, or deleted since).',
        ...column(3, 'Clone'),
      }),
    ),
    jobName: Type.Optional(Type.String({ description: 'Name of the mover Job.' })),
    snapshotName: Type.Optional(
      Type.String({
        description:
          'With copyMethod Snapshot: the VolumeSnapshot of the source, from its creation until it is deleted after the run.',
      }),
    ),
    queuePosition: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'While the run waits for a slot under --max-concurrent-runs (Reconciling reason Queued): its place among the waiting runs when it was queued, 1 being next (not rewritten as the queue moves). Absent once it has a slot.',
      }),
    ),
    queueStorageClass: Type.Optional(
      Type.String({
        description:
          "While the run waits for a slot: the StorageClass of its clone, when known. Its runs count against the class's own cap when the class has one (annotation datamover.io/max-concurrent-runs), else against --max-concurrent-runs. Absent once it has a slot.",
      }),
    ),
    destination: Type.Optional(
      Type.String({ description: 'Where the data goes: <secretName>:<path inside the bucket>/.' }),
    ),
    conditions: conditionsField(
      'Complete and Failed for kubectl wait; Ready, Reconciling and Stalled as kstatus reads them; CleanedUp after cleanup.',
    ),
    observedGeneration: Type.Optional(Type.Integer({ description: 'Generation the status describes.' })),
    startTime: Type.Optional(time('When the operator started the run.')),
    completionTime: Type.Optional(time('When the run reached Completed or Failed.')),
    phaseStartTime: Type.Optional(
      time('When the current phase started; persisted so durations survive restarts.'),
    ),
    attempts: Type.Optional(Type.Integer({ minimum: 0, description: 'Mover pods started so far.' })),
    bytesTransferred: Type.Optional(
      Type.Integer({
        minimum: 0,
        format: 'int64',
        description:
          'Bytes of the files the mover wrote to the run: uploaded from the volume, or copied inside the bucket (bytesUploaded).',
        ...column(4, 'Bytes', { wide: true }),
      }),
    ),
    bytesUploaded: Type.Optional(
      Type.Integer({
        minimum: 0,
        format: 'int64',
        description:
          'Of bytesTransferred, the bytes sent from the volume; the others were unchanged since the run incrementalFrom and copied inside the bucket.',
        ...column(5, 'Uploaded', { wide: true }),
      }),
    ),
    incrementalFrom: Type.Optional(
      Type.String({
        description:
          'The Complete run of the same backup root the unchanged files were copied from (an incremental run); absent for a full upload.',
      }),
    ),
    filesTransferred: Type.Optional(
      Type.Integer({ minimum: 0, format: 'int64', description: 'Files the mover transferred.' }),
    ),
    message: Type.Optional(Type.String({ description: 'Human-readable summary of the current state.' })),
    prune: Type.Optional(PruneStatusSchema),
    verification: Type.Optional(
      Type.Object(
        {
          verified: Type.Integer({
            minimum: 0,
            description: 'Manifest entries found in the bucket as recorded.',
          }),
          mismatches: Type.Integer({
            minimum: 0,
            description: 'Entries missing or different in the bucket.',
          }),
          mismatchedFiles: Type.Optional(
            Type.Array(Type.String(), {
              maxItems: 10,
              description: 'The first mismatches, with what differs.',
            }),
          ),
        },
        {
          description:
            "The mover's check of the bucket against the backup's manifest after the sync; a mismatch fails the run with BackupVerificationFailed and the run is never marked Complete.",
        },
      ),
    ),
  },
  { description: 'Observed state of the run, written only by the operator.' },
);

export type DataMoverSpec = Static<typeof DataMoverSpecSchema>;
export type DataMoverStatus = Static<typeof DataMoverStatusSchema>;
export type Condition = Static<typeof ConditionSchema>;
export type EnvVar = Static<typeof EnvVarSchema>;

/**
 * Object metadata. Timestamps are typed as client-node types them, but objects read through the
 * custom-objects API carry RFC 3339 strings there: always read them with `new Date(value)`.
 */
export type ObjectMeta = V1ObjectMeta & { name: string; namespace: string };

/** An object of one of our kinds, as the API serves it. */
export interface Resource<K extends string, Spec, Status> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

export type DataMover = Resource<typeof KIND, DataMoverSpec, DataMoverStatus>;
