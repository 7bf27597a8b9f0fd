// The S3 policy docs/mover.md documents is enough for the mover, and none of it is spare: against a
// server with users and bucket policies (versitygw, built from its Go module), a user holding just
// that policy backs up and prunes its prefix; it is refused outside its prefix, without the
// policy, and when DeleteObject (what `sync` needs to prune) is taken away.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dm, T0 } from '../../src/controller/datamover/fixtures.test-helpers.js';
import { MoverExit } from '../../src/contract/exit-codes.js';
import { parseMoverResult } from '../../src/contract/result.js';
import { stopChild, waitFor } from '../support/cluster.js';
import { moverEnvFor, runMover } from '../support/mover.js';
import { freePort } from '../support/ports.js';
import { RCLONE } from '../support/s3.js';
import { tempDir } from '../support/tree.js';
import { makeTempDir } from '../support/tempdirs.js';

const VERSITYGW = process.env.VERSITYGW_BINARY ?? 'versitygw';
const exec = promisify(execFile);
const root = makeTempDir('dm-vgw-');
let port = 0;
let server: ChildProcess | undefined;
let source: string;

/** The policy in docs/mover.md, for this bucket and prefix, granted to the user `mover`. */
function documentedPolicy(bucket: string, prefix: string): string {
  const doc = readFileSync('docs/mover.md', 'utf8');
  const json = /## The least-privilege S3 user[\s\S]*?```json\n([\s\S]*?)```/.exec(doc)![1]!;
  const policy = JSON.parse(json.replaceAll('BUCKET', bucket).replaceAll('PREFIX', prefix)) as {
    Statement: Array<Record<string, unknown>>;
  };
  for (const statement of policy.Statement) statement.Principal = { AWS: ['mover'] };
  return JSON.stringify(policy);
}

const setPolicy = (policy: string | undefined) =>
  policy === undefined
    ? execFileSync('setfattr', ['-x', 'user.policy', join(root, 'data', 'backups')])
    : execFileSync('setfattr', ['-n', 'user.policy', '-v', policy, join(root, 'data', 'backups')]);

beforeAll(async () => {
  mkdirSync(join(root, 'data'));
  mkdirSync(join(root, 'iam'));
  const account = {
    access: 'mover',
    secret: 'mover-secret',
    role: 'user',
    userID: 0,
    groupID: 0,
    projectID: 0,
  };
  writeFileSync(join(root, 'iam', 'users.json'), JSON.stringify({ accessAccounts: { mover: account } }));
  port = await freePort();
  server = spawn(
    VERSITYGW,
    [
      '--access',
      'admin',
      '--secret',
      'admin-secret',
      '--port',
      `127.0.0.1:${port}`,
      '--iam-dir',
      join(root, 'iam'),
      'posix',
      join(root, 'data'),
    ],
    { stdio: 'ignore' },
  );
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined)) !== undefined, {
    what: 'versitygw',
  });
  // The administrator makes the bucket; the mover never creates one.
  await exec(RCLONE, ['mkdir', 'ADMIN:backups'], {
    env: {
      ...process.env,
      RCLONE_CONFIG: '/dev/null',
      RCLONE_CONFIG_ADMIN_TYPE: 's3',
      RCLONE_CONFIG_ADMIN_PROVIDER: 'Other',
      RCLONE_CONFIG_ADMIN_ACCESS_KEY_ID: 'admin',
      RCLONE_CONFIG_ADMIN_SECRET_ACCESS_KEY: 'admin-secret',
      RCLONE_CONFIG_ADMIN_ENDPOINT: `http://127.0.0.1:${port}`,
      RCLONE_CONFIG_ADMIN_FORCE_PATH_STYLE: 'true',
    },
  });
  source = tempDir('dm-src-');
  mkdirSync(join(source, 'db'));
  writeFileSync(join(source, 'a.txt'), 'a');
  writeFileSync(join(source, 'db/b.txt'), 'b');
});

afterAll(async () => {
  await stopChild(server);
});

const mover = (path: string) =>
  runMover({
    AWS_ACCESS_KEY_ID: 'mover',
    AWS_SECRET_ACCESS_KEY: 'mover-secret',
    BUCKET_HOST: '127.0.0.1',
    BUCKET_PORT: String(port),
    TLS_HOST: 'false',
    BUCKET_NAME: 'backups',
    ...moverEnvFor(dm({ destinationPath: path }), {}, source, T0),
  });

describe('a mover user with the documented policy', () => {
  it('backs up and prunes its prefix', async () => {
    setPolicy(documentedPolicy('backups', 'ns/app'));
    const first = await mover('ns/app');
    expect(first.code, first.output).toBe(0);
    expect(parseMoverResult(first.termination)).toMatchObject({ files: 2 });
    rmSync(join(source, 'a.txt'));
    const second = await mover('ns/app');
    expect(second.code, second.output).toBe(0);
    const app = join(root, 'data', 'backups', 'ns', 'app');
    expect((await exec('find', [app, '-type', 'f'])).stdout.trim().split('\n').sort()).toEqual([
      join(app, '.datamover.json'),
      join(app, 'mirror', '.datamover.json'),
      join(app, 'mirror', 'data', 'db', 'b.txt'),
      // The second run's manifest replaced the first's: the policy lets the mover write and verify it.
      join(app, 'mirror', 'manifest.jsonl'),
    ]);
  });

  it('is refused outside its prefix', async () => {
    setPolicy(documentedPolicy('backups', 'ns/app'));
    const run = await mover('ns/other');
    expect(run.code).toBe(MoverExit.CredentialsRejected);
  });

  it('is refused without the policy', async () => {
    setPolicy(undefined);
    const run = await mover('ns/app');
    expect(run.code).toBe(MoverExit.CredentialsRejected);
  });

  it('cannot prune without DeleteObject, so the policy needs it', async () => {
    setPolicy(documentedPolicy('backups', 'ns/app').replace('"s3:DeleteObject",', ''));
    writeFileSync(join(source, 'a.txt'), 'a');
    expect((await mover('ns/app')).code).toBe(0);
    rmSync(join(source, 'a.txt'));
    const run = await mover('ns/app');
    expect(run.code).toBe(MoverExit.CredentialsRejected);
  });
});
