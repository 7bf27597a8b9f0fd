// The DataMover kind on the shared plumbing (runtime.ts): DataMovers are its primary objects; it owns
// their clones, Jobs and the Jobs' pods, and it is woken by the source PVCs its runs wait for, by the
// restores that hold its runs back (restore-guard.ts) and by the runs that free a destination others
// wait for (destination-lock.ts).
import type { KubernetesObject, V1Job, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { DataMoverRestore } from '../../api/v1alpha1/restore.js';
import { PLURAL, type DataMover } from '../../api/v1alpha1/schema.js';
import type { Config } from '../../config.js';
import type { KubeApi } from '../../kube/client.js';
import { ownerKey } from '../../kube/names.js';
import { customResource, type ResourceRow, type Source } from '../../kube/resources.js';
import type { OperatorMetrics } from '../../metrics/metrics.js';
import { moverChildren, pvcFacts } from '../child-facts.js';
import { kindController } from '../pass.js';
import { byCreation, type KindController } from '../runtime.js';
import { isTerminal } from '../status-builder.js';
import { waitingFor } from './destination-lock.js';
import { DataMoverKind, type Caches, type ReconcileHooks } from './reconcile.js';
import { heldBy } from './restore-guard.js';
import type { RunCap } from '../run-cap.js';
import type { StorageClasses } from '../storage-classes.js';
import { DataMoverMetrics } from './metrics.js';

const keyOf = (o: KubernetesObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;

/** A PVC's key in the DataMovers' index of sources: `namespace/name`. */
const sourceKey = (namespace: string | undefined, name: string | undefined) => `${namespace}/${name}`;

/** The DataMovers' watch: their list and watch path, cached whole, indexed by their source PVCs. */
export const DATAMOVERS: ResourceRow<DataMover> = {
  ...customResource<DataMover>(PLURAL),
  index: (dm) => [sourceKey(dm.metadata.namespace, dm.spec.sourcePvc)],
};

/**
 * The runs a PVC's change may move on: the DataMover whose clone it is, and those whose source it is
 * that have not made their clone yet (they wait for it to appear, or to bind).
 */
function pvcOwners(pvc: KubernetesObject, dataMovers: Caches['dataMovers']): string[] {
  const clone = ownerKey(pvc as never);
  const waiting = dataMovers
    .indexed(sourceKey(pvc.metadata?.namespace, pvc.metadata?.name))
    .filter((dm) => !isTerminal(dm.status?.phase) && !dm.status?.restoredPvcName)
    .map(keyOf);
  return clone ? [clone, ...waiting] : waiting;
}

/** The DataMover kind: `primary` is the DataMovers' shared view, `jobs` and `pods` the child caches'. */
export function dataMoverKind(
  api: KubeApi,
  caches: Caches,
  views: { primary: Source<DataMover>; jobs: Source<V1Job>; pods: Source<V1Pod> },
  config: Config,
  metrics: OperatorMetrics,
  log: Logger,
  shared: { storageClasses: StorageClasses; cap: RunCap },
  hooks: ReconcileHooks = {},
): KindController<DataMover> {
  const own = new DataMoverMetrics(metrics, () => caches.dataMovers.list());
  const owner = (o: KubernetesObject) => ownerKey(o as never);
  const kind = new DataMoverKind(api, caches, config, own, log, shared.storageClasses, shared.cap);
  return kindController(
    kind,
    {
      primary: views.primary,
      owned: [
        // Updates that change nothing the machine reads of them (child-facts.ts) wake no pass.
        {
          source: caches.pvcs as never,
          owner: (pvc: KubernetesObject) => pvcOwners(pvc, caches.dataMovers),
          facts: pvcFacts as never,
        },
        ...moverChildren(views.jobs, views.pods, owner),
        // A restore that starts, ends or goes may hold back or release the backups it concerns.
        {
          source: caches.restores as never,
          owner: (r: KubernetesObject) => heldBy(r as DataMoverRestore, caches.dataMovers.list()).map(keyOf),
        },
      ],
      // Runs that started earlier take their next step first: a schedule's burst of new runs does
      // not hold up the runs in flight.
      rank: byCreation(caches.dataMovers),
      // A finished or deleted DataMover may free its destination for others, in any namespace. Its
      // slot under --max-concurrent-runs is handed on by its own pass (DataMoverKind.decide), or
      // here when it is deleted and has no pass.
      related: (dm, event) => {
        if (event === 'delete') shared.cap.wakeNext();
        return event === 'delete' || isTerminal(dm.status?.phase)
          ? waitingFor(dm, caches.dataMovers.list()).map(keyOf)
          : [];
      },
    },
    {
      api,
      workers: config.maxConcurrentReconciles,
      metrics: own.runtime,
      log,
      hooks: { afterAction: (action) => hooks.afterAction?.(action.type) },
    },
  );
}
