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
import { kindController } from '../pass.js';
import { byCreation, type KindController } from '../runtime.js';
import type { RestoreConfig } from './machine.js';
import { RestoreKind, type RestoreCaches } from './reconcile.js';
import { RestoreMetrics } from './metrics.js';

/** The DataMoverRestores' watch: their list and watch path, cached whole. */
export const RESTORES = customResource<DataMoverRestore>(RESTORE_PLURAL);

export function restoreKind(
  api: KubeApi,
  caches: RestoreCaches,
  config: RestoreConfig & { workers: number },
  metrics: OperatorMetrics,
  log: Logger,
): KindController<DataMoverRestore> {
  const own = new RestoreMetrics(metrics, () =>
    caches.restores.list().map((r) => ({ namespace: r.metadata.namespace, phase: r.status?.phase })),
  );
  const owner = (o: unknown) => ownerKey(o as never, RESTORE_KIND);
  return kindController(
    new RestoreKind(api, caches, config, own, log),
    {
      primary: caches.restores,
      owned: [caches.jobs, caches.pods].map((source) => ({ source: source as never, owner })),
      // As DataMovers: the restores that started first take their next step first.
      rank: byCreation(caches.restores),
    },
    { api, workers: config.workers, log, metrics: own.runtime },
  );
}
