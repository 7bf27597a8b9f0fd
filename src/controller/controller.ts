// The operator's kinds on the shared plumbing (runtime.ts): their informers, from the resource table,
// and their reconcilers. DataMovers are driven by watch events on them and on their own children;
// DataMoverSchedules by watch events on them and on the DataMovers they create, and by a timer at
// the next fire time; DataMoverRestores by watch events on them and on their Jobs and pods. One
// DataMover watch serves the first two kinds, one Job and one pod watch the first and the third.
import type { KubernetesObject, V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { DataMover } from '../api/v1alpha1/schema.js';
import type { DataMoverSchedule } from '../api/v1alpha1/schedule.js';
import type { DataMoverRestore } from '../api/v1alpha1/restore.js';
import type { Config } from '../config.js';
import type { KubeApi } from '../kube/client.js';
import type { ResilientInformer } from '../kube/informer.js';
import {
  CHILD_JOBS,
  CHILD_PODS,
  CHILD_PVCS,
  DATAMOVERS,
  RESTORES,
  SCHEDULES,
  SharedSource,
  informerFor,
} from '../kube/resources.js';
import type { OperatorMetrics, ScheduleFacts } from '../metrics/metrics.js';
import { dataMoverKind } from './datamover/controller.js';
import type { Caches, ReconcileHooks } from './datamover/reconcile.js';
import type { KindController } from './runtime.js';
import { scheduleFacts, scheduleKind } from './schedule/controller.js';
import { restoreKind } from './restore/controller.js';

/** The longest new DataMovers wait, at a stretch, for schedules creating the runs of a fire time. */
const NEW_RUNS_HELD_AT_MOST_MS = 30_000;

export class Controller {
  readonly caches: Caches;
  readonly schedules: ResilientInformer<DataMoverSchedule>;
  readonly restores: ResilientInformer<DataMoverRestore>;
  private readonly kind: KindController<DataMover>;
  private readonly scheduleKind: KindController<DataMoverSchedule>;
  private readonly restoreKind: KindController<DataMoverRestore>;
  private readonly scheduleConfig: { allowSeconds: boolean; unselectedGraceMs: number };

  constructor(
    api: KubeApi,
    config: Config,
    metrics: OperatorMetrics,
    log: Logger,
    hooks: ReconcileHooks = {},
  ) {
    const restart = (resource: string) => metrics.informerRestarts.inc({ resource });
    const informer = <T extends KubernetesObject>(row: Parameters<typeof informerFor<T>>[1]) =>
      informerFor(api, row, config.namespaces, log, restart);
    this.restores = informer<DataMoverRestore>(RESTORES);
    // One restore watch: the restore kind's primary objects, and what holds DataMovers back.
    const restores = new SharedSource(this.restores);
    this.caches = {
      dataMovers: informer<DataMover>(DATAMOVERS),
      pvcs: informer<V1PersistentVolumeClaim>(CHILD_PVCS),
      jobs: informer<V1Job>(CHILD_JOBS),
      pods: informer<V1Pod>(CHILD_PODS),
      restores: restores.view(),
    };
    this.schedules = informer<DataMoverSchedule>(SCHEDULES);
    const dataMovers = new SharedSource(this.caches.dataMovers);
    const jobs = new SharedSource(this.caches.jobs);
    const pods = new SharedSource(this.caches.pods);
    this.kind = dataMoverKind(
      api,
      this.caches,
      { primary: dataMovers.view(), jobs: jobs.view(), pods: pods.view() },
      config,
      metrics,
      log,
      hooks,
    );
    this.scheduleConfig = {
      allowSeconds: config.allowSecondsInSchedules,
      unselectedGraceMs: config.unselectedPvcGracePeriodMs,
    };
    this.scheduleKind = scheduleKind(
      api,
      this.schedules,
      dataMovers.view(),
      { ...this.scheduleConfig, workers: config.maxConcurrentReconciles },
      metrics,
      log,
    );
    // Creating the runs of a fire time goes before starting runs: while a due fire time is queued or
    // being reconciled, DataMover workers take only the next steps of runs under way (record 15).
    this.kind.queue.holdNewWorkWhile(() => this.scheduleKind.queue.urgentPending, NEW_RUNS_HELD_AT_MOST_MS);
    this.scheduleKind.queue.whenUrgentDone(() => this.kind.queue.release());
    // The restore kind reads schedules (a schedule source) from the schedule kind's cache; it is not
    // driven by their changes: a restore waiting for its schedule looks again (machine.ts).
    this.restoreKind = restoreKind(
      api,
      { restores: restores.view(), schedules: this.schedules, jobs: jobs.view(), pods: pods.view() },
      { ...config, workers: config.maxConcurrentReconciles },
      metrics,
      log,
    );
  }

  get hasSynced(): boolean {
    return this.kind.hasSynced && this.scheduleKind.hasSynced && this.restoreKind.hasSynced;
  }

  /** What the schedule gauges show, now. */
  scheduleFacts(now = new Date()): ScheduleFacts[] {
    return scheduleFacts(this.schedules.list(), this.scheduleConfig, now);
  }

  async startInformers(): Promise<void> {
    await Promise.all([
      this.kind.startInformers(),
      this.scheduleKind.startInformers(),
      this.restoreKind.startInformers(),
    ]);
  }

  startWorkers(): void {
    this.kind.startWorkers();
    this.scheduleKind.startWorkers();
    this.restoreKind.startWorkers();
  }

  async stop(timeoutMs: number): Promise<boolean> {
    const done = await Promise.all([
      this.kind.stop(timeoutMs),
      this.scheduleKind.stop(timeoutMs),
      this.restoreKind.stop(timeoutMs),
    ]);
    return done.every(Boolean);
  }
}
