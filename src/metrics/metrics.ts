// Every metric the operator exports, declared in one place on a private registry. Names, labels and
// buckets of the datamover_* families are fixed by the metrics specification.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DataMover, WorkPhase } from '../api/v1alpha1/schema.js';
import { WORK_PHASES } from '../api/v1alpha1/schema.js';
import { RESTORE_WORK_PHASES, type RestoreWorkPhase } from '../api/v1alpha1/restore.js';

/** One change to a metric that a status transition makes (src/controller/datamover/transitions.ts). */
export type MetricMove =
  | { metric: 'operations'; phase: WorkPhase; status: 'started' | 'success' | 'failure' }
  | { metric: 'phaseDuration'; phase: WorkPhase; seconds: number }
  | { metric: 'podCreation'; status: 'started' | 'success' | 'failure' }
  | { metric: 'dataSync'; status: 'success' | 'failure' }
  | { metric: 'cleanup'; status: 'success' | 'failure' }
  | { metric: 'syncBytes'; bytes: number }
  | { metric: 'run'; result: 'completed' | 'failed' }
  | { metric: 'syncVerified'; result: 'verified' | 'mismatch' }
  | { metric: 'prune'; status: 'success' | 'failure'; removed: number };

/** One change to a restore metric that a DataMoverRestore status transition makes. */
export type RestoreMetricMove =
  | { metric: 'operations'; phase: RestoreWorkPhase; status: 'started' | 'success' | 'failure' }
  | { metric: 'verificationFailure' };

export const PHASE_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200];
const BYTES_BUCKETS = [
  1024,
  1024 ** 2,
  16 * 1024 ** 2,
  128 * 1024 ** 2,
  1024 ** 3,
  8 * 1024 ** 3,
  64 * 1024 ** 3,
  512 * 1024 ** 3,
  4 * 1024 ** 4,
];

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

export const SCHEDULE_STATES = ['Active', 'Suspended', 'Invalid'] as const;

export interface ClusterView {
  /** All DataMovers the operator knows of; used by the cluster-state gauges at scrape time. */
  dataMovers(): Iterable<DataMover>;
  /** Every DataMoverSchedule, as facts for the schedule gauges. */
  schedules(): Iterable<ScheduleFacts>;
  /** Every DataMoverRestore's namespace and phase, for the restore gauge. */
  restores?(): Iterable<{ namespace: string; phase: string | undefined }>;
  /** Only the leader exports cluster-state gauges. */
  isLeader(): boolean;
}

export class OperatorMetrics {
  readonly registry = new Registry();
  private readonly seenNamespaces = new Set<string>();

