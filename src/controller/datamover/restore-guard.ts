// Restores shut out backups. While a DataMoverRestore writes into a PVC, a backup of that PVC waits
// before it clones it (it would back up a half-restored volume); while a restore reads a backup root,
// a run whose retention prunes that root waits before its mover starts (the prune could delete the
// very run the restore reads). Pure: the caller passes the restores it has cached.
import { trimSlashes } from '../../contract/layout.js';
import type { DataMover } from '../../api/v1alpha1/schema.js';
import type { DataMoverRestore } from '../../api/v1alpha1/restore.js';
import { PVC_ANNOTATION, SCHEDULE_ANNOTATION } from '../../kube/names.js';
import { backupRoot, rootsMeet } from '../../jobs/destination.js';

export interface RestoreInTheWay {
  /** `namespace/name` of the DataMoverRestore. */
  restore: string;
  /** It writes into the DataMover's source PVC, or reads the root the DataMover's run prunes. */
  why: 'writes' | 'reads';
}

const going = (r: DataMoverRestore) =>
  r.status?.phase !== 'Completed' && r.status?.phase !== 'Failed' && !r.metadata.deletionTimestamp;

const keyOf = (r: DataMoverRestore) => `${r.metadata.namespace}/${r.metadata.name}`;

/** The PVC a restore writes into (target.newPvc or target.existingPvc). */
const targetOf = (r: DataMoverRestore) => r.spec.target.newPvc?.name ?? r.spec.target.existingPvc;

/**
 * Whether a restore reads the root `dm` backs up to: its resolved source (status.source,
 * `<secret>:<root>/`), else its spec's backup root, else (a schedule source not yet resolved) the
 * schedule and PVC that made `dm`.
 */
function readsRootOf(r: DataMoverRestore, dm: DataMover): boolean {
  const resolved =
    r.status?.source === undefined ? undefined : trimSlashes(r.status.source.replace(/^[^:]*:/, ''));
  const backup = r.spec.source.backup;
  const root =
    resolved ||
    (backup ? trimSlashes(backup.backupRoot ?? `${r.metadata.namespace}/${backup.sourcePvc}`) : '');
  if (root) return rootsMeet(root, backupRoot(dm));
  const bySchedule = r.spec.source.schedule;
  const annotations = dm.metadata.annotations ?? {};
  return (
    bySchedule !== undefined &&
    r.metadata.namespace === dm.metadata.namespace &&
    annotations[SCHEDULE_ANNOTATION] === bySchedule.name &&
    annotations[PVC_ANNOTATION] === bySchedule.pvc
  );
}

/** The restore writing into `dm`'s source PVC, if one is under way: the backup waits before it clones. */
export function restoreWriting(
  dm: DataMover,
  restores: Iterable<DataMoverRestore>,
): RestoreInTheWay | undefined {
  for (const r of restores) {
    if (!going(r) || r.metadata.namespace !== dm.metadata.namespace) continue;
    if (targetOf(r) === dm.spec.sourcePvc) return { restore: keyOf(r), why: 'writes' };
  }
  return undefined;
}

/**
 * The restore reading the root `dm` prunes (a run with retention), if one is under way: the run
 * waits before its mover starts. A run without retention deletes nothing a restore could read.
 */
export function restoreReading(
  dm: DataMover,
  restores: Iterable<DataMoverRestore>,
): RestoreInTheWay | undefined {
  if (!dm.spec.retention) return undefined;
  for (const r of restores) if (going(r) && readsRootOf(r, dm)) return { restore: keyOf(r), why: 'reads' };
  return undefined;
}

/** The DataMovers a restore's change may release: those of its namespace backing up its target, and those pruning what it reads. */
export function heldBy(r: DataMoverRestore, dataMovers: Iterable<DataMover>): DataMover[] {
  const out: DataMover[] = [];
  for (const dm of dataMovers) {
    const phase = dm.status?.phase;
    if (phase !== undefined && phase !== 'CreatingClonedPVC' && phase !== 'CreatingPod') continue;
    const writes = dm.metadata.namespace === r.metadata.namespace && targetOf(r) === dm.spec.sourcePvc;
    if (writes || (dm.spec.retention && readsRootOf(r, dm))) out.push(dm);
  }
  return out;
}
