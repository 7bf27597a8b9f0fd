// The backup command: checks its configuration, that every file is readable, that the bucket exists
// and that the destination belongs to this backup (src/contract/layout.ts), then marks its run folder,
// runs `rclone sync` from /data into it, writes the run's manifest by walking /data, verifies the
// bucket against it (mover/verify.ts), marks the run Complete, prunes the schedule's older runs
// when it has a keep policy, and deletes the PVC's abandoned runs when the operator says which
// DataMovers are live (mover/prune.ts). A verify that finds a difference fails the run (exit 9)
// and leaves its marker InProgress, so no restore of `latest` ever picks it. A failed prune or
// deletion is reported, not an exit code: the backup itself succeeded.
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { MoverExit } from '../src/contract/exit-codes.js';
import {
  DATA_FOLDER,
  checkDestination,
  markerPath,
  rootMarker,
  runMarker,
  type RunMarker,
} from '../src/contract/layout.js';
import { manifestLine } from '../src/contract/manifest.js';
import type { AbandonedReport, MoverResult, PruneReport } from '../src/contract/result.js';
import { incrementalBase, inspectDestination, writeMarker } from './destination.js';
import {
  COPY_FLAGS,
  MoverError,
  checkBucketArgs,
  forRun,
  remotePath,
  manifestObject,
  manifestPath,
  runFolder,
  syncArgs,
  type MoverPlan,
} from './plan.js';
import { tidyRoot } from './prune.js';
import { rclone, classifyRcloneFailure, finalStats } from './rclone.js';
import { findUnreadable } from './readable.js';
import { describe } from './tree.js';
import { verifyBucket, type ManifestInfo } from './verify.js';

/**
 * The paths the sync copied, when include/exclude filters are set: rclone decides what its filters
 * match, so the manifest asks rclone (`lsf` of the source with the same rules) instead of guessing.
 * Folders end with `/`, symlinks are named as their link.
 */
async function filteredPaths(plan: MoverPlan): Promise<((path: string) => boolean) | undefined> {
  const { include, exclude } = plan.options;
  if (include.length === 0 && exclude.length === 0) return undefined;
  const paths = new Set<string>();
  const args = ['lsf', '-R', '--links', `${plan.source.replace(/\/+$/, '')}/`];
  for (const pattern of include) args.push('--include', pattern);
  for (const pattern of exclude) args.push('--exclude', pattern);
  const run = await rclone(args, plan, { onLine: (line) => paths.add(line.replace(/\.rclonelink$/, '')) });
  if (run.code !== 0)
    throw new MoverError(MoverExit.TransferFailed, `cannot list ${plan.source} with the filters`);
  return (path) => paths.has(path);
}

/**
 * Walks the source into `<run>/manifest.jsonl` (rclone rcat, streamed), hashing it on the way; also
 * adds up the files' sizes.
 */
async function writeManifest(plan: MoverPlan): Promise<{ info: ManifestInfo; fileBytes: number }> {
  const keep = await filteredPaths(plan);
  const hash = createHash('sha256');
  const info = { entries: 0, bytes: 0, sha256: '' };
  let fileBytes = 0;
  let walkError: unknown;
  async function* lines() {
    try {
      for await (const entry of describe(plan.source, { md5: true, ...(keep ? { keep } : {}) })) {
        if (entry.type === 'file') fileBytes += entry.size ?? 0;
        const line = `${manifestLine(entry)}\n`;
        info.entries += 1;
        info.bytes += Buffer.byteLength(line, 'utf8');
        hash.update(line);
        yield line;
      }
    } catch (err) {
      walkError = err;
      throw err;
    }
  }
  const run = await rclone(['rcat', manifestPath(plan, runFolder(plan))], plan, {
    input: Readable.from(lines()),
  });
  if (walkError) {
    throw new MoverError(
      MoverExit.TransferFailed,
      `cannot read ${plan.source} for the manifest: ${String(walkError)}`,
    );
  }
  if (run.code !== 0) throw classifyRcloneFailure(run.output, plan);
  return { info: { ...info, sha256: hash.digest('hex') }, fileBytes };
}

/**
 * The base of an incremental run (destination.ts), made ready. A plain run copies from it during its
 * sync (--copy-dest). An encrypted run's crypt remotes cover only its own folder, and rclone copies
 * inside the bucket only within one remote, so its data folder is seeded first: the base's objects
 * copied as they are, ciphertext and encrypted names, which decrypt with the same keys; the sync
 * then overwrites what changed and deletes what went. A base written with other keys (its manifest
 * does not decrypt) is no base: the run uploads in full.
 */
