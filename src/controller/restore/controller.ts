// The DataMoverRestore kind on the shared plumbing (runtime.ts): restores are its primary objects, and
// it owns their Jobs and the Jobs' pods, read from the same child caches as the DataMover kind's
// (ownerKey tells whose a child is). The PVC a restore writes to is not its child: it is the user's
// data, so it is not cached, and a pass that waits for it to bind asks to be woken again.
import type { Logger } from 'winston';
import { RESTORE_KIND, type DataMoverRestore } from '../../api/v1alpha1/restore.js';
import type { KubeApi } from '../../kube/client.js';
import { ownerKey } from '../../kube/names.js';
import type { OperatorMetrics } from '../../metrics/metrics.js';
import { Pass } from '../pass.js';
import { byCreation, KindController } from '../runtime.js';
import type { RestoreConfig } from './machine.js';
import { RestoreKind, type RestoreCaches } from './reconcile.js';

export function restoreKind(
  api: KubeApi,
  caches: RestoreCaches,
  config: RestoreConfig & { workers: number },
  metrics: OperatorMetrics,
  log: Logger,
): KindController<DataMoverRestore> {
  const reconciler = new Pass(
    new RestoreKind(api, caches, config, metrics, log),
    api,
    metrics.reconcileTotal,
    log,
  );
  const owner = (o: unknown) => ownerKey(o as never, RESTORE_KIND);
  return new KindController<DataMoverRestore>(
    {
      kind: RESTORE_KIND,
      primary: caches.restores,
      owned: [caches.jobs, caches.pods].map((source) => ({ source: source as never, owner })),
      reconcile: (key) => reconciler.reconcile(key),
      // As DataMovers: the restores that started first take their next step first.
      rank: byCreation(caches.restores),
    },
    {
      workers: config.workers,
      log,
      metrics: {
        queueAdds: metrics.queueAdds,
        queueRetries: metrics.queueRetries,
        reconcileTotal: metrics.reconcileTotal,
        reconcileDuration: metrics.reconcileDuration,
        queueWait: metrics.queueWait,
        queueDepth: metrics.restoreQueueDepth,
      },
    },
  );
}
