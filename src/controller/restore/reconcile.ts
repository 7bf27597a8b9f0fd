// The DataMoverRestore kind of the reconcile pass (../pass.ts): its Job and pods from the caches, the
// lookups the machine reads (the target PVC, the source PVC, the pods mounting the target: none of
// them is ours, so none is cached), the machine (machine.ts), its actions, and the metrics and events
// of a transition. A pass that fails the restore also deletes the new PVC it created (target.ts),
// before its status write.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { DataMoverRestore, DataMoverRestoreStatus } from '../../api/v1alpha1/restore.js';
import { RESTORE_KIND, RESTORE_PLURAL } from '../../api/v1alpha1/restore.js';
import type { DataMoverSchedule } from '../../api/v1alpha1/schedule.js';
import { API_VERSION } from '../../api/v1alpha1/schema.js';
import { apiMessage, isConflict, isRetryable, type KubeApi } from '../../kube/client.js';
import { controlledBy, restoreJobName } from '../../kube/names.js';
import type { Source } from '../../kube/resources.js';
import { DESTINATION_PREFIXES_ANNOTATION, parsePrefixes } from '../../jobs/destination.js';
import { MOVER_CONTAINER, PRIVILEGED_MOVERS_ANNOTATION } from '../../jobs/job.js';
import { unprovenSuccess } from '../job-status.js';
import { restoreBinding } from '../../jobs/restore-job.js';
import { JOB_NO_POD_AFTER_MS, podlessForMs } from '../readiness.js';
import { NameConflict, type Decision, type Performed, type RunKind, type Transition } from '../pass.js';
import {
  decideRestore,
  needsNamespace,
  restoreActionRefused,
  sourceNamespaceOf,
  sourcePvcOf,
  type RestoreAction,
  type RestoreConfig,
  type RestoreObserved,
} from './machine.js';
import { afterFailure, restoredBy, targetOwnership, targetPvcOf, type FailedTarget } from './target.js';
import { restoreEvents, restoreMetricMoves } from './transitions.js';
import type { RestoreMetrics } from './metrics.js';
import type { StorageClasses } from '../storage-classes.js';
import type { CapMember, RunCap } from '../run-cap.js';
import { isTerminal } from '../status-builder.js';
import { RESTORE_KEY_PREFIX, restoreCensus, restoreKey, restoreUnderWay } from './slots.js';

type Status = DataMoverRestoreStatus;

export interface RestoreCaches {
  restores: Source<DataMoverRestore>;
  schedules: Source<DataMoverSchedule>;
  jobs: Source<V1Job>;
  pods: Source<V1Pod>;
}

export class RestoreKind implements RunKind<
  DataMoverRestore,
  DataMoverRestoreStatus,
  RestoreObserved,
  RestoreAction
