// The operator's side of retention: a DataMoverSchedule's DataMover passes its schedule and keep
// policy to the mover, any other DataMover with a policy is refused before anything is created, and
// the mover's prune report becomes status.prune, one event and the prune counters, once.
import { describe, expect, it } from 'vitest';
import type { DataMover, DataMoverSpec, DataMoverStatus } from '../../api/v1alpha1/schema.js';
import { runFolder } from '../../jobs/destination.js';
import { tenantEnvProblem } from '../../contract/tenant-env.js';
import { pruneReport } from '../../contract/result.js';
import { OperatorMetrics } from '../../metrics/metrics.js';
import { DataMoverMetrics } from './metrics.js';
import { buildMoverJob, scheduleOf } from '../../jobs/job.js';
import { findCondition } from '../conditions.js';
import { at, config, dm, job, source, T0, terminatedPod, moverReport } from './fixtures.test-helpers.js';
import { pruneStatus } from '../job-status.js';
import { decide } from './machine.js';
import { metricMoves, transitionEvents } from './transitions.js';

const scheduleRef = {
  apiVersion: 'datamover.io/v1alpha1',
  kind: 'DataMoverSchedule',
  name: 'nightly',
  uid: 'uid-nightly',
  controller: true,
  blockOwnerDeletion: true,
};
const KEEP = { daily: 7, weekly: 4 };

function scheduled(spec: Partial<DataMoverSpec> = {}, owners = [scheduleRef], status?: DataMoverStatus) {
  const d = dm({ addTimestampPrefix: true, retention: { keep: KEEP }, ...spec }, status, 'nightly-20260102');
  d.metadata.ownerReferences = owners;
  d.metadata.labels = { 'datamover.io/schedule': 'nightly' };
  return d;
}

const envOf = (d: DataMover) =>
  Object.fromEntries(
    buildMoverJob(d, config, T0).spec!.template.spec!.containers[0]!.env!.map((e) => [e.name, e.value]),
  );

describe("a scheduled DataMover's mover Job", () => {
  it('passes the schedule from the controller ownerReference and the keep policy as JSON', () => {
    const env = envOf(scheduled());
    expect(env.DATAMOVER_SCHEDULE).toBe('nightly');
    expect(JSON.parse(env.DATAMOVER_KEEP!)).toEqual(KEEP);
    // The start second, then the UID's 8 hex digits (uid-nightly-20260102 is no UUID: hashed).
    expect(env.DATAMOVER_RUN_FOLDER).toBe('2026-01-02-030405-9102cd6e');
  });

  it('passes the schedule without a policy, and neither for a DataMover made by hand', () => {
    expect(envOf(scheduled({ retention: undefined }))).toMatchObject({ DATAMOVER_SCHEDULE: 'nightly' });
    expect(envOf(scheduled({ retention: undefined }))).not.toHaveProperty('DATAMOVER_KEEP');
    const manual = envOf(dm({ addTimestampPrefix: true }));
    expect(manual).not.toHaveProperty('DATAMOVER_SCHEDULE');
    expect(manual).not.toHaveProperty('DATAMOVER_KEEP');
  });

  it('names a schedule only from a controller reference of kind DataMoverSchedule in our group', () => {
    expect(scheduleOf(scheduled())).toBe('nightly');
    expect(scheduleOf(scheduled({}, [{ ...scheduleRef, controller: false }]))).toBeUndefined();
    expect(scheduleOf(scheduled({}, [{ ...scheduleRef, kind: 'CronJob' }]))).toBeUndefined();
    expect(scheduleOf(scheduled({}, [{ ...scheduleRef, apiVersion: 'other.io/v1' }]))).toBeUndefined();
    // The label alone is not ownership: anyone may set a label.
    expect(scheduleOf(scheduled({}, []))).toBeUndefined();
  });

  it('keeps DATAMOVER_KEEP and DATAMOVER_SCHEDULE out of additionalEnv', () => {
    expect(tenantEnvProblem({ name: 'DATAMOVER_KEEP' })).toBeDefined();
    expect(tenantEnvProblem({ name: 'DATAMOVER_SCHEDULE' })).toBeDefined();
  });
});

describe('a DataMover with a keep policy', () => {
  /** The pass after the one that started the run: the first that weighs the policies. */
  const first = (d: DataMover) => {
    const started = decide(d, { now: at(0), pods: [] }, config).status;
    return decide({ ...d, status: started }, { now: at(1), pods: [], source: source() }, config);
  };

  it.each([
    [
      'without a DataMoverSchedule owner',
      scheduled({}, []),
      /retention applies only to DataMovers created by a DataMoverSchedule/,
    ],
    ['for the mirror', scheduled({ addTimestampPrefix: false }), /retention needs addTimestampPrefix: true/],
    ['that keeps nothing', scheduled({ retention: { keep: { last: 0 } } }), /retention\.keep keeps nothing/],
  ])('is refused %s before anything is created', (_what, d, message) => {
    const pass = first(d);
    expect(pass.actions).toEqual([]);
    expect(pass.status.phase).toBe('Failed');
    expect(findCondition(pass.status.conditions, 'Failed')?.reason).toBe('InvalidRetention');
    expect(pass.status.message).toMatch(message);
  });

  it("goes ahead as a schedule's timestamped DataMover", () => {
    const pass = first(scheduled());
    expect(pass.actions.map((a) => a.type)).toEqual(['createClone']);
  });
});

