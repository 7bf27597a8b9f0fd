// A restore never leaves its volume, whatever the backup or the target holds (issue 32). With
// restoreOwners the mover is root with CAP_DAC_OVERRIDE, CAP_CHOWN and CAP_FOWNER: a link that leads
// out of the volume, followed by rclone's writes or by the modes, owners and times the restore
// applies, would reach any file of the node's volume mounts. So, against a real S3 server:
//
// - a crafted backup (anyone with the bucket's credentials can make one): a legit run whose bucket
//   and manifest (and the marker's record of the manifest) get a link `x` to an absolute path outside
//   the target and a link `y` to a relative one (`../…`), then entries below them: in the manifest
//   only (`x/passwd`, `x/shadow`, `x/sub`: whose owner, mode and time the restore would apply), and
//   as objects too (`y/passwd`, `y/planted`: which rclone would write). Restored as UID 65534 and as
//   root with owners, it exits VerifyFailed (9) naming every entry it refused; `x` is a link inside
//   the target; nothing outside the target changed.
// - a target that holds a link where a legit backup has a folder (an overwrite of a volume with
//   `db -> /elsewhere`): the restore replaces the link with the backup's folder and succeeds, and
//   nothing outside the target changed.
//
// "Nothing changed" is every entry of a folder outside the target (the links' destination), with
// contents (SHA-256), type, mode, owner, modification and change times, before and after each
// restore; the outside files belong to 65534 and to root, so both kinds of restore could reach them.
import {
  chownSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MoverExit } from '../../src/contract/exit-codes.js';
import { MARKER, parseMarker, type RunMarker } from '../../src/contract/layout.js';
import {
  MANIFEST,
  comparePaths,
  manifestLine,
  parseManifestLine,
  type ManifestEntry,
} from '../../src/contract/manifest.js';
import { parseMoverResult } from '../../src/contract/result.js';
import { dm, T0 } from '../../src/controller/datamover/fixtures.test-helpers.js';
import { runFolder } from '../../src/jobs/destination.js';
import { moverEnvFor, runMover } from '../support/mover.js';
import { S3Server, rcloneOn } from '../support/s3.js';
import { makeTempDir } from '../support/tempdirs.js';
import { makeTree, snapshotTree, tempDir } from '../support/tree.js';

const s3 = new S3Server();
const BUCKET = 'backups';
const NOBODY = 65534;
const run = runFolder(dm({ addTimestampPrefix: true }), T0);
let source: string;
/** The folder outside every target that the links lead to, and its parent (the snapshot's root). */
let outside: string;
let etc: string;

const sha256 = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');

/** Every entry below `root` and `root` itself, with all that a write, chmod, chown or utimes changes. */
function snapshotOutside(root: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [path, entry] of snapshotTree(root)) {
    const st = lstatSync(join(root, path));
    out.set(path, { ...entry, ctimeMs: st.ctimeMs, mtimeMs: st.mtimeMs });
  }
  return out;
}

