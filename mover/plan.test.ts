import { describe, expect, it } from 'vitest';
import { MoverExit } from '../src/contract/exit-codes.js';
import {
  MoverError,
  commandFromEnv,
  manifestPath,
  planFromEnv,
  restorePlanFromEnv,
  rcloneEnvironment,
  syncArgs,
  target,
} from './plan.js';

const env = {
  AWS_ACCESS_KEY_ID: 'AKIA',
  AWS_SECRET_ACCESS_KEY: 'secret',
  BUCKET_HOST: 's3.example.com',
  BUCKET_NAME: 'backups',
  DATAMOVER_BACKUP_ROOT: 'ns/pvc',
  DATAMOVER_RUN_FOLDER: 'mirror',
  DATAMOVER_START_TIME: '2026-01-02T03:04:05.000Z',
  DATAMOVER_NAMESPACE: 'ns',
  DATAMOVER_NAME: 'backup',
  DATAMOVER_UID: 'uid-1',
  DATAMOVER_SOURCE_PVC: 'pvc',
};

const errorOf = (fn: () => unknown): MoverError => {
  try {
    fn();
  } catch (err) {
    return err as MoverError;
  }
  throw new Error('expected an error');
};

describe('planFromEnv', () => {
  it('builds an S3 remote from the Secret variables, with the documented defaults', () => {
    const plan = planFromEnv(env);
    expect(plan.endpoint).toBe('https://s3.example.com:443');
    expect(plan.rcloneEnv).toMatchObject({
      RCLONE_CONFIG_DATAMOVER_TYPE: 's3',
      RCLONE_CONFIG_DATAMOVER_REGION: 'us-east-1',
      RCLONE_CONFIG_DATAMOVER_NO_CHECK_BUCKET: 'true',
    });
    expect(target(plan)).toBe('DATAMOVER:backups/ns/pvc/mirror/data/');
    expect(planFromEnv({ ...env, TLS_HOST: 'false', BUCKET_PORT: '9000' }).endpoint).toBe(
      'http://s3.example.com:9000',
    );
  });

  it('runs rclone with its own remote only: other remotes, config files and S3 overrides are dropped', () => {
    const pod = {
      ...env,
      PATH: '/bin',
      RCLONE_TRANSFERS: '8',
      RCLONE_S3_UPLOAD_CONCURRENCY: '8',
      RCLONE_CONFIG: '/etc/rclone.conf',
      RCLONE_CONFIG_OTHER_TYPE: 's3',
      RCLONE_CONFIG_DATAMOVER_ENDPOINT: 'http://elsewhere',
      RCLONE_S3_ENDPOINT: 'http://elsewhere',
      RCLONE_S3_SECRET_ACCESS_KEY: 'someone-elses',
      RCLONE_S3_NO_CHECK_BUCKET: 'false',
    };
    const out = rcloneEnvironment(pod, planFromEnv(pod));
    expect(out).toMatchObject({
      PATH: '/bin',
      RCLONE_TRANSFERS: '8',
      RCLONE_S3_UPLOAD_CONCURRENCY: '8',
      RCLONE_CONFIG: '/dev/null',
      RCLONE_CONFIG_DATAMOVER_ENDPOINT: 'https://s3.example.com:443',
      RCLONE_CONFIG_DATAMOVER_SECRET_ACCESS_KEY: 'secret',
    });
    for (const gone of [
      'RCLONE_CONFIG_OTHER_TYPE',
      'RCLONE_S3_ENDPOINT',
      'RCLONE_S3_SECRET_ACCESS_KEY',
      'RCLONE_S3_NO_CHECK_BUCKET',
    ])
      expect(out, gone).not.toHaveProperty(gone);
  });

  it("syncs into the run's data folder below the backup root, never the bucket root", () => {
    const plan = planFromEnv({ ...env, DATAMOVER_BACKUP_ROOT: '/team/db/' });
    expect(target(plan)).toBe('DATAMOVER:backups/team/db/mirror/data/');
    expect(plan.identity).toEqual({
      namespace: 'ns',
      pvc: 'pvc',
      dataMover: { name: 'backup', uid: 'uid-1' },
    });
    for (const root of ['/', '//', ' ', 'a//b', 'a/../b', 'a/./b', 'a/ /b', 'a\nb'])
      expect(errorOf(() => planFromEnv({ ...env, DATAMOVER_BACKUP_ROOT: root })).exitCode, root).toBe(
        MoverExit.ConfigError,
      );
  });

  it.each([
    [{ BUCKET_NAME: '' }, /missing variable BUCKET_NAME/],
    [{ AWS_SECRET_ACCESS_KEY: undefined }, /missing variable AWS_SECRET_ACCESS_KEY/],
    [{ BUCKET_PORT: 'https' }, /BUCKET_PORT must be a port number/],
    [{ TLS_HOST: 'yes' }, /TLS_HOST must be true or false/],
    [{ DATAMOVER_INCLUDE: '*.db' }, /DATAMOVER_INCLUDE must be a JSON array/],
    [
      { DATAMOVER_RUN_FOLDER: '../x' },
      /DATAMOVER_RUN_FOLDER must be a YYYY-MM-DD-HHMMSS timestamp \(with an 8-hex-digit suffix or none\) or mirror/,
    ],
    [{ DATAMOVER_RUN_FOLDER: '2026-01-02-030405-XYZ' }, /DATAMOVER_RUN_FOLDER must be/],
    [{ DATAMOVER_UID: '' }, /missing variable DATAMOVER_UID/],
    [{ DATAMOVER_START_TIME: 'yesterday' }, /DATAMOVER_START_TIME must be an RFC 3339 time/],
  ])('refuses %o with a configuration error', (override, message) => {
    const err = errorOf(() => planFromEnv({ ...env, ...override }));
    expect(err.exitCode).toBe(MoverExit.ConfigError);
    expect(err.message).toMatch(message);
  });
});

