// What /metrics shows of each DataMoverSchedule's state: the per-schedule state gauge and, for a
// suspended schedule, since when (DataMoverScheduleNotRunning reads both).
import { describe, expect, it } from 'vitest';
import type { DataMoverSchedule } from '../../api/v1alpha1/schedule.js';
import type { Condition } from '../../api/v1alpha1/schema.js';
import { OperatorMetrics } from '../../metrics/metrics.js';
import { ScheduleMetrics } from './metrics.js';
import { scheduleFacts } from './controller.js';

const NOW = new Date('2026-03-10T12:00:00Z');
const SUSPENDED_AT = '2026-03-06T08:00:00Z';
const CREATED_AT = '2026-01-01T00:00:00Z';

const condition = (type: string, status: 'True' | 'False', reason: string, at: string): Condition => ({
  type,
  status,
  reason,
  message: reason,
  lastTransitionTime: at,
});

function schedule(
  name: string,
  spec: Partial<DataMoverSchedule['spec']> = {},
  conditions: Condition[] = [],
): DataMoverSchedule {
  return {
    apiVersion: 'datamover.io/v1alpha1',
    kind: 'DataMoverSchedule',
    metadata: { name, namespace: 'team' },
    spec: { schedule: '0 3 * * *', sourcePvc: 'db', template: { secretName: 'bucket' }, ...spec },
    status: { conditions },
  };
}

/** Ready turned True at creation and stays True through a suspension: its time says nothing of it. */
const readySince = (reason: string) => condition('Ready', 'True', reason, CREATED_AT);

async function scrape(schedules: DataMoverSchedule[]): Promise<string[]> {
  const facts = scheduleFacts(schedules, { allowSeconds: false, unselectedGraceMs: 0 }, NOW);
  const metrics = new OperatorMetrics('test', () => true);
  new ScheduleMetrics(metrics, () => facts);
  const text = await metrics.registry.metrics();
  return text
    .split('\n')
    .filter((l) =>
      /^datamover_(schedule_state|schedule_suspended_since_timestamp_seconds|schedules)\{/.test(l),
    );
}

describe('the schedule state gauges', () => {
  it('show each schedule in its state, and since when a suspended one is suspended', async () => {
    const lines = await scrape([
      schedule('nightly', {}, [readySince('Scheduled')]),
      schedule('paused', { suspend: true }, [
        condition('Ready', 'True', 'Suspended', CREATED_AT),
        condition('Suspended', 'True', 'Suspended', SUSPENDED_AT),
      ]),
      schedule('february', { schedule: '0 0 30 2 *' }, [
        condition('Stalled', 'True', 'InvalidSchedule', CREATED_AT),
      ]),
      schedule('local', { timeZone: 'Local' }),
    ]);
    const since = new Date(SUSPENDED_AT).getTime() / 1000;
    expect(lines.sort()).toEqual(
      [
        'datamover_schedule_state{namespace="team",schedule="nightly",state="Active"} 1',
        'datamover_schedule_state{namespace="team",schedule="paused",state="Suspended"} 1',
        'datamover_schedule_state{namespace="team",schedule="february",state="Invalid"} 1',
        'datamover_schedule_state{namespace="team",schedule="local",state="Invalid"} 1',
        `datamover_schedule_suspended_since_timestamp_seconds{namespace="team",schedule="paused"} ${since}`,
        'datamover_schedules{namespace="team",state="Active"} 1',
        'datamover_schedules{namespace="team",state="Suspended"} 1',
        'datamover_schedules{namespace="team",state="Invalid"} 2',
      ].sort(),
    );
  });

  it("give no suspension time before the status says when it began, and never Ready's", async () => {
    const lines = await scrape([
      // Just suspended: the operator has not written the Suspended condition yet.
      schedule('just-paused', { suspend: true }, [readySince('Scheduled')]),
      // Suspended again: the condition still says False from the last resume.
      schedule('paused-again', { suspend: true }, [
        readySince('Scheduled'),
        condition('Suspended', 'False', 'Scheduled', SUSPENDED_AT),
      ]),
    ]);
    expect(lines.filter((l) => l.includes('suspended_since'))).toEqual([]);
    expect(lines).toContain(
      'datamover_schedule_state{namespace="team",schedule="just-paused",state="Suspended"} 1',
    );
  });

  it('give no suspension time to a resumed schedule or an invalid one', async () => {
    const stillSaysSuspended = condition('Suspended', 'True', 'Suspended', SUSPENDED_AT);
    const lines = await scrape([
      schedule('resumed', { suspend: false }, [stillSaysSuspended]),
      schedule('broken', { suspend: true, schedule: '0 0 31 4 *' }, [stillSaysSuspended]),
    ]);
    expect(lines.filter((l) => l.startsWith('datamover_schedule_'))).toEqual([
      'datamover_schedule_state{namespace="team",schedule="resumed",state="Active"} 1',
      'datamover_schedule_state{namespace="team",schedule="broken",state="Invalid"} 1',
    ]);
  });
});
