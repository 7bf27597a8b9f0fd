// The DataMoverRestore kind's metrics, on the operator's registry (metrics/metrics.ts).
import { RESTORE_WORK_PHASES, type RestoreWorkPhase } from '../../api/v1alpha1/restore.js';
import { FirstSeen, type OperatorMetrics, type RuntimeMetrics } from '../../metrics/metrics.js';

/** One change to a restore metric that a DataMoverRestore status transition makes (transitions.ts). */
export type RestoreMetricMove =
  | { metric: 'operations'; phase: RestoreWorkPhase; status: 'started' | 'success' | 'failure' }
  | { metric: 'verificationFailure' };

export class RestoreMetrics {
  readonly runtime: RuntimeMetrics;
  private readonly operations;
  private readonly verificationFailures;
  /** The restore series the alert reads start at 0 in a namespace, so a first failure is an increase. */
  private readonly namespaces = new FirstSeen((namespace) => {
    for (const phase of RESTORE_WORK_PHASES)
      for (const status of ['started', 'success', 'failure'] as const)
        this.operations.inc({ namespace, phase, status }, 0);
    this.verificationFailures.inc({ namespace }, 0);
  });

  constructor(
    m: OperatorMetrics,
    restores: () => Iterable<{ namespace: string; phase: string | undefined }>,
  ) {
    this.operations = m.counter(
      'datamover_restore_operations_total',
      'DataMoverRestore phase operations by phase and status (started, success, failure).',
      ['namespace', 'phase', 'status'],
    );
    this.verificationFailures = m.counter(
      'datamover_restore_verification_failures_total',
      "Restores whose volume differed from the backup's manifest after the copy (RestoreVerificationFailed).",
      ['namespace'],
    );
    this.runtime = m.runtime({
      name: 'datamover_restore_workqueue_depth',
      help: 'DataMoverRestore keys waiting in their work queue.',
    });
    m.leaderGauge(
      'datamover_restores',
      'DataMoverRestores by namespace and phase (leader only).',
      ['namespace', 'phase'],
      (g) => {
        for (const r of restores()) g.inc({ namespace: r.namespace, phase: r.phase ?? 'Pending' });
      },
    );
  }

  observeNamespace(namespace: string): void {
    this.namespaces.observe(namespace);
  }

  record(namespace: string, moves: readonly RestoreMetricMove[]): void {
    for (const move of moves) {
      if (move.metric === 'operations')
        this.operations.inc({ namespace, phase: move.phase, status: move.status });
      else this.verificationFailures.inc({ namespace });
    }
  }
}
