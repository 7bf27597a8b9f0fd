// The DataMover kind's metrics, on the operator's registry (metrics/metrics.ts): the phase
// operations and durations, the mover's outcomes, the prunes, and the cluster-state gauges read from
// the DataMover cache at scrape time.
import type { DataMover, WorkPhase } from '../../api/v1alpha1/schema.js';
import { WORK_PHASES } from '../../api/v1alpha1/schema.js';
import { FirstSeen, type OperatorMetrics, type RuntimeMetrics } from '../../metrics/metrics.js';
import { isTerminal } from '../status-builder.js';

/** One change to a metric that a status transition makes (transitions.ts). */
export type MetricMove =
  | { metric: 'operations'; phase: WorkPhase; status: 'started' | 'success' | 'failure' }
  | { metric: 'phaseDuration'; phase: WorkPhase; seconds: number }
  | { metric: 'podCreation'; status: 'started' | 'success' | 'failure' }
  | { metric: 'dataSync'; status: 'success' | 'failure' }
  | { metric: 'cleanup'; status: 'success' | 'failure' }
  | { metric: 'syncBytes'; bytes: number }
  | { metric: 'uploadedBytes'; bytes: number }
  | { metric: 'run'; result: 'completed' | 'failed' }
  | { metric: 'syncVerified'; result: 'verified' | 'mismatch' }
  | { metric: 'prune'; status: 'success' | 'failure'; removed: number }
  | { metric: 'queueWait'; seconds: number };

const PHASE_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200];
/** 1 KiB, 1 MiB, 16 MiB, 128 MiB, 1 GiB, 8 GiB, 64 GiB, 512 GiB, 4 TiB. */
const BYTES_BUCKETS = [2 ** 10, 2 ** 20, 2 ** 24, 2 ** 27, 2 ** 30, 2 ** 33, 2 ** 36, 2 ** 39, 2 ** 42];
const STARTED = ['started', 'success', 'failure'] as const;
const ENDED = ['success', 'failure'] as const;

export class DataMoverMetrics {
  readonly runtime: RuntimeMetrics;
  private readonly operations;
  private readonly phaseDuration;
  private readonly cleanup;
  private readonly podCreation;
  private readonly dataSync;
  private readonly syncBytes;
  private readonly uploadedBytes;
  private readonly prune;
  private readonly prunedBackups;
  private readonly syncVerified;
  private readonly runs;
  private readonly queueWait;
  private readonly namespaces = new FirstSeen((namespace) => this.zero(namespace));

  constructor(m: OperatorMetrics, dataMovers: () => Iterable<DataMover>) {
    const ns = 'namespace';
    this.operations = m.counter(
      'datamover_operations_total',
      'DataMover phase operations by phase and status (started, success, failure).',
      ['phase', 'status', ns],
    );
    this.phaseDuration = m.histogram(
      'datamover_phase_duration_seconds',
      'Duration of completed DataMover phases in seconds.',
      ['phase', ns],
      PHASE_BUCKETS,
    );
    this.cleanup = m.counter(
      'datamover_cleanup_operations_total',
      'Deletions of cloned PVCs after a backup, by status.',
      ['status', ns],
    );
    this.podCreation = m.counter(
      'datamover_pod_creation_operations_total',
      'Mover Job operations by status: started when created, success or failure when finished.',
      ['status', ns],
    );
    this.dataSync = m.counter(
      'datamover_data_sync_operations_total',
      'Data synchronizations by the mover, by status.',
      ['status', ns],
    );
    this.syncBytes = m.histogram(
      'datamover_sync_bytes',
      'Bytes transferred by one successful sync.',
      [ns],
      BYTES_BUCKETS,
    );
    this.uploadedBytes = m.histogram(
      'datamover_sync_uploaded_bytes',
      'Of the bytes of one successful sync, those uploaded from the volume: the others were unchanged since the newest Complete run and copied inside the bucket.',
      [ns],
      BYTES_BUCKETS,
    );
    this.prune = m.counter(
      'datamover_prune_operations_total',
      "Prunes of a schedule's older backups after a scheduled run, by status (a failure does not fail the backup).",
      [ns, 'status'],
    );
    this.prunedBackups = m.counter(
      'datamover_pruned_backups_total',
      'Backups (run folders) deleted by keep policies.',
      [ns],
    );
    this.syncVerified = m.counter(
      'datamover_sync_verified_total',
      'Backups checked against their manifest after the sync, by result (verified, mismatch).',
      [ns, 'result'],
    );
    this.runs = m.counter(
      'datamover_runs_total',
      'DataMover runs that finished, by result (completed, failed): one per DataMover, whatever its phases.',
      [ns, 'result'],
    );
    this.queueWait = m.histogram(
      'datamover_run_queue_wait_seconds',
      'How long DataMovers waited for a slot under --max-concurrent-runs before their clone was created.',
      [ns],
      PHASE_BUCKETS,
    );
    this.runtime = m.runtime({
      name: 'datamover_workqueue_depth',
      help: 'DataMover keys waiting in the work queue.',
    });
    clusterGauges(m, dataMovers);
  }