> {
  readonly kind = RESTORE_KIND;

  /** Wakes the restores that free slots would go to (set by the factory, which owns the queue). */
  wake: (keys: readonly string[]) => void = () => {};

  /** The restores as the shared run cap counts them, beside the DataMovers (slots.ts). */
  private readonly member: CapMember<DataMoverRestore> = {
    census: (id, self) =>
      restoreCensus(
        this.caches.restores.list(),
        (r) => this.caches.jobs.get(r.metadata.namespace, restoreJobName(r)),
        self,
        (r) => this.cap.poolIdOf(restoreKey(r), r.status?.targetStorageClass) === id,
      ),
    owns: (key) => key.startsWith(RESTORE_KEY_PREFIX),
    wake: (keys) => this.wake(keys.map((k) => k.slice(RESTORE_KEY_PREFIX.length))),
  };

  constructor(
    private readonly api: KubeApi,
    private readonly caches: RestoreCaches,
    private readonly config: RestoreConfig,
    private readonly metrics: RestoreMetrics,
    private readonly log: Logger,
    private readonly storageClasses: StorageClasses,
    private readonly cap: RunCap,
  ) {
    cap.join(this.member);
  }

  cached(namespace: string, name: string): DataMoverRestore | undefined {
    return this.caches.restores.get(namespace, name);
  }

  seen(r: DataMoverRestore): void {
    this.metrics.observeNamespace(r.metadata.namespace);
  }

  decide(r: DataMoverRestore, observed: RestoreObserved): Decision<DataMoverRestoreStatus, RestoreAction> {
    const decision = decideRestore(r, observed, this.config);
    // An ended restore's pass (its end, or its Job going): the slot it held may be free now. Not to
    // itself: the cache may still show it waiting (it failed before its Job; run-cap.ts wakeNext).
    if (isTerminal(r.status?.phase)) this.cap.wakeNext(restoreKey(r));
    // A slot given to a restore that creates no Job now (it waits, or failed) goes on at once.
    if (
      observed.slot?.admitted &&
      observed.slot.fresh &&
      !decision.actions.some((a) => a.type === 'createJob')
    )
      this.cap.release(restoreKey(r));
    return decision;
  }

  /** A pass that failed the restore deletes the new PVC it created, when nobody else uses it. */
  async followUp(
    r: DataMoverRestore,
    status: DataMoverRestoreStatus,
    observed: RestoreObserved,
  ): Promise<Decision<DataMoverRestoreStatus, RestoreAction> | undefined> {
    if (status.phase !== 'Failed' || r.status?.phase === 'Failed') return undefined;
    return afterFailure(r, status, await this.observeFailedTarget(r, observed));
  }

  replaceStatus(r: DataMoverRestore): Promise<DataMoverRestore> {
    return this.api.replaceCustomStatus(RESTORE_PLURAL, r);
  }

  /** What the caches hold, then the lookups the phase reads. */
  async observe(r: DataMoverRestore, now: Date): Promise<RestoreObserved> {
    const ns = r.metadata.namespace;
    const observed: RestoreObserved = { now, pods: [] };
    const bySchedule = r.spec.source.schedule;
    if (bySchedule) observed.schedule = this.caches.schedules.get(ns, bySchedule.name) ?? null;
    const job = this.caches.jobs.get(ns, restoreJobName(r));
    if (job && !controlledBy(job, r.metadata.uid)) observed.jobNotOurs = true;
    else if (job) {
      observed.job = job;
      const uid = job.metadata?.uid;
      observed.pods = this.caches.pods.list(ns).filter((p) => controlledBy(p, uid));
    }
    if (r.status?.phase === 'CreatingTargetPVC') await this.observeTarget(r, observed);
    await this.observeBeforeJob(r, observed, job);
    const podless = observed.job ? podlessForMs(observed.job, observed.pods, now) : undefined;
    if (r.status?.phase === 'Restoring' && podless !== undefined && podless >= JOB_NO_POD_AFTER_MS)
      observed.jobWarning = await this.api.latestWarning(ns, 'Job', restoreJobName(r));
    await this.unprovenLog(r, observed);
    // Last, after every await: the slot is given and the Job created with nothing in between.
    if (r.status?.phase === 'Restoring' && !job && !restoreUnderWay(r, undefined)) {
      const asked = await this.cap.request(this.member, r, restoreKey(r), r.status.targetStorageClass, now);
      if (asked) Object.assign(observed, asked);
    }
    return observed;
  }

  /** A Job that succeeded without a report proving the restore: its mover's last lines, for the message. */
  private async unprovenLog(r: DataMoverRestore, observed: RestoreObserved): Promise<void> {
    const job = observed.job;
    if (r.status?.phase !== 'Restoring' || !job) return;
    const pod = unprovenSuccess(job, observed.pods, restoreBinding(r));
    if (pod) observed.moverLogTail = await this.api.logTail(r.metadata.namespace, pod, MOVER_CONTAINER);
  }

  /** The target PVC, and what deciding about it needs: none of it is ours, so none is cached. */
  private async observeTarget(r: DataMoverRestore, observed: RestoreObserved): Promise<void> {
    const ns = r.metadata.namespace;
    if (needsNamespace(r, observed.schedule)) {
      const annotations = await this.api.namespaceAnnotations(ns);
      observed.allowedDestinationPrefixes = parsePrefixes(annotations[DESTINATION_PREFIXES_ANNOTATION]);
      observed.privilegedMoversAllowed = annotations[PRIVILEGED_MOVERS_ANNOTATION] === 'true';
    }
    const name = targetPvcOf(r);
    const target = await this.api.getPvc(ns, name);
    observed.target = target;
    if (!target) {
      // Another namespace's PVC is not looked at (it may not be ours to read): the spec gives a size.
      if (r.spec.target.newPvc && sourceNamespaceOf(r) === ns)
        observed.sourcePvc = await this.api.getPvc(ns, sourcePvcOf(r));
      return;
    }
    if (r.spec.target.newPvc && targetOwnership(target, r) === 'orphan') {
      // Another restore's leftover: is that restore still there, does any other use it, who mounts it.
      const creator = restoredBy(target)!;
      const found = this.caches.restores.get(ns, creator.name);
      observed.creator = found?.metadata.uid === creator.uid ? found : null;
      observed.otherRestores = this.caches.restores.list(ns).filter((o) => o.status?.targetPvc === name);
      observed.targetUsers = await this.api.podsMounting(ns, name);
    }
    if (target.status?.phase !== 'Bound')
      observed.targetBindingMode = await this.storageClasses.bindingMode(target.spec?.storageClassName);
    if (
      observed.targetUsers === undefined &&
      (target.status?.phase === 'Bound' || observed.targetBindingMode === 'WaitForFirstConsumer')
    )
      observed.targetUsers = await this.api.podsMounting(ns, name, observed.job?.metadata?.uid);
  }

  /**
   * A pass that may create the Job (Restoring, no Job in the cache or in status) reads again what
   * CreatingTargetPVC checked, by the same reads (machine.ts, changedWhileWaiting): whether the
   * namespace still allows restoreOwners, and who mounts the target now (the pods are listed: only the
   * operator's are cached). The restore may have waited long for its slot since.
   */
  private async observeBeforeJob(
    r: DataMoverRestore,
    observed: RestoreObserved,
    job: V1Job | undefined,
  ): Promise<void> {
    if (r.status?.phase !== 'Restoring' || job || r.status.jobName) return;
    const ns = r.metadata.namespace;
    if (r.spec.restoreOwners) {
      const annotations = await this.api.namespaceAnnotations(ns);
      observed.privilegedMoversAllowed = annotations[PRIVILEGED_MOVERS_ANNOTATION] === 'true';
    }
    observed.targetUsers = await this.api.podsMounting(ns, targetPvcOf(r));
  }

  /** For a pass that failed the restore: its new target PVC (if it created it) and who mounts it. */
  private async observeFailedTarget(r: DataMoverRestore, observed: RestoreObserved): Promise<FailedTarget> {
    const ns = r.metadata.namespace;
    const name = targetPvcOf(r);
    const job = observed.job;
    if (!r.spec.target.newPvc) return { target: null, users: [], job };
    const target = observed.target !== undefined ? observed.target : await this.api.getPvc(ns, name);
    if (!target || targetOwnership(target, r) !== 'ours' || target.metadata?.deletionTimestamp)
      return { target, users: [], job };
    const users = observed.targetUsers ?? (await this.api.podsMounting(ns, name, job?.metadata?.uid));
    return { target, users, job };
  }

  async perform(
    r: DataMoverRestore,
    action: RestoreAction,
    status: Status,
    now: Date,
  ): Promise<Performed<Status>> {
    const ns = r.metadata.namespace;
    switch (action.type) {
      case 'createTargetPvc':
        // Taken meanwhile: the next pass reads it and tells whose it is (TargetPVCExists or ours).
        return this.attempt(r, action.type, status, now, () => this.api.createPvc(action.pvc).then(() => {}));
      case 'createJob':
        return this.attempt(r, action.type, status, now, async () => {
          if (await this.api.createJob(action.job)) return;
          const existing = await this.api.getJob(ns, action.job.metadata!.name!);
          if (existing && !controlledBy(existing, r.metadata.uid)) {
            throw new NameConflict(
              `Job ${ns}/${existing.metadata?.name} already exists and is not owned by this DataMoverRestore (uid ${r.metadata.uid}); delete or rename it`,
            );
          }
        });
      case 'deleteJob':
        try {
          await this.api.deleteJob(ns, action.name, action.uid);
        } catch (err) {
          // 409: the UID precondition failed: that Job is gone and another has the name.
          if (!isConflict(err)) throw err;
        }
        return { status };
      case 'deleteTargetPvc':
        this.log.info('deleting the PVC a failed restore created', {
          namespace: ns,
          restore: r.metadata.name,
          pvc: action.name,
        });
        try {
          await this.api.deletePvc(ns, action.name, action.uid);
        } catch (err) {
          // 409: the UID precondition failed: that PVC is gone and another has the name (not ours).
          if (!isConflict(err)) throw err;
        }
        return { status };
    }
  }

  /** Runs a create; a refusal for good fails the restore (a retryable error is thrown and retried). */
  private async attempt(
    r: DataMoverRestore,
    type: 'createTargetPvc' | 'createJob',
    status: DataMoverRestoreStatus,
    now: Date,
    call: () => Promise<void>,
  ): Promise<Performed<DataMoverRestoreStatus>> {
    try {
      await call();
      return { status };
    } catch (err) {
      if (err instanceof NameConflict)
        return { status: restoreActionRefused(r, status, type, err.message, now, true), refused: true };
      if (isRetryable(err)) throw err;
      return { status: restoreActionRefused(r, status, type, apiMessage(err), now), refused: true };
    }
  }

  /** Metrics, a log line and events for a status change the apiserver has applied. */
  record(r: DataMoverRestore, { before, status, now, events }: Transition<DataMoverRestoreStatus>): void {
    const { namespace, name } = r.metadata;
    this.metrics.record(namespace, restoreMetricMoves(before, status, now));
    if (before.phase !== status.phase)
      this.log.info(`restore phase ${before.phase ?? '(new)'} -> ${status.phase}`, {
        namespace,
        restore: name,
        detail: status.message,
      });
    // Events are best effort and must not hold up the worker.
    const involved = { ...r, apiVersion: API_VERSION, kind: RESTORE_KIND };
    for (const event of [...restoreEvents(before, status), ...events]) {
      this.api.recordEvent(involved, event, now).catch((err: unknown) => {
        this.log.warn('event not recorded', {
          namespace,
          restore: name,
          reason: event.reason,
          error: apiMessage(err),
        });
      });
    }
  }
}
