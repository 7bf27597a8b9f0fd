// What the mover does, as pure functions of its environment: validate the configuration, describe
// the S3 remote to rclone through environment variables (nothing written to disk, so a read-only
// root filesystem works), build the rclone command lines, and classify rclone's failures.
import { MoverExit } from '../src/contract/exit-codes.js';
import {
  NEVER_IN_MOVER,
  RCLONE_TUNING,
  TENANT_ENV_LIST,
  tenantEnvProblem,
} from '../src/contract/tenant-env.js';
import { BackupEnv, CryptEnv, MOVER_COMMANDS, RestoreEnv, type MoverCommand } from '../src/contract/env.js';
import { ENCRYPTED_MANIFEST, MANIFEST } from '../src/contract/manifest.js';
import { LATEST, RESTORE_TARGET } from '../src/contract/restore.js';
import { DATA_REMOTE, RUN_REMOTE, cryptKeysFromEnv, cryptRemotesEnv, type CryptKeys } from './crypt.js';
import {
  DATA_FOLDER,
  MIRROR_FOLDER,
  invalidRoot,
  isRunFolderName,
  trimSlashes,
  type Identity,
} from '../src/contract/layout.js';
import { parseKeepPolicy, parseLiveRuns, type KeepPolicy } from '../src/contract/retention.js';
import type { MoverResult } from '../src/contract/result.js';

export const REMOTE = 'DATAMOVER';

/** The bucket and how rclone reaches it: the Secret's part of every command's plan. */
export interface Remote {
  bucket: string;
  endpoint: string;
  rcloneEnv: Record<string, string>;
  /** Client-side encryption keys (obscured), when the Secret gives RCLONE_CRYPT_PASSWORD. */
  crypt?: CryptKeys;
}

export interface MoverPlan extends Remote {
  source: string;
  /** The backup root inside the bucket, no leading or trailing slash (docs/mover.md, layout.ts). */
  root: string;
  /** This run's folder in the root: a timestamp (and a suffix of the DataMover's UID), or `mirror`. */
  run: string;
  /** Which PVC and DataMover the run belongs to, as the markers record it. */
  identity: Identity;
  /** When the run started (the run marker's startTime). */
  startTime: Date;
  /** Back up into a root holding objects no DataMover wrote (spec.adoptExistingDestination). */
  adopt: boolean;
  /** Prune this schedule's older runs after the sync (spec.retention of a scheduled DataMover). */
  prune?: { keep: KeepPolicy; schedule: string };
  /**
   * The UIDs of the DataMovers that still exist and back up to this root (DATAMOVER_LIVE_RUNS): the
   * PVC's InProgress runs of any other DataMover are abandoned and deleted after the sync. Absent
   * (an older operator): none is.
   */
  liveRuns?: ReadonlySet<string>;
  options: {
    bandwidthLimit?: string;
    include: string[];
    exclude: string[];
    checksum: boolean;
  };
}

export class MoverError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
    /** What the report carries besides the error (a verify that failed names what differs). */
    readonly result: Omit<MoverResult, 'error'> = {},
  ) {
    super(message);
  }
}

const required = (env: NodeJS.ProcessEnv, name: string): string => {
  const value = env[name]?.trim();
  if (!value)
    throw new MoverError(MoverExit.ConfigError, `missing variable ${name}: set it in the DataMover's Secret`);
  return value;
};

function list(env: NodeJS.ProcessEnv, name: string): string[] {
  const raw = env[name]?.trim();
  if (!raw) return [];
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (Array.isArray(parsed) && parsed.every((p) => typeof p === 'string')) return parsed;
  } catch {
    // fall through to the error below
  }
  throw new MoverError(MoverExit.ConfigError, `${name} must be a JSON array of rclone filter patterns`);
}

