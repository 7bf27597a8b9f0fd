// What a backup deletes after its sync: the schedule's older runs that its keep policy does not keep
// (the prune of a scheduled, timestamped run), and the PVC's abandoned runs, InProgress runs of
// DataMovers that no longer exist (src/contract/retention.ts decides which; this file only does the
// I/O). Both read the root's run markers once.
//
// A run is deleted in three steps, so a prune cut short at any point never leaves a folder that
// looks like a complete backup without its data:
//   1. its run marker is rewritten with state Deleting (one PUT: the marker is either the Complete
//      one or the Deleting one, never half of each), so no restore picks it from then on;
//   2. `rclone purge <root>/<run>/data/`: the volume's files go, the marker stays and says why;
//   3. `rclone purge <root>/<run>/`: the marker and the folder's directory markers.
// A later prune of the same schedule finishes a run it finds marked Deleting. Runs are deleted one at
// a time, oldest first, and the prune stops at the first failure: every run not yet reached is intact.
// An abandoned run is first marked Abandoned (recorded in its Deleting marker too), then deleted the
// same way; the next backup of the PVC finishes one it finds so.
import { MARKER, markerPath, type MarkerContent, type RunMarker } from '../src/contract/layout.js';
import {
  abandonedReport,
  pruneReport,
  type AbandonedReport,
  type PruneReport,
} from '../src/contract/result.js';
import { planAbandoned, planPrune } from '../src/contract/retention.js';
import { readRunMarkers, writeMarker } from './destination.js';
import { MoverError, remotePath, type MoverPlan } from './plan.js';
import { MoverExit } from '../src/contract/exit-codes.js';
import { rclone, classifyRcloneFailure, lastError } from './rclone.js';

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

async function deleteRun(
  plan: MoverPlan,
  run: string,
  marker: RunMarker,
  finisher = 'the next prune',
): Promise<void> {
  const folder = `${plan.root}/${run}`;
  if (marker.state !== 'Deleting') {
    try {
      await writeMarker(plan, markerPath(folder), { ...marker, state: 'Deleting' });
    } catch (err) {
      const still =
        marker.state === 'Abandoned' ? `, its ${MARKER} says Abandoned, and ${finisher} finishes it` : '';
      throw new Error(
        `cannot mark ${folder}/ Deleting (${message(err).replace(/^sync failed: /, '')}); it is intact${still}`,
        { cause: err },
      );
    }
  }
  try {
    await purge(plan, `${folder}/data`);
    await purge(plan, folder);
  } catch (err) {
    throw new Error(`${message(err)}; its ${MARKER} says Deleting, and ${finisher} finishes it`, {
      cause: err,
    });
  }
}

type Markers = Map<string, MarkerContent | undefined>;

/**
 * Prunes the schedule's runs in the root by the plan's keep policy, the run just written kept. Never
 * throws: a failure is the report's error, and the backup it follows stays a success. Returns the
 * runs it deleted, all of them, beside the bounded report.
 */
async function pruneRuns(
  plan: MoverPlan & { prune: NonNullable<MoverPlan['prune']> },
  markers: Markers,
): Promise<{ report: PruneReport; removed: string[] }> {
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
      return { report: pruneReport(decided.keep.length, removed, message(err)), removed };
    }
    removed.push(run);
  }
  return { report: pruneReport(decided.keep.length, removed), removed };
}

/**
 * Deletes the PVC's abandoned runs: InProgress runs of DataMovers not in the plan's live list (first
 * marked Abandoned), and runs an earlier backup marked so and did not finish. Runs the prune has just
 * deleted are skipped. Never throws: a failure is the report's error, the backup stays a success.
 */
async function removeAbandoned(
  plan: MoverPlan & { liveRuns: ReadonlySet<string> },
  markers: Markers,
  pruned: ReadonlySet<string>,
): Promise<AbandonedReport | undefined> {
  const decided = planAbandoned(markers, {
    namespace: plan.identity.namespace,
    pvc: plan.identity.pvc,
    current: plan.run,
    uid: plan.identity.dataMover.uid,
    live: plan.liveRuns,
  });
  const removed: string[] = [];
  const finisher = 'the next backup of this PVC';
  for (const run of [...decided.finish, ...decided.abandon].filter((r) => !pruned.has(r))) {
    let marker = markers.get(run) as RunMarker;
    try {
      if (marker.state === 'InProgress') {
        const abandoned: RunMarker = { ...marker, state: 'Abandoned', abandoned: new Date().toISOString() };
        const folder = `${plan.root}/${run}`;
        try {
          await writeMarker(plan, markerPath(folder), abandoned);
        } catch (err) {
          throw new Error(
            `cannot mark ${folder}/ Abandoned (${message(err).replace(/^sync failed: /, '')}); it is intact`,
            { cause: err },
          );
        }
        marker = abandoned;
      }
      await deleteRun(plan, run, marker, finisher);
    } catch (err) {
      return abandonedReport(removed, message(err));
    }
    removed.push(run);
  }
  return removed.length > 0 ? abandonedReport(removed) : undefined;
}

/**
 * After a backup's sync: the prune (with a keep policy) and the deletion of abandoned runs (with the
 * live list), on one reading of the root's run markers. Never throws.
 */
export async function tidyRoot(
  plan: MoverPlan,
): Promise<{ prune?: PruneReport; abandoned?: AbandonedReport }> {
  const { prune, liveRuns } = plan;
  if (!prune && !liveRuns) return {};
  let markers: Markers;
  try {
    markers = await readRunMarkers(plan);
  } catch (err) {
    const error = `cannot list the runs in ${plan.root}/: ${message(err)}`;
    return {
      ...(prune ? { prune: pruneReport(0, [], error) } : {}),
      ...(liveRuns ? { abandoned: abandonedReport([], error) } : {}),
    };
  }
  const pruned = prune ? await pruneRuns({ ...plan, prune }, markers) : undefined;
  const abandoned = liveRuns
    ? await removeAbandoned({ ...plan, liveRuns }, markers, new Set(pruned?.removed))
    : undefined;
  return { ...(pruned ? { prune: pruned.report } : {}), ...(abandoned ? { abandoned } : {}) };
}
