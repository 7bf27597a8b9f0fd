import { describe, expect, it } from 'vitest';
import type { DataMoverStatus } from '../../api/v1alpha1/schema.js';
import { at } from './fixtures.test-helpers.js';
import { metricMoves, runLength, transitionEvents } from './transitions.js';

const cond = (type: string, status: 'True' | 'False', reason: string) => ({
  type,
  status,
  reason,
  message: reason,
  lastTransitionTime: at(0).toISOString(),
});
const s = (phase: DataMoverStatus['phase'], t: number, extra: DataMoverStatus = {}): DataMoverStatus => ({
  phase,
  phaseStartTime: at(t).toISOString(),
  ...extra,
});

describe('metricMoves', () => {
  it('counts entering the first phase as started', () => {
    expect(metricMoves({}, s('CreatingClonedPVC', 0))).toEqual([
      { metric: 'operations', phase: 'CreatingClonedPVC', status: 'started' },
    ]);
  });

  it('counts leaving a phase as success with its persisted duration, and entering the next', () => {
    expect(metricMoves(s('CreatingClonedPVC', 0), s('CreatingPod', 4))).toEqual([
      { metric: 'operations', phase: 'CreatingClonedPVC', status: 'success' },
      { metric: 'phaseDuration', phase: 'CreatingClonedPVC', seconds: 4 },
      { metric: 'operations', phase: 'CreatingPod', status: 'started' },
    ]);
  });

  it('counts Job creation once, when its name first appears in status', () => {
    expect(metricMoves(s('CreatingPod', 0), s('CreatingPod', 0, { jobName: 'j' }))).toEqual([
      { metric: 'podCreation', status: 'started' },
    ]);
    expect(metricMoves(s('CreatingPod', 0, { jobName: 'j' }), s('CreatingPod', 0, { jobName: 'j' }))).toEqual(
      [],
    );
  });

  it('counts a successful mover as pod creation and sync success', () => {
    const moves = metricMoves(
      s('CreatingPod', 0, { jobName: 'j' }),
      s('Completed', 30, { jobName: 'j', bytesTransferred: 42, bytesUploaded: 2 }),
    );
    expect(moves).toContainEqual({ metric: 'podCreation', status: 'success' });
    expect(moves).toContainEqual({ metric: 'dataSync', status: 'success' });
    expect(moves).toContainEqual({ metric: 'syncBytes', bytes: 42 });
    expect(moves).toContainEqual({ metric: 'uploadedBytes', bytes: 2 });
    expect(moves).toContainEqual({ metric: 'phaseDuration', phase: 'CreatingPod', seconds: 30 });
  });

  it('counts a failed transfer as a sync failure, but a pod that never started only as a pod failure', () => {
    const transfer = metricMoves(
      s('CreatingPod', 0, { jobName: 'j' }),
      s('Failed', 9, { conditions: [cond('Failed', 'True', 'MoverJobFailed')] }),
    );
    expect(transfer).toContainEqual({ metric: 'dataSync', status: 'failure' });
    expect(transfer).toContainEqual({ metric: 'operations', phase: 'CreatingPod', status: 'failure' });
    const neverStarted = metricMoves(
      s('CreatingPod', 0, { jobName: 'j' }),
      s('Failed', 9, { conditions: [cond('Failed', 'True', 'MoverPodStartTimeout')] }),
    );
    expect(neverStarted).toContainEqual({ metric: 'podCreation', status: 'failure' });
    expect(neverStarted).not.toContainEqual({ metric: 'dataSync', status: 'failure' });
  });

  it('counts cleanup by the CleanedUp condition', () => {
    expect(
      metricMoves(
        s('CleaningUp', 0),
        s('Completed', 1, { conditions: [cond('CleanedUp', 'True', 'CloneDeleted')] }),
      ),
    ).toContainEqual({ metric: 'cleanup', status: 'success' });
    expect(
      metricMoves(
        s('CleaningUp', 0),
        s('Completed', 1, { conditions: [cond('CleanedUp', 'False', 'CleanupFailed')] }),
      ),
    ).toContainEqual({ metric: 'cleanup', status: 'failure' });
  });

  it('moves nothing when the status did not change phase or job', () => {
    expect(metricMoves(s('CreatingPod', 0), s('CreatingPod', 0, { message: 'x' }))).toEqual([]);
  });
});

