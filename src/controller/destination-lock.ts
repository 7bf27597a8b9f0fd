// One sync per destination at a time: of the unfinished DataMovers that write to one destination,
// the one whose mover already runs goes on; otherwise the earliest created goes first.
import type { DataMover } from '../api/v1alpha1/schema.js';
import { destinationKey } from '../mover/destination.js';
import { isTerminal } from './machine.js';

function startOf(dm: DataMover): Date {
  return new Date(dm.status?.startTime ?? dm.metadata.creationTimestamp ?? 0);
}

function before(a: DataMover, b: DataMover): boolean {
  const ta = new Date(a.metadata.creationTimestamp ?? 0).getTime();
  const tb = new Date(b.metadata.creationTimestamp ?? 0).getTime();
  return ta !== tb ? ta < tb : a.metadata.name < b.metadata.name;
}

const holdsDestination = (dm: DataMover) => dm.status?.phase === 'CreatingPod' && Boolean(dm.status.jobName);
const beforeSync = (dm: DataMover) =>
  dm.status?.phase === undefined ||
  dm.status.phase === 'CreatingClonedPVC' ||
  dm.status.phase === 'CreatingPod';

/** The DataMover that `dm` must wait for before it starts its mover, if any. */
export function destinationBusyWith(dm: DataMover, peers: Iterable<DataMover>): string | undefined {
  if (holdsDestination(dm)) return undefined;
  const key = destinationKey(dm, startOf(dm));
  let earliest: DataMover | undefined;
  for (const peer of peers) {
    if (peer.metadata.name === dm.metadata.name || peer.metadata.namespace !== dm.metadata.namespace)
      continue;
    if (isTerminal(peer.status?.phase) || peer.metadata.deletionTimestamp) continue;
    if (destinationKey(peer, startOf(peer)) !== key) continue;
    if (holdsDestination(peer)) return peer.metadata.name;
    if (beforeSync(peer) && before(peer, dm) && (!earliest || before(peer, earliest))) earliest = peer;
  }
  return earliest?.metadata.name;
}
