// While a mover Job runs (a backup's or a restore's): healthy, Stalled on a pod that cannot start (or
// a Job that makes none), and Failed once that has lasted --pod-start-timeout. One rule for both kinds.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { ConditionType as C, Reason } from '../api/v1alpha1/conditions.js';
import { podStartProblem } from './job-status.js';
import { JOB_NO_POD_AFTER_MS, podlessForMs } from './readiness.js';
import type { RunStatus, RunStatusBuilder } from './status-builder.js';

export interface PodFacts {
  now: Date;
  job?: V1Job | undefined;
  pods: readonly V1Pod[];
  /** Latest warning about the Job (such as a FailedCreate refused by admission). */
  jobWarning?: string | undefined;
  /** The mover's last log lines, read only when its Job succeeded without a report (job-status.ts). */
  moverLogTail?: string | undefined;
}

export interface PodProgress<S> {
  status: S;
  /** The Job to delete: its pod did not start in time (the run has failed). */
  deleteJob?: string;
  requeueAfterMs?: number;
}

/** `what` names the Job in messages: "mover Job …", "restore Job …". */
export function podProgress<S extends RunStatus>(
  o: PodFacts,
  b: RunStatusBuilder<S>,
  config: { podStartTimeoutMs: number },
  what: 'mover' | 'restore',
): PodProgress<S> {
  const jobName = b.status.jobName ?? '';
  const podless = o.job ? podlessForMs(o.job, o.pods, o.now) : undefined;
  const problem =
    podless !== undefined && podless >= JOB_NO_POD_AFTER_MS
      ? `the Job created no pod: ${o.jobWarning ?? 'see kubectl describe job'}`
      : podStartProblem(o.pods);
  const running = what === 'mover' ? Reason.MoverRunning : Reason.Restoring;
  if (!problem) {
    b.progressing(running, `${what} Job ${jobName} is running`);
    const recheck = podless !== undefined ? { requeueAfterMs: JOB_NO_POD_AFTER_MS - podless } : {};
    return { status: b.status, ...recheck };
  }
  const stalled = b.status.conditions?.find((c) => c.type === C.Stalled);
  const since =
    stalled?.status === 'True' && stalled.reason === Reason.MoverPodNotStarting
      ? new Date(stalled.lastTransitionTime).getTime()
      : o.now.getTime();
  const remaining = since + config.podStartTimeoutMs - o.now.getTime();
  if (remaining <= 0) {
    const message = `${what} pod did not start within ${config.podStartTimeoutMs / 1000}s: ${problem}`;
    return { status: b.fail(Reason.MoverPodStartTimeout, message).status, deleteJob: jobName };
  }
  b.stalled(Reason.MoverPodNotStarting, `${what} pod cannot start: ${problem}`);
  return { status: b.status, requeueAfterMs: remaining };
}
