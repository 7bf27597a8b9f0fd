// The DataMoverSchedule kind's metrics, on the operator's registry (metrics/metrics.ts): missed runs,
// and gauges set at scrape time from each schedule's facts (controller.ts, scheduleFacts).
import { FirstSeen, type OperatorMetrics, type RuntimeMetrics } from '../../metrics/metrics.js';

/** What the schedule gauges show of one DataMoverSchedule, worked out by its controller. */
export interface ScheduleFacts {
  namespace: string;
  schedule: string;
  state: 'Active' | 'Suspended' | 'Invalid';
  /** Unix seconds; absent when suspended or invalid. */
  nextFire?: number;
  /** Seconds between the next two fire times; absent when suspended or invalid. */
  intervalSeconds?: number;
  /** Unix seconds: since when a Suspended schedule has been suspended, from its status; absent otherwise. */
  suspendedSince?: number;
  pvcs: Array<{ pvc: string; lastSuccess?: number; trackedSince?: number }>;
}

type Facts = () => Iterable<ScheduleFacts>;
/** A gauge's value of a schedule's facts: `undefined` sets no series. */
type ScheduleValue = (f: ScheduleFacts) => number | undefined;
/** A gauge's values of a schedule's PVC records. */
type PvcValue = (p: ScheduleFacts['pvcs'][number]) => number | undefined;

export class ScheduleMetrics {
  readonly runtime: RuntimeMetrics;
  private readonly missedRuns;
  /** The missed-runs series of a schedule starts at 0, so its first missed run shows as an increase. */
  private readonly schedules = new FirstSeen((namespace, schedule) =>
    this.missedRuns.inc({ namespace: namespace!, schedule: schedule! }, 0),
  );

  constructor(m: OperatorMetrics, facts: Facts) {
    this.missedRuns = m.counter(
      'datamover_schedule_missed_runs_total',
      'Fire times of a DataMoverSchedule that passed without a run: downtime beyond startingDeadlineSeconds, or skipped by concurrencyPolicy Forbid.',
      ['namespace', 'schedule'],
    );
    this.runtime = m.runtime({
      name: 'datamover_schedule_workqueue_depth',
      help: 'DataMoverSchedule keys waiting in their work queue.',
    });
    m.leaderGauge(
      'datamover_schedules',
      'DataMoverSchedules by namespace and state (leader only).',
      ['namespace', 'state'],
      (g) => {
        for (const f of facts()) g.inc({ namespace: f.namespace, state: f.state });
      },
    );
    m.leaderGauge(
      'datamover_schedule_state',
      'Each DataMoverSchedule, 1 on the series of its state: Active, Suspended, or Invalid (it cannot fire and is Stalled) (leader only).',
      ['namespace', 'schedule', 'state'],
      (g) => {
        for (const f of facts()) g.set({ namespace: f.namespace, schedule: f.schedule, state: f.state }, 1);
      },
    );
    const perSchedule = (name: string, help: string, value: ScheduleValue) =>
      m.leaderGauge(name, help, ['namespace', 'schedule'], (g) => {
        for (const f of facts()) {
          const v = value(f);
          if (v !== undefined) g.set({ namespace: f.namespace, schedule: f.schedule }, v);
        }
      });
    perSchedule(
      'datamover_schedule_suspended_since_timestamp_seconds',
      "When each suspended DataMoverSchedule was suspended, from its status's Suspended condition (leader only).",
      (f) => f.suspendedSince,
    );
    perSchedule(
      'datamover_schedule_next_fire_timestamp_seconds',
      'Next fire time of each active DataMoverSchedule (leader only).',
      (f) => f.nextFire,
    );
    perSchedule(
      'datamover_schedule_interval_seconds',
      'Seconds between the next two fire times of each active DataMoverSchedule (leader only).',
      (f) => f.intervalSeconds,
    );
    const perPvc = (name: string, help: string, value: PvcValue) =>
      m.leaderGauge(name, help, ['namespace', 'schedule', 'pvc'], (g) => {
        for (const f of facts())
          for (const p of f.pvcs) {
            const v = value(p);
            if (v !== undefined) g.set({ namespace: f.namespace, schedule: f.schedule, pvc: p.pvc }, v);
          }
      });
    perPvc(
      'datamover_schedule_pvc_last_success_timestamp_seconds',
      "Completion time of the newest successful backup of each PVC by each DataMoverSchedule, from the schedule's status: it outlives the DataMovers (leader only).",
      (p) => p.lastSuccess,
    );
    perPvc(
      'datamover_schedule_pvc_tracked_since_timestamp_seconds',
      'When each DataMoverSchedule first ran a backup of each PVC (leader only).',
      (p) => p.trackedSince,
    );
  }

  observeSchedule(namespace: string, schedule: string): void {
    this.schedules.observe(namespace, schedule);
  }

  missed(namespace: string, schedule: string, count: number): void {
    this.missedRuns.inc({ namespace, schedule }, count);
  }
}