async function baseFor(plan: MoverPlan, entries: readonly string[]): Promise<string | undefined> {
  const base = await incrementalBase(plan, entries);
  if (!base || !plan.crypt) return base;
  const baseFolder = `${plan.root}/${base}`;
  const baseRemote = forRun(plan, baseFolder);
  const check = await rclone(['cat', '--head', '1', manifestPath(baseRemote, baseFolder)], baseRemote, {
    quiet: true,
  });
  if (check.code !== 0) {
    console.error(`${baseFolder}/ does not decrypt with this run's keys: uploading in full`);
    return undefined;
  }
  const seed = await rclone(
    [
      'copy',
      remotePath(plan, `${baseFolder}/${DATA_FOLDER}/`),
      remotePath(plan, `${runFolder(plan)}/${DATA_FOLDER}/`),
      '--metadata',
      '--ignore-existing',
      ...COPY_FLAGS,
    ],
    plan,
  );
  if (seed.code !== 0) throw classifyRcloneFailure(seed.output, plan);
  return base;
}

/** What the prune and the deletion of abandoned runs did, in the mover's log. */
function logTidy(plan: MoverPlan, prune?: PruneReport, abandoned?: AbandonedReport): void {
  if (prune) {
    const names = prune.removed.join(', ') || 'none';
    console.error(
      `pruned ${prune.removedCount} run(s) of schedule ${plan.prune?.schedule} (${names}), kept ${prune.kept}` +
        (prune.error ? `; the prune stopped: ${prune.error}` : ''),
    );
  }
  if (abandoned) {
    const { namespace, pvc } = plan.identity;
    console.error(
      `deleted ${abandoned.removedCount} abandoned run(s) of PVC ${namespace}/${pvc} (${abandoned.removed.join(', ') || 'none'})` +
        (abandoned.error ? `; the deletion stopped: ${abandoned.error}` : ''),
    );
  }
}

export async function backup(plan: MoverPlan, started: number): Promise<MoverResult> {
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
  const facts = await inspectDestination(plan);
  const verdict = checkDestination(facts, plan.identity);
  if (!verdict.ok) throw new MoverError(MoverExit.DestinationConflict, verdict.message);
  if (verdict.writeRootMarker) {
    await writeMarker(plan, markerPath(plan.root), rootMarker(plan.identity, new Date()));
  }
  // Marked before the first byte: a run folder without a marker is never one of ours, and a run
  // still being written says so.
  const marker: RunMarker = {
    ...runMarker(plan.identity, plan.run, plan.startTime),
    ...(plan.crypt ? { encrypted: true } : {}),
  };
  const markerAt = markerPath(runFolder(plan));
  await writeMarker(plan, markerAt, marker);
  // Incremental: files unchanged since the newest Complete run are copied inside the bucket, so each
  // run stays whole on its own (restorable alone, pruned alone) and only what changed is uploaded.
  const synced = Date.now();
  const base = await baseFor(plan, facts.entries);
  const sync = await rclone(syncArgs(plan, plan.crypt ? undefined : base), plan);
  if (sync.code !== 0) throw classifyRcloneFailure(sync.output, plan);
  const { serverSideBytes, ...stats } = finalStats(sync.output) ?? {
    bytes: 0,
    files: 0,
    errors: 0,
    serverSideBytes: 0,
  };
  const uploaded = Math.max(0, stats.bytes - serverSideBytes);
  const syncSeconds = (Date.now() - synced) / 1000;
  const destination = `${plan.bucket}/${runFolder(plan)}/`;
  console.error(
    `synced ${stats.files} file(s), ${stats.bytes} bytes to ${destination} in ${syncSeconds} s: ${uploaded} bytes uploaded` +
      (base ? `, ${serverSideBytes} copied in the bucket from ${plan.root}/${base}/` : ''),
  );

  const verifying = Date.now();
  const { info: manifest, fileBytes } = await writeManifest(plan);
  // Encrypted, rclone counts the ciphertext it sent (uploaded), and a run seeded from its base sent
  // only what changed: the run's bytes are its files' own.
  if (plan.crypt) stats.bytes = fileBytes;
  // The manifest's hash is in the marker before anything reads the manifest back.
  await writeMarker(plan, markerAt, { ...marker, manifest });
  const verify = await verifyBucket(plan, runFolder(plan), manifest);
  const verifySeconds = (Date.now() - verifying) / 1000;
  console.error(
    `manifest ${manifestObject(plan, runFolder(plan))}: ${manifest.entries} entries; verified ${verify.verified}, ${verify.mismatches} mismatch(es) in ${verifySeconds} s`,
  );
  if (verify.mismatches > 0) {
    throw new MoverError(
      MoverExit.VerifyFailed,
      `the bucket differs from the backup's manifest in ${verify.mismatches} entr${verify.mismatches === 1 ? 'y' : 'ies'} (${verify.mismatched.join('; ')}); ${markerAt} stays InProgress`,
      { verify, destination },
    );
  }
  await writeMarker(plan, markerAt, {
    ...marker,
    state: 'Complete',
    completionTime: new Date().toISOString(),
    bytes: stats.bytes,
    files: stats.files,
    manifest,
  });
  const { prune, abandoned } = await tidyRoot(plan);
  logTidy(plan, prune, abandoned);
  return {
    ...stats,
    uploaded,
    ...(base ? { base } : {}),
    seconds: (Date.now() - started) / 1000,
    destination,
    verify,
    ...(prune ? { prune } : {}),
    ...(abandoned ? { abandoned } : {}),
  };
}
