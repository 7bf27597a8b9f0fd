// The DataMoverSchedule kind on the shared plumbing (runtime.ts): schedules are its primary objects
// and the DataMovers it creates are the objects it owns, read from the same DataMover watch as the
// DataMover kind's. No polling: each pass asks to be woken at the next fire time.
import type { Logger } from 'winston';
import type { DataMover } from '../../api/v1alpha1/schema.js';
import type { DataMoverSchedule } from '../../api/v1alpha1/schedule.js';
import type { KubeApi } from '../../kube/client.js';
import { scheduleOwnerKey } from '../../kube/names.js';
import type { Source } from '../../kube/resources.js';
import type { OperatorMetrics, ScheduleFacts } from '../../metrics/metrics.js';
import { KindController } from '../runtime.js';
import { intervalSeconds, nextFireAfter, parseSchedule } from './cron.js';
import type { ScheduleConfig } from './machine.js';
import { ScheduleReconciler } from './reconcile.js';

export function scheduleKind(
  api: KubeApi,
  schedules: Source<DataMoverSchedule>,
  dataMovers: Source<DataMover>,
  config: ScheduleConfig & { workers: number },
  metrics: OperatorMetrics,
  log: Logger,
): KindController<DataMoverSchedule> {
  const reconciler = new ScheduleReconciler(api, schedules, dataMovers, config, metrics, log);
  return new KindController<DataMoverSchedule>(
    {
      kind: 'DataMoverSchedule',
      primary: schedules,
      owned: [{ source: dataMovers as never, owner: (o) => scheduleOwnerKey(o as never) }],
      reconcile: (key) => reconciler.reconcile(key),
    },
    {
      workers: config.workers,
      // A fire time goes before the bookkeeping of runs already created (runtime.ts, Priority).
      first: 'due',
      log,
      metrics: { ...runtimeMetrics(metrics), queueDepth: metrics.scheduleQueueDepth },
    },
  );
}

function runtimeMetrics(m: OperatorMetrics) {
  return {
    queueAdds: m.queueAdds,
    queueRetries: m.queueRetries,
    reconcileTotal: m.reconcileTotal,
    reconcileDuration: m.reconcileDuration,
    queueWait: m.queueWait,
  };
}

const seconds = (iso: string | undefined) => (iso ? new Date(iso).getTime() / 1000 : undefined);

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
    facts.push({
      namespace: s.metadata.namespace,
      schedule: s.metadata.name,
      state,
      ...(next ? { nextFire: next.getTime() / 1000 } : {}),
      ...(interval !== undefined ? { intervalSeconds: interval } : {}),
      pvcs: (s.status?.pvcs ?? []).map((p) => ({
        pvc: p.pvc,
        ...(p.lastSuccessfulTime ? { lastSuccess: seconds(p.lastSuccessfulTime)! } : {}),
        ...(p.trackedSince ? { trackedSince: seconds(p.trackedSince)! } : {}),
      })),
    });
  }
  return facts;
}
