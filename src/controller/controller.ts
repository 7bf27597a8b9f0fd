// The operator's kinds on the shared plumbing (runtime.ts): their informers, from the resource table,
// and their reconcilers. DataMovers are driven by watch events on them and on their own children;
// DataMoverSchedules by watch events on them and on the DataMovers they create, and by a timer at
// the next fire time. One DataMover watch serves both kinds.
import type { KubernetesObject, V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { DataMover } from '../api/v1alpha1/schema.js';
import type { DataMoverSchedule } from '../api/v1alpha1/schedule.js';
import type { Config } from '../config.js';
import type { KubeApi } from '../kube/client.js';
import type { ResilientInformer } from '../kube/informer.js';
import { ownerKey } from '../kube/names.js';
import type { WorkQueue } from '../kube/queue.js';
import {
  CHILD_JOBS,
  CHILD_PODS,
  CHILD_PVCS,
  DATAMOVERS,
  SCHEDULES,
  SharedSource,
  informerFor,
} from '../kube/resources.js';
import type { OperatorMetrics, ScheduleFacts } from '../metrics/metrics.js';
import { waitingFor } from './destination-lock.js';
import { isTerminal } from './machine.js';
import { Reconciler, type Caches, type ReconcileHooks } from './reconcile.js';
import { KindController } from './runtime.js';
import { scheduleFacts, scheduleKind } from './schedule/controller.js';

const keyOf = (o: KubernetesObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;

export class Controller {
  readonly caches: Caches;
  readonly schedules: ResilientInformer<DataMoverSchedule>;
  private readonly kind: KindController<DataMover>;
  private readonly scheduleKind: KindController<DataMoverSchedule>;
  private readonly allowSeconds: boolean;

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
    this.caches = {
      dataMovers: informer<DataMover>(DATAMOVERS),
      pvcs: informer<V1PersistentVolumeClaim>(CHILD_PVCS),
      jobs: informer<V1Job>(CHILD_JOBS),
      pods: informer<V1Pod>(CHILD_PODS),
    };
    this.schedules = informer<DataMoverSchedule>(SCHEDULES);
    const dataMovers = new SharedSource(this.caches.dataMovers);
    const reconciler = new Reconciler(api, this.caches, config, metrics, log, hooks);
    const owner = (o: KubernetesObject) => ownerKey(o as never);
    this.kind = new KindController<DataMover>(
      {
        kind: 'DataMover',
        primary: dataMovers.view(),
        owned: [this.caches.pvcs, this.caches.jobs, this.caches.pods].map((source) => ({
          source: source as never,
          owner,
        })),
        reconcile: (key) => reconciler.reconcile(key),
        // A finished or deleted DataMover may free its destination for others, in any namespace.
        related: (dm, event) =>
          event === 'delete' || isTerminal(dm.status?.phase)
            ? waitingFor(dm, this.caches.dataMovers.list()).map(keyOf)
            : [],
      },
      { workers: config.maxConcurrentReconciles, metrics, log },
    );
    this.allowSeconds = config.allowSecondsInSchedules;
    this.scheduleKind = scheduleKind(
      api,
      this.schedules,
      dataMovers.view(),
      { allowSeconds: config.allowSecondsInSchedules, workers: config.maxConcurrentReconciles },
      metrics,
      log,
    );
  }

  get queue(): WorkQueue {
    return this.kind.queue;
  }

  get hasSynced(): boolean {
    return this.kind.hasSynced && this.scheduleKind.hasSynced;
  }

  /** What the schedule gauges show, now. */
  scheduleFacts(now = new Date()): ScheduleFacts[] {
    return scheduleFacts(this.schedules.list(), { allowSeconds: this.allowSeconds }, now);
  }

  async startInformers(): Promise<void> {
    await Promise.all([this.kind.startInformers(), this.scheduleKind.startInformers()]);
  }

  startWorkers(): void {
    this.kind.startWorkers();
    this.scheduleKind.startWorkers();
  }

  async stop(timeoutMs: number): Promise<boolean> {
    const [a, b] = await Promise.all([this.kind.stop(timeoutMs), this.scheduleKind.stop(timeoutMs)]);
    return a && b;
  }
}
