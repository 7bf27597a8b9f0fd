// The DataMoverSchedule kind of the reconcile pass (../pass.ts): its runs from the caches, the selected
// PVCs listed when a fire is due, the machine (machine.ts), its actions (runs created and deleted, ten
// at a time), and the metrics and events of a pass, recorded only after its status write succeeds, so
// a retry, a conflict or a new leader never counts a missed run twice.
import type { Logger } from 'winston';
import { PLURAL, type DataMover } from '../../api/v1alpha1/schema.js';
import {
  SCHEDULE_PLURAL,
  type DataMoverSchedule,
  type DataMoverScheduleStatus,
} from '../../api/v1alpha1/schedule.js';
import { apiMessage, isConflict, type KubeApi } from '../../kube/client.js';
import type { EventRecord } from '../../kube/events.js';
import { controlledBy } from '../../kube/names.js';
import type { Source } from '../../kube/resources.js';
import type { ScheduleMetrics } from './metrics.js';
import type { Decision, Performed, RunKind, Transition } from '../pass.js';
import { decide, dueSince, type ScheduleAction, type ScheduleConfig } from './machine.js';
import { selectorString } from './selector.js';

/** Creates (or deletes) of one pass sent at once. */
const PARALLEL_ACTIONS = 10;

type Observed = { now: Date; runs: DataMover[]; selected?: string[] };

export class ScheduleKind implements RunKind<
  DataMoverSchedule,
  DataMoverScheduleStatus,
  Observed,
  ScheduleAction
> {
  readonly kind = 'DataMoverSchedule';
  /** Creates (or deletes) of one pass sent at once: a selector of many PVCs is not served one by one. */
  readonly concurrency = PARALLEL_ACTIONS;
  /** PVC lists in flight, by namespace and selector, and when each was sent. */
  private readonly listing = new Map<string, { startedAt: number; names: Promise<string[]> }>();

  constructor(
    private readonly api: KubeApi,
    private readonly schedules: Source<DataMoverSchedule>,
    private readonly dataMovers: Source<DataMover>,
    private readonly config: ScheduleConfig,
    private readonly metrics: ScheduleMetrics,
    private readonly log: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  cached(namespace: string, name: string): DataMoverSchedule | undefined {
    return this.schedules.get(namespace, name);
  }

  seen(schedule: DataMoverSchedule): void {
    this.metrics.observeSchedule(schedule.metadata.namespace, schedule.metadata.name);
  }

  async observe(schedule: DataMoverSchedule, now: Date): Promise<Observed> {
    const uid = schedule.metadata.uid;
    const runs = this.dataMovers.list(schedule.metadata.namespace).filter((dm) => controlledBy(dm, uid));
    return { now, runs, ...(await this.selected(schedule, now)) };
  }

  decide(schedule: DataMoverSchedule, observed: Observed): Decision<DataMoverScheduleStatus, ScheduleAction> {
    return decide(schedule, observed, this.config);
  }

  /** Deletions first (Replace: the old run goes before the new one starts), then the fire time's runs. */
  stages(actions: readonly ScheduleAction[]): ScheduleAction[][] {
    return [actions.filter((a) => a.type === 'deleteRun'), actions.filter((a) => a.type === 'createRun')];
  }

  replaceStatus(schedule: DataMoverSchedule): Promise<DataMoverSchedule> {
    return this.api.replaceCustomStatus(SCHEDULE_PLURAL, schedule);
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

  async perform(
    schedule: DataMoverSchedule,
    action: ScheduleAction,
    status: DataMoverScheduleStatus,
    _now: Date,
    events: EventRecord[],
  ): Promise<Performed<DataMoverScheduleStatus>> {
    const fields = { namespace: schedule.metadata.namespace, schedule: schedule.metadata.name };
    switch (action.type) {
      case 'createRun': {
        const dm = action.dataMover;
        if (await this.api.createCustom(PLURAL, dm)) return { status };
        // Taken: our own run from a pass whose status write was lost shows in the cache as ours.
        const existing = this.dataMovers.get(dm.metadata.namespace, dm.metadata.name);
        if (existing && !controlledBy(existing, schedule.metadata.uid)) {
          const message = `DataMover ${dm.metadata.name} already exists and is not this schedule's; that run is not made`;
          this.log.warn(message, fields);
          events.push({ type: 'Warning', reason: 'NameConflict', message });
        }
        return { status };
      }
      case 'deleteRun':
        this.log.info(
          action.reason === 'history'
            ? 'deleting a run beyond the history limit'
            : 'deleting a run it replaces',
          { ...fields, dataMover: action.name },
        );
        try {
          await this.api.deleteCustom(
            PLURAL,
            { metadata: { namespace: schedule.metadata.namespace, name: action.name } },
            action.uid || undefined,
          );
        } catch (err) {
          // 409: the UID precondition failed, it is gone or replaced: the next pass looks again.
          if (!isConflict(err)) throw err;
        }
        return { status };
    }
  }

  /** Metrics and events for a status change the apiserver has applied. */
  record(schedule: DataMoverSchedule, { before, status, events }: Transition<DataMoverScheduleStatus>): void {
    const { namespace, name } = schedule.metadata;
    const missed = (status.missedRuns ?? 0) - (before.missedRuns ?? 0);
    if (missed > 0) this.metrics.missed(namespace, name, missed);
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