/** Where this run goes and whose it is: the operator's DATAMOVER_* variables. */
function runFromEnv(env: NodeJS.ProcessEnv): Pick<MoverPlan, 'root' | 'run' | 'startTime' | 'identity'> {
  if (env[BackupEnv.root] === undefined) required(env, BackupEnv.root);
  const root = trimSlashes(env[BackupEnv.root] ?? '');
  const run = required(env, BackupEnv.run);
  const problem = invalidRoot(root);
  if (problem) throw new MoverError(MoverExit.ConfigError, `${BackupEnv.root} is refused: ${problem}`);
  if (!isRunFolderName(run)) {
    throw new MoverError(
      MoverExit.ConfigError,
      `${BackupEnv.run} must be a YYYY-MM-DD-HHMMSS timestamp (with an 8-hex-digit suffix or none) or mirror, not "${run}"`,
    );
  }
  const startTime = new Date(required(env, BackupEnv.startTime));
  if (Number.isNaN(startTime.getTime())) {
    throw new MoverError(MoverExit.ConfigError, `${BackupEnv.startTime} must be an RFC 3339 time`);
  }
  const schedule = scheduleFromEnv(env);
  const identity: Identity = {
    namespace: required(env, BackupEnv.namespace),
    pvc: required(env, BackupEnv.pvc),
    dataMover: { name: required(env, BackupEnv.name), uid: required(env, BackupEnv.uid) },
    ...(schedule ? { schedule } : {}),
  };
  return { root, run, startTime, identity };
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** DATAMOVER_SCHEDULE: the DataMoverSchedule that created the DataMover, recorded in the run marker. */
function scheduleFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const schedule = env[BackupEnv.schedule]?.trim();
  if (!schedule) return undefined;
  if (schedule.length > 253 || !NAME.test(schedule)) {
    throw new MoverError(
      MoverExit.ConfigError,
      `${BackupEnv.schedule} must be the name of a DataMoverSchedule, not "${schedule}"`,
    );
  }
  return schedule;
}

/**
 * DATAMOVER_KEEP: the keep policy of a scheduled, timestamped run. Refused before anything is
 * written: a policy that cannot be applied must not be found out after the sync.
 */
export function pruneFromEnv(
  env: NodeJS.ProcessEnv,
  run: string,
  schedule: string | undefined,
): MoverPlan['prune'] {
  const text = env[BackupEnv.keep]?.trim();
  if (!text) return undefined;
  const parsed = parseKeepPolicy(text);
  if ('error' in parsed) {
    throw new MoverError(MoverExit.ConfigError, `${BackupEnv.keep} is refused: ${parsed.error}`);
  }
  if (!schedule) {
    throw new MoverError(
      MoverExit.ConfigError,
      `${BackupEnv.keep} is set without ${BackupEnv.schedule}: retention applies only to DataMovers created by a DataMoverSchedule`,
    );
  }
  if (run === MIRROR_FOLDER) {
    throw new MoverError(
      MoverExit.ConfigError,
      `${BackupEnv.keep} is set for the mirror: retention needs timestamped runs (addTimestampPrefix: true)`,
    );
  }
  return { keep: parsed.keep, schedule };
}

/** DATAMOVER_COMMAND: backup (the default), restore or verify. */
export function commandFromEnv(env: NodeJS.ProcessEnv): MoverCommand {
  const command = env[RestoreEnv.command]?.trim() || 'backup';
  if (!(MOVER_COMMANDS as readonly string[]).includes(command)) {
    throw new MoverError(
      MoverExit.ConfigError,
      `${RestoreEnv.command} must be one of ${MOVER_COMMANDS.join(', ')}, not "${command}"`,
    );
  }
  return command as MoverCommand;
}

/** The Secret's variables: the bucket, its endpoint and credentials, and the encryption keys. */
export function remoteFromEnv(env: NodeJS.ProcessEnv): Remote {
  const accessKey = required(env, 'AWS_ACCESS_KEY_ID');
  const secretKey = required(env, 'AWS_SECRET_ACCESS_KEY');
  const host = required(env, 'BUCKET_HOST');
  const bucket = required(env, 'BUCKET_NAME');
  const port = env.BUCKET_PORT?.trim() || '443';
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) {
    throw new MoverError(MoverExit.ConfigError, `BUCKET_PORT must be a port number, not "${port}"`);
  }
  const tls = (env.TLS_HOST?.trim() || 'true').toLowerCase();
  if (tls !== 'true' && tls !== 'false') {
    throw new MoverError(MoverExit.ConfigError, `TLS_HOST must be true or false, not "${env.TLS_HOST}"`);
  }
  const endpoint = `${tls === 'true' ? 'https' : 'http'}://${host}:${port}`;
  const prefix = `RCLONE_CONFIG_${REMOTE}_`;
  if (!env[CryptEnv.password] && env[CryptEnv.salt]) {
    throw new MoverError(
      MoverExit.ConfigError,
      `${CryptEnv.salt} is set without ${CryptEnv.password}: encryption needs the password`,
    );
  }
  const crypt = cryptKeysFromEnv(env[CryptEnv.password], env[CryptEnv.salt]);
  return {
    bucket,
    endpoint,
    rcloneEnv: {
      [`${prefix}TYPE`]: 's3',
      [`${prefix}PROVIDER`]: 'Other',
      [`${prefix}ACCESS_KEY_ID`]: accessKey,
      [`${prefix}SECRET_ACCESS_KEY`]: secretKey,
      [`${prefix}REGION`]: env.AWS_REGION?.trim() || 'us-east-1',
      [`${prefix}ENDPOINT`]: endpoint,
      [`${prefix}FORCE_PATH_STYLE`]: 'true',
      // The bucket is checked explicitly; rclone must never create it.
      [`${prefix}NO_CHECK_BUCKET`]: 'true',
      [`${prefix}DIRECTORY_MARKERS`]: 'true',
    },
    ...(crypt ? { crypt } : {}),
  };
}

