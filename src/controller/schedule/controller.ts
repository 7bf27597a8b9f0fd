// The DataMoverSchedule kind on the shared plumbing (runtime.ts): schedules are its primary objects
// and the DataMovers it creates are the objects it owns, read from the same DataMover watch as the
// DataMover kind's. No polling: each pass asks to be woken at the next fire time.
import type { Logger } from 'winston';
import type { DataMover } from '../../api/v1alpha1/schema.js';
import { SCHEDULE_PLURAL, type DataMoverSchedule } from '../../api/v1alpha1/schedule.js';
import type { KubeApi } from '../../kube/client.js';
import { scheduleOwnerKey } from '../../kube/names.js';
import { customResource, type Source } from '../../kube/resources.js';
import type { OperatorMetrics } from '../../metrics/metrics.js';
import { kindController } from '../pass.js';
import type { KindController } from '../runtime.js';
import { intervalSeconds, nextFireAfter, parseSchedule } from './cron.js';
import type { ScheduleConfig } from './machine.js';
import { ScheduleKind } from './reconcile.js';
import { ScheduleMetrics, type ScheduleFacts } from './metrics.js';
import { recordShown } from './records.js';

/** The DataMoverSchedules' watch: their list and watch path, cached whole. */
export const SCHEDULES = customResource<DataMoverSchedule>(SCHEDULE_PLURAL);

export function scheduleKind(
  api: KubeApi,
  schedules: Source<DataMoverSchedule>,
  dataMovers: Source<DataMover>,
  config: ScheduleConfig & { workers: number },
  metrics: OperatorMetrics,
  log: Logger,
): KindController<DataMoverSchedule> {
  const own = new ScheduleMetrics(metrics, () => scheduleFacts(schedules.list(), config, new Date()));
  return kindController(
    new ScheduleKind(api, schedules, dataMovers, config, own, log),
    {
      primary: schedules,
      owned: [{ source: dataMovers as never, owner: (o) => scheduleOwnerKey(o as never) }],
    },
    // A fire time goes before the bookkeeping of runs already created (runtime.ts, Priority).
    { api, workers: config.workers, first: 'due', log, metrics: own.runtime },
  );
}

const seconds = (iso: string | undefined) => (iso ? new Date(iso).getTime() / 1000 : undefined);

/**
 * Since when a schedule has been suspended: when its `Suspended` condition turned True (written by
 * schedule/machine.ts). Not Ready's lastTransitionTime: Ready stays True when a schedule is suspended.
 */
function suspendedSince(s: DataMoverSchedule): number | undefined {
  const suspended = s.status?.conditions?.find((c) => c.type === 'Suspended');
  return suspended?.status === 'True' ? seconds(suspended.lastTransitionTime) : undefined;
}

/** What the schedule gauges show of each schedule at `now`. */
export function scheduleFacts(
  schedules: Iterable<DataMoverSchedule>,
  config: ScheduleConfig,
  now: Date,
): ScheduleFacts[] {
  const facts: ScheduleFacts[] = [];
  for (const s of schedules) {
    const parsed = parseSchedule(s.spec.schedule, s.spec.timeZone, { allowSeconds: config.allowSeconds });
    const state = !parsed.ok ? 'Invalid' : s.spec.suspend ? 'Suspended' : 'Active';
    const next = parsed.ok && state === 'Active' ? nextFireAfter(parsed.schedule, now) : undefined;
    const interval = parsed.ok && state === 'Active' ? intervalSeconds(parsed.schedule, now) : undefined;
    const since = state === 'Suspended' ? suspendedSince(s) : undefined;
    facts.push({
      namespace: s.metadata.namespace,
      schedule: s.metadata.name,
      state,
      ...(next ? { nextFire: next.getTime() / 1000 } : {}),
      ...(interval !== undefined ? { intervalSeconds: interval } : {}),
      ...(since !== undefined ? { suspendedSince: since } : {}),
      // A PVC no longer selected keeps its gauges for the grace period, then its alerts clear. A
      // compacted record keeps no trackedSince once a backup succeeded: its last success stands in.
      pvcs: (s.status?.pvcs ?? [])
        .filter((p) => recordShown(p, now, config.unselectedGraceMs))
        .map((p) => {
          const tracked = p.trackedSince ?? p.lastSuccessfulTime;
          return {
            pvc: p.pvc,
            ...(p.lastSuccessfulTime ? { lastSuccess: seconds(p.lastSuccessfulTime)! } : {}),
            ...(tracked ? { trackedSince: seconds(tracked)! } : {}),
          };
        }),
    });
  }
  return facts;
}