describe('the keep policy of a scheduled run', () => {
  const scheduled = {
    ...env,
    DATAMOVER_RUN_FOLDER: '2026-01-02-030405-0a1b2c3d',
    DATAMOVER_SCHEDULE: 'nightly',
    DATAMOVER_KEEP: '{"daily":7,"weekly":4}',
  };

  it('prunes by the policy, for the schedule the run marker records', () => {
    const plan = planFromEnv(scheduled);
    expect(plan.prune).toEqual({ keep: { daily: 7, weekly: 4 }, schedule: 'nightly' });
    expect(plan.identity.schedule).toBe('nightly');
  });

  it('records the schedule without pruning when there is no policy, and neither for a manual run', () => {
    const plan = planFromEnv({ ...scheduled, DATAMOVER_KEEP: '' });
    expect(plan.prune).toBeUndefined();
    expect(plan.identity.schedule).toBe('nightly');
    expect(planFromEnv(env).identity).not.toHaveProperty('schedule');
    expect(planFromEnv(env)).not.toHaveProperty('prune');
  });

  it.each([
    [{ DATAMOVER_KEEP: '{"last":0}' }, /DATAMOVER_KEEP is refused: the keep policy keeps nothing/],
    [{ DATAMOVER_KEEP: '{"daily":-1}' }, /keep\.daily must be a non-negative integer/],
    [{ DATAMOVER_KEEP: 'daily=7' }, /DATAMOVER_KEEP is refused: the keep policy is not JSON/],
    [
      { DATAMOVER_SCHEDULE: undefined },
      /retention applies only to DataMovers created by a DataMoverSchedule/,
    ],
    [{ DATAMOVER_RUN_FOLDER: 'mirror' }, /retention needs timestamped runs \(addTimestampPrefix: true\)/],
    [{ DATAMOVER_SCHEDULE: 'Not A Name' }, /DATAMOVER_SCHEDULE must be the name of a DataMoverSchedule/],
  ])('refuses %o as a configuration error, before anything is written', (override, message) => {
    const err = errorOf(() => planFromEnv({ ...scheduled, ...override }));
    expect(err.exitCode).toBe(MoverExit.ConfigError);
    expect(err.message).toMatch(message);
  });
});

describe('the live runs', () => {
  it('are the UIDs of DATAMOVER_LIVE_RUNS, and none are known when it is absent or blank', () => {
    expect(planFromEnv({ ...env, DATAMOVER_LIVE_RUNS: 'uid-1, uid-2,,uid-3 ' }).liveRuns).toEqual(
      new Set(['uid-1', 'uid-2', 'uid-3']),
    );
    expect(planFromEnv(env)).not.toHaveProperty('liveRuns');
    expect(planFromEnv({ ...env, DATAMOVER_LIVE_RUNS: ' ' })).not.toHaveProperty('liveRuns');
  });
});

