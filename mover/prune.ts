// The prune after a scheduled, timestamped run: deletes the schedule's older runs that its keep
// policy does not keep (src/contract/retention.ts decides which; this file only does the I/O).
//
// A run is deleted in three steps, so a prune cut short at any point never leaves a folder that
// looks like a complete backup without its data:
//   1. its run marker is rewritten with state Deleting (one PUT: the marker is either the Complete
//      one or the Deleting one, never half of each), so no restore picks it from then on;
//   2. `rclone purge <root>/<run>/data/`: the volume's files go, the marker stays and says why;
//   3. `rclone purge <root>/<run>/`: the marker and the folder's directory markers.
// A later prune of the same schedule finishes a run it finds marked Deleting. Runs are deleted one at
// a time, oldest first, and the prune stops at the first failure: every run not yet reached is intact.
import { MARKER, markerPath, type MarkerContent, type RunMarker } from '../src/contract/layout.js';
import { pruneReport, type PruneReport } from '../src/contract/result.js';
import { planPrune } from '../src/contract/retention.js';
import { readRunMarkers, writeMarker } from './destination.js';
import { MoverError, classifyRcloneFailure, lastError, remotePath, type MoverPlan } from './plan.js';
import { MoverExit } from '../src/contract/exit-codes.js';
import { rclone } from './rclone.js';

/** rclone exits 3 when a folder or object does not exist. */
const NOT_FOUND = 3;

async function purge(plan: MoverPlan, folder: string): Promise<void> {
  const run = await rclone(['purge', remotePath(plan, `${folder}/`)], plan);
  if (run.code === 0 || run.code === NOT_FOUND) return;
  const failure = classifyRcloneFailure(run.output, plan);
  const detail =
    failure.exitCode === MoverExit.TransferFailed
      ? (lastError(run.output) ?? 'rclone exited with an error')
      : failure.message;
  throw new MoverError(failure.exitCode, `cannot delete ${folder}/: ${detail}`);
}

const message = (err: unknown) => String((err as Error)?.message ?? err);

async function deleteRun(plan: MoverPlan, run: string, marker: RunMarker): Promise<void> {
  const folder = `${plan.root}/${run}`;
  if (marker.state !== 'Deleting') {
    try {
      await writeMarker(plan, markerPath(folder), { ...marker, state: 'Deleting' });
    } catch (err) {
      throw new Error(
        `cannot mark ${folder}/ Deleting (${message(err).replace(/^sync failed: /, '')}); it is intact`,
        { cause: err },
      );
    }
  }
  try {
    await purge(plan, `${folder}/data`);
    await purge(plan, folder);
  } catch (err) {
    throw new Error(`${message(err)}; its ${MARKER} says Deleting, and the next prune finishes it`, {
      cause: err,
    });
  }
}

/**
 * Prunes the schedule's runs in the root by the plan's keep policy, the run just written kept. Never
 * throws: a failure is the report's error, and the backup it follows stays a success.
 */
export async function pruneRuns(plan: MoverPlan): Promise<PruneReport | undefined> {
  if (!plan.prune) return undefined;
  let markers: Map<string, MarkerContent | undefined>;
  try {
    markers = await readRunMarkers(plan);
  } catch (err) {
    return pruneReport(0, [], `cannot list the runs in ${plan.root}/: ${message(err)}`);
  }
  const decided = planPrune(
    markers,
    {
      namespace: plan.identity.namespace,
      pvc: plan.identity.pvc,
      schedule: plan.prune.schedule,
      current: plan.run,
    },
    plan.prune.keep,
  );
  const removed: string[] = [];
  for (const run of [...decided.finish, ...decided.remove]) {
    try {
      await deleteRun(plan, run, markers.get(run) as RunMarker);
    } catch (err) {
      return pruneReport(decided.keep.length, removed, message(err));
    }
    removed.push(run);
  }
  return pruneReport(decided.keep.length, removed);
}