describe('runs', () => {
  it('counts each DataMover once when it finishes, whatever its phases', () => {
    const runs = (before: DataMoverStatus, after: DataMoverStatus) =>
      metricMoves(before, after).filter((m) => m.metric === 'run');
    expect(runs(s('CreatingPod', 0), s('Completed', 1))).toEqual([{ metric: 'run', result: 'completed' }]);
    expect(runs(s('CleaningUp', 0), s('Completed', 1))).toEqual([{ metric: 'run', result: 'completed' }]);
    expect(runs(s('CreatingClonedPVC', 0), s('Failed', 1))).toEqual([{ metric: 'run', result: 'failed' }]);
    expect(runs(s('CreatingClonedPVC', 0), s('CreatingPod', 1))).toEqual([]);
    expect(runs(s('Completed', 0), s('Completed', 0))).toEqual([]);
  });
});

describe('verification', () => {
  it('counts a verified or mismatched backup once, by the write that first shows it', () => {
    const verified = s('Completed', 1, { verification: { verified: 3, mismatches: 0 } });
    const mismatch = s('Failed', 1, { verification: { verified: 2, mismatches: 1 } });
    const moves = (before: DataMoverStatus, after: DataMoverStatus) =>
      metricMoves(before, after).filter((m) => m.metric === 'syncVerified');
    expect(moves(s('CreatingPod', 0), verified)).toEqual([{ metric: 'syncVerified', result: 'verified' }]);
    expect(moves(s('CreatingPod', 0), mismatch)).toEqual([{ metric: 'syncVerified', result: 'mismatch' }]);
    expect(moves(verified, verified)).toEqual([]);
  });
});

describe('transitionEvents', () => {
  it('emits a warning when a stall begins and not again while it lasts', () => {
    const stalled = s('CreatingClonedPVC', 0, { conditions: [cond('Stalled', 'True', 'SourcePVCNotFound')] });
    expect(transitionEvents(s('CreatingClonedPVC', 0), stalled)).toEqual([
      { type: 'Warning', reason: 'SourcePVCNotFound', message: 'SourcePVCNotFound' },
    ]);
    expect(transitionEvents(stalled, stalled)).toEqual([]);
  });

  it('emits the failure reason as a warning', () => {
    const failed = s('Failed', 1, {
      message: 'boom',
      conditions: [cond('Failed', 'True', 'MoverJobFailed')],
    });
    expect(transitionEvents(s('CreatingPod', 0), failed)).toEqual([
      { type: 'Warning', reason: 'MoverJobFailed', message: 'boom' },
    ]);
  });

  it('tells of a run completing, with how long it took, and of nothing before', () => {
    const started = s('CreatingClonedPVC', 0, { message: 'cloning PVC app' });
    expect(transitionEvents({}, started)).toEqual([]);
    const snapshot = s('CreatingSnapshot', 0, { message: 'snapshotting PVC app' });
    expect(transitionEvents({}, snapshot)).toEqual([]);
    expect(transitionEvents(snapshot, started)).toEqual([]);
    const entered = s('CreatingPod', 1, { jobName: 'x-mover', message: 'mover Job x-mover is running' });
    expect(transitionEvents(started, entered)).toEqual([]);
    expect(transitionEvents(s('CreatingPod', 1), entered)).toEqual([]);
    const cleaning = s('CleaningUp', 1, { message: 'deleting the clone' });
    expect(transitionEvents(entered, cleaning)).toEqual([]);
    const done = s('Completed', 1, {
      message: 'backup completed',
      startTime: '2026-01-01T00:00:00Z',
      completionTime: '2026-01-01T00:12:05Z',
    });
    expect(transitionEvents(cleaning, done)).toEqual([
      { type: 'Normal', reason: 'Completed', message: 'backup completed (run took 12m5s)' },
    ]);
  });

  it("gives a run's length as kubectl prints ages", () => {
    expect(
      [0, 45_000, 120_000, 725_400, 3 * 3600_000, 3 * 3600_000 + 4 * 60_000 + 9_000].map(runLength),
    ).toEqual(['0s', '45s', '2m', '12m5s', '3h', '3h4m']);
  });
});