describe('syncArgs', () => {
  it('keeps metadata, links and empty directories, and passes the transfer options', () => {
    const args = syncArgs(
      planFromEnv({
        ...env,
        DATAMOVER_BANDWIDTH_LIMIT: '10M',
        DATAMOVER_CHECKSUM: 'true',
        DATAMOVER_EXCLUDE: '["tmp/**"]',
      }),
    );
    expect(args.slice(0, 3)).toEqual(['sync', '/data/', 'DATAMOVER:backups/ns/pvc/mirror/data/']);
    expect(args).toEqual(
      expect.arrayContaining(['--metadata', '--links', '--create-empty-src-dirs', '--checksum']),
    );
    expect(args.join(' ')).toContain('--bwlimit 10M');
    expect(args.join(' ')).toContain('--exclude tmp/**');
  });

  it("copies unchanged files from a base run's data inside the bucket (incremental)", () => {
    const args = syncArgs(planFromEnv(env), '2026-01-02-030405-0123abcd');
    expect(args.join(' ')).toContain('--copy-dest DATAMOVER:backups/ns/pvc/2026-01-02-030405-0123abcd/data/');
    expect(syncArgs(planFromEnv(env))).not.toContain('--copy-dest');
  });
});

describe('the mover command and a restore plan', () => {
  it('backs up by default, knows restore and verify, and refuses any other command', () => {
    expect(commandFromEnv({})).toBe('backup');
    expect(commandFromEnv({ DATAMOVER_COMMAND: 'restore' })).toBe('restore');
    expect(commandFromEnv({ DATAMOVER_COMMAND: 'verify' })).toBe('verify');
    expect(errorOf(() => commandFromEnv({ DATAMOVER_COMMAND: 'rm' })).exitCode).toBe(MoverExit.ConfigError);
  });

  it('restores latest into /restore by default, and refuses a run that is no run folder', () => {
    const restore = { ...env, DATAMOVER_COMMAND: 'restore' };
    expect(restorePlanFromEnv(restore)).toMatchObject({
      root: 'ns/pvc',
      run: 'latest',
      target: '/restore',
      overwrite: false,
      owners: false,
      namespace: 'ns',
      pvc: 'pvc',
    });
    expect(restorePlanFromEnv({ ...restore, DATAMOVER_RESTORE_OVERWRITE: 'true' }).overwrite).toBe(true);
    expect(restorePlanFromEnv({ ...restore, DATAMOVER_RESTORE_OWNERS: 'true' }).owners).toBe(true);
    expect(errorOf(() => restorePlanFromEnv({ ...restore, DATAMOVER_RESTORE_OWNERS: 'yes' })).message).toBe(
      'DATAMOVER_RESTORE_OWNERS must be true or false',
    );
    for (const run of ['2026-01-02-030405', '2026-01-02-030405-0a1b2c3d'])
      expect(restorePlanFromEnv({ ...restore, DATAMOVER_RESTORE_RUN: run }).run).toBe(run);
    const bad = errorOf(() => restorePlanFromEnv({ ...restore, DATAMOVER_RESTORE_RUN: '../x' }));
    expect(bad.exitCode).toBe(MoverExit.ConfigError);
    expect(bad.message).toMatch(/DATAMOVER_RESTORE_RUN must be/);
  });

  it('encrypts through crypt remotes when the Secret gives a password, which rclone never sees in the clear', () => {
    const plan = planFromEnv({ ...env, RCLONE_CRYPT_PASSWORD: 'pw', RCLONE_CRYPT_PASSWORD2: 'salt' });
    expect(target(plan)).toBe('DATAMOVERDATA:');
    expect(manifestPath(plan, 'ns/pvc/mirror')).toBe('DATAMOVERRUN:manifest.jsonl');
    const rcloneEnv = rcloneEnvironment(
      { RCLONE_CRYPT_PASSWORD: 'pw', RCLONE_CRYPT_NO_DATA_ENCRYPTION: 'true', RCLONE_TRANSFERS: '8' },
      plan,
    );
    expect(rcloneEnv).not.toHaveProperty('RCLONE_CRYPT_PASSWORD');
    expect(rcloneEnv).not.toHaveProperty('RCLONE_CRYPT_NO_DATA_ENCRYPTION');
    expect(rcloneEnv.RCLONE_TRANSFERS).toBe('8');
    expect(rcloneEnv.RCLONE_CONFIG_DATAMOVERDATA_REMOTE).toBe('DATAMOVER:backups/ns/pvc/mirror/data');
    expect(Object.values(rcloneEnv)).not.toContain('pw');
    expect(target(planFromEnv(env))).toBe('DATAMOVER:backups/ns/pvc/mirror/data/');
  });

  it('refuses a salt without a password', () => {
    const err = errorOf(() => planFromEnv({ ...env, RCLONE_CRYPT_PASSWORD2: 'salt' }));
    expect(err.exitCode).toBe(MoverExit.ConfigError);
  });
});
