// The mover Job of a DataMover: a restricted-profile pod that mounts the clone read-only at /data.
import type { V1Job, V1EnvVar, V1PodSecurityContext } from '@kubernetes/client-node';
import { GROUP, type DataMover } from '../api/v1alpha1/schema.js';
import type { Config } from '../config.js';
import { OWNER_ANNOTATION, childLabels, cloneName, controllerRef, jobName } from '../kube/names.js';
import { backupRoot, runFolder } from './destination.js';
import { FAIL_FAST_EXIT_CODES } from '../contract/exit-codes.js';

export const MOVER_CONTAINER = 'mover';
export const DEFAULT_UID = 65534;
export const DEFAULT_BACKOFF_LIMIT = 2;

export function moverImage(dm: DataMover, config: Pick<Config, 'defaultMoverImage'>): string {
  const image = dm.spec.image;
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

export const SCHEDULE_KIND = 'DataMoverSchedule';

/**
 * The DataMoverSchedule that created this DataMover: its controller ownerReference of that kind in
 * our API group. Only a schedule's DataMovers prune, and only that schedule's runs.
 */
export function scheduleOf(dm: DataMover): string | undefined {
  const owner = (dm.metadata.ownerReferences ?? []).find(
    (r) => r.controller === true && r.kind === SCHEDULE_KIND && r.apiVersion.split('/')[0] === GROUP,
  );
  return owner?.name;
}

function moverEnv(dm: DataMover, startTime: Date): V1EnvVar[] {
  // Where the run goes and whose it is: the mover checks and writes the markers with these.
  const env: V1EnvVar[] = [
    { name: 'DATAMOVER_BACKUP_ROOT', value: backupRoot(dm) },
    { name: 'DATAMOVER_RUN_FOLDER', value: runFolder(dm, startTime) },
    { name: 'DATAMOVER_START_TIME', value: startTime.toISOString() },
    { name: 'DATAMOVER_NAMESPACE', value: dm.metadata.namespace },
    { name: 'DATAMOVER_NAME', value: dm.metadata.name },
    { name: 'DATAMOVER_UID', value: dm.metadata.uid ?? '' },
    { name: 'DATAMOVER_SOURCE_PVC', value: dm.spec.sourcePvc },
    { name: 'HOME', value: '/tmp' },
  ];
  if (dm.spec.adoptExistingDestination) env.push({ name: 'DATAMOVER_ADOPT_DESTINATION', value: 'true' });
  const { bandwidthLimit, include, exclude, checksum } = dm.spec;
  if (bandwidthLimit) env.push({ name: 'DATAMOVER_BANDWIDTH_LIMIT', value: bandwidthLimit });
  if (include?.length) env.push({ name: 'DATAMOVER_INCLUDE', value: JSON.stringify(include) });
  if (exclude?.length) env.push({ name: 'DATAMOVER_EXCLUDE', value: JSON.stringify(exclude) });
  if (checksum) env.push({ name: 'DATAMOVER_CHECKSUM', value: 'true' });
  // The schedule goes into the run marker; the keep policy makes the mover prune that schedule's runs
  // (and, without a schedule, refuse to run: the operator refuses such a DataMover first).
  const schedule = scheduleOf(dm);
  if (schedule) env.push({ name: 'DATAMOVER_SCHEDULE', value: schedule });
  if (dm.spec.retention) env.push({ name: 'DATAMOVER_KEEP', value: JSON.stringify(dm.spec.retention.keep) });
  // additionalEnv comes last so it can tune rclone, but the CRD rejects the Secret's keys in it.
  return [...env, ...((dm.spec.additionalEnv ?? []) as V1EnvVar[])];
}

function podSecurityContext(dm: DataMover): V1PodSecurityContext {
  if (dm.spec.privilegedReader) {
    // Root only to hold CAP_DAC_READ_SEARCH (read any file); the container drops everything else.
    return { runAsNonRoot: false, runAsUser: 0, runAsGroup: 0, seccompProfile: { type: 'RuntimeDefault' } };
  }
  const sc = dm.spec.securityContext ?? {};
  const out: V1PodSecurityContext = {
    runAsNonRoot: true,
    runAsUser: sc.runAsUser ?? DEFAULT_UID,
    runAsGroup: sc.runAsGroup ?? sc.runAsUser ?? DEFAULT_UID,
    seccompProfile: { type: 'RuntimeDefault' },
  };
  if (sc.fsGroup !== undefined) out.fsGroup = sc.fsGroup;
  return out;
}

export function buildMoverJob(
  dm: DataMover,
  config: Pick<Config, 'defaultMoverImage'>,
  startTime: Date,
): V1Job {
  const spec = dm.spec;
  const labels = childLabels(dm);
  const pullPolicy = spec.image?.pullPolicy;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobName(dm),
      namespace: dm.metadata.namespace,
      labels,
      ownerReferences: [controllerRef(dm)],
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
          labels: { ...(spec.podLabels ?? {}), ...labels },
          annotations: { ...(spec.podAnnotations ?? {}), [OWNER_ANNOTATION]: dm.metadata.name },
        },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          ...(spec.serviceAccountName ? { serviceAccountName: spec.serviceAccountName } : {}),
          securityContext: podSecurityContext(dm),
          ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}),
          ...(spec.tolerations ? { tolerations: spec.tolerations as never } : {}),
          ...(spec.affinity ? { affinity: spec.affinity as never } : {}),
          containers: [
            {
              name: MOVER_CONTAINER,
              image: moverImage(dm, config),
              ...(pullPolicy ? { imagePullPolicy: pullPolicy } : {}),
              ...(spec.secretName ? { envFrom: [{ secretRef: { name: spec.secretName } }] } : {}),
              env: moverEnv(dm, startTime),
              ...(spec.resources ? { resources: spec.resources as never } : {}),
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: !spec.privilegedReader,
                capabilities: spec.privilegedReader
                  ? { drop: ['ALL'], add: ['DAC_READ_SEARCH'] }
                  : { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              terminationMessagePolicy: 'File',
              volumeMounts: [
                { name: 'data', mountPath: '/data', readOnly: true },
                { name: 'scratch', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'data', persistentVolumeClaim: { claimName: cloneName(dm), readOnly: true } },
            { name: 'scratch', emptyDir: { sizeLimit: '64Mi' } },
          ],
        },
      },
    },
  };
}
