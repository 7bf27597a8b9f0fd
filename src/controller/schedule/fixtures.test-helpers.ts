// Builders shared by the schedule machine's tests.
import type { DataMover } from '../../api/v1alpha1/schema.js';
import type { DataMoverSchedule, DataMoverScheduleSpec } from '../../api/v1alpha1/schedule.js';
import { nextFireAfter, type CronSchedule } from './cron.js';
import { dueSince, type ScheduleDecision, type ScheduleObserved } from './machine.js';

export const config = { allowSeconds: false, unselectedGraceMs: 3_600_000 };
/** Whether a pass at `now` is due to run (and so lists the selected PVCs). */
export const fireDue = (...args: Parameters<typeof dueSince>) => dueSince(...args) !== undefined;
export const T = (iso: string) => new Date(iso);
export const CREATED = '2026-03-01T00:00:00.000Z';

export function schedule(
  spec: Partial<DataMoverScheduleSpec> = {},
  status: DataMoverSchedule['status'] = undefined,
) {
  const s: DataMoverSchedule = {
    apiVersion: 'datamover.io/v1alpha1',
    kind: 'DataMoverSchedule',
    metadata: {
      name: 'nightly',
      namespace: 'team-a',
      uid: 'sched-uid',
      generation: 1,
      creationTimestamp: CREATED as never,
    },
    spec: { schedule: '0 3 * * *', sourcePvc: 'db', template: { secretName: 'bucket' }, ...spec },
  };
  if (status) s.status = status;
  return s;
}

/** A run of this schedule in the given phase, finished at `finished`. */
export function run(
  name: string,
  pvc: string,
  phase?: 'Completed' | 'Failed' | 'CreatingPod',
  finished?: string,
): DataMover {
  return {
    apiVersion: 'datamover.io/v1alpha1',
    kind: 'DataMover',
    metadata: {
      name,
      namespace: 'team-a',
      uid: `uid-${name}`,
      creationTimestamp: (finished ?? CREATED) as never,
      ownerReferences: [
        {
          apiVersion: 'datamover.io/v1alpha1',
          kind: 'DataMoverSchedule',
          name: 'nightly',
          uid: 'sched-uid',
          controller: true,
        },
      ],
    },
    spec: { sourcePvc: pvc },
    ...(phase
      ? {
          status: {
            phase,
            ...(finished ? { completionTime: finished } : {}),
            ...(phase === 'Completed' ? { destination: `bucket:team-a/${pvc}/x/` } : {}),
            ...(phase === 'Failed'
              ? {
                  conditions: [
                    {
                      type: 'Failed',
                      status: 'True' as const,
                      reason: 'BucketNotFound',
                      message: 'no bucket',
                      lastTransitionTime: finished!,
                    },
                  ],
                }
              : {}),
          },
        }
      : {}),
  };
}

export const observe = (now: string, runs: DataMover[] = [], selected?: string[]): ScheduleObserved => ({
  now: T(now),
  runs,
  ...(selected ? { selected } : {}),
});

export const created = (d: ScheduleDecision) =>
  d.actions.flatMap((a) => (a.type === 'createRun' ? [a.dataMover.metadata.name] : []));
export const deleted = (d: ScheduleDecision) =>
  d.actions.flatMap((a) => (a.type === 'deleteRun' ? [a.name] : []));
export const reasons = (d: ScheduleDecision) => d.events.map((e) => e.reason);

/**
 * The fire times one by one (the oracle countFiresBetween is checked against): the fires in
 * (afterExclusive, untilInclusive], oldest first, at most `max` of them.
 */
export function fireTimesBetween(
  schedule: CronSchedule,
  afterExclusive: Date,
  untilInclusive: Date,
  max: number,
): { times: Date[]; truncated: boolean } {
  const times: Date[] = [];
  for (let next = nextFireAfter(schedule, afterExclusive); next && next <= untilInclusive;) {
    if (times.length >= max) return { times, truncated: true };
    times.push(next);
    next = nextFireAfter(schedule, next);
  }
  return { times, truncated: false };
}
