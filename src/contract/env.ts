// The environment the operator gives the mover program (src/jobs builds it into the Job, mover/
// reads it): one name per setting, for a backup, a restore and a verify, beside the bucket Secret's
// keys (tenant-env.ts says what a tenant may add). Pure: names only.

/** DATAMOVER_COMMAND: what the mover program does (default backup). */
export const MOVER_COMMANDS = ['backup', 'restore', 'verify'] as const;
export type MoverCommand = (typeof MOVER_COMMANDS)[number];

/** The environment of a backup, beside the Secret's keys. */
export const BackupEnv = {
  command: 'DATAMOVER_COMMAND',
  /** The backup root in the bucket (`<namespace>/<pvc>` unless the DataMover names one). */
  root: 'DATAMOVER_BACKUP_ROOT',
  /** The run folder: YYYY-MM-DD-HHMMSS-<uid8> (timestamped runs) or mirror. */
  run: 'DATAMOVER_RUN_FOLDER',
  /** When the run started (RFC 3339): the run marker's startTime. */
  startTime: 'DATAMOVER_START_TIME',
  /** Whose run it is, written into the markers and checked against the root's. */
  namespace: 'DATAMOVER_NAMESPACE',
  name: 'DATAMOVER_NAME',
  uid: 'DATAMOVER_UID',
  pvc: 'DATAMOVER_SOURCE_PVC',
  /** The DataMoverSchedule that created the DataMover, if any. */
  schedule: 'DATAMOVER_SCHEDULE',
  /** The schedule's keep policy (JSON): the mover prunes that schedule's older runs. */
  keep: 'DATAMOVER_KEEP',
  /** The DataMovers still backing up to this root (UIDs, comma-separated): others' InProgress runs are abandoned. */
  liveRuns: 'DATAMOVER_LIVE_RUNS',
  /** `true`: take over a root that holds data but no marker. */
  adopt: 'DATAMOVER_ADOPT_DESTINATION',
  /** rclone's --bwlimit. */
  bandwidthLimit: 'DATAMOVER_BANDWIDTH_LIMIT',
  /** JSON arrays of rclone filter patterns. */
  include: 'DATAMOVER_INCLUDE',
  exclude: 'DATAMOVER_EXCLUDE',
  /** `true`: compare by checksum rather than size and time. */
  checksum: 'DATAMOVER_CHECKSUM',
  /** Where the volume is mounted (default /data; the tests point it elsewhere). */
  source: 'DATAMOVER_SOURCE',
} as const;

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
  /** The DataMoverRestore's UID: its report names it (src/contract/result.ts reportProblem). */
  uid: 'DATAMOVER_UID',
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

/**
 * The bucket Secret's documented keys, each taken by name into the mover pod (never the whole
 * Secret), and whether the mover cannot work without it (then a missing key keeps the pod from
 * starting).
 */
export const SECRET_KEYS: ReadonlyArray<readonly [name: string, required: boolean]> = [
  ['AWS_ACCESS_KEY_ID', true],
  ['AWS_SECRET_ACCESS_KEY', true],
  ['AWS_REGION', false],
  ['BUCKET_HOST', true],
  ['BUCKET_NAME', true],
  ['BUCKET_PORT', false],
  ['TLS_HOST', false],
  [CryptEnv.password, false],
  [CryptEnv.salt, false],
];
