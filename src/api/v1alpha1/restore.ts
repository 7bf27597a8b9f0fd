// The DataMoverRestore API: put one backup back into a PVC. A restore names whose backups to read (a
// Secret and a backup root, or a DataMoverSchedule and one of its PVCs), which run (a timestamp
// folder, mirror, or the newest Complete one) and where to write (a new PVC it creates, or an existing
// one no running pod mounts). Like a DataMover it is the record of one run: its spec is immutable.
// Types and the CRD's OpenAPI schema both come from these definitions.
import { Type, type Static } from '@sinclair/typebox';
import { column, optionalTime } from './fields.js';
import { LATEST } from '../../contract/restore.js';
import {
  conditionsField,
  DataMoverSpecSchema,
  DNS_SUBDOMAIN,
  rootPathRules,
  type Resource,
} from './schema.js';

export const RESTORE_KIND = 'DataMoverRestore';
export const RESTORE_PLURAL = 'datamoverrestores';

const name = (description: string) =>
  Type.String({ minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN, description });

/**
 * A run folder as a backup names it (layout.ts: a UTC timestamp, with the 8 hex digits of its
 * DataMover's UID or, from an older operator, without), `mirror`, or `latest`.
 */
export const RUN_PATTERN = `^(${LATEST}|mirror|[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{6}(-[0-9a-f]{8})?)$`;

const BackupSourceSchema = Type.Object(
  {
    secretName: name('Secret with the bucket credentials, as for a DataMover.'),
    sourcePvc: name(
      "The PVC whose backups these are: the mover checks it against the root's marker, so a restore never reads another PVC's backup by a mistyped root.",
    ),
    sourceNamespace: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 63,
        pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
        description:
          "The namespace of the PVC whose backups these are (default: this namespace); the mover checks it against the root's marker too. Another namespace's backups are read only from a root this namespace may read: backupRoot (default <sourceNamespace>/<sourcePvc>) must lie below a prefix an administrator allows it (datamover.io/allowed-destination-prefixes). The other namespace's PVC is not looked at: set target.newPvc.size.",
      }),
    ),
    backupRoot: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description:
          "The backup root inside the bucket, as the DataMover's destinationPath (default <sourceNamespace>/<sourcePvc>, <sourceNamespace> being this namespace unless set). It must lie below the namespace's own prefix unless an administrator allows more (datamover.io/allowed-destination-prefixes).",
        'x-kubernetes-validations': rootPathRules('backupRoot'),
      }),
    ),
  },
  { description: "A DataMover's backups: its Secret, its PVC and its root." },
);

const ScheduleSourceSchema = Type.Object(
  {
    name: name('A DataMoverSchedule in this namespace: its Secret and backup root are used.'),
    pvc: name('Which of its PVCs.'),
  },
  { description: "A DataMoverSchedule's backups of one PVC." },
);

const NewPvcSchema = Type.Object(
  {
    name: name('Name of the PVC to create.'),
    size: Type.Optional(
      Type.String({
        pattern: '^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$',
        description:
          "Storage request, at least the backup's size. Default: the current capacity of the PVC the backup came from, when it still exists in this namespace; the restore fails asking for a size otherwise.",
      }),
    ),
    storageClassName: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description: "Storage class (default: the source PVC's, else the cluster's default).",
      }),
    ),
    accessModes: Type.Optional(
      Type.Array(
        Type.Unsafe<string>({
          type: 'string',
          enum: ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'],
        }),
        {
          minItems: 1,
          maxItems: 4,
          description: "Access modes (default: the source PVC's, else ReadWriteOnce).",
        },
      ),
    ),
  },
  {
    description:
      "Create this PVC and restore into it. It is user data: it has no owner, so it stays when the DataMoverRestore is deleted; it carries the label datamover.io/restored-by (and the restore's name and UID as annotations). If the restore fails, it deletes the PVC it created (unless another pod mounts it), so a new restore can create it again. A PVC of this name that another DataMoverRestore created and left (that restore is gone or Failed, and no pod mounts the PVC) is restored into as it is (no other restore is using it), unless overwrite is set; any other PVC of this name fails the restore with TargetPVCExists.",
  },
);

