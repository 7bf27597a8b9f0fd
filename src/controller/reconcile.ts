// One reconcile pass: read the DataMover and its children from the informer caches, decide, perform
// the actions, then make at most one status write guarded by resourceVersion. Metrics and events for
// the transition are recorded only after that write succeeds.
import type { V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'winston';
import type { DataMover, DataMoverStatus } from '../api/v1alpha1/schema.js';
import { apiMessage, isConflict, isRetryable, type KubeApi } from '../kube/client.js';
import type { ResilientInformer } from '../kube/informer.js';
import { cloneName, jobName, ownerKey } from '../kube/names.js';
import type { OperatorMetrics } from '../metrics/metrics.js';
import {
  DESTINATION_PREFIXES_ANNOTATION,
  backupRoot,
  parsePrefixes,
  rootAllowed,
} from '../mover/destination.js';
import { destinationBusyWith } from './destination-lock.js';
import {
  cleanupFailed,
  cloneCreationFailed,
  decide,
  jobCreationFailed,
  JOB_NO_POD_AFTER_MS,
  PRIVILEGED_MOVERS_ANNOTATION,
  type Action,
  type MachineConfig,
  type Observed,
} from './machine.js';
import { StatusWrites } from './status-writes.js';
import { metricMoves, transitionEvents } from './transitions.js';

export interface Caches {
  dataMovers: ResilientInformer<DataMover>;
  pvcs: ResilientInformer<V1PersistentVolumeClaim>;
  jobs: ResilientInformer<V1Job>;
  pods: ResilientInformer<V1Pod>;
}

export interface ReconcileResult {
  requeueAfterMs?: number;
}

const BINDING_MODE_TTL_MS = 60_000;

const ageMs = (o: { metadata?: { creationTimestamp?: Date | string } }, now: Date) =>
  now.getTime() - new Date(o.metadata?.creationTimestamp ?? now).getTime();

export class Reconciler {
  private readonly bindingModes = new Map<string, { mode: string | undefined; at: number }>();
  /** Our own status writes the cache has not caught up with, and writes whose answer was lost. */
  private readonly writes = new StatusWrites<DataMoverStatus, DataMover>();

  constructor(
    private readonly api: KubeApi,
    private readonly caches: Caches,
    private readonly config: MachineConfig,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
    private readonly hooks: ReconcileHooks = {},
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split('/') as [string, string];
    const dm = this.writes.current(key, this.caches.dataMovers.get(namespace, name));
    this.settle(key, dm);
    if (!dm || dm.metadata.deletionTimestamp) return {};
    this.metrics.observeNamespace(namespace);
    const now = this.clock();
    const observed = await this.observe(dm, now);
    const decision = decide(dm, observed, this.config);
    let status = decision.status;
    for (const action of decision.actions) {
      // Stop before an action, not only at its write: a process without the lease starts no step.
      this.api.fence();
      const outcome = await this.perform(dm, action, status, now);
      this.hooks.afterAction?.(action.type);
      if (outcome.refused && decision.entered) {
        // The pass also entered a phase: record only that, and fail from within the phase on the
        // next pass, so the failure is counted against the phase it happened in.
        await this.writeStatus(dm, decision.entered, now);
        return { requeueAfterMs: 0 };
      }
      status = outcome.status;
    }
    await this.writeStatus(dm, status, now);
    return decision.requeueAfterMs !== undefined ? { requeueAfterMs: decision.requeueAfterMs } : {};
  }

  /** Counts the transition of an earlier write whose answer was lost, now that it shows. */
  private settle(key: string, dm: DataMover | undefined): void {
    const applied = this.writes.settle(key, dm);
    if (!dm || !applied) return;
    this.log.info('an earlier status write was applied after all; counting its transition', {
      ...this.fields(dm, applied.status),
    });
    this.recordTransition(dm, applied.before, applied.status, applied.now);
  }

  private podsOf(dm: DataMover): V1Pod[] {
    const key = `${dm.metadata.namespace}/${dm.metadata.name}`;
    return this.caches.pods.list(dm.metadata.namespace).filter((p) => ownerKey(p) === key);
  }

  private async observe(dm: DataMover, now: Date): Promise<Observed> {
    const ns = dm.metadata.namespace;
    const phase = dm.status?.phase;
    const observed: Observed = { now, pods: [] };
    const clone = this.caches.pvcs.get(ns, cloneName(dm));
    if (clone && ownerKey(clone) === `${ns}/${dm.metadata.name}`) observed.clone = clone;
    if (phase === undefined || phase === 'CreatingClonedPVC') await this.observeSource(dm, observed, now);
    // The Job and the destination lock are read from caches, also in the phase before CreatingPod,
    // which may create the Job in the same pass.
    if (phase !== undefined) await this.observeMover(dm, observed, now);
    return observed;
  }

  /** Before the clone exists: the source and the namespace's policy; after: why it is not bound. */
  private async observeSource(dm: DataMover, observed: Observed, now: Date): Promise<void> {
    const ns = dm.metadata.namespace;
    // The namespace's annotations are read only when the spec asks for what they allow.
    const root = backupRoot(dm);
    if (dm.spec.privilegedReader || !rootAllowed(root, ns, [])) {
      const annotations = await this.api.namespaceAnnotations(ns);
      observed.privilegedMoversAllowed = annotations[PRIVILEGED_MOVERS_ANNOTATION] === 'true';
      observed.allowedDestinationPrefixes = parsePrefixes(annotations[DESTINATION_PREFIXES_ANNOTATION]);
    }
    const clone = observed.clone;
    if (!clone) {
      observed.source = await this.api.getPvc(ns, dm.spec.sourcePvc);
      return;
    }
    if (clone.status?.phase === 'Bound') return;
    observed.cloneBindingMode = await this.bindingMode(clone.spec?.storageClassName);
    if (ageMs(clone, now) >= this.config.cloneStallAfterMs) {
      observed.cloneWarning = await this.api.latestWarning(ns, 'PersistentVolumeClaim', cloneName(dm));
    }
  }

  private async observeMover(dm: DataMover, observed: Observed, now: Date): Promise<void> {
    const ns = dm.metadata.namespace;
    const phase = dm.status?.phase;
    const job = this.caches.jobs.get(ns, jobName(dm));
    observed.job = job;
    observed.pods = this.podsOf(dm);
    if (!job) {
      // The lock is consulted only by a pass that may create the Job: an O(n) scan of the
      // namespace's DataMovers that other passes skip.
      const clone = observed.clone;
      const cloneReady =
        clone?.status?.phase === 'Bound' || observed.cloneBindingMode === 'WaitForFirstConsumer';
      if (phase === 'CreatingPod' || (phase === 'CreatingClonedPVC' && cloneReady)) {
        observed.destinationBusyWith = destinationBusyWith(dm, this.caches.dataMovers.list());
      }
      return;
    }
    const podless = observed.pods.length === 0 && !job.status?.active;
    if (phase === 'CreatingPod' && podless && ageMs(job, now) >= JOB_NO_POD_AFTER_MS) {
      observed.jobWarning = await this.api.latestWarning(ns, 'Job', jobName(dm));
    }
  }

  private async bindingMode(storageClass: string | undefined): Promise<string | undefined> {
    if (!storageClass) return undefined;
    const cached = this.bindingModes.get(storageClass);
    if (cached && Date.now() - cached.at < BINDING_MODE_TTL_MS) return cached.mode;
    const mode = await this.api.storageClassBindingMode(storageClass);
    this.bindingModes.set(storageClass, { mode, at: Date.now() });
    return mode;
  }

  private async perform(
    dm: DataMover,
    action: Action,
    status: DataMoverStatus,
    now: Date,
  ): Promise<{ status: DataMoverStatus; refused?: boolean }> {
    const ns = dm.metadata.namespace;
    // The apiserver refused a create for good (invalid, forbidden): the run fails with its message.
    const create = async (call: () => Promise<void>, failed: typeof cloneCreationFailed) => {
      try {
        await call();
        return { status };
      } catch (err) {
        if (isRetryable(err)) throw err;
        return { status: failed(dm, apiMessage(err), now), refused: true };
      }
    };
    switch (action.type) {
      case 'createClone':
        return create(() => this.api.createPvc(action.clone), cloneCreationFailed);
      case 'createJob':
        return create(() => this.api.createJob(action.job), jobCreationFailed);
      case 'deleteJob':
        await this.api.deleteJob(ns, action.name);
        return { status };
      case 'deleteClone':
        try {
          await this.api.deletePvc(ns, action.name);
        } catch (err) {
          this.log.warn('clone deletion failed', { ...this.fields(dm), error: apiMessage(err) });
          return { status: cleanupFailed(status, apiMessage(err), dm.metadata.generation, now) };
        }
        return { status };
      case 'deleteDataMover':
        this.log.info('deleting finished DataMover after ttlSecondsAfterFinished', this.fields(dm));
        await this.api.deleteDataMover(dm);
        return { status };
    }
  }

  private fields(dm: DataMover, status: DataMoverStatus | undefined = dm.status) {
    return { namespace: dm.metadata.namespace, name: dm.metadata.name, phase: status?.phase ?? '' };
  }

  private async writeStatus(dm: DataMover, status: DataMoverStatus, now: Date): Promise<void> {
    const before = dm.status ?? {};
    if (isDeepStrictEqual(before, status)) return;
    this.api.fence();
    const key = `${dm.metadata.namespace}/${dm.metadata.name}`;
    try {
      const updated = await this.api.replaceStatus({ ...dm, status });
      this.writes.applied(key, dm, updated);
    } catch (err) {
      if (isConflict(err) || isRetryable(err)) this.writes.unknown(key, dm, before, status, now);
      if (isConflict(err)) {
        this.metrics.reconcileTotal.inc({ result: 'conflict' });
        throw new ConflictError(`DataMover ${dm.metadata.namespace}/${dm.metadata.name} changed; retrying`, {
          cause: err,
        });
      }
      throw new Error(`status write failed: ${apiMessage(err)}`, { cause: err });
    }
    this.recordTransition(dm, before, status, now);
  }

  /** Metrics, a log line and events for a status change the apiserver has applied. */
  private recordTransition(dm: DataMover, before: DataMoverStatus, status: DataMoverStatus, now: Date) {
    this.metrics.record(dm.metadata.namespace, metricMoves(before, status));
    if (before.phase !== status.phase) {
      this.log.info(`phase ${before.phase ?? '(new)'} -> ${status.phase}`, {
        ...this.fields(dm, status),
        detail: status.message,
      });
    }
    // Events are best effort and must not hold up the worker: they are sent without waiting.
    for (const event of transitionEvents(before, status)) {
      this.api.recordEvent(dm, event, now).catch((err: unknown) => {
        this.log.warn('event not recorded', {
          ...this.fields(dm, status),
          reason: event.reason,
          error: apiMessage(err),
        });
      });
    }
  }
}

export class ConflictError extends Error {}

export interface ReconcileHooks {
  /** Called after each action, before the status write (a test-only fault point uses it). */
  afterAction?: (action: Action['type']) => void;
}
