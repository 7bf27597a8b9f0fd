// The restore contract between the operator and the mover program: which run a restore reads
// (`latest` or a named run, of the PVC the root's markers name) and what it reports back. The
// environment is in env.ts, the manifest a backup leaves and a restore verifies against in
// manifest.ts. Pure: no I/O.
//
// A restore copies `<root>/<run>/data/` into the target volume and verifies the volume against the
// run's manifest; `verify` checks a run in the bucket against its manifest again, writing nothing.
// With client-side encryption (the Secret's RCLONE_CRYPT_PASSWORD) the data folder's names and
// contents and the manifest's content are encrypted.

import { UNREADABLE, isRunFolderName, type MarkerContent, type RunMarker } from './layout.js';
import type { VerifyReport } from './manifest.js';

export const LATEST = 'latest';
export const RESTORE_TARGET = '/restore';

/** What a restore did: which run it restored, how much, and its verification. */
export interface RestoreReport extends VerifyReport {
  run: string;
  bytes: number;
  files: number;
  /**
   * What the restore could not apply without failing: owners, for a mover that was not asked to
   * restore them and is not root (it cannot chown). Modes and times are never in it: one that could
   * not be applied is a mismatch and fails the restore. `count` entries, at most MAX_NAMED of them
   * named (`path: owner (65534:65534, not 999:999)`); added after the first version, so optional.
   */
  notApplied?: { count: number; named: string[] };
}

/** Whose backups a restore may read: the namespace and PVC its root marker and run markers name. */
export interface RestoreScope {
  namespace: string;
  pvc: string;
}

const isBackupOf = (m: MarkerContent | undefined, run: string, scope: RestoreScope): m is RunMarker =>
  m !== undefined &&
  m !== UNREADABLE &&
  m.kind === 'Backup' &&
  m.run === run &&
  m.namespace === scope.namespace &&
  m.pvc === scope.pvc;

/**
 * The run a restore reads: `latest` is the newest Complete backup of the PVC by its marker's start
 * time (the folder name breaks ties); a named run must be one. Runs still being written
 * (InProgress), abandoned (Abandoned), being deleted (Deleting), without a marker, with an unreadable
 * one or another PVC's are never picked. The error names what was looked for and what the root holds.
 */
export function pickRun(
  markers: ReadonlyMap<string, MarkerContent | undefined>,
  wanted: string,
  scope: RestoreScope,
  where: string,
): { run: string; marker: RunMarker } | { error: string } {
  const complete = [...markers]
    .filter(([run, m]) => isRunFolderName(run) && isBackupOf(m, run, scope) && m.state === 'Complete')
    .map(([run, m]) => ({ run, marker: m as RunMarker }))
    .sort(
      (a, b) => Date.parse(b.marker.startTime) - Date.parse(a.marker.startTime) || (a.run < b.run ? 1 : -1),
    );
  const found = wanted === LATEST ? complete[0] : complete.find((c) => c.run === wanted);
  if (found) return found;
  const states = [...markers]
    .sort(([a], [b]) => (a < b ? 1 : -1))
    .slice(0, 5)
    .map(([run, m]) => `${run} (${describeState(m, run, scope)})`);
  const holds = states.length
    ? `it holds ${states.join(', ')}${markers.size > 5 ? ', …' : ''}`
    : 'it holds no run';
  const what =
    wanted === LATEST
      ? `no Complete backup of PVC ${scope.namespace}/${scope.pvc}`
      : `no Complete backup ${wanted} of PVC ${scope.namespace}/${scope.pvc}`;
  return { error: `${what} in ${where}: ${holds}` };
}

function describeState(m: MarkerContent | undefined, run: string, scope: RestoreScope): string {
  if (m === undefined) return 'no marker';
  if (m === UNREADABLE || m.kind !== 'Backup' || m.run !== run) return 'unreadable marker';
  if (m.namespace !== scope.namespace || m.pvc !== scope.pvc) return `PVC ${m.namespace}/${m.pvc}`;
  return m.state;
}
