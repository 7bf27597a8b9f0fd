// One pass of a DataMoverSchedule: read it and its runs from the caches, list the selected PVCs when
// a fire is due, decide (machine.ts), perform the actions, then one status write guarded by
// resourceVersion. Metrics and events are recorded only after that write succeeds, so a retry, a
// conflict or a new leader never counts a missed run twice.
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'winston';
import type { DataMover } from '../../api/v1alpha1/schema.js';
import type { DataMoverSchedule, DataMoverScheduleStatus } from '../../api/v1alpha1/schedule.js';
import { apiMessage, isConflict, isRetryable, type KubeApi } from '../../kube/client.js';
import type { Source } from '../../kube/resources.js';
import type { OperatorMetrics } from '../../metrics/metrics.js';
import { ConflictError, type ReconcileResult } from '../runtime.js';
import { StatusWrites } from '../status-writes.js';
import { decide, dueSince, type ScheduleAction, type ScheduleConfig, type ScheduleEvent } from './machine.js';
import { selectorString } from './selector.js';

/** Creates (or deletes) of one pass sent at once. */
const PARALLEL_ACTIONS = 10;

export class ScheduleReconciler {
  /** Our own status writes the cache has not caught up with, and writes whose answer was lost. */
  private readonly writes = new StatusWrites<DataMoverScheduleStatus, DataMoverSchedule>();
  /** PVC lists in flight, by namespace and selector, and when each was sent. */
  private readonly listing = new Map<string, { startedAt: number; names: Promise<string[]> }>();

  constructor(
    private readonly api: KubeApi,
    private readonly schedules: Source<DataMoverSchedule>,
    private readonly dataMovers: Source<DataMover>,
    private readonly config: ScheduleConfig,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split('/') as [string, string];
    const schedule = this.writes.current(key, this.schedules.get(namespace, name));
    const settled = this.writes.settle(key, schedule);
    if (schedule && settled) {
      this.log.info('an earlier schedule status write was applied after all; counting it', {
        namespace,
        name,
      });
      this.recordTransition(schedule, settled.before, settled.status, []);
    }
    if (!schedule || schedule.metadata.deletionTimestamp) return {};
    this.metrics.observeSchedule(namespace, name);
    const now = this.clock();
    const uid = schedule.metadata.uid;
    const runs = this.dataMovers
      .list(namespace)
      .filter((dm) => dm.metadata.ownerReferences?.some((r) => r.controller && r.uid === uid));
    const observed = { now, runs, ...(await this.selected(schedule, now)) };
    const decision = decide(schedule, observed, this.config);
    // Deletions first (Replace: the old run goes before the new one starts), then the runs of the
    // fire time, several at a time: a selector of many PVCs must not create them one by one.
    const deletions = decision.actions.filter((a) => a.type === 'deleteRun');
    const creations = decision.actions.filter((a) => a.type === 'createRun');
    for (const batch of [deletions, creations]) {
      for (let i = 0; i < batch.length; i += PARALLEL_ACTIONS) {
        // Stop before an action, not only at its write: a process without the lease starts no run.
        this.api.fence();
        await Promise.all(
          batch.slice(i, i + PARALLEL_ACTIONS).map((a) => this.perform(schedule, a, decision.events)),
        );
      }
    }
    await this.writeStatus(schedule, decision.status, decision.events);
    return decision.requeueAfterMs !== undefined ? { requeueAfterMs: decision.requeueAfterMs } : {};
  }

  /**
   * The PVCs a selector picks, listed only when a fire is due: a schedule costs no request between.
   * Schedules of one namespace and selector firing together share a list in flight, when it was
   * started at or after their fire time: 100 schedules at one minute do not send 100 lists.
   */
  private async selected(schedule: DataMoverSchedule, now: Date): Promise<{ selected?: string[] }> {
    const selector = schedule.spec.selector;
    const due = selector && dueSince(schedule, now, this.config);
    if (!selector || !due) return {};
    const { namespace } = schedule.metadata;
    const labels = selectorString(selector);
    const key = JSON.stringify([namespace, labels]);
    const shared = this.listing.get(key);
    if (shared && shared.startedAt >= due.getTime()) return { selected: await shared.names };
    const listing = { startedAt: this.clock().getTime(), names: this.api.pvcNames(namespace, labels) };
    this.listing.set(key, listing);
    try {
      return { selected: await listing.names };
    } finally {
      if (this.listing.get(key) === listing) this.listing.delete(key);
    }
  }

