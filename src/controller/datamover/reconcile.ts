// The DataMover kind of the reconcile pass (pass.ts): its children from the informer caches and the
// lookups the machine reads, the machine (machine.ts), its actions (a clone, a Job, deletions), its
// status write, and the metrics and events of a transition.
import type { V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { PLURAL, type DataMover, type DataMoverStatus } from '../../api/v1alpha1/schema.js';
import type { DataMoverRestore } from '../../api/v1alpha1/restore.js';
import type { Source } from '../../kube/resources.js';
import { apiMessage, isConflict, isNotFound, isRetryable, type KubeApi } from '../../kube/client.js';
import type { ResilientInformer } from '../../kube/informer.js';
import { cloneName, controlledBy, jobName, ownership, snapshotName } from '../../kube/names.js';
import type { VolumeSnapshot } from '../../kube/snapshots.js';
import { DESTINATION_PREFIXES_ANNOTATION, parsePrefixes } from '../../jobs/destination.js';
import { destinationBusyWith, liveRunsOf } from './destination-lock.js';
import { lookupsNeeded, type Lookups } from './lookups.js';
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
import { NameConflict, type Decision, type Performed, type RunKind, type Transition } from '../pass.js';
import { metricMoves, transitionEvents } from './transitions.js';
import type { DataMoverMetrics } from './metrics.js';
import type { StorageClasses } from '../storage-classes.js';
import type { CapMember, RunCap } from '../run-cap.js';
import { isTerminal } from '../status-builder.js';
import { cachedChildren, census, classOf, type Children } from './slots.js';
import { cloneClass } from './clone.js';
import { MOVER_CONTAINER } from '../../jobs/job.js';

type Status = DataMoverStatus;

const SNAPSHOT_API_MISSING =
  'the cluster has no VolumeSnapshot API (snapshot.storage.k8s.io/v1): install the external-snapshotter CRDs and snapshot controller, or use copyMethod: Clone';

const keyOf = (dm: DataMover) => `${dm.metadata.namespace}/${dm.metadata.name}`;

export interface Caches {
  dataMovers: ResilientInformer<DataMover>;
  pvcs: ResilientInformer<V1PersistentVolumeClaim>;
  jobs: ResilientInformer<V1Job>;
  pods: ResilientInformer<V1Pod>;
  /** Read to hold backups back while a restore writes their PVC or reads their root. */
  restores: Source<DataMoverRestore>;
}

export class DataMoverKind implements RunKind<DataMover, DataMoverStatus, Observed, Action> {
  readonly kind = 'DataMover';

  /** Wakes the runs that free slots would go to (set by the factory, which owns the queue). */
  wake: (keys: readonly string[]) => void = () => {};

  /** This kind's runs as the shared run cap counts them (slots.ts). */
  private readonly member: CapMember<DataMover> = {
    census: (id, self) =>
      census(this.caches.dataMovers.list(), this.children, self, (dm) => this.poolIdOf(dm) === id),
    // The other kinds' keys carry their kind (`DataMoverRestore:ns/name`); a name has no colon.
    owns: (key) => !key.includes(':'),
    wake: (keys) => this.wake(keys),
  };

  constructor(
    private readonly api: KubeApi,
    private readonly caches: Caches,
    private readonly config: MachineConfig,
    private readonly metrics: DataMoverMetrics,
    private readonly log: Logger,
    private readonly storageClasses: StorageClasses,
    readonly cap: RunCap,
  ) {
    cap.join(this.member);
  }

  /** A run's clone and Job as the run cap counts them (slots.ts). */
  private readonly children: Children = cachedChildren(
    (ns, name) => this.caches.pvcs.get(ns, name),
    (ns, name) => this.caches.jobs.get(ns, name),
  );

  private poolIdOf(dm: DataMover): string | undefined {
    return this.cap.poolIdOf(keyOf(dm), classOf(dm, this.children));
  }

  cached(namespace: string, name: string): DataMover | undefined {
    return this.caches.dataMovers.get(namespace, name);
  }

  seen(dm: DataMover): void {
    this.metrics.observeNamespace(dm.metadata.namespace);
  }

  decide(dm: DataMover, observed: Observed): Decision<DataMoverStatus, Action> {
    const decision = decide(dm, observed, this.config);
    // An ended run's pass (its end, or its clone or Job going): the slot it held may be free now. Not
    // to itself: the cache may still show it queued (it failed while it was; run-cap.ts wakeNext).
    if (isTerminal(dm.status?.phase)) this.cap.wakeNext(keyOf(dm));
    // A slot given to a run that creates nothing now (it waits for its source, or failed): it goes
    // to the next run at once.
    if (
      observed.slot?.admitted &&
      observed.slot.fresh &&
      !decision.actions.some((a) => a.type === 'createClone' || a.type === 'createSnapshot')
    )
      this.cap.release(keyOf(dm));
    return decision;
  }

  replaceStatus(dm: DataMover): Promise<DataMover> {
    return this.api.replaceCustomStatus(PLURAL, dm);
  }

  /** The pods of our Job (by its UID: pods of an earlier Job of the same name do not count). */
  private podsOf(job: V1Job | undefined): V1Pod[] {
    const uid = job?.metadata?.uid;
    if (!uid) return [];
    return this.caches.pods.indexed(uid).filter((p) => controlledBy(p, uid));
  }

  /** The DataMover's children from the caches, then the lookups lookupsNeeded() says the pass reads. */
  async observe(dm: DataMover, now: Date): Promise<Observed> {
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
    if (lookupsNeeded(dm, observed, now, this.config).snapshot) {
      const snapshot = await this.api.getSnapshot(ns, snapshotName(dm));
      if (!snapshot || adopt(snapshot, 'VolumeSnapshot', dm, notOurs)) observed.snapshot = snapshot;
    }
    if (notOurs.length > 0) observed.notOurs = notOurs;
    // Whether the clone is ready depends on its class's binding mode: looked up first.
    if (lookupsNeeded(dm, observed, now, this.config).bindingMode)
      observed.cloneBindingMode = await this.storageClasses.bindingMode(
        observed.clone?.spec?.storageClassName,
      );
    const need = lookupsNeeded(dm, observed, now, this.config);
    if (need.namespace) {
      const annotations = await this.api.namespaceAnnotations(ns);
      observed.privilegedMoversAllowed = annotations[PRIVILEGED_MOVERS_ANNOTATION] === 'true';
      observed.allowedDestinationPrefixes = parsePrefixes(annotations[DESTINATION_PREFIXES_ANNOTATION]);
    }
    if (need.source) observed.source = await this.source(dm);
    observed.restoreInTheWay = this.restoreInTheWay(dm, need.source, need.destinationLock);
    if (need.cloneWarning)
      observed.cloneWarning = await this.api.latestWarning(ns, 'PersistentVolumeClaim', cloneName(dm));
    await this.jobLookups(dm, observed, need);
    if (need.destinationLock) {
      const peers = this.caches.dataMovers.list();
      observed.destinationBusyWith = destinationBusyWith(dm, peers);
      observed.liveRuns = liveRunsOf(dm, peers);
    }
    // Last, after every await: the slot is given and the clone created with nothing in between.
    if (need.source) await this.requestSlot(dm, observed, now);
    return observed;
  }

  /** What a pass reads about its Job beyond the caches: a warning, or an unproven mover's last lines. */
  private async jobLookups(dm: DataMover, observed: Observed, need: Lookups): Promise<void> {
    const ns = dm.metadata.namespace;
    if (need.jobWarning) observed.jobWarning = await this.api.latestWarning(ns, 'Job', jobName(dm));
    if (need.moverLog) observed.moverLogTail = await this.api.logTail(ns, need.moverLog, MOVER_CONTAINER);
  }

  /**
   * The source PVC, from the cache (every PVC of the watched namespaces is: design record 4). A cache
   * that does not show it Bound may lag the apiserver (a PVC and its DataMover applied together, the
   * DataMover's event first): the apiserver is asked before the run is held back for it.
   */
  private async source(dm: DataMover): Promise<V1PersistentVolumeClaim | null> {
    const cached = this.caches.pvcs.get(dm.metadata.namespace, dm.spec.sourcePvc);
    if (cached?.status?.phase === 'Bound' && !cached.metadata?.deletionTimestamp) return cached;
    return this.api.getPvc(dm.metadata.namespace, dm.spec.sourcePvc);
  }

  /**
   * Under a run cap (the flag's, or the clone's StorageClass's own), asks for the run's slot
   * (run-cap.ts): nothing is awaited after the slot is given.
   */
  private async requestSlot(dm: DataMover, observed: Observed, now: Date): Promise<void> {
    const storageClass = cloneClass(dm, observed.source);
    const asked = await this.cap.request(this.member, dm, keyOf(dm), storageClass, now);
    if (!asked) return;
    observed.slot = asked.slot;
    observed.pool = asked.pool;
    if (storageClass) observed.storageClass = storageClass;
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
    read: () => Promise<V1Job | V1PersistentVolumeClaim | VolumeSnapshot | null>,
  ): Promise<boolean> {
    if (await create()) return true;
    const existing = await read();
    if (!existing || ownership(existing, dm) !== 'foreign') return false;
    const name = existing.metadata?.name ?? '';
    throw new NameConflict(
      `${kind} ${dm.metadata.namespace}/${name} already exists and is not owned by this DataMover (uid ${dm.metadata.uid}); delete or rename it`,
    );
  }

  async perform(dm: DataMover, action: Action, status: Status, now: Date): Promise<Performed<Status>> {
    const ns = dm.metadata.namespace;
    /**
     * Runs a call; a refusal for good replaces the optimistic status (a retryable error is thrown).
     * `call` gives true when it created a watched child, whose add event wakes this DataMover.
     */
    const attempt = async (
      type: 'createSnapshot' | 'createClone' | 'createJob' | 'deleteClone',
      call: () => Promise<boolean | void>,
    ): Promise<Performed<Status>> => {
      try {
        return (await call()) === true ? { status, wakes: true } : { status };
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
      case 'createSnapshot':
        try {
          await this.createChild(
            dm,
            'VolumeSnapshot',
            () => this.api.createSnapshot(action.snapshot),
            () => this.api.getSnapshot(ns, snapshotName(dm)),
          );
          return { status };
        } catch (err) {
          // The API itself is missing (no CRD): the apiserver does not know the create's path.
          if (isNotFound(err)) return actionRefused(dm, status, action.type, SNAPSHOT_API_MISSING, now);
          return attempt(action.type, () => Promise.reject(err));
        }
      case 'deleteSnapshot':
        await this.api.deleteSnapshot(ns, action.name);
        return { status };
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
          else if (action.kind === 'VolumeSnapshot')
            await this.api.deleteSnapshot(ns, action.name, action.uid);
          else await this.api.deletePvc(ns, action.name, action.uid);
        } catch (err) {
          // 409: the UID precondition failed, it is gone or replaced: the next pass looks again.
          if (!isConflict(err)) throw err;
        }
        return { status };
      case 'deleteDataMover':
        this.log.info('deleting finished DataMover after ttlSecondsAfterFinished', this.fields(dm));
        await this.api.deleteCustom(PLURAL, dm);
        return { status };
    }
  }

  private fields(dm: DataMover, status: DataMoverStatus | undefined = dm.status) {
    return { namespace: dm.metadata.namespace, name: dm.metadata.name, phase: status?.phase ?? '' };
  }

  /** Metrics, a log line and events for a status change the apiserver has applied. */
  record(dm: DataMover, { before, status, now, events }: Transition<DataMoverStatus>): void {
    this.metrics.record(dm.metadata.namespace, metricMoves(before, status, now));
    if (before.phase !== status.phase) {
      this.log.info(`phase ${before.phase ?? '(new)'} -> ${status.phase}`, {
        ...this.fields(dm, status),
        detail: status.message,
      });
    }
    // Events are best effort and must not hold up the worker: they are sent without waiting.
    for (const event of [...transitionEvents(before, status), ...events]) {
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

/** True when `child` is this DataMover's; otherwise it is recorded in `notOurs`. */
function adopt(
  child: V1Job | V1PersistentVolumeClaim | VolumeSnapshot,
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
