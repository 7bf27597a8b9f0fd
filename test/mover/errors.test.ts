// Bad credentials, an unreachable endpoint, a missing bucket and a missing variable each fail with
// a distinct exit code and one line a user understands, which ends up in the DataMover's status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dm, T0 } from '../../src/controller/datamover/fixtures.test-helpers.js';
import { MoverExit } from '../../src/contract/exit-codes.js';
import { parseMoverResult } from '../../src/contract/result.js';
import { moverEnvFor, runMover, statusFor } from '../support/mover.js';
import { freePort } from '../support/ports.js';
import { S3Server } from '../support/s3.js';
import { makeTree, tempDir } from '../support/tree.js';

const s3 = new S3Server();
let source: string;

beforeAll(async () => {
  await s3.start('backups');
  source = tempDir('dm-src-');
  makeTree(source);
});

afterAll(async () => {
  await s3.stop();
});

const base = () => moverEnvFor(dm(), s3.secretEnv('backups'), source, T0);

describe('a mover that cannot do its job', () => {
  it.each([
    [
      'bad credentials',
      { AWS_SECRET_ACCESS_KEY: 'wrong' },
      MoverExit.CredentialsRejected,
      'BucketCredentialsRejected',
      /rejected the credentials/,
    ],
    [
      'a missing bucket',
      { BUCKET_NAME: 'no-such-bucket' },
      MoverExit.BucketNotFound,
      'BucketNotFound',
      /bucket no-such-bucket does not exist/,
    ],
    [
      'a missing variable',
      { BUCKET_HOST: '' },
      MoverExit.ConfigError,
      'MoverConfigError',
      /missing variable BUCKET_HOST/,
    ],
  ])(
    'fails on %s with its own exit code and a one-line message in the status',
    async (_what, override, code, reason, message) => {
      const run = await runMover({ ...base(), ...override });
      expect(run.code).toBe(code);
      const result = parseMoverResult(run.termination)!;
      expect(result.error).toMatch(message);
      expect(result.error).not.toContain('\n');
      const status = statusFor(run.code, run.termination);
      expect(status.conditions?.find((c) => c.type === 'Failed')?.reason).toBe(reason);
      expect(status.message).toMatch(message);
    },
  );

  it('fails on an unreachable endpoint with its own exit code, naming the endpoint', async () => {
    const closed = await freePort();
    const run = await runMover({ ...base(), BUCKET_PORT: String(closed) });
    expect(run.code).toBe(MoverExit.EndpointUnreachable);
    const result = parseMoverResult(run.termination)!;
    expect(result.error).toBe(
      `cannot reach the bucket endpoint http://127.0.0.1:${closed}: dial tcp 127.0.0.1:${closed}: connect: connection refused`,
    );
    expect(statusFor(run.code, run.termination).conditions?.find((c) => c.type === 'Failed')?.reason).toBe(
      'BucketEndpointUnreachable',
    );
  });

  it('never creates a bucket', async () => {
    await runMover({ ...base(), BUCKET_NAME: 'created-by-mistake' });
    const { existsSync } = await import('node:fs');
    expect(existsSync(`${s3.root}/created-by-mistake`)).toBe(false);
  });

  it("keeps the Secret's credentials and endpoint whatever rclone variables its environment holds", async () => {
    // The CRD and the operator refuse these in additionalEnv; the mover's own remote still wins.
    const closed = await freePort();
    const run = await runMover({
      ...base(),
      DATAMOVER_BACKUP_ROOT: 'ns/precedence',
      RCLONE_CONFIG: '/nonexistent/rclone.conf',
      RCLONE_CONFIG_DATAMOVER_SECRET_ACCESS_KEY: 'wrong',
      RCLONE_CONFIG_DATAMOVER_ENDPOINT: `http://127.0.0.1:${closed}`,
      RCLONE_S3_ACCESS_KEY_ID: 'someone-else',
      RCLONE_S3_ENDPOINT: `http://127.0.0.1:${closed}`,
    });
    expect(run.code, run.output).toBe(0);
    const { existsSync } = await import('node:fs');
    expect(existsSync(`${s3.root}/backups/ns/precedence`), run.output).toBe(true);
  });
});

describe("the mover's own check of its environment (after the CRD's and the operator's)", () => {
  it('refuses to start, exit 3, with a tenant variable off the allowlist, and writes nothing', async () => {
    // A pod an older operator made: RCLONE_BACKUP_DIR would move replaced objects out of the run.
    const run = await runMover({
      ...base(),
      DATAMOVER_BACKUP_ROOT: 'ns/tenant-env',
      DATAMOVER_TENANT_ENV: 'ENVIRONMENT,RCLONE_BACKUP_DIR',
      ENVIRONMENT: 'production',
      RCLONE_BACKUP_DIR: 'DATAMOVER:backups/elsewhere',
    });
    expect(run.code, run.output).toBe(MoverExit.ConfigError);
    const report = parseMoverResult(run.termination);
    expect(report?.error).toContain('the mover refuses to start: additionalEnv RCLONE_BACKUP_DIR is refused');
    expect(report?.protocol).toBe(1);
    const { existsSync } = await import('node:fs');
    expect(existsSync(`${s3.root}/backups/ns/tenant-env`)).toBe(false);
  });

  it('refuses to start with a variable that loads code, whoever set it', async () => {
    const run = await runMover({ ...base(), NODE_OPTIONS: '--no-warnings' });
    expect(run.code, run.output).toBe(MoverExit.ConfigError);
    expect(parseMoverResult(run.termination)?.error).toContain(
      'NODE_OPTIONS is set: it loads or runs code in the mover',
    );
  });

  it('reports a success bound to its run: protocol, command, UID, root and run folder', async () => {
    const run = await runMover({ ...base(), DATAMOVER_BACKUP_ROOT: 'ns/bound', ENVIRONMENT: 'production' });
    expect(run.code, run.output).toBe(0);
    expect(parseMoverResult(run.termination)).toMatchObject({
      protocol: 1,
      command: 'backup',
      uid: 'uid-backup',
      root: 'ns/bound',
      run: 'mirror',
      verify: { mismatches: 0 },
    });
  });
});
