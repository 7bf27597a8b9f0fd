// The restore contract between the operator and the mover program: which command the mover runs,
// what the operator tells a restore (where the backup is, which run, where to write), the manifest a
// backup leaves beside its data, and what verify and restore report back. Pure: no I/O.
//
//   <root>/<run>/manifest.jsonl   one JSON line per file, folder and link of the backup (MANIFEST)
//
// A backup writes its manifest after the sync and verifies the bucket against it; a restore copies
// `<root>/<run>/data/` into the target volume and verifies the volume against the same manifest.

/** DATAMOVER_COMMAND: what the mover program does (default backup). */
export const MOVER_COMMANDS = ['backup', 'restore'] as const;
export type MoverCommand = (typeof MOVER_COMMANDS)[number];

/** The environment of a restore, beside the Secret's keys and DATAMOVER_BACKUP_ROOT. */
export const RestoreEnv = {
  command: 'DATAMOVER_COMMAND',
  /** A run folder (YYYY-MM-DD-HHMMSS or mirror), or `latest`: the newest Complete run by its marker. */
  run: 'DATAMOVER_RESTORE_RUN',
  /** Where the target volume is mounted (default /restore). */
  target: 'DATAMOVER_RESTORE_TARGET',
  /** Whose backups the root must hold (its root marker names them), as for a backup. */
  namespace: 'DATAMOVER_NAMESPACE',
  pvc: 'DATAMOVER_SOURCE_PVC',
  /** `true`: restore into a target that is not empty (an existing PVC); refused otherwise. */
  overwrite: 'DATAMOVER_RESTORE_OVERWRITE',
} as const;

export const LATEST = 'latest';
export const RESTORE_TARGET = '/restore';
export const MANIFEST = 'manifest.jsonl';
export const MANIFEST_FORMAT = 1;

/** One line of a manifest: an entry of the backed-up volume, relative to its root. */
export interface ManifestEntry {
  /** Relative path, `/`-separated, no leading `./`. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Files: size in bytes and SHA-256 of the content, hex. */
  size?: number;
  sha256?: string;
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
}

export const MAX_NAMED = 10;
