// One pass of a DataMoverRestore: read it, its Job and pods from the caches, look up what the
// machine will read (the target PVC, the source PVC, the pods mounting the target: none of them is
// ours, so none is cached), decide (machine.ts), perform the actions, then one status write guarded by
// resourceVersion. A pass that fails the restore also deletes the new PVC it created (target.ts),
// before that write. Metrics and events are recorded only after the write succeeds.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'winston';
import type { DataMoverRestore, DataMoverRestoreStatus } from '../../api/v1alpha1/restore.js';
import { RESTORE_KIND } from '../../api/v1alpha1/restore.js';
import type { DataMoverSchedule } from '../../api/v1alpha1/schedule.js';
import { API_VERSION } from '../../api/v1alpha1/schema.js';
import { apiMessage, isConflict, isRetryable, type KubeApi } from '../../kube/client.js';
import { restoreJobName } from '../../kube/names.js';
import type { Source } from '../../kube/resources.js';
import type { OperatorMetrics } from '../../metrics/metrics.js';
import { DESTINATION_PREFIXES_ANNOTATION, parsePrefixes } from '../../mover/destination.js';
import { PRIVILEGED_MOVERS_ANNOTATION } from '../../mover/job.js';
import { JOB_NO_POD_AFTER_MS, podlessForMs } from '../lookups.js';
import { ConflictError, type ReconcileResult } from '../runtime.js';
import { StatusWrites } from '../status-writes.js';
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
import { BindingModes } from '../binding-modes.js';

export interface RestoreCaches {
  restores: Source<DataMoverRestore>;
  schedules: Source<DataMoverSchedule>;
  jobs: Source<V1Job>;
  pods: Source<V1Pod>;
}

/** The object holding the restore Job's name is another's: the restore fails with NameConflict. */
class NameConflict extends Error {}

const controlledBy = (o: { metadata?: { ownerReferences?: Array<{ controller?: boolean; uid: string }> } }) =>
  o.metadata?.ownerReferences?.find((r) => r.controller)?.uid;

export class RestoreReconciler {
  private readonly writes = new StatusWrites<DataMoverRestoreStatus, DataMoverRestore>();

  private readonly bindingModes: BindingModes;

  constructor(
    private readonly api: KubeApi,
    private readonly caches: RestoreCaches,
    private readonly config: RestoreConfig,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.bindingModes = new BindingModes(api);
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split('/') as [string, string];
    const restore = this.writes.current(key, this.caches.restores.get(namespace, name));
    const settled = this.writes.settle(key, restore);
    if (restore && settled) {
      this.log.info('an earlier restore status write was applied after all; counting it', {
        namespace,
        name,
      });
      this.recordTransition(restore, settled.before, settled.status, settled.now);
    }
    if (!restore || restore.metadata.deletionTimestamp) return {};
    this.metrics.observeRestoreNamespace(namespace);
    const now = this.clock();
    const observed = await this.observe(restore, now);
    const decision = decideRestore(restore, observed, this.config);
    let status = await this.performAll(restore, decision.actions, decision.status, now);
    if (status.phase === 'Failed' && restore.status?.phase !== 'Failed') {
      const cleanup = afterFailure(restore, status, await this.observeFailedTarget(restore, observed));
      status = await this.performAll(restore, cleanup.actions, cleanup.status, now);
    }
    await this.writeStatus(restore, status, now);
    return decision.requeueAfterMs !== undefined ? { requeueAfterMs: decision.requeueAfterMs } : {};
  }

  private async performAll(
    r: DataMoverRestore,
    actions: readonly RestoreAction[],
    status: DataMoverRestoreStatus,
    now: Date,
  ): Promise<DataMoverRestoreStatus> {
    for (const action of actions) {
      // Stop before an action, not only at its write: a process without the lease starts no step.
      this.api.fence();
      status = await this.perform(r, action, status, now);
    }
    return status;
  }

