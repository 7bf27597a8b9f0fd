// Wires informers to the work queue and runs the workers. Progress is driven by watch events on
// DataMovers and on the operator's own children; timers only serve deadlines.
import type { KubernetesObject, V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { GROUP, PLURAL, VERSION, type DataMover } from '../api/v1alpha1/schema.js';
import type { Config } from '../config.js';
import { apiMessage, withRetry, type KubeApi } from '../kube/client.js';
import { ResilientInformer } from '../kube/informer.js';
import { CHILD_SELECTOR, ownerKey } from '../kube/names.js';
import { WorkQueue } from '../kube/queue.js';
import type { OperatorMetrics } from '../metrics/metrics.js';
import { waitingFor } from './destination-lock.js';
import { isTerminal } from './machine.js';
import { NotLeaderError } from '../kube/client.js';
import { ConflictError, Reconciler, type Caches, type ReconcileHooks } from './reconcile.js';

const keyOf = (o: KubernetesObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;

/**
 * A cached Job or Pod is read for its metadata and status only; its spec (the pod template: env,
 * volumes, security context) is most of its size.
 */
function dropSpec(o: { spec?: unknown }): void {
  delete o.spec;
}

export class Controller {
  readonly caches: Caches;
  readonly queue: WorkQueue;
  private readonly reconciler: Reconciler;
  private workers: Promise<void>[] = [];
  private running = false;

  constructor(
    private readonly api: KubeApi,
    private readonly config: Config,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
    hooks: ReconcileHooks = {},
  ) {
    const ns = config.namespaces;
    const restart = (resource: string) => metrics.informerRestarts.inc({ resource });
    const core = api.core;
    const batch = api.batch;
    // The operator's own children only, selected by label, so memory does not grow with the cluster.
    const child = <T extends KubernetesObject>(
      resource: string,
      path: (n: string | undefined) => string,
      list: (n: string | undefined) => Promise<{ items: T[] }>,
      slim?: (o: T) => void,
    ) =>
      new ResilientInformer<T>(
        api.kc,
        { resource, path, list: (n) => withRetry(() => list(n)), labelSelector: CHILD_SELECTOR, slim },
        ns,
        log,
        restart,
      );
    this.caches = {
      dataMovers: new ResilientInformer<DataMover>(
        api.kc,
        {
          resource: 'datamovers',
          path: (n) =>
            n ? `/apis/${GROUP}/${VERSION}/namespaces/${n}/${PLURAL}` : `/apis/${GROUP}/${VERSION}/${PLURAL}`,
          list: (n) => api.listDataMovers(n),
        },
        ns,
        log,
        restart,
      ),
      pvcs: child<V1PersistentVolumeClaim>(
        'persistentvolumeclaims',
        (n) => (n ? `/api/v1/namespaces/${n}/persistentvolumeclaims` : '/api/v1/persistentvolumeclaims'),
        (n) =>
          n
            ? core.listNamespacedPersistentVolumeClaim({ namespace: n, labelSelector: CHILD_SELECTOR })
            : core.listPersistentVolumeClaimForAllNamespaces({ labelSelector: CHILD_SELECTOR }),
      ),
      jobs: child<V1Job>(
        'jobs',
        (n) => (n ? `/apis/batch/v1/namespaces/${n}/jobs` : '/apis/batch/v1/jobs'),
        (n) =>
          n
            ? batch.listNamespacedJob({ namespace: n, labelSelector: CHILD_SELECTOR })
            : batch.listJobForAllNamespaces({ labelSelector: CHILD_SELECTOR }),
        dropSpec,
      ),
      pods: child<V1Pod>(
        'pods',
        (n) => (n ? `/api/v1/namespaces/${n}/pods` : '/api/v1/pods'),
        (n) =>
          n
            ? core.listNamespacedPod({ namespace: n, labelSelector: CHILD_SELECTOR })
            : core.listPodForAllNamespaces({ labelSelector: CHILD_SELECTOR }),
        dropSpec,
      ),
    };
    this.queue = new WorkQueue({ onDepthChange: (d) => metrics.queueDepth.set(d) });
    this.reconciler = new Reconciler(api, this.caches, config, metrics, log, hooks);
  }

  get hasSynced(): boolean {
    return Object.values(this.caches).every((c) => c.hasSynced);
  }

  /** `urgent`: the next step of a run under way (a child changed), handed out before new runs. */
  private enqueue(key: string | undefined, urgent = false): void {
    if (!key || !this.running) return;
    this.metrics.queueAdds.inc();
    this.queue.add(key, urgent);
  }

  private onDataMover(dm: DataMover, kind: 'add' | 'update' | 'delete'): void {
    this.enqueue(keyOf(dm));
    // A finished or deleted DataMover may free its destination for others, in any namespace.
    if (kind === 'delete' || isTerminal(dm.status?.phase)) {
      for (const peer of waitingFor(dm, this.caches.dataMovers.list())) this.enqueue(keyOf(peer));
    }
  }

  /** Starts the informers; the caches fill whether or not this replica leads. */
  async startInformers(): Promise<void> {
    const child = (o: KubernetesObject) => this.enqueue(ownerKey(o as never), true);
    await Promise.all([
      this.caches.dataMovers.start((dm, kind) => this.onDataMover(dm, kind)),
      this.caches.pvcs.start(child),
      this.caches.jobs.start(child),
      this.caches.pods.start(child),
    ]);
  }

  startWorkers(): void {
    this.running = true;
    for (const dm of this.caches.dataMovers.list()) this.enqueue(keyOf(dm));
    for (let i = 0; i < this.config.maxConcurrentReconciles; i++) this.workers.push(this.work());
    this.log.info('controller started', {
      workers: this.config.maxConcurrentReconciles,
      namespaces: this.config.namespaces.length ? this.config.namespaces : 'all',
    });
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const end = this.metrics.reconcileDuration.startTimer();
      try {
        const result = await this.reconciler.reconcile(key);
        this.queue.forget(key);
        this.metrics.reconcileTotal.inc({ result: 'success' });
        // Requeued at once: the run's next step follows without waiting behind new runs.
        if (result.requeueAfterMs !== undefined) {
          this.queue.addAfter(key, result.requeueAfterMs, result.requeueAfterMs === 0);
        }
      } catch (err) {
        const delay = this.queue.addRateLimited(key);
        this.metrics.queueRetries.inc();
        if (!(err instanceof ConflictError)) this.metrics.reconcileTotal.inc({ result: 'error' });
        const [namespace, name] = key.split('/');
        const level =
          err instanceof ConflictError ? 'debug' : err instanceof NotLeaderError ? 'warn' : 'error';
        this.log.log(level, 'reconcile failed; retrying', {
          namespace,
          name,
          retryInMs: delay,
          error: apiMessage(err),
        });
      } finally {
        end();
        this.queue.done(key);
      }
    }
  }

  /** Stops taking work and waits up to `timeoutMs` for in-flight reconciles to finish. */
  async stop(timeoutMs: number): Promise<boolean> {
    this.running = false;
    this.queue.shutdown();
    const drained = Promise.all(this.workers).then(() => true);
    const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref());
    const finished = await Promise.race([drained, timeout]);
    await Promise.all(Object.values(this.caches).map((c) => c.stop()));
    return finished;
  }
}
