// The schedule machine when schedules, triggers and selectors are used together and at scale:
// triggers that always answer, records that follow the selector, a bound on Allow, bounded status.
import { describe, expect, it } from 'vitest';
import type { DataMoverSchedule } from '../../api/v1alpha1/schedule.js';
import { decide, type ScheduleDecision } from './machine.js';
import { config, created, observe, reasons, run, schedule } from './fixtures.test-helpers.js';

describe('a DataMoverSchedule used with others', () => {
  it('runs a trigger set back to a value used before (a → b → a) once more, under a new name', () => {
    const at = (trigger: string, generation: number, status: DataMoverSchedule['status']) => {
      const s = schedule({ trigger }, status);
      s.metadata.generation = generation;
      return s;
    };
    const base = { scheduledThroughTime: '2026-03-01T03:00:00.000Z' };
    const a = decide(at('a', 2, base), observe('2026-03-01T12:00:00Z'), config);
    const done = (d: ScheduleDecision) =>
      d.actions.flatMap((x) =>
        x.type === 'createRun' ? [{ ...x.dataMover, status: { phase: 'Completed' as const } }] : [],
      );
    const aRun = done(a);
    const b = decide(at('b', 3, a.status), observe('2026-03-01T12:01:00Z', aRun), config);
    const bRuns = [...aRun, ...done(b)];
    const again = decide(at('a', 4, b.status), observe('2026-03-01T12:02:00Z', bRuns), {
      ...config,
    });
    expect(created(again)).toHaveLength(1);
    expect(created(again)[0]).not.toBe(created(a)[0]);
    expect(reasons(again)).toContain('Triggered');
    expect(again.status.lastTrigger).toBe('a');
  });

  it('answers a trigger it cannot run with a Warning, once', () => {
    const s = schedule({ schedule: '0 0 31 2 *', trigger: 'now' });
    const d = decide(s, observe('2026-03-01T12:00:00Z'), config);
    expect(d.actions).toEqual([]);
    expect(d.events).toContainEqual(
      expect.objectContaining({
        type: 'Warning',
        reason: 'TriggerRefused',
        message: expect.stringContaining('"now"'),
      }),
    );
    expect(d.status.lastTrigger).toBe('now');
    const again = decide({ ...s, status: d.status }, observe('2026-03-01T12:00:05Z'), config);
    expect(again.events.map((e) => e.reason)).not.toContain('TriggerRefused');
  });

  it('with Allow, runs at most maxConcurrentRunsPerPvc of one PVC at once and counts the rest missed', () => {
    const going = ['r1', 'r2'].map((n) => run(n, 'db', 'CreatingPod'));
    const s = schedule(
      { concurrencyPolicy: 'Allow', maxConcurrentRunsPerPvc: 2 },
      { scheduledThroughTime: '2026-03-01T02:00:00.000Z' },
    );
    const d = decide(s, observe('2026-03-01T03:00:00Z', going), config);
    expect(created(d)).toEqual([]);
    expect(d.status.missedRuns).toBe(1);
    expect(d.events).toContainEqual(
      expect.objectContaining({
        reason: 'RunSkipped',
        message: expect.stringContaining('maxConcurrentRunsPerPvc 2'),
      }),
    );
    const one = decide(s, observe('2026-03-01T03:00:00Z', going.slice(0, 1)), config);
    expect(created(one)).toHaveLength(1);
  });

  it('marks a PVC no longer selected at the next fire time, and drops its record after the grace period once its runs are gone', () => {
    const selector = { matchLabels: { backup: 'yes' } };
    const records = [
      { pvc: 'a', lastSuccessfulTime: '2026-03-01T03:00:10.000Z' },
      { pvc: 'b', lastSuccessfulTime: '2026-03-01T03:00:10.000Z' },
    ];
    const s = schedule(
      { sourcePvc: undefined, selector },
      { scheduledThroughTime: '2026-03-01T03:00:00.000Z', pvcs: records },
    );
    delete s.spec.sourcePvc;
    const fire = decide(s, { ...observe('2026-03-02T03:00:00Z'), selected: ['a'] }, config);
    const b = fire.status.pvcs?.find((r) => r.pvc === 'b');
    expect(b?.unselectedSince).toBe('2026-03-02T03:00:00.000Z');
    expect(fire.status.pvcs?.find((r) => r.pvc === 'a')?.unselectedSince).toBeUndefined();
    expect(fire.events).toContainEqual(expect.objectContaining({ reason: 'PVCsUnselected' }));
    // The next fire, past the grace period: b's run is still there, so its record stays.
    const bRun = run('b-run', 'b', 'Completed', '2026-03-01T03:00:10.000Z');
    const next = { ...s, status: { ...fire.status, scheduledThroughTime: '2026-03-02T03:00:00.000Z' } };
    const kept = decide(next, { ...observe('2026-03-03T03:00:00Z', [bRun]), selected: ['a'] }, config);
    expect(kept.status.pvcs?.map((r) => r.pvc)).toEqual(['a', 'b']);
    expect(kept.events.map((e) => e.reason)).not.toContain('PVCsUnselected');
    const gone = decide(next, { ...observe('2026-03-03T03:00:00Z'), selected: ['a'] }, config);
    expect(gone.status.pvcs?.map((r) => r.pvc)).toEqual(['a']);
    // Labelled again: selected again.
    const back = decide(next, { ...observe('2026-03-03T03:00:00Z', [bRun]), selected: ['a', 'b'] }, config);
    expect(back.status.pvcs?.find((r) => r.pvc === 'b')?.unselectedSince).toBeUndefined();
  });

  it('keeps its status about half the request size limit (1.5 MiB) with 5,000 selected PVCs all failing and hanging, under Allow', () => {
    const selector = { matchLabels: { backup: 'yes' } };
    const pvcs = Array.from(
      { length: 5000 },
      (_, i) => `data-postgres-cluster-${String(i).padStart(5, '0')}`,
    );
    const failed = pvcs.map((p, i) => {
      const r = run(`nightly-${i}-1772334000`, p, 'Failed', '2026-03-01T03:05:00.000Z');
      r.status!.conditions![0]!.message = 'x'.repeat(2000);
      return r;
    });
    const hanging = pvcs.map((p, i) => run(`nightly-${i}-1772420400`, p, 'CreatingPod'));
    const s = schedule(
      { sourcePvc: undefined, selector, concurrencyPolicy: 'Allow' },
      { scheduledThroughTime: '2026-03-02T03:00:00.000Z' },
    );
    delete s.spec.sourcePvc;
    const d = decide(
      s,
      { ...observe('2026-03-03T03:00:00Z', [...failed, ...hanging]), selected: pvcs },
      config,
    );
    expect(created(d)).toHaveLength(5000);
    const bytes = Buffer.byteLength(JSON.stringify(d.status));
    console.log(
      `schedule status with 5000 PVCs, all failed, 10000 runs going: ${(bytes / 1024).toFixed(0)} KiB`,
    );
    expect(bytes).toBeLessThan(1024 * 1024);
    expect(d.status.compacted).toBe(true);
    expect(d.status.activeCount).toBe(10_000);
    expect(d.status.active).toHaveLength(100);
    expect(d.status.pvcs).toHaveLength(5000);
    expect(d.status.pvcs!.every((r) => r.lastFailure?.reason === 'BucketNotFound')).toBe(true);
  });
});
