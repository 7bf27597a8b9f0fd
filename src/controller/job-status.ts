// Reading a mover Job and its pods: did it succeed, fail, or is its pod unable to start?
import type {
  V1ContainerStateTerminated,
  V1Job,
  V1JobCondition,
  V1JobStatus,
  V1Pod,
} from '@kubernetes/client-node';
import { Reason } from '../api/v1alpha1/conditions.js';
import { MoverExit } from '../contract/exit-codes.js';
import { MOVER_CONTAINER } from '../jobs/job.js';
import {
  parseMoverResult,
  reportProblem,
  type MoverResult,
  type PruneReport,
  type ReportBinding,
} from '../contract/result.js';
import { MAX_STATUS_RUNS, type DataMoverStatus } from '../api/v1alpha1/schema.js';

export type JobOutcome =
  /** `recheckMs`: a Job that succeeded, whose mover's exit the pod cache does not show yet. */
  | { kind: 'running'; recheckMs?: number }
  | { kind: 'succeeded'; result: MoverResult }
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

/**
 * Failures in which the mover ran and the sync itself failed (counted as data_sync failures): a Job
 * that succeeded without a report proving the run is one, since nothing shows the data was synced.
 */
export const SYNC_FAILURES = new Set<string>([
  Reason.NoMoverReport,
  Reason.MoverProtocolMismatch,
  Reason.MoverJobFailed,
  Reason.BucketEndpointUnreachable,
  Reason.UnreadableFiles,
  Reason.BackupVerificationFailed,
]);

/** The mover container's newest termination among the Job's pods, and that pod's name. */
function lastEnded(pods: readonly V1Pod[]) {
  return pods
    .flatMap((p) =>
      (p.status?.containerStatuses ?? [])
        .filter((s) => s.name === MOVER_CONTAINER && s.state?.terminated)
        .map((s) => ({ pod: p.metadata?.name ?? '', terminated: s.state!.terminated! })),
    )
    .sort(
      (a, b) =>
        new Date(a.terminated.finishedAt ?? 0).getTime() - new Date(b.terminated.finishedAt ?? 0).getTime(),
    )
    .at(-1);
}

const lastTermination = (pods: readonly V1Pod[]) => lastEnded(pods)?.terminated;

const succeeded = (job: V1Job | undefined) =>
  job?.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') === true;

/**
 * The pod of a Job that succeeded without a report proving its run: its mover's last log lines are
 * read, once, for the failure's message (a pod log GET, made only then). Undefined otherwise.
 */
export function unprovenSuccess(
  job: V1Job | undefined,
  pods: readonly V1Pod[],
  expected: ReportBinding,
): string | undefined {
  if (!succeeded(job)) return undefined;
  const last = lastEnded(pods);
  if (!last?.pod || !reportProblem(parseMoverResult(last.terminated.message), expected)) return undefined;
  return last.pod;
}

/**
 * How long a Job that succeeded may wait for its pod's exit to show in the pod cache (the Job and the
 * pod are two watches, and the Job's Complete can come first) before the run fails without a report.
 */
export const REPORT_GRACE_MS = 30_000;

/** What jobOutcome needs besides the Job and its pods. */
export interface OutcomeContext {
  /** Whose report the Job must leave (src/contract/result.ts). */
  expected: ReportBinding;
  now: Date;
  /** The failure reason of each exit code (a restore has two of its own). */
  reasons?: Record<number, string>;
  /** The mover's last log lines, read only for a Job that succeeded without its report. */
  logTail?: string | undefined;
}

/**
 * A Job that succeeded without a report proving its run: it fails (NoMoverReport, or
 * MoverProtocolMismatch), unless its pod's exit may not have reached the cache yet.
 */
function unproven(
  job: V1Job,
  last: V1ContainerStateTerminated | undefined,
  problem: { problem: string; protocol?: number },
  ctx: OutcomeContext,
): JobOutcome {
  if (last?.exitCode !== 0) {
    const done = new Date(job.status?.completionTime ?? ctx.now).getTime();
    const waited = ctx.now.getTime() - done;
    if (waited < REPORT_GRACE_MS) return { kind: 'running', recheckMs: REPORT_GRACE_MS - waited };
  }
  const exit = last ? `exit code ${last.exitCode}` : 'no pod of the Job shows its exit';
  const left = (last?.message ?? '').trim().slice(0, 256);
  const tail = ctx.logTail?.trim();
  const lines = tail ? `; its last lines: ${tail.slice(-MAX_MESSAGE / 2)}` : '';
  return {
    kind: 'failed',
    reason: problem.protocol !== undefined ? Reason.MoverProtocolMismatch : Reason.NoMoverReport,
    message:
      `mover Job ${job.metadata?.name} succeeded (${exit}) without a report proving this run, so the run is not done: ${problem.problem}` +
      `; the container's termination message: ${left ? JSON.stringify(left) : '(empty)'}${lines}`,
  };
}

/**
 * Whether a Job is running, failed, or succeeded with a report that proves its run: a Job that
 * succeeded without one (a mover that exited 0 before writing it, an image that writes none, a
 * report of another run or protocol) is a failure of its own, NoMoverReport or MoverProtocolMismatch.
 */
export function jobOutcome(job: V1Job, pods: readonly V1Pod[], ctx: OutcomeContext): JobOutcome {
  const conditions = job.status?.conditions ?? [];
  const reasons = ctx.reasons ?? REASON_BY_EXIT;
  if (succeeded(job)) {
    const last = lastTermination(pods);
    const result = parseMoverResult(last?.message);
    const problem = reportProblem(result, ctx.expected);
    if (!problem) return { kind: 'succeeded', result: result! };
    return unproven(job, last, problem, ctx);
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