/** Mover pod settings a restore shares with a DataMover: one definition each. */
const pod = DataMoverSpecSchema.properties;

export const DataMoverRestoreSpecSchema = Type.Object(
  {
    source: Type.Object(
      { backup: Type.Optional(BackupSourceSchema), schedule: Type.Optional(ScheduleSourceSchema) },
      {
        description: 'Whose backups to restore from. Set exactly one of backup and schedule.',
        'x-kubernetes-validations': [
          {
            rule: 'has(self.backup) != has(self.schedule)',
            message: 'set exactly one of source.backup and source.schedule',
          },
        ],
      },
    ),
    run: Type.Optional(
      Type.String({
        maxLength: 32,
        pattern: RUN_PATTERN,
        description:
          'Which backup: a run folder (YYYY-MM-DD-HHMMSS-<8 hex digits of the DataMover UID>, or YYYY-MM-DD-HHMMSS from older operators; UTC), mirror, or latest (default): the newest Complete run by its marker. status.run shows the one restored.',
      }),
    ),
    target: Type.Object(
      {
        newPvc: Type.Optional(NewPvcSchema),
        existingPvc: Type.Optional(
          name(
            'Restore into this PVC of the namespace. It must be Bound (or of a WaitForFirstConsumer class) and mounted by no running pod: the restore fails with TargetPVCInUse naming the pod otherwise.',
          ),
        ),
      },
      {
        description: 'Where to restore to. Set exactly one of newPvc and existingPvc.',
        'x-kubernetes-validations': [
          {
            rule: 'has(self.newPvc) != has(self.existingPvc)',
            message: 'set exactly one of target.newPvc and target.existingPvc',
          },
        ],
      },
    ),
    overwrite: Type.Optional(
      Type.Boolean({
        description:
          'Restore into an existing PVC that is not empty, replacing what the backup holds; without it the mover refuses a non-empty target.',
      }),
    ),
    restoreOwners: Type.Optional(
      Type.Boolean({
        description:
          "Give every file, folder and link back its owner (uid:gid) from the backup's manifest, and fail where one differs after the restore. The restore Job then runs as root with only CAP_CHOWN, CAP_FOWNER, CAP_FSETID and CAP_DAC_OVERRIDE (every other capability dropped, seccomp RuntimeDefault, read-only root filesystem, no privilege escalation): allowed only in namespaces an administrator annotated datamover.io/privileged-movers=true (PrivilegedMoverNotAllowed otherwise), which must also admit such pods (Pod Security baseline or privileged). Without it the mover runs as securityContext.runAsUser (default 65534): files are owned by that user, and status.ownersNotApplied, the OwnersRestored condition and an OwnersNotApplied event say how many entries kept another owner.",
      }),
    ),
    image: pod.image,
    securityContext: pod.securityContext,
    resources: pod.resources,
    nodeSelector: pod.nodeSelector,
    tolerations: pod.tolerations,
    affinity: pod.affinity,
    podLabels: pod.podLabels,
    podAnnotations: pod.podAnnotations,
    backoffLimit: pod.backoffLimit,
    activeDeadlineSeconds: pod.activeDeadlineSeconds,
  },
  {
    description:
      'What to restore, from where, to where. Immutable: a DataMoverRestore is the record of one run.',
    'x-kubernetes-validations': [
      {
        rule: 'self == oldSelf',
        message:
          'spec is immutable: a DataMoverRestore records one run; create a new DataMoverRestore instead',
      },
    ],
  },
);

export const RESTORE_PHASES = ['CreatingTargetPVC', 'Restoring', 'Completed', 'Failed'] as const;
export type RestorePhase = (typeof RESTORE_PHASES)[number];
/** Phases in which work is done and that metrics count. */
export const RESTORE_WORK_PHASES = ['CreatingTargetPVC', 'Restoring'] as const;
export type RestoreWorkPhase = (typeof RESTORE_WORK_PHASES)[number];

