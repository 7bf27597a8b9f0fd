import { describe, expect, it } from 'vitest';
import type { DataMoverRestoreStatus } from '../../api/v1alpha1/restore.js';
import { OperatorMetrics } from '../../metrics/metrics.js';
import { RestoreMetrics } from './metrics.js';
import { restoreEvents, restoreMetricMoves } from './transitions.js';
import { at, T0 } from '../datamover/fixtures.test-helpers.js';

const failed = (reason: string): DataMoverRestoreStatus => ({
  phase: 'Failed',
  message: 'it failed',
  conditions: [
    {
      type: 'Failed',
      status: 'True',
      reason,
      message: 'it failed',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    },
  ],
});

describe('restore metric moves', () => {
  it('count each phase started and ended, once per write that changes the phase', () => {
    expect(restoreMetricMoves({}, { phase: 'CreatingTargetPVC' })).toEqual([
      { metric: 'operations', phase: 'CreatingTargetPVC', status: 'started' },
    ]);
    expect(restoreMetricMoves({ phase: 'CreatingTargetPVC' }, { phase: 'Restoring' })).toEqual([
      { metric: 'operations', phase: 'CreatingTargetPVC', status: 'success' },
      { metric: 'operations', phase: 'Restoring', status: 'started' },
    ]);
    expect(restoreMetricMoves({ phase: 'Restoring' }, { phase: 'Restoring', message: 'x' })).toEqual([]);
  });

  it('count a failed verification besides the failed phase', () => {
    expect(restoreMetricMoves({ phase: 'Restoring' }, failed('RestoreVerificationFailed'))).toEqual([
      { metric: 'operations', phase: 'Restoring', status: 'failure' },
      { metric: 'verificationFailure' },
    ]);
    expect(restoreMetricMoves({ phase: 'Restoring' }, failed('BackupNotFound'))).toEqual([
      { metric: 'operations', phase: 'Restoring', status: 'failure' },
    ]);
  });

  it('move the exported series, which start at 0 in a namespace', async () => {
    const operator = new OperatorMetrics('test', () => true);
    const { registry } = operator;
    const metrics = new RestoreMetrics(operator, () => [
      { namespace: 'ns', phase: 'Restoring', queued: false },
      { namespace: 'ns', phase: 'Restoring', queued: true },
    ]);
    metrics.observeNamespace('ns');
    const zero = await registry.metrics();
    expect(zero).toContain(
      'datamover_restore_operations_total{namespace="ns",phase="Restoring",status="failure"} 0',
    );
    expect(zero).toContain('datamover_restore_verification_failures_total{namespace="ns"} 0');
    expect(zero).toContain('datamover_restore_queue_wait_seconds_count{namespace="ns"} 0');
    metrics.record('ns', restoreMetricMoves({ phase: 'Restoring' }, failed('RestoreVerificationFailed')));
    const text = await registry.metrics();
    expect(text).toContain(
      'datamover_restore_operations_total{namespace="ns",phase="Restoring",status="failure"} 1',
    );
    expect(text).toContain('datamover_restore_verification_failures_total{namespace="ns"} 1');
    expect(text).toContain('datamover_restores{namespace="ns",phase="Restoring"} 2');
    expect(text).toContain('datamover_restores_queued{namespace="ns"} 1');
    // A queued restore that got its slot: the wait since it entered Restoring.
    const queued = { phase: 'Restoring' as const, phaseStartTime: T0.toISOString(), queuePosition: 1 };
    const started = { phase: 'Restoring' as const, phaseStartTime: T0.toISOString(), jobName: 'j' };
    metrics.record('ns', restoreMetricMoves(queued, started, at(12)));
    const waited = await registry.metrics();
    expect(waited).toContain('datamover_restore_queue_wait_seconds_count{namespace="ns"} 1');
    expect(waited).toContain('datamover_restore_queue_wait_seconds_sum{namespace="ns"} 12');
  });
});

describe('restore events', () => {
  it('tell each phase, a failure as a warning with its reason, and a stall once', () => {
    expect(restoreEvents({}, { phase: 'CreatingTargetPVC', message: 'restore started' })).toEqual([
      { type: 'Normal', reason: 'CreatingTargetPVC', message: 'restore started' },
    ]);
    expect(restoreEvents({ phase: 'Restoring' }, failed('TargetPVCInUse'))).toEqual([
      { type: 'Warning', reason: 'TargetPVCInUse', message: 'it failed' },
    ]);
    const stalled: DataMoverRestoreStatus = {
      phase: 'CreatingTargetPVC',
      conditions: [
        {
          type: 'Stalled',
          status: 'True',
          reason: 'ScheduleNotFound',
          message: 'm',
          lastTransitionTime: 't',
        },
      ],
    };
    expect(restoreEvents({ phase: 'CreatingTargetPVC' }, stalled)).toEqual([
      { type: 'Warning', reason: 'ScheduleNotFound', message: 'm' },
    ]);
    expect(restoreEvents(stalled, stalled)).toEqual([]);
  });
});
