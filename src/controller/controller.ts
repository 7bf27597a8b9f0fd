// The operator's kinds on the shared plumbing (runtime.ts): their informers, from the resource table,
// and their reconcilers. DataMovers are driven by watch events on them, on their own children and on
// their source PVCs;
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
import { CHILD_JOBS, CHILD_PODS, PVCS, SharedSource, informerFor } from '../kube/resources.js';
import type { OperatorMetrics } from '../metrics/metrics.js';
import { DATAMOVERS, dataMoverKind } from './datamover/controller.js';
import type { Caches, ReconcileHooks } from './datamover/reconcile.js';
import type { KindController } from './runtime.js';
import { RunCap } from './run-cap.js';
import { StorageClasses } from './storage-classes.js';
import { SCHEDULES, scheduleKind } from './schedule/controller.js';
import { RESTORES, restoreKind } from './restore/controller.js';

/** The longest new DataMovers wait, at a stretch, for schedules creating the runs of a fire time. */
const NEW_RUNS_HELD_AT_MOST_MS = 30_000;

export class Controller {
  /** Every kind, each registered once in the constructor. */
  private readonly kinds: KindController<KubernetesObject>[];

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
    // One restore watch: the restore kind's primary objects, and what holds DataMovers back.
    const restores = new SharedSource(informer<DataMoverRestore>(RESTORES));
    const caches: Caches = {
      dataMovers: informer<DataMover>(DATAMOVERS),
      pvcs: informer<V1PersistentVolumeClaim>(PVCS),
      jobs: informer<V1Job>(CHILD_JOBS),
      pods: informer<V1Pod>(CHILD_PODS),
      restores: restores.view(),
    };
    const schedules = informer<DataMoverSchedule>(SCHEDULES);
    const dataMovers = new SharedSource(caches.dataMovers);
    const jobs = new SharedSource(caches.jobs);
    const pods = new SharedSource(caches.pods);
    const workers = config.maxConcurrentReconciles;
    // One cap for the runs of both kinds that hold a clone or a mover pod (run-cap.ts).
    const storageClasses = new StorageClasses(api);
    const shared = { storageClasses, cap: new RunCap(storageClasses, config.maxConcurrentRuns, log) };
    const backups = dataMoverKind(
      api,
      caches,
      { primary: dataMovers.view(), jobs: jobs.view(), pods: pods.view() },
      config,
      metrics,
      log,
      shared,
      hooks,
    );
    const scheduleConfig = {
      allowSeconds: config.allowSecondsInSchedules,
      unselectedGraceMs: config.unselectedPvcGracePeriodMs,
      workers,
    };
    const firing = scheduleKind(api, schedules, dataMovers.view(), scheduleConfig, metrics, log);
    // Creating the runs of a fire time goes before starting runs: while a due fire time is queued or
    // being reconciled, DataMover workers take only the next steps of runs under way (record 15).
    backups.queue.holdNewWorkWhile(() => firing.queue.urgentPending, NEW_RUNS_HELD_AT_MOST_MS);
    firing.queue.whenUrgentDone(() => backups.queue.release());
    // The restore kind reads schedules (a schedule source) from the schedule kind's cache; it is not
    // driven by their changes: a restore waiting for its schedule looks again (machine.ts).
    const restoring = restoreKind(
      api,
      { restores: restores.view(), schedules, jobs: jobs.view(), pods: pods.view() },
      { ...config, workers },
      metrics,
      log,
      shared,
    );
    this.kinds = [backups, firing, restoring] as KindController<KubernetesObject>[];
  }

  get hasSynced(): boolean {
    return this.kinds.every((k) => k.hasSynced);
  }

  async startInformers(): Promise<void> {
    await Promise.all(this.kinds.map((k) => k.startInformers()));
  }

  startWorkers(): void {
    for (const k of this.kinds) k.startWorkers();
  }

  async stop(timeoutMs: number): Promise<boolean> {
    const done = await Promise.all(this.kinds.map((k) => k.stop(timeoutMs)));
    return done.every(Boolean);
  }
}