  /** What the caches hold, then the lookups the phase reads. */
  private async observe(r: DataMoverRestore, now: Date): Promise<RestoreObserved> {
    const ns = r.metadata.namespace;
    const observed: RestoreObserved = { now, pods: [] };
    const bySchedule = r.spec.source.schedule;
    if (bySchedule) observed.schedule = this.caches.schedules.get(ns, bySchedule.name) ?? null;
    const job = this.caches.jobs.get(ns, restoreJobName(r));
    if (job && controlledBy(job) !== r.metadata.uid) observed.jobNotOurs = true;
    else if (job) {
      observed.job = job;
      const uid = job.metadata?.uid;
      observed.pods = this.caches.pods.list(ns).filter((p) => uid && controlledBy(p) === uid);
    }
    if (r.status?.phase === 'CreatingTargetPVC') await this.observeTarget(r, observed);
    const podless = observed.job ? podlessForMs(observed.job, observed.pods, now) : undefined;
    if (r.status?.phase === 'Restoring' && podless !== undefined && podless >= JOB_NO_POD_AFTER_MS)
      observed.jobWarning = await this.api.latestWarning(ns, 'Job', restoreJobName(r));
    return observed;
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
      observed.targetBindingMode = await this.bindingModes.of(target.spec?.storageClassName);
    if (
      observed.targetUsers === undefined &&
      (target.status?.phase === 'Bound' || observed.targetBindingMode === 'WaitForFirstConsumer')
    )
      observed.targetUsers = await this.api.podsMounting(ns, name, observed.job?.metadata?.uid);
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

  private async perform(
    r: DataMoverRestore,
    action: RestoreAction,
    status: DataMoverRestoreStatus,
    now: Date,
  ): Promise<DataMoverRestoreStatus> {
    const ns = r.metadata.namespace;
    switch (action.type) {
      case 'createTargetPvc':
        // Taken meanwhile: the next pass reads it and tells whose it is (TargetPVCExists or ours).
        return this.attempt(r, action.type, status, now, () => this.api.createPvc(action.pvc).then(() => {}));
      case 'createJob':
        return this.attempt(r, action.type, status, now, async () => {
          if (await this.api.createJob(action.job)) return;
          const existing = await this.api.getJob(ns, action.job.metadata!.name!);
          if (existing && controlledBy(existing) !== r.metadata.uid) {
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
        return status;
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
        return status;
    }
  }

  /** Runs a create; a refusal for good fails the restore (a retryable error is thrown and retried). */
  private async attempt(
    r: DataMoverRestore,
    type: 'createTargetPvc' | 'createJob',
    status: DataMoverRestoreStatus,
    now: Date,
    call: () => Promise<void>,
  ): Promise<DataMoverRestoreStatus> {
    try {
      await call();
      return status;
    } catch (err) {
      if (err instanceof NameConflict) return restoreActionRefused(r, status, type, err.message, now, true);
      if (isRetryable(err)) throw err;
      return restoreActionRefused(r, status, type, apiMessage(err), now);
    }
  }

  private async writeStatus(r: DataMoverRestore, status: DataMoverRestoreStatus, now: Date): Promise<void> {
    const before = r.status ?? {};
    if (isDeepStrictEqual(before, status)) return;
    this.api.fence();
    const key = `${r.metadata.namespace}/${r.metadata.name}`;
    try {
      const updated = await this.api.replaceRestoreStatus({ ...r, status });
      this.writes.applied(key, r, updated);
    } catch (err) {
      if (isConflict(err) || isRetryable(err)) this.writes.unknown(key, r, before, status, now);
      if (isConflict(err)) {
        this.metrics.reconcileTotal.inc({ result: 'conflict' });
        throw new ConflictError(`DataMoverRestore ${key} changed; retrying`, { cause: err });
      }
      throw new Error(`status write failed: ${apiMessage(err)}`, { cause: err });
    }
    this.recordTransition(r, before, status, now);
  }

  /** Metrics, a log line and events for a status change the apiserver has applied. */
  private recordTransition(
    r: DataMoverRestore,
    before: DataMoverRestoreStatus,
    status: DataMoverRestoreStatus,
    now: Date,
  ): void {
    const { namespace, name } = r.metadata;
    this.metrics.recordRestore(namespace, restoreMetricMoves(before, status));
    if (before.phase !== status.phase)
      this.log.info(`restore phase ${before.phase ?? '(new)'} -> ${status.phase}`, {
        namespace,
        restore: name,
        detail: status.message,
      });
    // Events are best effort and must not hold up the worker.
    const involved = { ...r, apiVersion: API_VERSION, kind: RESTORE_KIND };
    for (const event of restoreEvents(before, status)) {
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
