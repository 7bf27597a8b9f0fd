// The mover: checks its configuration, that every file is readable, that the bucket exists and that
// the destination belongs to this backup (src/contract/layout.ts), then marks its run folder, runs
// `rclone sync` from /data into it, marks the run complete, prunes the schedule's older runs when it
// has a keep policy (mover/prune.ts), and reports the result as JSON in its termination message. Exit
// codes (src/contract/exit-codes.ts) tell configuration errors from transfer errors; a failed prune
// is reported, not an exit code: the backup itself succeeded.
import { writeFileSync } from 'node:fs';
import { MoverExit } from '../src/contract/exit-codes.js';
import { checkDestination, markerPath, rootMarker, runMarker } from '../src/contract/layout.js';
import {
  MoverError,
  checkBucketArgs,
  classifyRcloneFailure,
  finalStats,
  planFromEnv,
  runFolder,
  syncArgs,
} from './plan.js';
import { findUnreadable } from './readable.js';
import type { MoverResult } from '../src/contract/result.js';
import { inspectDestination, writeMarker } from './destination.js';
import { pruneRuns } from './prune.js';
import { rclone } from './rclone.js';

const TERMINATION_LOG = process.env.DATAMOVER_TERMINATION_LOG || '/dev/termination-log';

function report(result: MoverResult): void {
  let json = JSON.stringify(result);
  if (json.length > 4000) json = JSON.stringify({ ...result, error: result.error?.slice(0, 2000) });
  try {
    writeFileSync(TERMINATION_LOG, json);
  } catch (err) {
    console.error(`cannot write the termination message to ${TERMINATION_LOG}: ${String(err)}`);
  }
}

async function run(started: number): Promise<number> {
  const plan = planFromEnv(process.env);
  const unreadable = await findUnreadable(plan.source);
  if (unreadable.count > 0) {
    const uid = process.getuid?.() ?? '?';
    throw new MoverError(
      MoverExit.UnreadableFiles,
      `cannot read ${unreadable.count} file(s) as uid ${uid}: ${unreadable.examples.join(', ')}; run the mover as the application's user (DataMover spec.securityContext.runAsUser/runAsGroup)`,
    );
  }
  const check = await rclone(checkBucketArgs(plan), plan);
  if (check.code !== 0) throw classifyRcloneFailure(check.output, plan);
  const verdict = checkDestination(await inspectDestination(plan), plan.identity);
  if (!verdict.ok) throw new MoverError(MoverExit.DestinationConflict, verdict.message);
  if (verdict.writeRootMarker) {
    await writeMarker(plan, markerPath(plan.root), rootMarker(plan.identity, new Date()));
  }
  // Marked before the first byte: a run folder without a marker is never one of ours, and a run
  // still being written says so.
  const marker = runMarker(plan.identity, plan.run, plan.startTime);
  await writeMarker(plan, markerPath(runFolder(plan)), marker);
  const sync = await rclone(syncArgs(plan), plan);
  if (sync.code !== 0) throw classifyRcloneFailure(sync.output, plan);
  const stats = finalStats(sync.output) ?? { bytes: 0, files: 0, errors: 0 };
  await writeMarker(plan, markerPath(runFolder(plan)), {
    ...marker,
    state: 'Complete',
    completionTime: new Date().toISOString(),
    bytes: stats.bytes,
    files: stats.files,
  });
  const destination = `${plan.bucket}/${runFolder(plan)}/`;
  console.error(`synced ${stats.files} file(s), ${stats.bytes} bytes to ${destination}`);
  const prune = await pruneRuns(plan);
  if (prune) {
    const names = prune.removed.join(', ') || 'none';
    console.error(
      `pruned ${prune.removedCount} run(s) of schedule ${plan.prune?.schedule} (${names}), kept ${prune.kept}` +
        (prune.error ? `; the prune stopped: ${prune.error}` : ''),
    );
  }
  report({ ...stats, seconds: (Date.now() - started) / 1000, destination, ...(prune ? { prune } : {}) });
  return MoverExit.Ok;
}
async function main(): Promise<void> {
  const started = Date.now();
  try {
    process.exitCode = await run(started);
  } catch (err) {
    const failure =
      err instanceof MoverError
        ? err
        : new MoverError(MoverExit.TransferFailed, String((err as Error)?.message ?? err));
    report({ error: failure.message, seconds: (Date.now() - started) / 1000 });
    console.error(`datamover: ${failure.message}`);
    process.exitCode = failure.exitCode;
  }
}

await main();
