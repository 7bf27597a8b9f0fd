// The operator's metrics registry and the metrics every kind shares: the reconcile passes, the work
// queues, the informers, the build and the lease. Each kind declares its own metrics in its folder
// (controller/<kind>/metrics.ts) through the factories here, on the same registry. Names, labels and
// buckets of the datamover_* families are fixed by the metrics specification (docs/metrics.md).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The metrics the plumbing keeps, whichever kind it runs. */
export interface RuntimeMetrics {
  queueDepth: { set(value: number): void };
  queueAdds: { inc(): void };
  /** Watch updates of owned objects that changed nothing a pass reads, so woke no pass. */
  updatesSkipped: { inc(): void };
  /** Watch events of the operator's own status writes that needed no pass. */
  echoesSkipped: { inc(): void };
  queueRetries: { inc(): void };
  reconcileTotal: { inc(labels: { result: 'success' | 'error' | 'conflict' }): void };
  reconcileDuration: { startTimer(): () => void };
  queueWait: { observe(labels: { kind: string; priority: 'urgent' | 'normal' }, seconds: number): void };
}

export class OperatorMetrics {
  readonly registry = new Registry();

  readonly reconcileTotal = this.counter(
    'datamover_reconcile_total',
    'Reconcile passes by result (success, error, conflict).',
    ['result'],
  );
  readonly reconcileDuration = new Histogram({
    name: 'datamover_reconcile_duration_seconds',
    help: 'Duration of one reconcile pass.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly queueWait = this.histogram(
    'datamover_workqueue_wait_seconds',
    'How long a key waited in its work queue for a worker, by kind and priority: urgent is the next step of a run under way (DataMover, DataMoverRestore) or a due fire time (DataMoverSchedule), normal is new work.',
    ['kind', 'priority'],
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  );
  readonly queueAdds = this.counter('datamover_workqueue_adds_total', 'Keys added to the work queue.', []);
  readonly updatesSkipped = this.counter(
    'datamover_watch_updates_skipped_total',
    'Watch updates of owned objects (clones, Jobs, pods) that changed nothing a pass reads, and woke no pass.',
    [],
  );
  readonly echoesSkipped = this.counter(
    'datamover_watch_echoes_skipped_total',
    "Watch events of the operator's own status writes that woke no pass: the pass that wrote created a child (a clone, a Job) whose own event wakes the run.",
    [],
  );
  readonly queueRetries = this.counter(
    'datamover_workqueue_retries_total',
    'Keys re-queued with backoff after an error.',
    [],
  );
  readonly informerRestarts = this.counter(
    'datamover_informer_restarts_total',
    'Watches restarted after an error, by resource.',
    ['resource'],
  );

  /** `isLeader`: only the leader exports the cluster-state gauges (leaderGauge). */
  constructor(
    version: string,
    readonly isLeader: () => boolean,
  ) {
    collectDefaultMetrics({ register: this.registry });
    this.gauge('datamover_build_info', 'Build information; always 1.', ['version', 'nodejs_version']).set(
      { version, nodejs_version: process.version },
      1,
    );
    new Gauge({
      name: 'datamover_leader',
      help: 'Whether this process holds the leader lease and reconciles (1) or stands by (0).',
      registers: [this.registry],
      collect() {
        this.set(isLeader() ? 1 : 0);
      },
    });
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  /** A cluster-state gauge, reset and filled by `fill` at each scrape; empty on a replica that stands by. */
  leaderGauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (gauge: Gauge<L>) => void,
  ): Gauge<L> {
    const isLeader = this.isLeader;
    return new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        if (isLeader()) fill(this);
      },
    });
  }

  /** What the plumbing of one kind records (runtime.ts), with the kind's own queue-depth gauge. */
  runtime(queueDepth: { name: string; help: string }): RuntimeMetrics {
    return {
      queueDepth: this.gauge(queueDepth.name, queueDepth.help, []),
      queueAdds: this.queueAdds,
      updatesSkipped: this.updatesSkipped,
      echoesSkipped: this.echoesSkipped,
      queueRetries: this.queueRetries,
      reconcileTotal: this.reconcileTotal,
      reconcileDuration: this.reconcileDuration,
      queueWait: this.queueWait,
    };
  }
}

/**
 * Series a first failure must show as an increase start at 0: `zero` creates them the first time a
 * key (a namespace, a schedule) is seen.
 */
export class FirstSeen {
  private readonly seen = new Set<string>();

  constructor(private readonly zero: (...key: string[]) => void) {}

  observe(...key: string[]): void {
    const k = key.join('\u0000');
    if (this.seen.has(k)) return;
    this.seen.add(k);
    this.zero(...key);
  }
}
