// The restore command: copies a backup's `<root>/<run>/data/` (a named run, or `latest`: the newest
// Complete one) into the target volume, sets from the manifest what rclone does not restore, and
// verifies the volume against the manifest byte for byte (SHA-256 of every file read back from the
// volume), with types, sizes, link targets, modes and times, and owners when it runs as root.
//
// rclone copies contents, names, file times and empty folders (--create-empty-src-dirs), the flags
// the backup's sync uses, but no links: this program makes them from the manifest after the copy
// (mover/tree.ts), so that nothing rclone writes can pass through one (below, restoreArgs). It runs
// without --metadata here: on a local target rclone would write the S3 objects' own metadata
// (content-type, tier) as user.* xattrs the volume never had. The manifest is the record of links,
// modes, owners and times, and this program applies it (mover/tree.ts), never outside the target:
// an entry beneath a link is not applied, and fails the restore (VerifyFailed). Owners are
// applied when asked (DATAMOVER_RESTORE_OWNERS=true: the mover must be root with CAP_CHOWN, and an
// owner that differs afterwards fails the restore) or when it runs as root anyway. A mover that is
// neither cannot chown: it reports the owners it could not apply (the count and the first paths) and
// does not fail for them; the operator turns that report into status, a condition and a Warning event.
// Modes and times are always applied, and one that could not be is a mismatch: the restore fails.
import { lstat, readdir } from 'node:fs/promises';
import { MoverExit } from '../src/contract/exit-codes.js';
import { RestoreEnv } from '../src/contract/env.js';
import { MAX_NAMED } from '../src/contract/manifest.js';
import { type RestoreReport } from '../src/contract/restore.js';
import { LINK_SUFFIX, compareTree } from './manifest.js';
import { COPY_FLAGS, MoverError, dataPath, type RestorePlan } from './plan.js';
import { rclone, classifyRcloneFailure, finalStats } from './rclone.js';
import { applyManifest, describe, removeLinks } from './tree.js';
import { openBackup, readManifest } from './verify.js';

/** Names a fresh volume holds before anything is written to it. */
const FRESH_VOLUME = new Set(['lost+found']);

async function checkTarget(plan: RestorePlan): Promise<void> {
  const uid = process.getuid?.();
  if (plan.owners && uid !== 0) {
    throw new MoverError(
      MoverExit.ConfigError,
      `${RestoreEnv.owners}=true needs a mover that runs as root with CAP_CHOWN and CAP_FOWNER (a DataMoverRestore with restoreOwners: true), not uid ${uid}`,
    );
  }
  const st = await lstat(plan.target).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new MoverError(
      MoverExit.ConfigError,
      `the restore target ${plan.target} is not a folder (is the volume mounted?)`,
    );
  }
  const held = (await readdir(plan.target)).filter((n) => !FRESH_VOLUME.has(n));
  if (held.length > 0 && !plan.overwrite) {
    throw new MoverError(
      MoverExit.ConfigError,
      `the restore target ${plan.target} is not empty (it holds ${held.slice(0, 3).join(', ')}${held.length > 3 ? ', …' : ''}); restore into an empty volume, or set ${RestoreEnv.overwrite}=true to replace what it holds`,
    );
  }
}

export function restoreArgs(plan: RestorePlan, data: string): string[] {
  return [
    // Overwriting makes the target the backup: what the backup does not have is deleted.
    plan.overwrite ? 'sync' : 'copy',
    data,
    `${plan.target.replace(/\/+$/, '')}/`,
    // No --links, and the links' objects left out: rclone writes by path, so a link it made (`x` to
    // /etc) before it writes an object below its name (a crafted `x/passwd`) would lead the write
    // out of the volume, as root with restoreOwners. applyManifest makes the links after the copy.
    ...COPY_FLAGS.filter((flag) => flag !== '--links'),
    '--exclude',
    `*${LINK_SUFFIX}`,
  ];
}

export async function restore(plan: RestorePlan): Promise<RestoreReport> {
  await checkTarget(plan);
  const backup = await openBackup(plan);
  const { remote, folder, marker } = backup;
  if (!marker.manifest) {
    throw new MoverError(
      MoverExit.VerifyFailed,
      `the backup ${folder}/ has no manifest (written by an older mover): restore it by hand with rclone (docs/mover.md, "Disaster recovery")`,
    );
  }
  const expected = marker.manifest;
  // The manifest is checked whole before the volume is touched: a corrupt one restores nothing.
  const pass = readManifest(remote, folder, expected);
  while (!(await pass.next()).done);

  // And no link the target holds may lead rclone's writes elsewhere (tree.ts, removeLinks).
  await removeLinks(plan.target);
  const copy = await rclone(restoreArgs(plan, dataPath(remote, folder)), remote);
  // A file rclone could not copy (an object that does not decrypt) is named by the verify below;
  // only a failure of the bucket itself (credentials, endpoint) ends the restore here.
  const copyFailure = copy.code === 0 ? undefined : classifyRcloneFailure(copy.output, remote);
  if (copyFailure && copyFailure.exitCode !== MoverExit.TransferFailed) throw copyFailure;
  const stats = finalStats(copy.output);
  console.error(
    `copied ${stats?.files ?? 0} file(s), ${stats?.bytes ?? 0} bytes from ${plan.bucket}/${folder}/ to ${plan.target}`,
  );

  // Owners are applied (and must match) when asked, or by a mover that is root anyway.
  const uid = process.getuid?.();
  const owners = plan.owners || uid === 0;
  const refused = await applyManifest(plan.target, readManifest(remote, folder, expected), owners);
  let files = 0;
  let bytes = 0;
  async function* counted() {
    for await (const e of readManifest(remote, folder, expected)) {
      if (e.type === 'file') {
        files += 1;
        bytes += e.size ?? 0;
      }
      yield e;
    }
  }
  const checked = await compareTree(counted(), describe(plan.target, { md5: false }), { owners });
  // An entry refused beneath a link is one the verify finds missing (its walk never follows a link):
  // the report names it with the reason instead, first.
  const mismatched = [
    ...refused.named,
    ...checked.verify.mismatched.filter((m) => !refused.paths.some((path) => m === `${path}: missing`)),
  ].slice(0, MAX_NAMED);
  const report: RestoreReport = {
    run: backup.run,
    bytes,
    files,
    ...checked.verify,
    mismatches: Math.max(checked.verify.mismatches, refused.count),
    mismatched,
    ...(checked.notApplied.count ? { notApplied: checked.notApplied } : {}),
  };
  if (checked.notApplied.count) {
    const n = checked.notApplied.count;
    console.error(
      `WARNING: could not apply the owner of ${n} entr${n === 1 ? 'y' : 'ies'} (the mover runs as uid ${uid}, not root; a DataMoverRestore with restoreOwners: true applies them): ${checked.notApplied.named.join('; ')}`,
    );
  }
  if (report.mismatches > 0) {
    // A backup with entries beneath its own links is not one a volume can hold (crafted, or damaged).
    const beneath = refused.count
      ? `${refused.count} entr${refused.count === 1 ? 'y' : 'ies'} of the backup lie beneath a link and were not restored; `
      : '';
    throw new MoverError(
      MoverExit.VerifyFailed,
      `${beneath}the restored ${plan.target} differs from the backup ${folder}/ in ${report.mismatches} entr${report.mismatches === 1 ? 'y' : 'ies'}: ${report.mismatched.join('; ')}`,
      { restore: report },
    );
  }
  console.error(
    `restored and verified ${report.verified} entries (${files} files, ${bytes} bytes) of ${folder}/`,
  );
  return report;
}