  /**
   * Creates the label sets the alerts use at 0 the first time a namespace is seen, so that the first
   * failure in a namespace shows as an increase.
   */
  observeNamespace(namespace: string): void {
    this.namespaces.observe(namespace);
  }

  private zero(namespace: string): void {
    this.syncBytes.zero({ namespace });
    this.uploadedBytes.zero({ namespace });
    this.queueWait.zero({ namespace });
    for (const phase of WORK_PHASES) {
      // Histograms too: a series born with its first observation shows no rate for it.
      this.phaseDuration.zero({ phase, namespace });
      for (const status of STARTED) this.operations.inc({ phase, status, namespace }, 0);
    }
    for (const status of ENDED) {
      this.cleanup.inc({ status, namespace }, 0);
      this.dataSync.inc({ status, namespace }, 0);
      this.prune.inc({ namespace, status }, 0);
    }
    this.prunedBackups.inc({ namespace }, 0);
    for (const status of STARTED) this.podCreation.inc({ status, namespace }, 0);
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
        case 'uploadedBytes':
          this.uploadedBytes.observe({ namespace }, move.bytes);
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
        case 'queueWait':
          this.queueWait.observe({ namespace }, move.seconds);
          break;
      }
    }
  }
}

/** Of entries keyed by their labels, the one with the least `t` per key (`newest`: the greatest). */
function extreme<L extends Record<string, string>>(
  entries: Array<{ labels: L; t: number }>,
  newest: boolean,
): Array<{ labels: L; t: number }> {
  const best = new Map<string, { labels: L; t: number }>();
  for (const e of entries) {
    const key = Object.values(e.labels).join('\u0000');
    const cur = best.get(key);
    if (!cur || (newest ? e.t > cur.t : e.t < cur.t)) best.set(key, e);
  }
  return [...best.values()];
}

const seconds = (iso: string) => new Date(iso).getTime() / 1000;

function clusterGauges(m: OperatorMetrics, dataMovers: () => Iterable<DataMover>): void {
  m.leaderGauge(
    'datamover_datamovers',
    'DataMovers by namespace and phase (leader only).',
    ['namespace', 'phase'],
    (g) => {
      for (const dm of dataMovers())
        g.inc({ namespace: dm.metadata.namespace, phase: dm.status?.phase ?? 'Pending' });
    },
  );
  m.leaderGauge(
    'datamover_runs_queued',
    'DataMovers waiting for a slot under --max-concurrent-runs (Reconciling reason Queued), by namespace (leader only).',
    ['namespace'],
    (g) => {
      for (const dm of dataMovers())
        if (dm.status?.queuePosition !== undefined && !isTerminal(dm.status.phase))
          g.inc({ namespace: dm.metadata.namespace });
    },
  );
  m.leaderGauge(
    'datamover_phase_in_progress_oldest_start_timestamp_seconds',
    'Start time of the oldest DataMover still in each phase (leader only); time() minus it is how long the longest in-flight phase has run.',
    ['namespace', 'phase'],
    (g) => {
      const started = [];
      for (const dm of dataMovers()) {
        const { phase, phaseStartTime } = dm.status ?? {};
        if (phase && phaseStartTime && WORK_PHASES.includes(phase as WorkPhase))
          started.push({ labels: { namespace: dm.metadata.namespace, phase }, t: seconds(phaseStartTime) });
      }
      for (const { labels, t } of extreme(started, false)) g.set(labels, t);
    },
  );
  m.leaderGauge(
    'datamover_last_success_timestamp_seconds',
    'Completion time of the newest successful backup of each source PVC (leader only).',
    ['namespace', 'pvc'],
    (g) => {
      const completed = [];
      for (const dm of dataMovers()) {
        const at = dm.status?.phase === 'Completed' ? dm.status.completionTime : undefined;
        if (at)
          completed.push({
            labels: { namespace: dm.metadata.namespace, pvc: dm.spec.sourcePvc },
            t: seconds(at),
          });
      }
      for (const { labels, t } of extreme(completed, true)) g.set(labels, t);
    },
  );
}
