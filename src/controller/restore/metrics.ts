// The DataMoverRestore kind's metrics, on the operator's registry (metrics/metrics.ts).
import { RESTORE_WORK_PHASES, type RestoreWorkPhase } from '../../api/v1alpha1/restore.js';
import { FirstSeen, type OperatorMetrics, type RuntimeMetrics } from '../../metrics/metrics.js';

/** One change to a restore metric that a DataMoverRestore status transition makes (transitions.ts). */
export type RestoreMetricMove =
  | { metric: 'operations'; phase: RestoreWorkPhase; status: 'started' | 'success' | 'failure' }
  | { metric: 'verificationFailure' }
  | { metric: 'queueWait'; seconds: number };

/** Seconds, as the DataMovers' queue wait (datamover_run_queue_wait_seconds). */
const WAIT_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200];

export class RestoreMetrics {
  readonly runtime: RuntimeMetrics;
  private readonly operations;
  private readonly verificationFailures;
  private readonly queueWait;
  /** The restore series the alert reads start at 0 in a namespace, so a first failure is an increase. */
  private readonly namespaces = new FirstSeen((namespace) => {
    for (const phase of RESTORE_WORK_PHASES)
      for (const status of ['started', 'success', 'failure'] as const)
        this.operations.inc({ namespace, phase, status }, 0);
    this.verificationFailures.inc({ namespace }, 0);
    this.queueWait.zero({ namespace });
  });

  constructor(
    m: OperatorMetrics,
    restores: () => Iterable<{ namespace: string; phase: string | undefined; queued: boolean }>,
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
    this.queueWait = m.histogram(
      'datamover_restore_queue_wait_seconds',
      'How long DataMoverRestores waited for a slot under the run cap (--max-concurrent-runs, or their target StorageClass its own) before their Job was created.',
      ['namespace'],
      WAIT_BUCKETS,
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
    m.leaderGauge(
      'datamover_restores_queued',
      'DataMoverRestores waiting for a slot under the run cap before their Job (Reconciling reason Queued), by namespace (leader only).',
      ['namespace'],
      (g) => {
        for (const r of restores()) if (r.queued) g.inc({ namespace: r.namespace });
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
      else if (move.metric === 'queueWait') this.queueWait.observe({ namespace }, move.seconds);
      else this.verificationFailures.inc({ namespace });
    }
  }
}