export function planFromEnv(env: NodeJS.ProcessEnv): MoverPlan {
  const remote = remoteFromEnv(env);
  const { root, run, startTime, identity } = runFromEnv(env);
  const prune = pruneFromEnv(env, run, identity.schedule);
  const bandwidthLimit = env[BackupEnv.bandwidthLimit]?.trim();
  const liveRuns = parseLiveRuns(env[BackupEnv.liveRuns]);
  return {
    ...forRun(remote, `${root}/${run}`),
    source: env[BackupEnv.source]?.trim() || '/data',
    root,
    run,
    identity,
    startTime,
    adopt: env[BackupEnv.adopt]?.trim().toLowerCase() === 'true',
    ...(prune ? { prune } : {}),
    ...(liveRuns ? { liveRuns } : {}),
    options: {
      ...(bandwidthLimit ? { bandwidthLimit } : {}),
      include: list(env, BackupEnv.include),
      exclude: list(env, BackupEnv.exclude),
      checksum: env[BackupEnv.checksum]?.trim().toLowerCase() === 'true',
    },
  };
}

/** A restore's or a verify's plan: which backup, whose, and (restore) where to write it. */
export interface RestorePlan extends Remote {
  root: string;
  /** A run folder, or `latest`. */
  run: string;
  namespace: string;
  pvc: string;
  target: string;
  overwrite: boolean;
  /** Apply every entry's owner from the manifest (the mover must be root with CAP_CHOWN). */
  owners: boolean;
}

export function restorePlanFromEnv(env: NodeJS.ProcessEnv): RestorePlan {
  const remote = remoteFromEnv(env);
  if (env[BackupEnv.root] === undefined) required(env, BackupEnv.root);
  const root = trimSlashes(env[BackupEnv.root] ?? '');
  const problem = invalidRoot(root);
  if (problem) throw new MoverError(MoverExit.ConfigError, `${BackupEnv.root} is refused: ${problem}`);
  const run = env[RestoreEnv.run]?.trim() || LATEST;
  if (run !== LATEST && !isRunFolderName(run)) {
    throw new MoverError(
      MoverExit.ConfigError,
      `${RestoreEnv.run} must be a run folder (YYYY-MM-DD-HHMMSS, with an 8-hex-digit suffix or none), mirror or ${LATEST}, not "${run}"`,
    );
  }
  const flag = (name: string) => {
    const value = (env[name]?.trim() || 'false').toLowerCase();
    if (value !== 'true' && value !== 'false')
      throw new MoverError(MoverExit.ConfigError, `${name} must be true or false`);
    return value === 'true';
  };
  const overwrite = flag(RestoreEnv.overwrite);
  const owners = flag(RestoreEnv.owners);
  return {
    ...remote,
    root,
    run,
    namespace: required(env, RestoreEnv.namespace),
    pvc: required(env, RestoreEnv.pvc),
    target: env[RestoreEnv.target]?.trim() || RESTORE_TARGET,
    overwrite,
    owners,
  };
}

/**
 * The remote with this run folder's crypt remotes defined, when encrypting: rclone crypt remotes wrap
 * a fixed path, and `latest` is known only once the markers are read.
 */
export function forRun(remote: Remote, folder: string): Remote {
  if (!remote.crypt) return remote;
  return {
    ...remote,
    rcloneEnv: {
      ...remote.rcloneEnv,
      ...cryptRemotesEnv(`${REMOTE}:${remote.bucket}/${folder}`, remote.crypt),
    },
  };
}

/** Where a run's data is, for rclone: through the crypt remote when encrypting. */
export function dataPath(remote: Remote, folder: string): string {
  return remote.crypt ? `${DATA_REMOTE}:` : remotePath(remote, `${folder}/${DATA_FOLDER}/`);
}

