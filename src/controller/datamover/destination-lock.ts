// One sync per destination at a time: of the unfinished DataMovers whose backup roots could meet
// (the same root, or one inside the other; in any namespace, whatever their Secrets), the one whose
// mover already runs goes on; otherwise the earliest created goes first. The mover's markers are the
// last line of defence (layout.ts); this lock keeps two runs of one cluster from racing to them.
import type { DataMover } from '../../api/v1alpha1/schema.js';
import { backupRoot, rootsMeet } from '../../jobs/destination.js';
import { isTerminal } from '../status-builder.js';

function before(a: DataMover, b: DataMover): boolean {
  const ta = new Date(a.metadata.creationTimestamp ?? 0).getTime();
  const tb = new Date(b.metadata.creationTimestamp ?? 0).getTime();
  if (ta !== tb) return ta < tb;
  const ka = `${a.metadata.namespace}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace}/${b.metadata.name}`;
  return ka < kb;
}

const holdsDestination = (dm: DataMover) => dm.status?.phase === 'CreatingPod' && Boolean(dm.status.jobName);
const beforeSync = (dm: DataMover) =>
  dm.status?.phase === undefined ||
  dm.status.phase === 'CreatingClonedPVC' ||
  dm.status.phase === 'CreatingPod';

const same = (a: DataMover, b: DataMover) =>
  a.metadata.name === b.metadata.name && a.metadata.namespace === b.metadata.namespace;

/** The DataMover (`namespace/name`) that `dm` must wait for before it starts its mover, if any. */
export function destinationBusyWith(dm: DataMover, peers: Iterable<DataMover>): string | undefined {
  if (holdsDestination(dm)) return undefined;
  const root = backupRoot(dm);
  let earliest: DataMover | undefined;
  for (const peer of peers) {
    if (same(peer, dm) || isTerminal(peer.status?.phase) || peer.metadata.deletionTimestamp) continue;
    if (!rootsMeet(backupRoot(peer), root)) continue;
    if (holdsDestination(peer)) return `${peer.metadata.namespace}/${peer.metadata.name}`;
    if (beforeSync(peer) && before(peer, dm) && (!earliest || before(peer, earliest))) earliest = peer;
  }
  return earliest ? `${earliest.metadata.namespace}/${earliest.metadata.name}` : undefined;
}

/** DataMovers that may be waiting for a destination `dm` held: to wake when it finishes. */
export function waitingFor(dm: DataMover, peers: Iterable<DataMover>): DataMover[] {
  const root = backupRoot(dm);
  const out: DataMover[] = [];
  for (const peer of peers) {
    if (peer.status?.phase === 'CreatingPod' && !peer.status.jobName && rootsMeet(backupRoot(peer), root))
      out.push(peer);
  }
  return out;
}

/**
 * The UIDs of the DataMovers that back up to `dm`'s root and still exist (not being deleted), `dm`
 * among them: the mover deletes the PVC's InProgress runs of any other DataMover as abandoned
 * (DATAMOVER_LIVE_RUNS). Roots never nest, so only an equal root can hold the PVC's runs.
 */
export function liveRunsOf(dm: DataMover, peers: Iterable<DataMover>): string[] {
  const root = backupRoot(dm);
  const uids = new Set<string>(dm.metadata.uid ? [dm.metadata.uid] : []);
  for (const peer of peers)
    if (peer.metadata.uid && !peer.metadata.deletionTimestamp && backupRoot(peer) === root)
      uids.add(peer.metadata.uid);
  return [...uids].sort();
}
