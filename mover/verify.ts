// Checks a run in the bucket against its manifest: after a backup's sync (mover/backup.ts), and as
// the `verify` command, which reads a run (named or `latest`) and writes nothing. Also what restore
// shares with verify: finding the run to read and streaming its manifest.
//
// How the content is checked, and why:
//   - without encryption, one listing of the data folder with MD5s (`rclone lsjson --hash`). An S3
//     server computes the ETag from the bytes it received, and rclone sends each part of a multipart
//     upload with its Content-MD5 and keeps the whole file's MD5 in md5chksum, so the listing tells
//     what the bucket holds without downloading it; the manifest keeps the MD5 the backup read beside
//     its SHA-256. No object is read back: the cost is one listing.
//   - with encryption, the bucket holds ciphertext with random nonces, whose MD5 says nothing about
//     the plaintext. The data folder is downloaded through the crypt remote and hashed with SHA-256
//     (`rclone hashsum sha256 --download`): decryption also checks every 64 KiB block's Poly1305
//     tag, so a changed byte fails. It costs a full read of the backup.
// The manifest itself is read back from the bucket and its SHA-256 compared with the run marker's.
import { createHash } from 'node:crypto';
import { MoverExit } from '../src/contract/exit-codes.js';
import { markerPath, type RunMarker } from '../src/contract/layout.js';
import { parseManifestLine, type ManifestEntry, type VerifyReport } from '../src/contract/manifest.js';
import { pickRun } from '../src/contract/restore.js';
import { readMarker, readRuns } from './destination.js';
import { BucketCheck, type HashKind, type ListedObject } from './manifest.js';
import {
  MoverError,
  checkBucketArgs,
  dataPath,
  forRun,
  manifestObject,
  manifestPath,
  type Remote,
  type RestorePlan,
} from './plan.js';
import { rclone, rcloneLines, classifyRcloneFailure, lastError } from './rclone.js';

/** rclone exits 3 when a folder or object does not exist. */
const NOT_FOUND = 3;

export interface ManifestInfo {
  entries: number;
  bytes: number;
  sha256: string;
}

/**
 * The run's manifest from the bucket, entry by entry; `info` is complete once the iteration ends. A
 * line that is not an entry, or a manifest whose hash differs from `expected`, fails the verify.
 */
export async function* readManifest(
  remote: Remote,
  folder: string,
  expected?: ManifestInfo,
): AsyncGenerator<ManifestEntry, ManifestInfo> {
  const { lines, done } = rcloneLines(['cat', manifestPath(remote, folder)], remote);
  const hash = createHash('sha256');
  let entries = 0;
  let bytes = 0;
  let bad: string | undefined;
  for await (const line of lines) {
    hash.update(`${line}\n`);
    bytes += Buffer.byteLength(line, 'utf8') + 1;
    if (!line) continue;
    entries += 1;
    const entry = parseManifestLine(line);
    if (entry) yield entry;
    else bad ??= `line ${entries}`;
  }
  const run = await done;
  const object = manifestObject(remote, folder);
  if (run.code !== 0) {
    if (run.code === NOT_FOUND)
      throw new MoverError(MoverExit.VerifyFailed, `the manifest ${object} is missing`);
    const failure = classifyRcloneFailure(run.output, remote);
    if (failure.exitCode !== MoverExit.TransferFailed) throw failure;
    throw new MoverError(
      remote.crypt ? MoverExit.ConfigError : MoverExit.TransferFailed,
      `cannot read the manifest ${object}: ${lastError(run.output) ?? 'rclone failed'}` +
        (remote.crypt ? ' (is RCLONE_CRYPT_PASSWORD the key this backup was written with?)' : ''),
    );
  }
  const info = { entries, bytes, sha256: hash.digest('hex') };
  if (bad) throw new MoverError(MoverExit.VerifyFailed, `the manifest ${object} is corrupt (${bad})`);
  if (expected && (expected.sha256 !== info.sha256 || expected.entries !== info.entries)) {
    throw new MoverError(
      MoverExit.VerifyFailed,
      `the manifest ${object} is not the one the backup recorded in its marker (SHA-256 ${info.sha256.slice(0, 12)}…, not ${expected.sha256.slice(0, 12)}…)`,
    );
  }
  return info;
}

/** One `lsjson` line (rclone prints an array, one object a line) as a path and an object. */
function listedLine(line: string, kind: HashKind): [string, ListedObject] | undefined {
  const text = line.trim().replace(/,$/, '');
  if (!text.startsWith('{')) return undefined;
  const o = JSON.parse(text) as {
    Path: string;
    Size: number;
    IsDir: boolean;
    Hashes?: Record<string, string>;
  };
  const hash = o.Hashes?.[kind];
  return [o.Path, { isDir: o.IsDir, size: o.IsDir ? 0 : o.Size, ...(hash ? { hash } : {}) }];
}

