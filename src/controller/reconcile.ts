// One reconcile pass: read the DataMover and its children from the informer caches, decide, perform
// the actions, then make at most one status write guarded by resourceVersion. Metrics and events for
// the transition are recorded only after that write succeeds.
import type { V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'winston';
import type { DataMover, DataMoverStatus } from '../api/v1alpha1/schema.js';
import type { DataMoverRestore } from '../api/v1alpha1/restore.js';
import type { Source } from '../kube/resources.js';
import { apiMessage, isConflict, isRetryable, type KubeApi } from '../kube/client.js';
import type { ResilientInformer } from '../kube/informer.js';
import { cloneName, jobName, ownership } from '../kube/names.js';
import type { OperatorMetrics } from '../metrics/metrics.js';
import { DESTINATION_PREFIXES_ANNOTATION, parsePrefixes } from '../mover/destination.js';
import { destinationBusyWith, liveRunsOf } from './destination-lock.js';
import { lookupsNeeded } from './lookups.js';
import { restoreReading, restoreWriting } from './restore-guard.js';
import {
  actionRefused,
  decide,
  PRIVILEGED_MOVERS_ANNOTATION,
  type Action,
  type MachineConfig,
  type NotOurChild,
  type Observed,
} from './machine.js';
import { ConflictError, type ReconcileResult } from './runtime.js';
import { StatusWrites } from './status-writes.js';
import { metricMoves, transitionEvents } from './transitions.js';
import { BindingModes } from './binding-modes.js';

export interface Caches {
  dataMovers: ResilientInformer<DataMover>;
  pvcs: ResilientInformer<V1PersistentVolumeClaim>;
  jobs: ResilientInformer<V1Job>;
  pods: ResilientInformer<V1Pod>;
  /** Read to hold backups back while a restore writes their PVC or reads their root. */
  restores: Source<DataMoverRestore>;
}

export class Reconciler {
  /** Our own status writes the cache has not caught up with, and writes whose answer was lost. */
  private readonly writes = new StatusWrites<DataMoverStatus, DataMover>();

  private readonly bindingModes: BindingModes;

  constructor(
    private readonly api: KubeApi,
    private readonly caches: Caches,
    private readonly config: MachineConfig,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
    private readonly hooks: ReconcileHooks = {},
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.bindingModes = new BindingModes(api);
  }

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

  /** The pods of our Job (by its UID: pods of an earlier Job of the same name do not count). */
  private podsOf(job: V1Job | undefined): V1Pod[] {
    const uid = job?.metadata?.uid;
    if (!uid) return [];
    return this.caches.pods
      .indexed(uid)
      .filter((p) => p.metadata?.ownerReferences?.some((r) => r.controller && r.uid === uid));
  }

  /** The DataMover's children from the caches, then the lookups lookupsNeeded() says the pass reads. */
  private async observe(dm: DataMover, now: Date): Promise<Observed> {
    const ns = dm.metadata.namespace;
    const observed: Observed = { now, pods: [] };
    const notOurs: NotOurChild[] = [];
    const clone = this.caches.pvcs.get(ns, cloneName(dm));
    if (clone && adopt(clone, 'PersistentVolumeClaim', dm, notOurs)) observed.clone = clone;
    // Also in the phase before CreatingPod, which may create the Job in the same pass.
    if (dm.status?.phase !== undefined) {
      const job = this.caches.jobs.get(ns, jobName(dm));
      if (job && adopt(job, 'Job', dm, notOurs)) observed.job = job;
      observed.pods = this.podsOf(observed.job);
    }
    if (notOurs.length > 0) observed.notOurs = notOurs;
    // Whether the clone is ready depends on its class's binding mode: looked up first.
    if (lookupsNeeded(dm, observed, now, this.config).bindingMode)
      observed.cloneBindingMode = await this.bindingModes.of(observed.clone?.spec?.storageClassName);
    const need = lookupsNeeded(dm, observed, now, this.config);
    if (need.namespace) {
      const annotations = await this.api.namespaceAnnotations(ns);
      observed.privilegedMoversAllowed = annotations[PRIVILEGED_MOVERS_ANNOTATION] === 'true';
      observed.allowedDestinationPrefixes = parsePrefixes(annotations[DESTINATION_PREFIXES_ANNOTATION]);
    }
    if (need.source) observed.source = await this.api.getPvc(ns, dm.spec.sourcePvc);
    observed.restoreInTheWay = this.restoreInTheWay(dm, need.source, need.destinationLock);
    if (need.cloneWarning)
      observed.cloneWarning = await this.api.latestWarning(ns, 'PersistentVolumeClaim', cloneName(dm));
    if (need.jobWarning) observed.jobWarning = await this.api.latestWarning(ns, 'Job', jobName(dm));
    if (need.destinationLock) {
      const peers = this.caches.dataMovers.list();
      observed.destinationBusyWith = destinationBusyWith(dm, peers);
      observed.liveRuns = liveRunsOf(dm, peers);
    }
    return observed;
  }

  /**
   * Restores shut out backups (restore-guard.ts): one writing the source is looked for before a
   * clone, one reading the root before a Job. A few objects, scanned only by those passes.
   */
  private restoreInTheWay(dm: DataMover, beforeClone: boolean, beforeJob: boolean) {
    if (!beforeClone && !beforeJob) return undefined;
    const restores = this.caches.restores.list();
    return (
      (beforeClone ? restoreWriting(dm, restores) : undefined) ??
      (beforeJob ? restoreReading(dm, restores) : undefined)
    );
  }

  /**
   * Creates a child. When its name is taken, the object holding it is read (it may not carry our
   * labels, so the caches cannot see it): ours (a cache lag) is fine, one left by an earlier
   * DataMover of this name is dealt with on the next pass, and any other is a NameConflict.
   */
  private async createChild(
    dm: DataMover,
    kind: NotOurChild['kind'],
    create: () => Promise<boolean>,
    read: () => Promise<V1Job | V1PersistentVolumeClaim | null>,
  ): Promise<void> {
    if (await create()) return;
    const existing = await read();
    if (!existing || ownership(existing, dm) !== 'foreign') return;
    const name = existing.metadata?.name ?? '';
    throw new NameConflict(
      `${kind} ${dm.metadata.namespace}/${name} already exists and is not owned by this DataMover (uid ${dm.metadata.uid}); delete or rename it`,
    );
  }

  private async perform(
    dm: DataMover,
    action: Action,
    status: DataMoverStatus,
    now: Date,
  ): Promise<{ status: DataMoverStatus; refused?: boolean }> {
    const ns = dm.metadata.namespace;
    /** Runs a call; a refusal for good replaces the optimistic status (a retryable error is thrown). */
    const attempt = async (type: 'createClone' | 'createJob' | 'deleteClone', call: () => Promise<void>) => {
      try {
        await call();
        return { status };
      } catch (err) {
        if (err instanceof NameConflict) return actionRefused(dm, status, type, err.message, now, true);
        // Throttling and server errors are passing: the pass is retried with backoff, so a cleanup
        // is reported failed only when the apiserver refuses it for good.
        if (isRetryable(err)) throw err;
        if (type === 'deleteClone')
          this.log.warn('clone deletion failed', { ...this.fields(dm), error: apiMessage(err) });
        return actionRefused(dm, status, type, apiMessage(err), now);
      }
    };
    switch (action.type) {
      case 'createClone':
        return attempt(action.type, () =>
          this.createChild(
            dm,
            'PersistentVolumeClaim',
            () => this.api.createPvc(action.clone),
            () => this.api.getPvc(ns, cloneName(dm)),
          ),
        );
      case 'createJob':
        return attempt(action.type, () =>
          this.createChild(
            dm,
            'Job',
            () => this.api.createJob(action.job),
            () => this.api.getJob(ns, jobName(dm)),
          ),
        );
      case 'deleteJob':
        await this.api.deleteJob(ns, action.name);
        return { status };
      case 'deleteClone':
        return attempt(action.type, () => this.api.deletePvc(ns, action.name));
      case 'deleteLeftover':
        this.log.info('deleting a child an earlier DataMover of this name left', {
          ...this.fields(dm),
          kind: action.kind,
          child: action.name,
        });
        try {
          if (action.kind === 'Job') await this.api.deleteJob(ns, action.name, action.uid);
          else await this.api.deletePvc(ns, action.name, action.uid);
        } catch (err) {
          // 409: the UID precondition failed, it is gone or replaced: the next pass looks again.
          if (!isConflict(err)) throw err;
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

/** An object holding a child's name is not ours: the run fails with NameConflict. */
class NameConflict extends Error {}

/** True when `child` is this DataMover's; otherwise it is recorded in `notOurs`. */
function adopt(
  child: V1Job | V1PersistentVolumeClaim,
  kind: NotOurChild['kind'],
  dm: DataMover,
  notOurs: NotOurChild[],
): boolean {
  const whose = ownership(child, dm);
  if (whose === 'ours') return true;
  notOurs.push({
    kind,
    name: child.metadata?.name ?? '',
    uid: child.metadata?.uid ?? '',
    ownership: whose,
    deleting: Boolean(child.metadata?.deletionTimestamp),
  });
  return false;
}

export interface ReconcileHooks {
  /** Called after each action, before the status write (a test-only fault point uses it). */
  afterAction?: (action: Action['type']) => void;
}
