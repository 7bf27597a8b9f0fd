// What a DataMover must pass before its run creates anything: the administrator's policy (image,
// root, privileges, reserved environment, retention) and a source PVC that can be copied. Pure.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { Reason } from '../../api/v1alpha1/conditions.js';
import { SCHEDULE_KIND } from '../../api/v1alpha1/schedule.js';
import {
  KEEPS_NOTHING_MESSAGE,
  RETENTION_NEEDS_TIMESTAMPS_MESSAGE,
  type DataMover,
} from '../../api/v1alpha1/schema.js';
import type { Config } from '../../config.js';
import { invalidKeepPolicy } from '../../contract/retention.js';
import { tenantEnvProblem } from '../../contract/tenant-env.js';
import { DESTINATION_PREFIXES_ANNOTATION, backupRoot, rootAllowed } from '../../jobs/destination.js';
import { PRIVILEGED_MOVERS_ANNOTATION, imageRefused, moverImage, scheduleOf } from '../../jobs/job.js';

/** What the namespace's annotations allow, looked up when the policy reads them. */
export interface NamespaceFacts {
  allowedDestinationPrefixes?: readonly string[] | undefined;
  privilegedMoversAllowed?: boolean | undefined;
}

/** What an administrator's policy refuses a run: its image, its root, privileges, env, its retention. */
export function policyViolation(
  dm: DataMover,
  o: NamespaceFacts,
  config: Pick<Config, 'defaultMoverImage' | 'allowedMoverImages' | 'allowMoverServiceAccount'>,
): [string, string] | undefined {
  const image = moverImage(dm, config);
  const refused = imageRefused(image, config.allowedMoverImages);
  if (refused) return [Reason.ImageNotAllowed, refused];
  const root = backupRoot(dm);
  if (!rootAllowed(root, dm.metadata.namespace, o.allowedDestinationPrefixes ?? [])) {
    return [
      Reason.DestinationNotAllowed,
      `destinationPath ${root} is outside the namespace's own prefix ${dm.metadata.namespace}/; an administrator may allow it with the namespace annotation ${DESTINATION_PREFIXES_ANNOTATION}`,
    ];
  }
  if (dm.spec.privilegedReader && !o.privilegedMoversAllowed) {
    return [
      Reason.PrivilegedMoverNotAllowed,
      `privilegedReader is not allowed in namespace ${dm.metadata.namespace}: an administrator must annotate it ${PRIVILEGED_MOVERS_ANNOTATION}=true`,
    ];
  }
  // The CRD refuses these too; this holds where an older CRD is installed.
  const envRefused = (dm.spec.additionalEnv ?? []).map(tenantEnvProblem).filter((p) => p !== undefined);
  if (envRefused.length > 0) return [Reason.ReservedEnvNotAllowed, envRefused.join('; ')];
  if (dm.spec.serviceAccountName && !config.allowMoverServiceAccount) {
    return [
      Reason.ServiceAccountNotAllowed,
      'serviceAccountName is not allowed: the operator runs without --allow-mover-service-account',
    ];
  }
  return retentionProblem(dm);
}

/**
 * A keep policy deletes backups: only a schedule's own DataMovers may carry one, for timestamped
 * runs. The CRD checks the policy and the timestamps too; this holds where an older CRD is installed.
 */
function retentionProblem(dm: DataMover): [string, string] | undefined {
  const retention = dm.spec.retention;
  if (!retention) return undefined;
  if (!scheduleOf(dm)) {
    return [
      Reason.InvalidRetention,
      `retention applies only to DataMovers created by a DataMoverSchedule (a controller ownerReference of kind ${SCHEDULE_KIND}); this one has none, so no backup is pruned`,
    ];
  }
  if (!dm.spec.addTimestampPrefix) return [Reason.InvalidRetention, RETENTION_NEEDS_TIMESTAMPS_MESSAGE];
  const problem = invalidKeepPolicy(retention.keep);
  if (problem) {
    return [
      Reason.InvalidRetention,
      /keeps nothing/.test(problem) ? KEEPS_NOTHING_MESSAGE : `retention: ${problem}`,
    ];
  }
  return undefined;
}

/** Why the source PVC cannot be copied now: [reason, message, permanent]. */
export function sourceProblem(
  dm: DataMover,
  o: { source?: V1PersistentVolumeClaim | null | undefined },
): [string, string, boolean] | undefined {
  const name = dm.spec.sourcePvc;
  const source = o.source;
  if (!source) return [Reason.SourcePVCNotFound, `source PVC ${name} not found`, false];
  if (source.metadata?.deletionTimestamp) {
    return [Reason.SourcePVCTerminating, `source PVC ${name} is being deleted`, true];
  }
  if (source.spec?.volumeMode === 'Block') {
    return [
      Reason.SourcePVCBlockMode,
      `source PVC ${name} is a Block volume; only Filesystem volumes can be backed up with rclone`,
      true,
    ];
  }
  if (source.status?.phase !== 'Bound') {
    return [
      Reason.SourcePVCNotBound,
      `source PVC ${name} is ${source.status?.phase ?? 'Pending'}, not Bound`,
      false,
    ];
  }
  return undefined;
}