  private async perform(schedule: DataMoverSchedule, action: ScheduleAction, events: ScheduleEvent[]) {
    const fields = { namespace: schedule.metadata.namespace, schedule: schedule.metadata.name };
    switch (action.type) {
      case 'createRun': {
        const dm = action.dataMover;
        if (await this.api.createDataMover(dm)) return;
        // Taken: our own run from a pass whose status write was lost shows in the cache as ours.
        const existing = this.dataMovers.get(dm.metadata.namespace, dm.metadata.name);
        if (existing && !existing.metadata.ownerReferences?.some((r) => r.uid === schedule.metadata.uid)) {
          const message = `DataMover ${dm.metadata.name} already exists and is not this schedule's; that run is not made`;
          this.log.warn(message, fields);
          events.push({ type: 'Warning', reason: 'NameConflict', message });
        }
        return;
      }
      case 'deleteRun':
        this.log.info(
          action.reason === 'history'
            ? 'deleting a run beyond the history limit'
            : 'deleting a run it replaces',
          { ...fields, dataMover: action.name },
        );
        try {
          await this.api.deleteDataMover(
            { metadata: { namespace: schedule.metadata.namespace, name: action.name } },
            action.uid || undefined,
          );
        } catch (err) {
          // 409: the UID precondition failed, it is gone or replaced: the next pass looks again.
          if (!isConflict(err)) throw err;
        }
        return;
    }
  }

  private async writeStatus(
    schedule: DataMoverSchedule,
    status: DataMoverScheduleStatus,
    events: readonly ScheduleEvent[],
  ): Promise<void> {
    const before = schedule.status ?? {};
    if (isDeepStrictEqual(before, status)) {
      this.recordTransition(schedule, before, status, events);
      return;
    }
    this.api.fence();
    const key = `${schedule.metadata.namespace}/${schedule.metadata.name}`;
    try {
      const updated = await this.api.replaceScheduleStatus({ ...schedule, status });
      this.writes.applied(key, schedule, updated);
    } catch (err) {
      if (isConflict(err) || isRetryable(err))
        this.writes.unknown(key, schedule, before, status, this.clock());
      if (isConflict(err)) {
        this.metrics.reconcileTotal.inc({ result: 'conflict' });
        throw new ConflictError(`DataMoverSchedule ${key} changed; retrying`, { cause: err });
      }
      throw new Error(`status write failed: ${apiMessage(err)}`, { cause: err });
    }
    this.recordTransition(schedule, before, status, events);
  }

  /** Metrics and events for a status change the apiserver has applied. */
  private recordTransition(
    schedule: DataMoverSchedule,
    before: DataMoverScheduleStatus,
    status: DataMoverScheduleStatus,
    events: readonly ScheduleEvent[],
  ): void {
    const { namespace, name } = schedule.metadata;
    const missed = (status.missedRuns ?? 0) - (before.missedRuns ?? 0);
    if (missed > 0) this.metrics.scheduleMissedRuns.inc({ namespace, schedule: name }, missed);
    for (const event of events) {
      this.log.log(event.type === 'Warning' ? 'warn' : 'info', event.message, {
        namespace,
        schedule: name,
        reason: event.reason,
      });
      // Best effort, and not waited for: events must not hold up the worker.
      this.api.recordEvent(schedule, event, this.clock()).catch((err: unknown) => {
        this.log.warn('event not recorded', {
          namespace,
          schedule: name,
          reason: event.reason,
          error: apiMessage(err),
        });
      });
    }
  }
}
