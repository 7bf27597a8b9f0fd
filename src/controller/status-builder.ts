// The status of one run (a DataMover's backup, a DataMoverRestore's restore) as a pass changes it:
// the phase and its start time, the kstatus conditions (Reconciling, Stalled, Ready) while it works,
// and Complete or Failed when it ends. Each kind's machine uses one; there is one set of words.
import { ConditionType as C, Reason } from '../api/v1alpha1/conditions.js';
import type { Condition } from '../api/v1alpha1/schema.js';
import type { Config } from '../config.js';
import { setCondition } from './conditions.js';
import { queuedMessage } from './run-cap.js';
import type { Pool, Slot } from './run-slots.js';

/** What every run's status has. */
export interface RunStatus {
  phase?: string | undefined;
  phaseStartTime?: string | undefined;
  completionTime?: string | undefined;
  message?: string | undefined;
  jobName?: string | undefined;
  conditions?: Condition[] | undefined;
  observedGeneration?: number | undefined;
  /** While the run waits for a slot under a run cap (run-cap.ts): its place when it was queued. */
  queuePosition?: number | undefined;
}

/** What every kind of run reads of the configuration: its grace periods, timeouts and images. */
export type RunConfig = Pick<
  Config,
  | 'sourcePvcGracePeriodMs'
  | 'cloneProvisionTimeoutMs'
  | 'cloneStallAfterMs'
  | 'podStartTimeoutMs'
  | 'defaultMoverImage'
  | 'allowedMoverImages'
>;

/** A run that ended: Completed or Failed, for every kind of run. */
export function isTerminal(phase: string | undefined): boolean {
  return phase === 'Completed' || phase === 'Failed';
}

interface Run<S> {
  metadata: { generation?: number | undefined };
  status?: S | undefined;
}

export class RunStatusBuilder<S extends RunStatus> {
  status: S;
  constructor(
    private readonly run: Run<S>,
    private readonly now: Date,
  ) {
    this.status = structuredClone(run.status ?? ({} as S));
    this.status.observedGeneration = run.metadata.generation;
  }

  condition(type: string, status: 'True' | 'False', reason: string, message: string): this {
    this.status.conditions = setCondition(
      this.status.conditions ?? [],
      type,
      status,
      reason,
      message,
      this.run.metadata.generation,
      this.now,
    );
    return this;
  }

  progressing(reason: string, message: string): this {
    this.status.message = message;
    return this.condition(C.Reconciling, 'True', reason, message)
      .condition(C.Stalled, 'False', reason, 'making progress')
      .condition(C.Ready, 'False', reason, message);
  }

  stalled(reason: string, message: string): this {
    this.status.message = message;
    return this.condition(C.Reconciling, 'True', reason, message)
      .condition(C.Stalled, 'True', reason, message)
      .condition(C.Ready, 'False', reason, message);
  }

  /**
   * A problem that may pass (a PVC that is not there yet): the run fails at once when it is
   * permanent or `graceMs` after the phase started; until then it is Stalled, saying until when.
   * Returns when to look again (at the deadline, or sooner every `recheckMs` for a problem no watch
   * reports), or undefined when the run failed.
   */
  waitOrFail(
    problem: { reason: string; message: string; permanent?: boolean },
    graceMs: number,
    recheckMs = Number.POSITIVE_INFINITY,
  ): number | undefined {
    const started = this.status.phaseStartTime ? new Date(this.status.phaseStartTime) : this.now;
    const deadline = started.getTime() + graceMs;
    if (problem.permanent || this.now.getTime() >= deadline) {
      this.fail(problem.reason, problem.message);
      return undefined;
    }
    this.stalled(problem.reason, `${problem.message}; waiting until ${new Date(deadline).toISOString()}`);
    return Math.min(deadline - this.now.getTime(), recheckMs);
  }

  enter(phase: NonNullable<S['phase']>): this {
    this.status.phase = phase;
    this.status.phaseStartTime = this.now.toISOString();
    return this;
  }

  fail(reason: string, message: string): this {
    this.enter('Failed' as NonNullable<S['phase']>);
    this.status.completionTime = this.now.toISOString();
    this.status.message = message;
    return this.condition(C.Failed, 'True', reason, message)
      .condition(C.Complete, 'False', reason, message)
      .condition(C.Stalled, 'True', reason, message)
      .condition(C.Reconciling, 'False', reason, message)
      .condition(C.Ready, 'False', reason, message);
  }

  complete(message: string): this {
    this.enter('Completed' as NonNullable<S['phase']>);
    this.status.completionTime = this.now.toISOString();
    this.status.message = message;
    return this.condition(C.Complete, 'True', Reason.Succeeded, message)
      .condition(C.Failed, 'False', Reason.Succeeded, message)
      .condition(C.Stalled, 'False', Reason.Succeeded, message)
      .condition(C.Reconciling, 'False', Reason.Succeeded, message)
      .condition(C.Ready, 'True', Reason.Succeeded, message);
  }

  /**
   * A run without a slot waits, before anything is created (Reconciling reason Queued), with its
   * place. Already queued, its place stays as written then: rewriting every waiting run's place
   * whenever the queue moves would cost a status write, and so another pass, per waiting run per
   * move; with 1,000 runs queued that storm starved the passes that hand slots out. The caller looks
   * again after QUEUED_RECHECK_MS (slots freed wake it at once).
   */
  queued(slot: Extract<Slot, { admitted: false }>, pool: Pool): this {
    const queuedAt = this.run.status?.queuePosition;
    if (queuedAt !== undefined) {
      this.status.queuePosition = queuedAt;
      return this;
    }
    this.progressing(Reason.Queued, queuedMessage(slot.position, slot.waiting, pool));
    this.status.queuePosition = slot.position;
    return this;
  }
}