/** Where a run's manifest is, for rclone (the crypt remote adds .bin to the object's name). */
export function manifestPath(remote: Remote, folder: string): string {
  return remote.crypt ? `${RUN_REMOTE}:${MANIFEST}` : remotePath(remote, `${folder}/${MANIFEST}`);
}

/** The manifest's object in the bucket, as a path in it. */
export function manifestObject(remote: Remote, folder: string): string {
  return `${folder}/${remote.crypt ? ENCRYPTED_MANIFEST : MANIFEST}`;
}

/**
 * The environment rclone runs with: the pod's, less anything that could redefine the remote (a
 * config file, other remotes, the reserved S3 options), then the remote itself.
 */
export function rcloneEnvironment(env: NodeJS.ProcessEnv, plan: Remote): NodeJS.ProcessEnv {
  // A clean environment: what a process needs, the tuning flags a tenant may set, the mover's own
  // remote. Nothing else of the pod's reaches rclone, whatever an older CRD or operator let through:
  // no other RCLONE_* flag (RCLONE_BACKUP_DIR would move objects out of the run), no proxy or CA file.
  const out: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME']) if (env[name] !== undefined) out[name] = env[name];
  for (const name of Object.keys(RCLONE_TUNING)) if (env[name] !== undefined) out[name] = env[name];
  return { ...out, ...plan.rcloneEnv, RCLONE_CONFIG: '/dev/null' };
}

/**
 * The mover's own check of its environment, before anything runs (exit 3): the tenant's variables
 * the operator lists (DATAMOVER_TENANT_ENV) must be on the allowlist, and no name that loads code may
 * be set at all, by anyone: the CRD and the operator refuse them first, this holds for a pod an older
 * operator or a person made.
 */
export function checkEnvironment(env: NodeJS.ProcessEnv): void {
  const problems: string[] = [];
  for (const name of NEVER_IN_MOVER) {
    if (env[name] !== undefined) problems.push(`${name} is set: it loads or runs code in the mover`);
  }
  const listed = (env[TENANT_ENV_LIST] ?? '').split(',').filter(Boolean);
  for (const name of listed) {
    const problem = tenantEnvProblem({ name, value: env[name] ?? '' });
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) {
    throw new MoverError(MoverExit.ConfigError, `the mover refuses to start: ${problems.join('; ')}`);
  }
}

/** `DATAMOVER:bucket/` + a path inside it. */
export function remotePath(plan: Remote, path = ''): string {
  return `${REMOTE}:${plan.bucket}/${path}`;
}

/** This run's folder, `<root>/<run>`, the only place the run changes. */
export const runFolder = (plan: MoverPlan) => `${plan.root}/${plan.run}`;

/** `DATAMOVER:bucket/<root>/<run>/data/` — where the data goes. */
export function target(plan: MoverPlan): string {
  return dataPath(plan, runFolder(plan));
}

export function checkBucketArgs(plan: Remote): string[] {
  // Listing one level of the bucket proves it exists and the credentials may list it.
  return [
    'lsf',
    `${REMOTE}:${plan.bucket}`,
    '--max-depth',
    '1',
    '--dirs-only',
    '--low-level-retries',
    '1',
    '--retries',
    '1',
    '--contimeout',
    '10s',
  ];
}

/**
 * What every copy of a tree into or out of the bucket passes rclone: links and empty folders kept,
 * JSON logs, and one statistics line at the end (the interval is longer than any copy), which
 * finalStats reads for the report.
 */
export const COPY_FLAGS: readonly string[] = [
  '--links',
  '--create-empty-src-dirs',
  '--use-json-log',
  '--log-level',
  'INFO',
  '--stats',
  '1000h',
  '--stats-log-level',
  'NOTICE',
];

/**
 * `base`: a Complete run of the same root whose unchanged files are copied inside the bucket
 * (`--copy-dest`: same size and time, or checksum with `checksum`) rather than uploaded again.
 */
export function syncArgs(plan: MoverPlan, base?: string): string[] {
  const args = ['sync', `${plan.source.replace(/\/+$/, '')}/`, target(plan), '--metadata', ...COPY_FLAGS];
  if (base) args.push('--copy-dest', dataPath(plan, `${plan.root}/${base}`));
  if (plan.options.bandwidthLimit) args.push('--bwlimit', plan.options.bandwidthLimit);
  if (plan.options.checksum) args.push('--checksum');
  for (const pattern of plan.options.include) args.push('--include', pattern);
  for (const pattern of plan.options.exclude) args.push('--exclude', pattern);
  return args;
}
