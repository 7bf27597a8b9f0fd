// The DataMover kind on the shared plumbing (runtime.ts): its informers, from the resource table,
// and its reconciler. Progress is driven by watch events on DataMovers and on their own children;
// timers only serve deadlines.
import type { KubernetesObject, V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { DataMover } from '../api/v1alpha1/schema.js';
import type { Config } from '../config.js';
import type { KubeApi } from '../kube/client.js';
import { ownerKey } from '../kube/names.js';
import type { WorkQueue } from '../kube/queue.js';
import { CHILD_JOBS, CHILD_PODS, CHILD_PVCS, DATAMOVERS, informerFor } from '../kube/resources.js';
import type { OperatorMetrics } from '../metrics/metrics.js';
import { waitingFor } from './destination-lock.js';
import { isTerminal } from './machine.js';
import { Reconciler, type Caches, type ReconcileHooks } from './reconcile.js';
import { KindController } from './runtime.js';

const keyOf = (o: KubernetesObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;

export class Controller {
  readonly caches: Caches;
  private readonly kind: KindController<DataMover>;

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
    const reconciler = new Reconciler(api, this.caches, config, metrics, log, hooks);
    const owner = (o: KubernetesObject) => ownerKey(o as never);
    this.kind = new KindController<DataMover>(
      {
        kind: 'DataMover',
        primary: this.caches.dataMovers,
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
  }

  get queue(): WorkQueue {
    return this.kind.queue;
  }

  get hasSynced(): boolean {
    return this.kind.hasSynced;
  }

  startInformers(): Promise<void> {
    return this.kind.startInformers();
  }

  startWorkers(): void {
    this.kind.startWorkers();
  }

  stop(timeoutMs: number): Promise<boolean> {
    return this.kind.stop(timeoutMs);
  }
}
