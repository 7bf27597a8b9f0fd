import { describe, expect, it } from 'vitest';
import { scheduledRunName } from '../../kube/names.js';
import { decide, dueSince } from './machine.js';
import {
  T,
  config,
  created,
  deleted,
  fireDue,
  observe,
  reasons,
  run,
  schedule,
} from './fixtures.test-helpers.js';

describe('a DataMoverSchedule', () => {
  it('waits for its first fire time and asks to be woken then, without polling', () => {
    const d = decide(schedule(), observe('2026-03-01T01:00:00Z'), config);
    expect(d.actions).toEqual([]);
    expect(d.status.nextScheduleTime).toBe('2026-03-01T03:00:00.000Z');
    expect(d.requeueAfterMs).toBe(2 * 3600_000);
    expect(d.status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'True',
      reason: 'Scheduled',
    });
  });

  it('at a fire time creates one DataMover named for it, owned by the schedule, labelled with it and the PVC', () => {
    const d = decide(schedule(), observe('2026-03-01T03:00:00.050Z'), config);
    const action = d.actions[0];
    expect(action?.type).toBe('createRun');
    if (action?.type !== 'createRun') return;
    const dm = action.dataMover;
    expect(dm.metadata.name).toBe(scheduledRunName('nightly', 'db', T('2026-03-01T03:00:00Z')));
    expect(dm.metadata.name).toMatch(/^nightly-[0-9a-f]{8}-1772334000$/);
    expect(dm.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'DataMoverSchedule', uid: 'sched-uid', controller: true }),
    ]);
    expect(dm.metadata.labels).toMatchObject({
      'datamover.io/schedule': 'nightly',
      'datamover.io/pvc': 'db',
    });
    expect(dm.spec).toEqual({ secretName: 'bucket', sourcePvc: 'db', addTimestampPrefix: true });
    expect(d.status.lastScheduleTime).toBe('2026-03-01T03:00:00.000Z');
    expect(d.status.nextScheduleTime).toBe('2026-03-02T03:00:00.000Z');
    expect(d.status.missedRuns).toBe(0);
    expect(d.status.active).toEqual([{ name: dm.metadata.name, pvc: 'db' }]);
    expect(reasons(d)).toEqual(['Fired']);
  });

  it('after downtime across three fire times makes one catch-up run and counts two missed', () => {
    const s = schedule({}, { scheduledThroughTime: '2026-03-01T03:00:00.000Z', missedRuns: 0 });
    const d = decide(s, observe('2026-03-04T10:00:00Z'), config);
    expect(created(d)).toEqual([scheduledRunName('nightly', 'db', T('2026-03-04T03:00:00Z'))]);
    expect(d.status.missedRuns).toBe(2);
    expect(d.status.scheduledThroughTime).toBe('2026-03-04T03:00:00.000Z');
    expect(reasons(d)).toEqual(['MissedRuns', 'Fired']);
  });

  it('runs no catch-up older than startingDeadlineSeconds, and counts it missed too', () => {
    const s = schedule(
      { startingDeadlineSeconds: 600 },
      { scheduledThroughTime: '2026-03-01T03:00:00.000Z' },
    );
    const d = decide(s, observe('2026-03-04T10:00:00Z'), config);
    expect(created(d)).toEqual([]);
    expect(d.status.missedRuns).toBe(3);
    expect(d.status.lastScheduleTime).toBeUndefined();
    expect(d.events[0]?.message).toContain('more than startingDeadlineSeconds (600) ago');
  });

  it('repeating a pass whose status write was lost (a crash, a new leader) creates nothing twice', () => {
    const name = scheduledRunName('nightly', 'db', T('2026-03-01T03:00:00Z'));
    const d = decide(schedule(), observe('2026-03-01T03:00:01Z', [run(name, 'db', 'CreatingPod')]), config);
    expect(d.actions).toEqual([]);
    expect(d.status.missedRuns).toBe(0);
    expect(d.status.lastScheduleTime).toBe('2026-03-01T03:00:00.000Z');
    expect(d.status.active).toEqual([{ name, pvc: 'db' }]);
  });

  it('Forbid (the default) skips a fire time while the previous run goes on, and counts it missed', () => {
    const s = schedule({}, { scheduledThroughTime: '2026-03-01T03:00:00.000Z' });
    const d = decide(s, observe('2026-03-02T03:00:00Z', [run('old', 'db', 'CreatingPod')]), config);
    expect(created(d)).toEqual([]);
    expect(d.status.missedRuns).toBe(1);
    expect(reasons(d)).toEqual(['RunSkipped']);
  });

  it('Replace deletes the unfinished run and starts the new one; Allow runs both', () => {
    const s = (policy: 'Replace' | 'Allow') =>
      schedule({ concurrencyPolicy: policy }, { scheduledThroughTime: '2026-03-01T03:00:00.000Z' });
    const going = [run('old', 'db', 'CreatingPod')];
    const replaced = decide(s('Replace'), observe('2026-03-02T03:00:00Z', going), config);
    expect(deleted(replaced)).toEqual(['old']);
    expect(created(replaced)).toHaveLength(1);
    expect(replaced.status.active?.map((a) => a.name)).not.toContain('old');
    const allowed = decide(s('Allow'), observe('2026-03-02T03:00:00Z', going), config);
    expect(deleted(allowed)).toEqual([]);
    expect(created(allowed)).toHaveLength(1);
    expect(allowed.status.active).toHaveLength(2);
  });

  it('a changed trigger runs once now, and the same trigger again does nothing', () => {
    const s = schedule({ trigger: 'now-1' }, { scheduledThroughTime: '2026-03-01T03:00:00.000Z' });
    const first = decide(s, observe('2026-03-01T12:00:00Z'), config);
    expect(created(first)).toEqual([scheduledRunName('nightly', 'db', { trigger: 'now-1', generation: 1 })]);
    expect(first.status.lastTrigger).toBe('now-1');
    expect(reasons(first)).toEqual(['Triggered']);
    const again = decide({ ...s, status: first.status }, observe('2026-03-01T12:00:05Z'), config);
    expect(again.actions).toEqual([]);
  });

  it('with a selector backs up each selected PVC into a root of its own', () => {
    const s = schedule({ sourcePvc: undefined as never, selector: { matchLabels: { backup: 'enabled' } } });
    delete (s.spec as { sourcePvc?: string }).sourcePvc;
    const d = decide(s, observe('2026-03-01T03:00:00Z', [], ['web', 'db']), config);
    const runs = d.actions.flatMap((a) => (a.type === 'createRun' ? [a.dataMover] : []));
    expect(runs.map((r) => [r.spec.sourcePvc, r.spec.destinationPath])).toEqual([
      ['db', 'team-a/db'],
      ['web', 'team-a/web'],
    ]);
    expect(fireDue(s, T('2026-03-01T03:00:00Z'), config)).toBe(true);
    expect(fireDue(s, T('2026-03-01T02:59:59Z'), config)).toBe(false);
  });

  it("tracks each PVC from its first fire in that fire's status, so seeing the new runs writes nothing", () => {
    const s = schedule({ selector: { matchLabels: { backup: 'enabled' } } });
    delete (s.spec as { sourcePvc?: string }).sourcePvc;
    const fired = decide(s, observe('2026-03-01T03:00:00.250Z', [], ['web', 'db']), config);
    expect(fired.status.pvcs).toEqual([
      { pvc: 'db', trackedSince: '2026-03-01T03:00:00Z' },
      { pvc: 'web', trackedSince: '2026-03-01T03:00:00Z' },
    ]);
    // The next pass sees the runs, created by the apiserver a moment later.
    const after = schedule(s.spec, fired.status);
    const runs = created(fired).map((name, i) => ({
      ...run(name, ['db', 'web'][i]!, 'CreatingPod'),
      metadata: {
        ...run(name, ['db', 'web'][i]!).metadata,
        creationTimestamp: '2026-03-01T03:00:01Z' as never,
      },
    }));
    const next = decide(after, observe('2026-03-01T03:00:01.500Z', runs), config);
    expect(next.actions).toEqual([]);
    expect(next.status).toEqual(fired.status);
  });

  it('knows since when a run is due: the fire time, or now for a trigger (a shared PVC list must be newer)', () => {
    const s = schedule();
    expect(dueSince(s, T('2026-03-01T02:59:59Z'), config)).toBeUndefined();
    expect(dueSince(s, T('2026-03-01T03:00:05Z'), config)).toEqual(T('2026-03-01T03:00:00Z'));
    // After downtime across three fire times: the latest of them.
    expect(dueSince(s, T('2026-03-03T04:00:00Z'), config)).toEqual(T('2026-03-03T03:00:00Z'));
    const triggered = schedule({ trigger: 'now' });
    expect(dueSince(triggered, T('2026-03-01T01:00:00Z'), config)).toEqual(T('2026-03-01T01:00:00Z'));
    expect(dueSince(schedule({ suspend: true }), T('2026-03-01T03:00:05Z'), config)).toBeUndefined();
  });

  it('says so when the selector picks no PVC at a fire time', () => {
    const s = schedule({ selector: { matchLabels: { backup: 'enabled' } } });
    delete (s.spec as { sourcePvc?: string }).sourcePvc;
    const d = decide(s, observe('2026-03-01T03:00:00Z', [], []), config);
    expect(d.actions).toEqual([]);
    expect(reasons(d)).toEqual(['NoPVCsSelected']);
  });

  it("passes the keep policy to each run's retention", () => {
    const d = decide(schedule({ keep: { daily: 7 } }), observe('2026-03-01T03:00:00Z'), config);
    const action = d.actions[0];
    expect(action?.type === 'createRun' && action.dataMover.spec).toMatchObject({
      retention: { keep: { daily: 7 } },
    });
  });

  it("keeps each PVC's last success and failure, and keeps them when the runs are gone", () => {
    const runs = [
      run('a', 'db', 'Completed', '2026-03-02T03:05:00.000Z'),
      run('b', 'db', 'Failed', '2026-03-03T03:05:00.000Z'),
      run('c', 'web', 'Completed', '2026-03-03T03:06:00.000Z'),
    ];
    const d = decide(schedule(), observe('2026-03-03T04:00:00Z', runs), config);
    expect(d.status.pvcs).toEqual([
      expect.objectContaining({
        pvc: 'db',
        lastSuccessfulTime: '2026-03-02T03:05:00.000Z',
        lastDestination: 'bucket:team-a/db/x/',
        lastRun: 'b',
        lastFailure: {
          time: '2026-03-03T03:05:00.000Z',
          dataMover: 'b',
          reason: 'BucketNotFound',
          message: 'no bucket',
        },
      }),
      expect.objectContaining({ pvc: 'web', lastSuccessfulTime: '2026-03-03T03:06:00.000Z', lastRun: 'c' }),
    ]);
    expect(d.status.lastSuccessfulTime).toBe('2026-03-03T03:06:00.000Z');
    const later = decide(schedule({}, d.status), observe('2026-03-03T05:00:00Z', []), config);
    expect(later.status.pvcs).toEqual(d.status.pvcs);
  });

  it('deletes finished runs beyond the history limits, but only once its status has recorded them', () => {
    const completed = [1, 2, 3, 4, 5].map((day) =>
      run(`ok${day}`, 'db', 'Completed', `2026-03-0${day}T03:05:00.000Z`),
    );
    const failed = [1, 2].map((day) => run(`bad${day}`, 'db', 'Failed', `2026-03-0${day}T04:05:00.000Z`));
    const now = observe('2026-03-05T12:00:00Z', [...completed, ...failed]);
    expect(deleted(decide(schedule(), now, config))).toEqual([]);
    const recorded = decide(schedule(), now, config).status;
    expect(deleted(decide(schedule({}, recorded), now, config)).sort()).toEqual(['bad1', 'ok1', 'ok2']);
    const limits = schedule({ successfulRunsHistoryLimit: 0, failedRunsHistoryLimit: 2 }, recorded);
    expect(deleted(decide(limits, now, config)).sort()).toEqual(['ok1', 'ok2', 'ok3', 'ok4', 'ok5']);
  });

  it('makes no runs while suspended, and after resuming does not count the fire times it slept through', () => {
    const s = schedule({ suspend: true }, { scheduledThroughTime: '2026-03-01T03:00:00.000Z' });
    const asleep = decide(s, observe('2026-03-03T12:00:00Z'), config);
    expect(asleep.actions).toEqual([]);
    expect(asleep.status.nextScheduleTime).toBeUndefined();
    expect(asleep.requeueAfterMs).toBeUndefined();
    expect(fireDue(s, T('2026-03-05T12:00:00Z'), config)).toBe(false);
    const resumed = decide(schedule({}, asleep.status), observe('2026-03-05T12:00:00Z'), config);
    expect(resumed.actions).toEqual([]);
    expect(resumed.status.missedRuns ?? 0).toBe(0);
    expect(resumed.status.nextScheduleTime).toBe('2026-03-06T03:00:00.000Z');
    const next = decide(schedule({}, resumed.status), observe('2026-03-06T03:00:00Z'), config);
    expect(created(next)).toHaveLength(1);
    expect(next.status.missedRuns ?? 0).toBe(0);
  });

  it('says since when a schedule sleeps in a Suspended condition, and clears it on resume', () => {
    const suspended = (st: {
      conditions?: { type: string; status: string; lastTransitionTime?: string }[];
    }) => st.conditions?.find((c) => c.type === 'Suspended');
    const asleep = decide(schedule({ suspend: true }), observe('2026-03-03T12:00:00Z'), config);
    expect(suspended(asleep.status)).toMatchObject({ status: 'True', reason: 'Suspended' });
    const still = decide(schedule({ suspend: true }, asleep.status), observe('2026-03-04T12:00:00Z'), config);
    expect(suspended(still.status)?.lastTransitionTime).toBe(suspended(asleep.status)?.lastTransitionTime);
    const resumed = decide(schedule({}, still.status), observe('2026-03-05T12:00:00Z'), config);
    expect(suspended(resumed.status)).toMatchObject({ status: 'False', reason: 'Scheduled' });
  });

  it('runs a manual trigger even while suspended', () => {
    const s = schedule({ suspend: true, trigger: 'before-upgrade' });
    const d = decide(s, observe('2026-03-03T12:00:00Z'), config);
    expect(created(d)).toEqual([
      scheduledRunName('nightly', 'db', { trigger: 'before-upgrade', generation: 1 }),
    ]);
    expect(d.status.lastTrigger).toBe('before-upgrade');
    expect(fireDue(s, T('2026-03-03T12:00:00Z'), config)).toBe(true);
  });

  it('is Stalled with InvalidSchedule, told once, when the expression cannot fire', () => {
    const d = decide(schedule({ schedule: '61 * * * *' }), observe('2026-03-01T03:00:00Z'), config);
    expect(d.actions).toEqual([]);
    expect(d.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'InvalidSchedule',
      message: expect.stringContaining('minute 61 is out of range 0-59'),
    });
    expect(reasons(d)).toEqual(['InvalidSchedule']);
    const again = decide(
      schedule({ schedule: '61 * * * *' }, d.status),
      observe('2026-03-01T04:00:00Z'),
      config,
    );
    expect(again.events).toEqual([]);
  });

  it('refuses a seconds field unless the operator allows it', () => {
    const every5s = schedule({ schedule: '*/5 * * * * *' });
    expect(decide(every5s, observe('2026-03-01T00:00:10Z'), config).status.conditions).toContainEqual(
      expect.objectContaining({ type: 'Stalled', status: 'True', reason: 'InvalidSchedule' }),
    );
    const allowed = decide(every5s, observe('2026-03-01T00:00:10Z'), { ...config, allowSeconds: true });
    expect(created(allowed)).toEqual([scheduledRunName('nightly', 'db', T('2026-03-01T00:00:10Z'))]);
    expect(allowed.status.missedRuns).toBe(1);
  });

  it('fires once at 03:00 local on the day Berlin springs forward past 02:30', () => {
    const s = schedule(
      { schedule: '30 2 * * *', timeZone: 'Europe/Berlin' },
      { scheduledThroughTime: '2026-03-28T01:30:00.000Z' },
    );
    const d = decide(s, observe('2026-03-29T01:00:00Z'), config);
    expect(created(d)).toEqual([scheduledRunName('nightly', 'db', T('2026-03-29T01:00:00Z'))]);
    expect(d.status.nextScheduleTime).toBe('2026-03-30T00:30:00.000Z');
  });

  it("applies the template's TTL itself, deleting a run only once its result is recorded, and wakes for it", () => {
    const s = schedule({ template: { secretName: 'bucket', ttlSecondsAfterFinished: 60 } });
    const fired = decide(s, observe('2026-03-01T03:00:00Z'), config);
    const action = fired.actions[0];
    expect(action?.type === 'createRun' && action.dataMover.spec.ttlSecondsAfterFinished).toBeUndefined();
    const done = [run('a', 'db', 'Completed', '2026-03-01T03:00:10.000Z')];
    const seen = decide(s, observe('2026-03-01T03:00:20Z', done), config);
    expect(deleted(seen)).toEqual([]);
    expect(seen.requeueAfterMs).toBe(50_000);
    const expired = decide(schedule(s.spec, seen.status), observe('2026-03-01T03:01:10Z', done), config);
    expect(deleted(expired)).toEqual(['a']);
    expect(expired.status.pvcs?.[0]?.lastSuccessfulTime).toBe('2026-03-01T03:00:10.000Z');
  });
});
