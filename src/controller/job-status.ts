// Reading a mover Job and its pods: did it succeed, fail, or is its pod unable to start?
import type { V1Job, V1JobCondition, V1JobStatus, V1Pod } from '@kubernetes/client-node';
import { Reason } from '../api/v1alpha1/conditions.js';
import { MoverExit } from '../contract/exit-codes.js';
import { MOVER_CONTAINER } from '../jobs/job.js';
import { parseMoverResult, type MoverResult, type PruneReport } from '../contract/result.js';
import { MAX_STATUS_RUNS, type DataMoverStatus } from '../api/v1alpha1/schema.js';

export type JobOutcome =
  | { kind: 'running' }
  | { kind: 'succeeded'; result?: MoverResult }
  | { kind: 'failed'; reason: string; message: string; result?: MoverResult };

/** Waiting reasons that mean the mover container will not start without someone fixing something. */
const START_FAILURES = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

const MAX_MESSAGE = 1024;

/** The failure reason a DataMover shows for each mover exit code. */
const REASON_BY_EXIT: Record<number, string> = {
  [MoverExit.TransferFailed]: Reason.MoverJobFailed,
  [MoverExit.ConfigError]: Reason.MoverConfigError,
  [MoverExit.CredentialsRejected]: Reason.BucketCredentialsRejected,
  [MoverExit.BucketNotFound]: Reason.BucketNotFound,
  [MoverExit.EndpointUnreachable]: Reason.BucketEndpointUnreachable,
  [MoverExit.UnreadableFiles]: Reason.UnreadableFiles,
  [MoverExit.DestinationConflict]: Reason.DestinationConflict,
  [MoverExit.VerifyFailed]: Reason.BackupVerificationFailed,
};

/** A restore's own exit codes: a volume that differs from the manifest, a run that is not there. */
export const RESTORE_REASON_BY_EXIT: Record<number, string> = {
  ...REASON_BY_EXIT,
  [MoverExit.VerifyFailed]: Reason.RestoreVerificationFailed,
  [MoverExit.BackupNotFound]: Reason.BackupNotFound,
};

/** Failures in which the mover ran and the sync itself failed (counted as data_sync failures). */
export const SYNC_FAILURES = new Set<string>([
  Reason.MoverJobFailed,
  Reason.BucketEndpointUnreachable,
  Reason.UnreadableFiles,
  Reason.BackupVerificationFailed,
]);

function lastTermination(pods: readonly V1Pod[]) {
  const terminated = pods
    .flatMap((p) => p.status?.containerStatuses ?? [])
    .filter((s) => s.name === MOVER_CONTAINER && s.state?.terminated)
    .map((s) => s.state!.terminated!)
    .sort((a, b) => new Date(a.finishedAt ?? 0).getTime() - new Date(b.finishedAt ?? 0).getTime());
  return terminated.at(-1);
}

/** `reasons`: the failure reason of each exit code (a restore has two of its own). */
export function jobOutcome(
  job: V1Job,
  pods: readonly V1Pod[],
  reasons: Record<number, string> = REASON_BY_EXIT,
): JobOutcome {
  const conditions = job.status?.conditions ?? [];
  if (conditions.some((c) => c.type === 'Complete' && c.status === 'True')) {
    const result = parseMoverResult(lastTermination(pods)?.message);
    return result ? { kind: 'succeeded', result } : { kind: 'succeeded' };
  }
  const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
  return failed ? failure(job, failed, pods, reasons) : { kind: 'running' };
}

function failure(
  job: V1Job,
  failed: V1JobCondition,
  pods: readonly V1Pod[],
  reasons: Record<number, string>,
): JobOutcome {
  const last = lastTermination(pods);
  const reason =
    reasons[last?.exitCode ?? -1] ??
    (failed.reason === 'PodFailurePolicy' ? Reason.MoverConfigError : Reason.MoverJobFailed);
  const report = parseMoverResult(last?.message);
  const detail = (report ? (report.error ?? '') : (last?.message ?? '')).trim().slice(0, MAX_MESSAGE);
  const base =
    `mover Job ${job.metadata?.name} failed (${failed.reason ?? 'Failed'}): ${failed.message ?? ''}`.trim();
  const exit = last?.exitCode !== undefined ? `; last exit code ${last.exitCode}` : '';
  return {
    kind: 'failed',
    reason,
    message: `${base}${exit}${detail ? `: ${detail}` : ''}`,
    ...(report ? { result: report } : {}),
  };
}

/** Pods the Job has started, finalized or not. */
export function podsStarted(js: V1JobStatus | undefined): number {
  const uncounted = js?.uncountedTerminatedPods;
  return (
    (js?.failed ?? 0) +
    (js?.succeeded ?? 0) +
    (js?.active ?? 0) +
    (uncounted?.failed?.length ?? 0) +
    (uncounted?.succeeded?.length ?? 0)
  );
}

/** Why a mover pod cannot start, or undefined when it is starting or running normally. */
export function podStartProblem(pods: readonly V1Pod[]): string | undefined {
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp || pod.status?.phase !== 'Pending') continue;
    const unschedulable = pod.status?.conditions?.find(
      (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
    );
    if (unschedulable) return `Unschedulable: ${unschedulable.message ?? 'no node fits the mover pod'}`;
    for (const s of pod.status?.containerStatuses ?? []) {
      const waiting = s.state?.waiting;
      if (waiting?.reason && START_FAILURES.has(waiting.reason)) {
        return `${waiting.reason}: ${waiting.message ?? ''}`.trim();
      }
    }
  }
  return undefined;
}

/** status.prune from the mover's prune report: counts, the first runs' names, and one message. */
export function pruneStatus(report: PruneReport): NonNullable<DataMoverStatus['prune']> {
  const runs = report.removed.slice(0, MAX_STATUS_RUNS);
  const more = report.removedCount - runs.length;
  const listed = `${runs.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
  const done =
    report.removedCount === 0
      ? `removed no backup by the keep policy, kept ${report.kept}`
      : `removed ${report.removedCount} backup(s) by the keep policy: ${listed}, kept ${report.kept}`;
  return {
    kept: report.kept,
    removed: report.removedCount,
    removedRuns: runs,
    message: report.error ? `${done}; the prune stopped: ${report.error}` : done,
    ...(report.error ? { error: report.error } : {}),
  };
}