/** How many mismatched files status.mismatchedFiles (and ownersNotAppliedFiles) names. */
export const MAX_STATUS_MISMATCHES = 10;

const int64 = (description: string, more: object = {}) =>
  Type.Optional(Type.Integer({ minimum: 0, format: 'int64', description, ...more }));

export const DataMoverRestoreStatusSchema = Type.Object(
  {
    phase: Type.Optional(
      Type.Unsafe<RestorePhase>({
        type: 'string',
        enum: [...RESTORE_PHASES],
        description: 'Current phase.',
        ...column(1, 'Phase'),
      }),
    ),
    phaseStartTime: optionalTime('When the current phase started.'),
    startTime: optionalTime('When the operator started the restore.'),
    completionTime: optionalTime('When the restore reached Completed or Failed.'),
    jobName: Type.Optional(Type.String({ description: 'The restore Job.' })),
    targetPvc: Type.Optional(Type.String({ description: 'The PVC restored into.', ...column(4, 'Target') })),
    targetStorageClass: Type.Optional(
      Type.String({
        description:
          "The target PVC's StorageClass, once it is ready. The restore's Job counts against the class's own run cap when the class has one (annotation datamover.io/max-concurrent-runs), else against --max-concurrent-runs.",
      }),
    ),
    queuePosition: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'While the restore waits for a slot before its Job (Reconciling reason Queued): its place among the waiting backups and restores when it was queued, 1 being next (not rewritten as the queue moves). Absent once it has a slot.',
      }),
    ),
    source: Type.Optional(
      Type.String({
        description: 'Where the backups are read from: <secretName>:<backup root>/.',
        ...column(2, 'Source'),
      }),
    ),
    run: Type.Optional(
      Type.String({ description: 'The run folder restored (latest resolved).', ...column(3, 'Run') }),
    ),
    bytesRestored: int64('Bytes the mover wrote.', column(5, 'Bytes', { wide: true })),
    filesRestored: int64('Files the mover wrote.'),
    filesVerified: int64("Entries of the backup's manifest the mover checked in the volume."),
    mismatches: int64('Entries that differ from the manifest or are missing.'),
    mismatchedFiles: Type.Optional(
      Type.Array(Type.String(), {
        maxItems: MAX_STATUS_MISMATCHES,
        description: `The first ${MAX_STATUS_MISMATCHES} of them, each with what differs.`,
      }),
    ),
    ownersNotApplied: int64(
      "Entries restored with another owner than the backup's: the mover was not asked to restore owners (restoreOwners) and could not chown. 0 when every owner is the backup's.",
    ),
    ownersNotAppliedFiles: Type.Optional(
      Type.Array(Type.String(), {
        maxItems: MAX_STATUS_MISMATCHES,
        description: `The first ${MAX_STATUS_MISMATCHES} of them, each with the owner it has and the backup's (path: owner (65534:65534, not 999:999)).`,
      }),
    ),
    message: Type.Optional(Type.String({ description: 'Human-readable summary of the current state.' })),
    conditions: conditionsField(
      "Complete and Failed for kubectl wait; Ready, Reconciling and Stalled as kstatus reads them; OwnersRestored once Completed: False (reason OwnersNotApplied) when some entries did not get the backup's owner.",
    ),
    observedGeneration: Type.Optional(Type.Integer({ description: 'Generation the status describes.' })),
  },
  { description: 'Observed state of the restore, written only by the operator.' },
);

export type DataMoverRestoreSpec = Static<typeof DataMoverRestoreSpecSchema>;
export type DataMoverRestoreStatus = Static<typeof DataMoverRestoreStatusSchema>;

export type DataMoverRestore = Resource<typeof RESTORE_KIND, DataMoverRestoreSpec, DataMoverRestoreStatus>;