  readonly operations = new Counter({
    name: 'datamover_operations_total',
    help: 'DataMover phase operations by phase and status (started, success, failure).',
    labelNames: ['phase', 'status', 'namespace'] as const,
    registers: [this.registry],
  });
  readonly phaseDuration = new Histogram({
    name: 'datamover_phase_duration_seconds',
    help: 'Duration of completed DataMover phases in seconds.',
    labelNames: ['phase', 'namespace'] as const,
    buckets: PHASE_BUCKETS,
    registers: [this.registry],
  });
  readonly cleanup = new Counter({
    name: 'datamover_cleanup_operations_total',
    help: 'Deletions of cloned PVCs after a backup, by status.',
    labelNames: ['status', 'namespace'] as const,
    registers: [this.registry],
  });
  readonly podCreation = new Counter({
    name: 'datamover_pod_creation_operations_total',
    help: 'Mover Job operations by status: started when created, success or failure when finished.',
    labelNames: ['status', 'namespace'] as const,
    registers: [this.registry],
  });
  readonly dataSync = new Counter({
    name: 'datamover_data_sync_operations_total',
    help: 'Data synchronizations by the mover, by status.',
    labelNames: ['status', 'namespace'] as const,
    registers: [this.registry],
  });
  readonly syncBytes = new Histogram({
    name: 'datamover_sync_bytes',
    help: 'Bytes transferred by one successful sync.',
    labelNames: ['namespace'] as const,
    buckets: BYTES_BUCKETS,
    registers: [this.registry],
  });
  readonly prune = new Counter({
    name: 'datamover_prune_operations_total',
    help: "Prunes of a schedule's older backups after a scheduled run, by status (a failure does not fail the backup).",
    labelNames: ['namespace', 'status'] as const,
    registers: [this.registry],
  });
  readonly prunedBackups = new Counter({
    name: 'datamover_pruned_backups_total',
    help: 'Backups (run folders) deleted by keep policies.',
    labelNames: ['namespace'] as const,
    registers: [this.registry],
  });
  readonly syncVerified = new Counter({
    name: 'datamover_sync_verified_total',
    help: 'Backups checked against their manifest after the sync, by result (verified, mismatch).',
    labelNames: ['namespace', 'result'] as const,
    registers: [this.registry],
  });
  readonly runs = new Counter({
    name: 'datamover_runs_total',
    help: 'DataMover runs that finished, by result (completed, failed): one per DataMover, whatever its phases.',
    labelNames: ['namespace', 'result'] as const,
    registers: [this.registry],
  });
  readonly reconcileTotal = new Counter({
    name: 'datamover_reconcile_total',
    help: 'Reconcile passes by result (success, error, conflict).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'datamover_reconcile_duration_seconds',
    help: 'Duration of one reconcile pass.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly queueWait = new Histogram({
    name: 'datamover_workqueue_wait_seconds',
    help: 'How long a key waited in its work queue for a worker, by kind and priority: urgent is the next step of a run under way (DataMover, DataMoverRestore) or a due fire time (DataMoverSchedule), normal is new work.',
    labelNames: ['kind', 'priority'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'datamover_workqueue_depth',
    help: 'DataMover keys waiting in the work queue.',
    registers: [this.registry],
  });
  readonly queueAdds = new Counter({
    name: 'datamover_workqueue_adds_total',
    help: 'Keys added to the work queue.',
    registers: [this.registry],
  });
  readonly queueRetries = new Counter({
    name: 'datamover_workqueue_retries_total',
    help: 'Keys re-queued with backoff after an error.',
    registers: [this.registry],
  });
  readonly scheduleMissedRuns = new Counter({
    name: 'datamover_schedule_missed_runs_total',
    help: 'Fire times of a DataMoverSchedule that passed without a run: downtime beyond startingDeadlineSeconds, or skipped by concurrencyPolicy Forbid.',
    labelNames: ['namespace', 'schedule'] as const,
    registers: [this.registry],
  });
  readonly scheduleQueueDepth = new Gauge({
    name: 'datamover_schedule_workqueue_depth',
    help: 'DataMoverSchedule keys waiting in their work queue.',
    registers: [this.registry],
  });
  readonly restoreOperations = new Counter({
    name: 'datamover_restore_operations_total',
    help: 'DataMoverRestore phase operations by phase and status (started, success, failure).',
    labelNames: ['namespace', 'phase', 'status'] as const,
    registers: [this.registry],
  });
  readonly restoreVerificationFailures = new Counter({
    name: 'datamover_restore_verification_failures_total',
    help: "Restores whose volume differed from the backup's manifest after the copy (RestoreVerificationFailed).",
    labelNames: ['namespace'] as const,
    registers: [this.registry],
  });
  readonly restoreQueueDepth = new Gauge({
    name: 'datamover_restore_workqueue_depth',
    help: 'DataMoverRestore keys waiting in their work queue.',
    registers: [this.registry],
  });
  readonly informerRestarts = new Counter({
    name: 'datamover_informer_restarts_total',
    help: 'Watches restarted after an error, by resource.',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });

  constructor(version: string, view: ClusterView) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'datamover_build_info',
      help: 'Build information; always 1.',
      labelNames: ['version', 'nodejs_version'] as const,
      registers: [this.registry],
    }).set({ version, nodejs_version: process.version }, 1);
    this.clusterGauges(view);
    this.scheduleGauges(view);
    new Gauge({
      name: 'datamover_restores',
      help: 'DataMoverRestores by namespace and phase (leader only).',
      labelNames: ['namespace', 'phase'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        if (!view.isLeader()) return;
        for (const r of view.restores?.() ?? [])
          this.inc({ namespace: r.namespace, phase: r.phase ?? 'Pending' });
      },
    });
  }

  private readonly seenRestoreNamespaces = new Set<string>();

  /** The restore series the alert reads start at 0 in a namespace, so a first failure is an increase. */
  observeRestoreNamespace(namespace: string): void {
    if (this.seenRestoreNamespaces.has(namespace)) return;
    this.seenRestoreNamespaces.add(namespace);
    for (const phase of RESTORE_WORK_PHASES)
      for (const status of ['started', 'success', 'failure'] as const)
        this.restoreOperations.inc({ namespace, phase, status }, 0);
    this.restoreVerificationFailures.inc({ namespace }, 0);
  }

  recordRestore(namespace: string, moves: readonly RestoreMetricMove[]): void {
    for (const move of moves) {
      if (move.metric === 'operations')
        this.restoreOperations.inc({ namespace, phase: move.phase, status: move.status });
      else this.restoreVerificationFailures.inc({ namespace });
    }
  }

  private scheduleGauges(view: ClusterView): void {
    /** A leader-only gauge set at scrape time from the schedules' facts. */
    const fromSchedules = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      set: (facts: ScheduleFacts, gauge: Gauge<L>) => void,
    ) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          if (!view.isLeader()) return;
          for (const facts of view.schedules()) set(facts, this);
        },
      });
    fromSchedules(
      'datamover_schedules',
      'DataMoverSchedules by namespace and state (leader only).',
      ['namespace', 'state'],
      (f, g) => g.inc({ namespace: f.namespace, state: f.state }),
    );
    fromSchedules(
      'datamover_schedule_state',
      'Each DataMoverSchedule, 1 on the series of its state: Active, Suspended, or Invalid (it cannot fire and is Stalled) (leader only).',
      ['namespace', 'schedule', 'state'],
      (f, g) => g.set({ namespace: f.namespace, schedule: f.schedule, state: f.state }, 1),
    );
    fromSchedules(
      'datamover_schedule_suspended_since_timestamp_seconds',
      "When each suspended DataMoverSchedule was suspended, from its status's Suspended condition (leader only).",
      ['namespace', 'schedule'],
      (f, g) => {
        if (f.suspendedSince !== undefined)
          g.set({ namespace: f.namespace, schedule: f.schedule }, f.suspendedSince);
      },
    );
    fromSchedules(
      'datamover_schedule_next_fire_timestamp_seconds',
      'Next fire time of each active DataMoverSchedule (leader only).',
      ['namespace', 'schedule'],
      (f, g) => {
        if (f.nextFire !== undefined) g.set({ namespace: f.namespace, schedule: f.schedule }, f.nextFire);
      },
    );
    fromSchedules(
      'datamover_schedule_interval_seconds',
      'Seconds between the next two fire times of each active DataMoverSchedule (leader only).',
      ['namespace', 'schedule'],
      (f, g) => {
        if (f.intervalSeconds !== undefined)
          g.set({ namespace: f.namespace, schedule: f.schedule }, f.intervalSeconds);
      },
    );
    fromSchedules(
      'datamover_schedule_pvc_last_success_timestamp_seconds',
      "Completion time of the newest successful backup of each PVC by each DataMoverSchedule, from the schedule's status: it outlives the DataMovers (leader only).",
      ['namespace', 'schedule', 'pvc'],
      (f, g) => {
        for (const p of f.pvcs)
          if (p.lastSuccess !== undefined)
            g.set({ namespace: f.namespace, schedule: f.schedule, pvc: p.pvc }, p.lastSuccess);
      },
    );
    fromSchedules(
      'datamover_schedule_pvc_tracked_since_timestamp_seconds',
      'When each DataMoverSchedule first ran a backup of each PVC (leader only).',
      ['namespace', 'schedule', 'pvc'],
      (f, g) => {
        for (const p of f.pvcs)
          if (p.trackedSince !== undefined)
            g.set({ namespace: f.namespace, schedule: f.schedule, pvc: p.pvc }, p.trackedSince);
      },
    );
  }

  private readonly seenSchedules = new Set<string>();

  /** The missed-runs series of a schedule starts at 0, so its first missed run shows as an increase. */
  observeSchedule(namespace: string, schedule: string): void {
    const key = `${namespace}/${schedule}`;
    if (this.seenSchedules.has(key)) return;
    this.seenSchedules.add(key);
    this.scheduleMissedRuns.inc({ namespace, schedule }, 0);
  }

  private clusterGauges(view: ClusterView): void {
    new Gauge({
      name: 'datamover_leader',
      help: 'Whether this process holds the leader lease and reconciles (1) or stands by (0).',
      registers: [this.registry],
      collect() {
        this.set(view.isLeader() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'datamover_datamovers',
      help: 'DataMovers by namespace and phase (leader only).',
      labelNames: ['namespace', 'phase'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        if (!view.isLeader()) return;
        for (const dm of view.dataMovers()) {
          this.inc({ namespace: dm.metadata.namespace, phase: dm.status?.phase ?? 'Pending' });
        }
      },
    });
    new Gauge({
      name: 'datamover_phase_in_progress_oldest_start_timestamp_seconds',
      help: 'Start time of the oldest DataMover still in each phase (leader only); time() minus it is how long the longest in-flight phase has run.',
      labelNames: ['namespace', 'phase'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        if (!view.isLeader()) return;
        const oldest = new Map<string, { namespace: string; phase: string; t: number }>();
        for (const dm of view.dataMovers()) {
          const phase = dm.status?.phase;
          const start = dm.status?.phaseStartTime;
          if (!phase || !start || !WORK_PHASES.includes(phase as WorkPhase)) continue;
          const key = `${dm.metadata.namespace}\u0000${phase}`;
          const t = new Date(start).getTime() / 1000;
          const cur = oldest.get(key);
          if (!cur || t < cur.t) oldest.set(key, { namespace: dm.metadata.namespace, phase, t });
        }
        for (const { namespace, phase, t } of oldest.values()) this.set({ namespace, phase }, t);
      },
    });
    new Gauge({
      name: 'datamover_last_success_timestamp_seconds',
      help: 'Completion time of the newest successful backup of each source PVC (leader only).',
      labelNames: ['namespace', 'pvc'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        if (!view.isLeader()) return;
        const newest = new Map<string, { namespace: string; pvc: string; t: number }>();
        for (const dm of view.dataMovers()) {
          if (dm.status?.phase !== 'Completed' || !dm.status.completionTime) continue;
          const key = `${dm.metadata.namespace}\u0000${dm.spec.sourcePvc}`;
          const t = new Date(dm.status.completionTime).getTime() / 1000;
          const cur = newest.get(key);
          if (!cur || t > cur.t)
            newest.set(key, { namespace: dm.metadata.namespace, pvc: dm.spec.sourcePvc, t });
        }
        for (const { namespace, pvc, t } of newest.values()) this.set({ namespace, pvc }, t);
      },
    });
  }

  /**
   * Creates the label sets the alerts use at 0 the first time a namespace is seen, so that the first
   * failure in a namespace shows as an increase.
   */
  observeNamespace(namespace: string): void {
    if (this.seenNamespaces.has(namespace)) return;
    this.seenNamespaces.add(namespace);
    this.syncBytes.zero({ namespace });
    for (const phase of WORK_PHASES) {
      // Histograms too: a series born with its first observation shows no rate for it.
      this.phaseDuration.zero({ phase, namespace });
      for (const status of ['started', 'success', 'failure'] as const)
        this.operations.inc({ phase, status, namespace }, 0);
    }
    for (const status of ['success', 'failure'] as const) {
      this.cleanup.inc({ status, namespace }, 0);
      this.dataSync.inc({ status, namespace }, 0);
      this.prune.inc({ namespace, status }, 0);
    }
    this.prunedBackups.inc({ namespace }, 0);
    for (const status of ['started', 'success', 'failure'] as const)
      this.podCreation.inc({ status, namespace }, 0);
    for (const result of ['completed', 'failed'] as const) this.runs.inc({ namespace, result }, 0);
    for (const result of ['verified', 'mismatch'] as const) this.syncVerified.inc({ namespace, result }, 0);
  }

  record(namespace: string, moves: readonly MetricMove[]): void {
    for (const move of moves) {
      switch (move.metric) {
        case 'operations':
          this.operations.inc({ phase: move.phase, status: move.status, namespace });
          break;
        case 'phaseDuration':
          this.phaseDuration.observe({ phase: move.phase, namespace }, move.seconds);
          break;
        case 'podCreation':
          this.podCreation.inc({ status: move.status, namespace });
          break;
        case 'dataSync':
          this.dataSync.inc({ status: move.status, namespace });
          break;
        case 'cleanup':
          this.cleanup.inc({ status: move.status, namespace });
          break;
        case 'syncBytes':
          this.syncBytes.observe({ namespace }, move.bytes);
          break;
        case 'run':
          this.runs.inc({ namespace, result: move.result });
          break;
        case 'syncVerified':
          this.syncVerified.inc({ namespace, result: move.result });
          break;
        case 'prune':
          this.prune.inc({ namespace, status: move.status });
          this.prunedBackups.inc({ namespace }, move.removed);
          break;
      }
    }
  }
}
