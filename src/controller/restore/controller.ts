// The DataMoverRestore kind on the shared plumbing (runtime.ts): restores are its primary objects, and
// it owns their Jobs and the Jobs' pods, read from the same child caches as the DataMover kind's
// (ownerKey tells whose a child is). The PVC a restore writes to is not its child: it is the user's
// data, so it is not cached, and a pass that waits for it to bind asks to be woken again.
import type { Logger } from 'winston';
import { RESTORE_KIND, RESTORE_PLURAL, type DataMoverRestore } from '../../api/v1alpha1/restore.js';
import type { KubeApi } from '../../kube/client.js';
import { ownerKey } from '../../kube/names.js';
import { customResource } from '../../kube/resources.js';
import type { OperatorMetrics } from '../../metrics/metrics.js';
import { moverChildren } from '../child-facts.js';
import { kindController } from '../pass.js';
import { byCreation, type KindController } from '../runtime.js';
import { isTerminal } from '../status-builder.js';
import type { RestoreConfig } from './machine.js';
import { RestoreKind, type RestoreCaches } from './reconcile.js';
import { RestoreMetrics } from './metrics.js';
import type { RunCap } from '../run-cap.js';
import type { StorageClasses } from '../storage-classes.js';

/** The DataMoverRestores' watch: their list and watch path, cached whole. */
export const RESTORES = customResource<DataMoverRestore>(RESTORE_PLURAL);

export function restoreKind(
  api: KubeApi,
  caches: RestoreCaches,
  config: RestoreConfig & { workers: number },
  metrics: OperatorMetrics,
  log: Logger,
  shared: { storageClasses: StorageClasses; cap: RunCap },
): KindController<DataMoverRestore> {
  const own = new RestoreMetrics(metrics, () =>
    caches.restores.list().map((r) => ({
      namespace: r.metadata.namespace,
      phase: r.status?.phase,
      queued: r.status?.queuePosition !== undefined && !isTerminal(r.status.phase),
    })),
  );
  const owner = (o: unknown) => ownerKey(o as never, RESTORE_KIND);
  const kind = new RestoreKind(api, caches, config, own, log, shared.storageClasses, shared.cap);
  return kindController(
    kind,
    {
      primary: caches.restores,
      owned: moverChildren(caches.jobs, caches.pods, owner),
      // As DataMovers: the restores that started first take their next step first.
      rank: byCreation(caches.restores),
      // A deleted restore has no pass of its own to hand its slot on.
      related: (_r, event) => {
        if (event === 'delete') shared.cap.wakeNext();
        return [];
      },
    },
    { api, workers: config.workers, log, metrics: own.runtime },
  );
}