/** The data folder's objects, with MD5 from the listing, or SHA-256 of their downloaded plaintext. */
async function listData(
  remote: Remote,
  folder: string,
): Promise<{ listing: Map<string, ListedObject>; kind: HashKind }> {
  const kind: HashKind = remote.crypt ? 'sha256' : 'md5';
  const listing = new Map<string, ListedObject>();
  const data = dataPath(remote, folder);
  const hashFlags = remote.crypt ? [] : ['--hash', '--hash-type', 'md5'];
  const list = await rclone(['lsjson', '-R', '--no-mimetype', ...hashFlags, data], remote, {
    onLine: (line) => {
      const e = listedLine(line, kind);
      if (e) listing.set(e[0], e[1]);
    },
  });
  if (list.code === NOT_FOUND) return { listing, kind };
  if (list.code !== 0) throw classifyRcloneFailure(list.output, remote);
  if (remote.crypt) {
    const sums = await rclone(['hashsum', 'sha256', '--download', data], remote, {
      onLine: (line) => {
        const m = /^([0-9a-f]{64}) {2}(.*)$/.exec(line);
        const o = m ? listing.get(m[2]!) : undefined;
        if (o) o.hash = m![1]!;
      },
    });
    // An object that cannot be downloaded or decrypted (a changed byte fails its block's tag) is a
    // difference to name, not a failed run: it is left without a hash and reported by BucketCheck.
    const failure = sums.code === 0 ? undefined : classifyRcloneFailure(sums.output, remote);
    if (failure && failure.exitCode !== MoverExit.TransferFailed) throw failure;
  }
  return { listing, kind };
}

/** The bucket's copy of a run against its manifest (read back from the bucket too). */
export async function verifyBucket(
  remote: Remote,
  folder: string,
  expected: ManifestInfo,
): Promise<VerifyReport> {
  const { listing, kind } = await listData(remote, folder);
  const check = new BucketCheck(listing, kind);
  const manifest = readManifest(remote, folder, expected);
  for (let next = await manifest.next(); !next.done; next = await manifest.next()) check.entry(next.value);
  return check.finish();
}

export interface OpenedBackup {
  run: string;
  folder: string;
  marker: RunMarker & { manifest?: ManifestInfo };
  /** The remote to read it with: its crypt remotes when the run is encrypted. */
  remote: Remote;
}

/**
 * The run a restore or verify reads: the bucket is there, the root holds this PVC's backups, the run
 * is a Complete backup (`latest`: the newest), and the keys fit how it was written.
 */
export async function openBackup(plan: RestorePlan): Promise<OpenedBackup> {
  const check = await rclone(checkBucketArgs(plan), plan);
  if (check.code !== 0) throw classifyRcloneFailure(check.output, plan);
  const where = `${plan.bucket}/${plan.root}/`;
  const rootMarker = await readMarker(plan, markerPath(plan.root));
  if (rootMarker === undefined) {
    throw new MoverError(
      MoverExit.BackupNotFound,
      `${where} holds no backups: it has no ${markerPath(plan.root)}`,
    );
  }
  if (
    rootMarker === 'unreadable' ||
    rootMarker.kind !== 'BackupRoot' ||
    rootMarker.namespace !== plan.namespace ||
    rootMarker.pvc !== plan.pvc
  ) {
    const whose =
      rootMarker !== 'unreadable' && rootMarker.kind === 'BackupRoot'
        ? `the backups of PVC ${rootMarker.namespace}/${rootMarker.pvc}`
        : 'something that is not a backup root';
    throw new MoverError(
      MoverExit.DestinationConflict,
      `${where} holds ${whose}, not of PVC ${plan.namespace}/${plan.pvc} (${markerPath(plan.root)})`,
    );
  }
  const picked = pickRun(await readRuns(plan, plan.root, { mirror: true }), plan.run, plan, where);
  if ('error' in picked) throw new MoverError(MoverExit.BackupNotFound, picked.error);
  const folder = `${plan.root}/${picked.run}`;
  if (picked.marker.encrypted && !plan.crypt) {
    throw new MoverError(
      MoverExit.ConfigError,
      `the backup ${folder}/ is encrypted: the Secret must give RCLONE_CRYPT_PASSWORD (and RCLONE_CRYPT_PASSWORD2 if it was set) it was written with`,
    );
  }
  // A plain run is read plainly even when the Secret has a key (a root may hold runs of both kinds).
  const base: Remote = { ...plan };
  if (!picked.marker.encrypted) delete base.crypt;
  return { run: picked.run, folder, marker: picked.marker, remote: forRun(base, folder) };
}

/** The `verify` command: checks an existing run against its manifest, writing nothing. */
export async function verifyCommand(plan: RestorePlan): Promise<{ report: VerifyReport; run: string }> {
  const backup = await openBackup(plan);
  if (!backup.marker.manifest) {
    throw new MoverError(
      MoverExit.VerifyFailed,
      `the backup ${backup.folder}/ has no manifest (written by an older mover): nothing to verify it against`,
    );
  }
  const report = await verifyBucket(backup.remote, backup.folder, backup.marker.manifest);
  return { report, run: backup.run };
}
