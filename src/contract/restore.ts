// The restore contract between the operator and the mover program: which command the mover runs,
// what the operator tells a restore (where the backup is, which run, where to write), the manifest a
// backup leaves beside its data, and what verify and restore report back. Pure: no I/O.
//
//   <root>/<run>/manifest.jsonl   one JSON line per file, folder and link of the backup (MANIFEST)
//
// A backup writes its manifest after the sync and verifies the bucket against it; a restore copies
// `<root>/<run>/data/` into the target volume and verifies the volume against the same manifest;
// `verify` checks a run in the bucket against its manifest again, writing nothing.
//
// With client-side encryption (the Secret's RCLONE_CRYPT_PASSWORD) the data folder's names and
// contents and the manifest's content are encrypted: the manifest is then the object
// `<root>/<run>/manifest.jsonl.bin` (its name is no secret, its content is).

import { UNREADABLE, isRunFolderName, type MarkerContent, type RunMarker } from './layout.js';

/** DATAMOVER_COMMAND: what the mover program does (default backup). */
export const MOVER_COMMANDS = ['backup', 'restore', 'verify'] as const;
export type MoverCommand = (typeof MOVER_COMMANDS)[number];

/** The environment of a restore, beside the Secret's keys and DATAMOVER_BACKUP_ROOT. */
export const RestoreEnv = {
  command: 'DATAMOVER_COMMAND',
  /**
   * A run folder (YYYY-MM-DD-HHMMSS-<uid8>, an older YYYY-MM-DD-HHMMSS, or mirror), or `latest`: the
   * newest Complete run by its marker.
   */
  run: 'DATAMOVER_RESTORE_RUN',
  /** Where the target volume is mounted (default /restore). */
  target: 'DATAMOVER_RESTORE_TARGET',
  /** Whose backups the root must hold (its root marker names them), as for a backup. */
  namespace: 'DATAMOVER_NAMESPACE',
  pvc: 'DATAMOVER_SOURCE_PVC',
  /** `true`: restore into a target that is not empty, replacing what it holds (else exit 3). */
  overwrite: 'DATAMOVER_RESTORE_OVERWRITE',
  /**
   * `true`: apply every entry's owner (uid:gid) from the manifest, and fail (exit 9) where it differs
   * after the restore. The mover must run as root with CAP_CHOWN (the DataMoverRestore's
   * restoreOwners); one that is not root refuses to start (exit 3). Without it, owners the mover
   * cannot apply are reported (notApplied), and the restore completes with a warning.
   */
  owners: 'DATAMOVER_RESTORE_OWNERS',
} as const;

/**
 * The Secret's keys of client-side encryption: the password (required to encrypt) and an optional
 * salt (rclone crypt's password2). Plain text in the Secret; the mover obscures them for rclone.
 */
export const CryptEnv = {
  password: 'RCLONE_CRYPT_PASSWORD',
  salt: 'RCLONE_CRYPT_PASSWORD2',
} as const;

export const LATEST = 'latest';
export const RESTORE_TARGET = '/restore';
export const MANIFEST = 'manifest.jsonl';
/** The manifest's object name when encrypted (rclone crypt, file name encryption off). */
export const ENCRYPTED_MANIFEST = `${MANIFEST}.bin`;
export const MANIFEST_FORMAT = 1;

/** One line of a manifest: an entry of the backed-up volume, relative to its root. */
export interface ManifestEntry {
  /** Relative path, `/`-separated, no leading `./`. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Files: size in bytes and SHA-256 of the content, hex. */
  size?: number;
  sha256?: string;
  /**
   * Files: MD5 of the content, hex. Added to the first format (optional, so older readers ignore it):
   * an S3 listing gives each object's MD5, so the bucket is verified without downloading it.
   */
  md5?: string;
  /** Permission bits (mode & 0o7777), owner, and modification time in ms since the epoch. */
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  /** Symlinks: the link's target, as stored. */
  target?: string;
}

/** What verify found: entries checked, and those that differ or are missing (the first few named). */
export interface VerifyReport {
  verified: number;
  mismatches: number;
  /** At most MAX_NAMED paths, each with what differs ("content", "missing", "mode", …). */
  mismatched: string[];
}

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

export const MAX_NAMED = 10;

/** One manifest line (no newline), its keys always in the same order so equal trees give equal bytes. */
export function manifestLine(e: ManifestEntry): string {
  const ordered: Record<string, unknown> = { path: e.path, type: e.type };
  if (e.type === 'file') Object.assign(ordered, { size: e.size ?? 0, sha256: e.sha256, md5: e.md5 });
  Object.assign(ordered, { mode: e.mode, uid: e.uid, gid: e.gid, mtimeMs: e.mtimeMs });
  if (e.type === 'symlink') ordered.target = e.target ?? '';
  return JSON.stringify(ordered);
}

const TYPES: ReadonlySet<string> = new Set(['file', 'dir', 'symlink']);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX32 = /^[0-9a-f]{32}$/;

/** A manifest line's entry, or undefined when the line is not one (a corrupt or foreign manifest). */
export function parseManifestLine(line: string): ManifestEntry | undefined {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const base = baseOf(raw);
  if (!base) return undefined;
  if (base.type === 'file') {
    if (!isInt(raw.size) || typeof raw.sha256 !== 'string' || !HEX64.test(raw.sha256)) return undefined;
    const md5 = typeof raw.md5 === 'string' && HEX32.test(raw.md5) ? { md5: raw.md5 } : {};
    return { ...base, size: raw.size, sha256: raw.sha256, ...md5 };
  }
  if (base.type === 'symlink')
    return typeof raw.target === 'string' ? { ...base, target: raw.target } : undefined;
  return base;
}

/** The fields every entry has, checked: a relative path that never climbs out of the volume. */
function baseOf(raw: Record<string, unknown>): ManifestEntry | undefined {
  const { path, type, mode, uid, gid, mtimeMs } = raw;
  if (typeof path !== 'string' || !path || path.startsWith('/')) return undefined;
  if (path.split('/').some((s) => s === '' || s === '.' || s === '..')) return undefined;
  if (typeof type !== 'string' || !TYPES.has(type)) return undefined;
  if (!isInt(mode) || !isInt(uid) || !isInt(gid)) return undefined;
  if (typeof mtimeMs !== 'number' || !Number.isFinite(mtimeMs)) return undefined;
  return { path, type: type as ManifestEntry['type'], mode, uid, gid, mtimeMs };
}

/**
 * The order of a manifest: folder by folder, each folder's names by UTF-16 code unit, a folder right
 * before what it holds (a depth-first walk with sorted names). Two walks of equal trees give the
 * same order, so a manifest and a walk of a restored volume are compared in one pass.
 */
export function comparePaths(a: string, b: string): number {
  const as = a.split('/');
  const bs = b.split('/');
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    if (as[i] !== bs[i]) return as[i]! < bs[i]! ? -1 : 1;
  }
  return as.length - bs.length;
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