/** What the links lead to: files and a folder of 65534 and of root, with known modes and times. */
function makeOutside(): void {
  outside = tempDir('dm-outside-');
  etc = join(outside, 'etc');
  mkdirSync(join(etc, 'sub'), { recursive: true, mode: 0o700 });
  writeFileSync(join(etc, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n', { mode: 0o644 });
  writeFileSync(join(etc, 'shadow'), 'root:*:19000:0:99999:7:::\n', { mode: 0o600 });
  for (const p of ['passwd', 'sub', '.']) chownSync(join(etc, p), NOBODY, NOBODY);
  const old = new Date('2001-02-03T04:05:06Z');
  for (const p of ['passwd', 'shadow', 'sub', '.']) utimesSync(join(etc, p), old, old);
}

async function put(path: string, content: string): Promise<void> {
  const file = join(makeTempDir('dm-object-'), 'object');
  writeFileSync(file, content);
  await rcloneOn(s3, ['copyto', file, `S3:${BUCKET}/${path}`]);
}

const cat = async (path: string) => (await rcloneOn(s3, ['cat', `S3:${BUCKET}/${path}`])).stdout;

/**
 * A legit backup of `source` into `root`, then the links and the entries below them added to its
 * bucket and manifest, and the manifest's new hash to its marker, as someone holding the bucket's
 * credentials would: the restore finds a Complete run whose manifest matches its marker.
 */
async function craftedBackup(root: string): Promise<void> {
  const backup = await runMover(
    moverEnvFor(dm({ destinationPath: root, addTimestampPrefix: true }), s3.secretEnv(BUCKET), source, T0),
  );
  expect(backup.code, backup.output).toBe(0);
  const folder = `${root}/${run}`;
  // Targets are made in the same temporary folder as `outside`: `../<outside>/etc` leads there.
  const relative = `../${basename(outside)}/etc`;
  await put(`${folder}/data/x.rclonelink`, etc);
  await put(`${folder}/data/y.rclonelink`, relative);
  await put(`${folder}/data/y/passwd`, 'pwned\n');
  await put(`${folder}/data/y/planted`, 'planted\n');

  const root0 = { uid: 0, gid: 0, mtimeMs: 0 };
  const file = (path: string, content: string): ManifestEntry => ({
    path,
    type: 'file',
    size: Buffer.byteLength(content),
    sha256: sha256(content),
    md5: createHash('md5').update(content).digest('hex'),
    mode: 0o4777,
    ...root0,
  });
  const link = (path: string, target: string): ManifestEntry => ({
    path,
    type: 'symlink',
    target,
    mode: 0o777,
    ...root0,
  });
  const entries = (await cat(`${folder}/${MANIFEST}`))
    .split('\n')
    .filter(Boolean)
    .map((line) => parseManifestLine(line)!);
  entries.push(
    link('x', etc),
    file('x/passwd', 'pwned\n'),
    file('x/shadow', 'pwned\n'),
    { path: 'x/sub', type: 'dir', mode: 0o777, ...root0 },
    link('y', relative),
    file('y/passwd', 'pwned\n'),
    file('y/planted', 'planted\n'),
  );
  const manifest = entries
    .sort((a, b) => comparePaths(a.path, b.path))
    .map((e) => `${manifestLine(e)}\n`)
    .join('');
  await put(`${folder}/${MANIFEST}`, manifest);
  const marker = parseMarker(await cat(`${folder}/${MARKER}`)) as RunMarker;
  marker.manifest = { entries: entries.length, bytes: Buffer.byteLength(manifest), sha256: sha256(manifest) };
  await put(`${folder}/${MARKER}`, JSON.stringify(marker));
}

beforeAll(async () => {
  await s3.start(BUCKET);
  source = tempDir('dm-src-');
  makeTree(source);
  makeOutside();
  await craftedBackup('crafted');
  const legit = await runMover(
    moverEnvFor(dm({ destinationPath: 'legit', addTimestampPrefix: true }), s3.secretEnv(BUCKET), source, T0),
  );
  expect(legit.code, legit.output).toBe(0);
});

afterAll(async () => {
  await s3.stop();
});

const restoreEnv = (root: string, target: string, extra: Record<string, string>) => ({
  ...s3.secretEnv(BUCKET),
  DATAMOVER_COMMAND: 'restore',
  DATAMOVER_BACKUP_ROOT: root,
  DATAMOVER_RESTORE_RUN: 'latest',
  DATAMOVER_RESTORE_TARGET: target,
  DATAMOVER_NAMESPACE: 'ns',
  DATAMOVER_SOURCE_PVC: 'data',
  ...extra,
});

/** The two ways a restore runs: the default Job's user, and root applying owners. */
const AS: Array<[string, { uid?: number; gid?: number }, Record<string, string>]> = [
  ['as UID 65534', { uid: NOBODY, gid: NOBODY }, {}],
  ['as root with restoreOwners', {}, { DATAMOVER_RESTORE_OWNERS: 'true' }],
];

/** An empty target the restore's user may write, in the same temporary folder as `outside`. */
function target(opts: { uid?: number }): string {
  const dir = tempDir('dm-restore-target-');
  if (opts.uid !== undefined) chownSync(dir, opts.uid, opts.uid);
  return dir;
}

/** The source's entries as a restore gives them back (without owners when it is not root). */
const restored = (root: string, owners: boolean, only?: (path: string) => boolean) =>
  new Map(
    [...snapshotTree(root)]
      .filter(([path]) => !only || only(path))
      .map(([path, { uid, gid, ...rest }]) => [path, owners ? { uid, gid, ...rest } : rest]),
  );

describe('a crafted backup with entries beneath its links', () => {
  it.each(AS)(
    'is restored %s without reaching outside the target, and fails naming them',
    async (_as, user, env) => {
      const before = snapshotOutside(outside);
      const into = target(user);
      const restore = await runMover(restoreEnv('crafted', into, env), user);

      // Nothing outside the target changed: no write, no new file, no mode, owner or time.
      expect(snapshotOutside(outside)).toEqual(before);
      expect(readFileSync(join(etc, 'passwd'), 'utf8')).toBe('root:x:0:0:root:/root:/bin/sh\n');

      // What the user sees: VerifyFailed, naming what was refused and why.
      expect(restore.code, restore.output).toBe(MoverExit.VerifyFailed);
      const result = parseMoverResult(restore.termination)!;
      expect(result.error).toMatch(/^3 entries of the backup lie beneath a link and were not restored; /);
      expect(result.restore).toMatchObject({ run, mismatches: 4 });
      const real = realpathSync(etc);
      expect(result.restore!.mismatched).toEqual([
        `x/passwd: beneath a link (x leads to ${real}), not restored`,
        `x/shadow: beneath a link (x leads to ${real}), not restored`,
        `x/sub: beneath a link (x leads to ${real}), not restored`,
        // rclone wrote y's objects into a folder of the target, where the manifest says a link.
        'y: type (dir, not symlink)',
      ]);

      // The links came back as links, inside the target; what the objects below y held is inside it.
      expect(lstatSync(join(into, 'x')).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(into, 'x'))).toBe(etc);
      expect(lstatSync(join(into, 'y')).isDirectory()).toBe(true);
      expect(readFileSync(join(into, 'y/passwd'), 'utf8')).toBe('pwned\n');
      // Everything of the volume itself came back.
      const owners = user.uid === undefined;
      const ofSource = (path: string) => !/^[xy](\/|$)/.test(path);
      expect(restored(into, owners, ofSource)).toEqual(restored(source, owners));
    },
  );
});

describe('an overwrite of a target that holds a link where the backup has a folder', () => {
  it.each(AS)(
    'replaces the link %s, restores the folder inside the target and succeeds',
    async (_as, user, env) => {
      const into = target(user);
      symlinkSync(etc, join(into, 'db'));
      if (user.uid !== undefined) lchownSync(join(into, 'db'), user.uid, user.uid);
      const before = snapshotOutside(outside);
      const restore = await runMover(
        restoreEnv('legit', into, { ...env, DATAMOVER_RESTORE_OVERWRITE: 'true' }),
        user,
      );

      expect(snapshotOutside(outside)).toEqual(before);
      expect(restore.code, restore.output).toBe(0);
      expect(parseMoverResult(restore.termination)!.restore).toMatchObject({ run, mismatches: 0 });
      expect(lstatSync(join(into, 'db')).isDirectory()).toBe(true);
      const owners = user.uid === undefined;
      expect(restored(into, owners)).toEqual(restored(source, owners));
    },
  );
});
