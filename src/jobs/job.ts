// The mover Jobs: one builder of a restricted-profile mover pod (security settings, the Secret as its
// environment, the retry and fail-fast rules, the user's pod settings), and the backup Job of a
// DataMover on it, which mounts the clone read-only at /data. The restore Job (restore-job.ts) is
// built by the same builder.
import type { V1EnvVar, V1Job, V1PodSecurityContext, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { DataMover, DataMoverSpec } from '../api/v1alpha1/schema.js';
import { SCHEDULE_KIND } from '../api/v1alpha1/schedule.js';
import { repositoryOf, type Config } from '../config.js';
import {
  OWNER_ANNOTATION,
  childLabels,
  cloneName,
  controllerOf,
  controllerRef,
  jobName,
  type OwnerReference,
} from '../kube/names.js';
import { backupRoot, runFolder } from './destination.js';
import { FAIL_FAST_EXIT_CODES } from '../contract/exit-codes.js';
import { BackupEnv, SECRET_KEYS } from '../contract/env.js';
import { TENANT_ENV_LIST } from '../contract/tenant-env.js';
import type { ReportBinding } from '../contract/result.js';

export const MOVER_CONTAINER = 'mover';
export const DEFAULT_UID = 65534;
export const DEFAULT_BACKOFF_LIMIT = 2;

/** The mover pod settings a DataMover and a DataMoverRestore share (both specs have these fields). */
export type MoverPodSettings = Pick<
  DataMoverSpec,
  | 'image'
  | 'secretName'
  | 'securityContext'
  | 'serviceAccountName'
  | 'resources'
  | 'nodeSelector'
  | 'tolerations'
  | 'affinity'
  | 'podLabels'
  | 'podAnnotations'
  | 'backoffLimit'
  | 'activeDeadlineSeconds'
>;

/** Why an image may not run as the mover (undefined: it may): its repository, or the image itself, must be allowed. */
export function imageRefused(image: string, allowed: readonly string[]): string | undefined {
  const repo = repositoryOf(image);
  if (allowed.some((a) => a === repo || a === image)) return undefined;
  return `mover image ${image} is not allowed; the operator allows ${allowed.join(', ')}`;
}

export function moverImage(
  owner: { spec: Pick<MoverPodSettings, 'image'> },
  config: Pick<Config, 'defaultMoverImage'>,
): string {
  const image = owner.spec.image;
  if (!image?.repository) {
    return image?.tag
      ? `${config.defaultMoverImage.replace(/:[^:/]+$/, '')}:${image.tag}`
      : config.defaultMoverImage;
  }
  if (!image.tag) return image.repository;
  return image.tag.startsWith('sha256:')
    ? `${image.repository}@${image.tag}`
    : `${image.repository}:${image.tag}`;
}

/**
 * The DataMoverSchedule that created this DataMover: its controller ownerReference of that kind in
 * our API group. Only a schedule's DataMovers prune, and only that schedule's runs.
 */
export function scheduleOf(dm: DataMover): string | undefined {
  return controllerOf(dm, SCHEDULE_KIND)?.name;
}

function moverEnv(dm: DataMover, startTime: Date, liveRuns: readonly string[] | undefined): V1EnvVar[] {
  // Where the run goes and whose it is: the mover checks and writes the markers with these.
  const env: V1EnvVar[] = [
    { name: BackupEnv.root, value: backupRoot(dm) },
    { name: BackupEnv.run, value: runFolder(dm, startTime) },
    { name: BackupEnv.startTime, value: startTime.toISOString() },
    { name: BackupEnv.namespace, value: dm.metadata.namespace },
    { name: BackupEnv.name, value: dm.metadata.name },
    { name: BackupEnv.uid, value: dm.metadata.uid ?? '' },
    { name: BackupEnv.pvc, value: dm.spec.sourcePvc },
    { name: 'HOME', value: '/tmp' },
  ];
  if (dm.spec.adoptExistingDestination) env.push({ name: BackupEnv.adopt, value: 'true' });
  const { bandwidthLimit, include, exclude, checksum } = dm.spec;
  if (bandwidthLimit) env.push({ name: BackupEnv.bandwidthLimit, value: bandwidthLimit });
  if (include?.length) env.push({ name: BackupEnv.include, value: JSON.stringify(include) });
  if (exclude?.length) env.push({ name: BackupEnv.exclude, value: JSON.stringify(exclude) });
  if (checksum) env.push({ name: BackupEnv.checksum, value: 'true' });
  // The schedule goes into the run marker; the keep policy makes the mover prune that schedule's runs
  // (and, without a schedule, refuse to run: the operator refuses such a DataMover first).
  const schedule = scheduleOf(dm);
  if (schedule) env.push({ name: BackupEnv.schedule, value: schedule });
  if (dm.spec.retention) env.push({ name: BackupEnv.keep, value: JSON.stringify(dm.spec.retention.keep) });
  // The DataMovers that still back up to this root: the PVC's InProgress runs of any other are
  // abandoned, and the mover deletes them after its sync.
  if (liveRuns) {
    const uids = new Set([dm.metadata.uid ?? '', ...liveRuns].filter(Boolean));
    env.push({ name: BackupEnv.liveRuns, value: [...uids].sort().join(',') });
  }
  // additionalEnv: the tenant's allowlisted names (src/contract/tenant-env.ts; the CRD and the
  // operator refuse others), listed for the mover, which checks them again before it starts.
  const tenant = (dm.spec.additionalEnv ?? []).map((e) => ({ name: e.name, value: e.value ?? '' }));
  if (tenant.length > 0) env.push({ name: TENANT_ENV_LIST, value: tenant.map((e) => e.name).join(',') });
  return [...env, ...tenant];
}

/**
 * Whose report the mover of this run must leave (src/contract/result.ts): the DataMover's UID, and
 * the root and run folder its Job was given (the run starts at status.startTime, as the Job's did).
 */
export function backupBinding(dm: DataMover): ReportBinding {
  const startTime = new Date(dm.status?.startTime ?? 0);
  return {
    command: 'backup',
    uid: dm.metadata.uid ?? '',
    root: backupRoot(dm),
    run: runFolder(dm, startTime),
  };
}

/**
 * The privileged movers an administrator may allow a namespace (datamover.io/privileged-movers=true),
 * each root only to hold these capabilities; the container drops every other one.
 *   - reader (a DataMover's privilegedReader): CAP_DAC_READ_SEARCH reads every file of the clone,
 *     which stays mounted read-only.
 *   - owners (a DataMoverRestore's restoreOwners): CAP_CHOWN gives each entry its owner; CAP_FOWNER
 *     sets the mode and time of an entry once it belongs to another user; CAP_FSETID keeps a
 *     set-group-ID bit of a group root is not in (the kernel clears it silently otherwise); and
 *     CAP_DAC_OVERRIDE lets the verify read back, byte for byte, the files and folders it has just
 *     given to other users (a 0600 file of uid 999 in a 0700 folder), and an overwrite replace them.
 *     CAP_DAC_READ_SEARCH would do for reading alone, but not for an overwrite, and unlike it these
 *     four are all in Pod Security baseline's list: the namespace need not be privileged.
 */
/** The namespace annotation by which an administrator allows privileged movers there. */
export const PRIVILEGED_MOVERS_ANNOTATION = 'datamover.io/privileged-movers';

export const PRIVILEGED_CAPABILITIES = {
  reader: ['DAC_READ_SEARCH'],
  owners: ['CHOWN', 'FOWNER', 'FSETID', 'DAC_OVERRIDE'],
} as const;
export type PrivilegedMover = keyof typeof PRIVILEGED_CAPABILITIES;

function podSecurityContext(spec: MoverPodSettings, privileged?: PrivilegedMover): V1PodSecurityContext {
  if (privileged) {
    return { runAsNonRoot: false, runAsUser: 0, runAsGroup: 0, seccompProfile: { type: 'RuntimeDefault' } };
  }
  const sc = spec.securityContext ?? {};
  const out: V1PodSecurityContext = {
    runAsNonRoot: true,
    runAsUser: sc.runAsUser ?? DEFAULT_UID,
    runAsGroup: sc.runAsGroup ?? sc.runAsUser ?? DEFAULT_UID,
    seccompProfile: { type: 'RuntimeDefault' },
  };
  if (sc.fsGroup !== undefined) out.fsGroup = sc.fsGroup;
  return out;
}

/**
 * The Secret's documented keys by name (SECRET_KEYS): never the whole Secret (envFrom), whose other
 * keys a tenant could name NODE_OPTIONS or LD_PRELOAD. A missing Secret, or a missing required key,
 * keeps the pod from starting (Stalled with the kubelet's words); the rest are optional.
 */
function secretEnv(secretName: string | undefined): V1EnvVar[] {
  if (!secretName) return [];
  return SECRET_KEYS.map(([key, required]) => ({
    name: key,
    valueFrom: { secretKeyRef: { name: secretName, key, ...(required ? {} : { optional: true }) } },
  }));
}

/** What a mover Job is made of besides the shared settings: whose, which command, what it mounts. */
export interface MoverJobParts {
  name: string;
  namespace: string;
  owner: OwnerReference;
  /** Labels of the Job and its pods: the operator's child labels, which its informers select. */
  labels: Record<string, string>;
  /** Annotations of the pods beside the user's: the owner's full name (pods are the Job's children). */
  podAnnotations: Record<string, string>;
  settings: MoverPodSettings;
  /** A privileged mover an administrator allowed (root with a few capabilities); none by default. */
  privileged?: PrivilegedMover | undefined;
  image: string;
  env: V1EnvVar[];
  volumeMounts: V1VolumeMount[];
  volumes: V1Volume[];
}

/** A mover Job: restricted Pod Security unless a privileged mover is asked for, never root otherwise. */
export function buildJob(parts: MoverJobParts): V1Job {
  const spec = parts.settings;
  const privileged = parts.privileged;
  const pullPolicy = spec.image?.pullPolicy;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: parts.name,
      namespace: parts.namespace,
      labels: parts.labels,
      ownerReferences: [parts.owner],
    },
    spec: {
      backoffLimit: spec.backoffLimit ?? DEFAULT_BACKOFF_LIMIT,
      ...(spec.activeDeadlineSeconds ? { activeDeadlineSeconds: spec.activeDeadlineSeconds } : {}),
      podFailurePolicy: {
        rules: [
          {
            action: 'FailJob',
            onExitCodes: { containerName: MOVER_CONTAINER, operator: 'In', values: FAIL_FAST_EXIT_CODES },
          },
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        ],
      },
      template: {
        metadata: {
          labels: { ...(spec.podLabels ?? {}), ...parts.labels },
          annotations: { ...(spec.podAnnotations ?? {}), ...parts.podAnnotations },
        },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          // No <SERVICE>_HOST/_PORT variables of the namespace's Services: names a tenant chooses.
          enableServiceLinks: false,
          ...(spec.serviceAccountName ? { serviceAccountName: spec.serviceAccountName } : {}),
          securityContext: podSecurityContext(spec, privileged),
          ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}),
          ...(spec.tolerations ? { tolerations: spec.tolerations as never } : {}),
          ...(spec.affinity ? { affinity: spec.affinity as never } : {}),
          containers: [
            {
              name: MOVER_CONTAINER,
              image: parts.image,
              ...(pullPolicy ? { imagePullPolicy: pullPolicy } : {}),
              env: [...secretEnv(spec.secretName), ...parts.env],
              ...(spec.resources ? { resources: spec.resources as never } : {}),
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: !privileged,
                capabilities: privileged
                  ? { drop: ['ALL'], add: [...PRIVILEGED_CAPABILITIES[privileged]] }
                  : { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              terminationMessagePolicy: 'File',
              volumeMounts: [...parts.volumeMounts, { name: 'scratch', mountPath: '/tmp' }],
            },
          ],
          volumes: [...parts.volumes, { name: 'scratch', emptyDir: { sizeLimit: '64Mi' } }],
        },
      },
    },
  };
}

/**
 * The backup Job of a DataMover. `liveRuns`: the UIDs of the DataMovers that exist and back up to the
 * same root (destination-lock.ts liveRunsOf); without it the mover deletes no abandoned run.
 */
export function buildMoverJob(
  dm: DataMover,
  config: Pick<Config, 'defaultMoverImage'>,
  startTime: Date,
  liveRuns?: readonly string[],
): V1Job {
  return buildJob({
    name: jobName(dm),
    namespace: dm.metadata.namespace,
    owner: controllerRef(dm),
    labels: childLabels(dm),
    podAnnotations: { [OWNER_ANNOTATION]: dm.metadata.name },
    settings: dm.spec,
    privileged: dm.spec.privilegedReader ? 'reader' : undefined,
    image: moverImage(dm, config),
    env: moverEnv(dm, startTime, liveRuns),
    volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }],
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: cloneName(dm), readOnly: true } }],
  });
}