describe('the live runs of a mover Job', () => {
  it('are the UIDs the pass observed, its own among them, and DATAMOVER_* is reserved', () => {
    const d = scheduled({}, [scheduleRef], {
      phase: 'CreatingPod',
      startTime: T0.toISOString(),
      phaseStartTime: T0.toISOString(),
    });
    const pass = decide(d, { now: at(1), pods: [], liveRuns: ['uid-nightly-20260101'] }, config);
    const action = pass.actions[0];
    expect(action?.type).toBe('createJob');
    if (action?.type !== 'createJob') return;
    expect(action.job.spec!.template.spec!.containers[0]!.env).toContainEqual({
      name: 'DATAMOVER_LIVE_RUNS',
      value: 'uid-nightly-20260101,uid-nightly-20260102',
    });
    expect(tenantEnvProblem({ name: 'DATAMOVER_LIVE_RUNS' })).toBeDefined();
  });
});

describe("the mover's prune report", () => {
  const running = (d: DataMover) => ({
    ...d,
    status: {
      phase: 'CreatingPod' as const,
      startTime: T0.toISOString(),
      phaseStartTime: T0.toISOString(),
      jobName: 'nightly-20260102-mover',
      destination: 'bucket:ns/data/2026-01-02-030405/',
    },
  });
  const finish = (termination: string) =>
    decide(
      running(scheduled()),
      {
        now: at(5),
        job: job({ type: 'Complete' }),
        pods: [
          terminatedPod(
            0,
            moverReport(
              { run: runFolder(scheduled(), T0), ...(JSON.parse(termination) as Record<string, unknown>) },
              scheduled().metadata.name,
            ),
          ),
        ],
      },
      config,
    ).status;

  it('becomes status.prune, with counts, the first runs and a message', () => {
    const runs = Array.from({ length: 12 }, (_, i) => `2025-12-${String(i + 1).padStart(2, '0')}-000000`);
    const status = finish(JSON.stringify({ bytes: 10, files: 1, prune: pruneReport(8, runs) }));
    expect(status.phase, status.message).toBe('Completed');
    expect(status.prune).toEqual({
      kept: 8,
      removed: 12,
      removedRuns: runs.slice(0, 10),
      message: `removed 12 backup(s) by the keep policy: ${runs.slice(0, 10).join(', ')} and 2 more, kept 8`,
    });
  });

  it('leaves a failed prune a successful backup, with the error in status.prune', () => {
    const status = finish(
      JSON.stringify({
        bytes: 10,
        files: 1,
        prune: pruneReport(3, ['2025-12-01-000000'], 'cannot delete x'),
      }),
    );
    expect(status.phase, status.message).toBe('Completed');
    expect(findCondition(status.conditions, 'Complete')?.status).toBe('True');
    expect(status.prune).toMatchObject({ removed: 1, error: 'cannot delete x' });
    expect(status.prune?.message).toMatch(/removed 1 backup\(s\).*; the prune stopped: cannot delete x/);
  });

  it('is absent for a run that did not prune', () => {
    expect(finish('{"bytes":10,"files":1}').prune).toBeUndefined();
    expect(pruneStatus(pruneReport(2, [])).message).toBe('removed no backup by the keep policy, kept 2');
  });
});

describe('the prune in events and metrics', () => {
  const before: DataMoverStatus = { phase: 'CreatingPod', jobName: 'j', phaseStartTime: T0.toISOString() };
  const after = (prune: DataMoverStatus['prune']): DataMoverStatus => ({
    phase: 'Completed',
    jobName: 'j',
    phaseStartTime: at(5).toISOString(),
    ...(prune ? { prune } : {}),
  });
  const ok = pruneStatus(pruneReport(4, ['2025-12-01-000000', '2025-12-02-000000']));
  const failed = pruneStatus(pruneReport(4, [], 'cannot delete ns/data/2025-12-01-000000/: AccessDenied'));

  it('emits Pruned, or PruneFailed as a warning, with the write that first shows it', () => {
    expect(transitionEvents(before, after(ok))).toContainEqual({
      type: 'Normal',
      reason: 'Pruned',
      message: 'removed 2 backup(s) by the keep policy: 2025-12-01-000000, 2025-12-02-000000, kept 4',
    });
    expect(transitionEvents(before, after(failed))).toContainEqual({
      type: 'Warning',
      reason: 'PruneFailed',
      message: expect.stringMatching(/the prune stopped: cannot delete .*AccessDenied/),
    });
    expect(transitionEvents(after(ok), { ...after(ok), message: 'later' })).toEqual([]);
  });

  it('counts the prune and the backups it deleted once', () => {
    expect(metricMoves(before, after(ok))).toContainEqual({ metric: 'prune', status: 'success', removed: 2 });
    expect(metricMoves(before, after(failed))).toContainEqual({
      metric: 'prune',
      status: 'failure',
      removed: 0,
    });
    expect(metricMoves(after(ok), after(ok))).toEqual([]);
    expect(metricMoves(before, after(undefined)).filter((m) => m.metric === 'prune')).toEqual([]);
  });

  it('starts the prune counters at 0 in a new namespace and adds what a status write moved', async () => {
    const operator = new OperatorMetrics('test', () => true);
    const metrics = new DataMoverMetrics(operator, () => []);
    metrics.observeNamespace('ns');
    const text = async () => (await operator.registry.metrics()).split('\n').filter((l) => /prune/.test(l));
    expect(await text()).toEqual(
      expect.arrayContaining([
        'datamover_prune_operations_total{namespace="ns",status="success"} 0',
        'datamover_prune_operations_total{namespace="ns",status="failure"} 0',
        'datamover_pruned_backups_total{namespace="ns"} 0',
      ]),
    );
    metrics.record('ns', metricMoves(before, after(ok)));
    expect(await text()).toEqual(
      expect.arrayContaining([
        'datamover_prune_operations_total{namespace="ns",status="success"} 1',
        'datamover_pruned_backups_total{namespace="ns"} 2',
      ]),
    );
  });
});
