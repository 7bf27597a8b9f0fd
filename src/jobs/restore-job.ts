// The restore Job of a DataMoverRestore: the same restricted mover pod as a backup (job.ts builds
// both; with restoreOwners, root with only the capabilities that set owners), running DATAMOVER_COMMAND=restore with the target PVC mounted read-write at /restore. Which
// backup it reads is resolved by the operator (restore machine) and passed in: the pod never looks up
// a schedule or a PVC itself.
import type { V1EnvVar, V1Job } from '@kubernetes/client-node';
import type { DataMoverRestore } from '../api/v1alpha1/restore.js';
import type { Config } from '../config.js';
import { LATEST, RESTORE_TARGET } from '../contract/restore.js';
import { BackupEnv, RestoreEnv } from '../contract/env.js';
import type { ReportBinding } from '../contract/result.js';
import {
  COMMAND_LABEL,
  RESTORE_ANNOTATION,
  restoreChildLabels,
  restoreJobName,
  restoreRef,
} from '../kube/names.js';
import { buildJob, moverImage } from './job.js';

/** Whose backups a restore reads, resolved from its source (a backup or a schedule's PVC). */
export interface ResolvedSource {
  secretName: string;
  root: string;
  /** The namespace and PVC the backups are of: the mover checks the root's marker names them. */
  namespace: string;
  sourcePvc: string;
}

function restoreEnv(restore: DataMoverRestore, source: ResolvedSource): V1EnvVar[] {
  const env: V1EnvVar[] = [
    { name: RestoreEnv.command, value: 'restore' },
    { name: BackupEnv.root, value: source.root },
    { name: RestoreEnv.run, value: restore.spec.run ?? LATEST },
    { name: RestoreEnv.target, value: RESTORE_TARGET },
    { name: RestoreEnv.namespace, value: source.namespace },
    { name: RestoreEnv.pvc, value: source.sourcePvc },
    // Whose report it writes: the operator takes the restore as done only with a report naming it.
    { name: RestoreEnv.uid, value: restore.metadata.uid ?? '' },
    { name: 'HOME', value: '/tmp' },
  ];
  if (restore.spec.overwrite) env.push({ name: RestoreEnv.overwrite, value: 'true' });
  if (restore.spec.restoreOwners) env.push({ name: RestoreEnv.owners, value: 'true' });
  return env;
}

/** What status.source shows: `<secretName>:<root>/` (restoreBinding reads the root back). */
export const describeSource = (s: ResolvedSource) => `${s.secretName}:${s.root}/`;

/**
 * Whose report a restore's mover must leave (src/contract/result.ts): the restore's UID and the root
 * it was given to read, as status.source records it (describeSource, written with the Job).
 */
export function restoreBinding(restore: DataMoverRestore): ReportBinding {
  const source = restore.status?.source ?? '';
  const root = source.slice(source.indexOf(':') + 1).replace(/\/+$/, '');
  return { command: 'restore', uid: restore.metadata.uid ?? '', root };
}

export function buildRestoreJob(
  restore: DataMoverRestore,
  source: ResolvedSource,
  targetPvc: string,
  config: Pick<Config, 'defaultMoverImage'>,
): V1Job {
  return buildJob({
    name: restoreJobName(restore),
    namespace: restore.metadata.namespace,
    owner: restoreRef(restore),
    labels: { ...restoreChildLabels(restore), [COMMAND_LABEL]: 'restore' },
    podAnnotations: { [RESTORE_ANNOTATION]: restore.metadata.name },
    // A restore has no service account of its own: only the shared pod settings. restoreOwners runs
    // it as root with the capabilities that set owners (job.ts), where an administrator allows it.
    settings: { ...restore.spec, secretName: source.secretName },
    privileged: restore.spec.restoreOwners ? 'owners' : undefined,
    image: moverImage(restore, config),
    env: restoreEnv(restore, source),
    volumeMounts: [{ name: 'target', mountPath: RESTORE_TARGET }],
    volumes: [{ name: 'target', persistentVolumeClaim: { claimName: targetPvc } }],
  });
}
