// The volume side of a manifest: walking a folder into manifest entries (the backup's source, a
// restored target), and making a restored target's links and applying its metadata, never outside
// it. The walk streams: one folder's names are sorted at a time, and files are hashed a few at a
// time, in order, so a tree of a million files costs the memory of its widest folder, not of the tree.
import { createHash } from 'node:crypto';
import { constants, createReadStream, type Stats } from 'node:fs';
import {
  lchown,
  lstat,
  lutimes,
  open,
  opendir,
  readdir,
  readlink,
  realpath,
  symlink,
  unlink,
} from 'node:fs/promises';
import { join, posix } from 'node:path';
import { MAX_NAMED, type ManifestEntry } from '../src/contract/manifest.js';

/** Files hashed at once: enough to keep a disk busy, few enough for two cores. */
export const HASH_CONCURRENCY = 4;

interface Found {
  path: string;
  abs: string;
  st: Stats;
}

/**
 * Depth-first, names sorted by UTF-16 code unit (the manifest's order, comparePaths), symlinks never
 * followed. Sockets, FIFOs and devices are left out: rclone does not copy them either.
 * `keep` decides which paths belong (the backup's include/exclude filters).
 */
async function* walk(root: string, keep?: (path: string) => boolean, rel = ''): AsyncGenerator<Found> {
  const dir = rel ? join(root, rel) : root;
  const names: string[] = [];
  for await (const d of await opendir(dir)) names.push(d.name);
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    const path = rel ? `${rel}/${name}` : name;
    const abs = join(root, path);
    const st = await lstat(abs);
    if (!st.isFile() && !st.isDirectory() && !st.isSymbolicLink()) continue;
    if (!keep || keep(st.isDirectory() ? `${path}/` : path)) yield { path, abs, st };
    if (st.isDirectory()) yield* walk(root, keep, path);
  }
}

async function hashFile(abs: string, md5: boolean): Promise<{ sha256: string; md5?: string; size: number }> {
  const sha = createHash('sha256');
  const m = md5 ? createHash('md5') : undefined;
  let size = 0;
  for await (const chunk of createReadStream(abs, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    sha.update(chunk);
    m?.update(chunk);
    size += chunk.length;
  }
  return { sha256: sha.digest('hex'), ...(m ? { md5: m.digest('hex') } : {}), size };
}

async function entryOf(f: Found, md5: boolean): Promise<ManifestEntry> {
  const base = {
    path: f.path,
    mode: f.st.mode & 0o7777,
    uid: f.st.uid,
    gid: f.st.gid,
    mtimeMs: f.st.mtimeMs,
  };
  if (f.st.isSymbolicLink()) return { ...base, type: 'symlink', target: await readlink(f.abs) };
  if (f.st.isDirectory()) return { ...base, type: 'dir' };
  // The size is what was read: a file that changes while it is read shows as a content mismatch.
  const h = await hashFile(f.abs, md5);
  return { ...base, type: 'file', size: h.size, sha256: h.sha256, ...(h.md5 ? { md5: h.md5 } : {}) };
}

/** Maps in order with at most `n` calls in flight. */
async function* ordered<A, B>(
  source: AsyncIterable<A>,
  fn: (a: A) => Promise<B>,
  n: number,
): AsyncGenerator<B> {
  const window: Array<Promise<B>> = [];
  for await (const item of source) {
    const p = fn(item);
    p.catch(() => undefined); // awaited below, in order; never an unhandled rejection meanwhile
    window.push(p);
    if (window.length >= n) yield await window.shift()!;
  }
  while (window.length) yield await window.shift()!;
}

/** The manifest entries of a folder (not of the folder itself), in manifest order. */
export function describe(
  root: string,
  opts: { md5: boolean; keep?: (path: string) => boolean; concurrency?: number },
): AsyncGenerator<ManifestEntry> {
  return ordered(walk(root, opts.keep), (f) => entryOf(f, opts.md5), opts.concurrency ?? HASH_CONCURRENCY);
}

/** What a restore refused to apply: entries that lie beneath a link. */
export interface Refused {
  count: number;
  /** At most MAX_NAMED of them, `path: why`, and their paths. */
  named: string[];
  paths: string[];
}

/**
 * Opens an entry itself, never what a link there points to; O_NONBLOCK so that a FIFO an overwrite
 * left in the target cannot hold the restore.
 */
const OPEN_ENTRY = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Makes the backup's links and sets what rclone does not restore, from the manifest: every entry's
 * mode and modification time, and its owner when `owners` (a mover that is root with CAP_CHOWN;
 * chown before chmod, which keeps the set-user-ID and set-group-ID bits a chown clears). Folders last
 * and deepest first, once nothing more is written into them (creating a file or link changes its
 * folder's time, and a 0500 folder would refuse it).
 *
 * Nothing here leaves the volume. With restoreOwners the mover is root with CAP_DAC_OVERRIDE, CAP_CHOWN
 * and CAP_FOWNER, and a crafted backup (a link `x -> /etc` and an entry `x/passwd`) would otherwise
 * give a file outside the volume the entry's owner, mode and time. So an entry is applied only when
 * its folder is the real folder `<target>/<folder>`, no link on the way (realpath), and the entry
 * itself is opened with O_NOFOLLOW (lchown and lutimes for links); an entry whose folder is, or lies
 * beneath, a link is refused and returned by name: the verify that follows finds it missing. This
 * assumes nothing else writes the volume during the restore (rclone, which writes by path, does too).
 *
 * A change the kernel refuses (EPERM, EACCES: a mover without the capability, a file of another user
 * left by an overwrite) is left for the verify that follows, which names the entry: an owner as not
 * applied, or as a mismatch when owners were asked for; a mode, a time or a link as a mismatch.
 */
export async function applyManifest(
  root: string,
  manifest: AsyncIterable<ManifestEntry>,
  owners: boolean,
): Promise<Refused> {
  const realRoot = await realpath(root);
  const refused: Refused = { count: 0, named: [], paths: [] };
  const refuse = (path: string, why: string) => {
    refused.count += 1;
    if (refused.named.length === MAX_NAMED) return;
    refused.named.push(`${path}: ${why}`);
    refused.paths.push(path);
  };
  let checked = ''; // the last folder found to be the real one: entries come folder by folder
  /** Whether the entry's folder is the volume's own, no link on the way. */
  const inVolume = async (path: string): Promise<boolean> => {
    // The manifest's parser refuses these already; never join them onto the target anyway.
    if (path.split('/').some((s) => s === '' || s === '.' || s === '..')) {
      refuse(path, 'not a path inside the volume, not restored');
      return false;
    }
    const folder = posix.dirname(path);
    if (folder === '.' || folder === checked) return true;
    // A folder that is missing (rclone did not restore it) is the verify's to name.
    const real = await realpath(join(root, folder)).catch(() => undefined);
    if (real === undefined) return false;
    if (real !== join(realRoot, folder)) {
      refuse(path, `beneath a link (${folder} leads to ${real}), not restored`);
      return false;
    }
    checked = folder;
    return true;
  };
  const apply = async (e: ManifestEntry) => {
    if (!(await inVolume(e.path))) return;
    const abs = join(root, e.path);
    const time = e.mtimeMs / 1000;
    if (e.type === 'symlink') {
      // rclone restores no link (restore.ts, restoreArgs): each is made here, after the copy. A link
      // where rclone wrote something else (a backup whose listing differs) is the verify's to name.
      const target = e.target ?? '';
      if (target.includes('\0')) return;
      if (!(await symlink(target, abs).then(() => true, leftToVerify))) return;
      if (owners) await lchown(abs, e.uid, e.gid).catch(leftToVerify);
      return lutimes(abs, time, time).catch(leftToVerify);
    }
    // Only what is the entry's type is opened: never a link (O_NOFOLLOW), FIFO or device left there.
    const st = await lstat(abs).catch(leftToVerify);
    if (!st || (e.type === 'dir' ? !st.isDirectory() : !st.isFile())) return;
    const fh = await open(abs, OPEN_ENTRY).catch(leftToVerify);
    if (!fh) return;
    try {
      if (owners) await fh.chown(e.uid, e.gid).catch(leftToVerify);
      await fh.chmod(e.mode).catch(leftToVerify);
      await fh.utimes(time, time).catch(leftToVerify);
    } finally {
      await fh.close();
    }
  };
  const dirs: ManifestEntry[] = [];
  for await (const e of manifest) {
    if (e.type === 'dir') dirs.push(e);
    else await apply(e);
  }
  dirs.sort((a, b) => b.path.split('/').length - a.path.split('/').length);
  for (const d of dirs) await apply(d);
  return refused;
}

/**
 * Removes every link below `root`, never following one, before rclone writes there: rclone writes by
 * path, so a link the target holds where the backup has a folder (`x -> /etc`, and `x/passwd` in the
 * backup) would lead its writes out of the volume. An overwrite replaces them anyway (the backup's
 * own links are made again from the manifest); a fresh volume holds at most lost+found. A folder the
 * mover cannot read is skipped: a mover that cannot read it is not root, and writes nowhere its user
 * could not.
 */
export async function removeLinks(root: string, rel = ''): Promise<void> {
  const names = await readdir(rel ? join(root, rel) : root).catch(leftToVerify);
  for (const name of names ?? []) {
    const path = rel ? `${rel}/${name}` : name;
    const st = await lstat(join(root, path)).catch(leftToVerify);
    if (st?.isSymbolicLink()) await unlink(join(root, path));
    else if (st?.isDirectory()) await removeLinks(root, path);
  }
}

/**
 * What the verify that follows reports by name (a path rclone did not restore, a refused change, a
 * link where rclone wrote a file or folder, an entry that became a link since it was looked at).
 */
const LEFT_TO_VERIFY = new Set(['ENOENT', 'ENOTDIR', 'EPERM', 'EACCES', 'EEXIST', 'ELOOP']);

function leftToVerify(err: NodeJS.ErrnoException): undefined {
  if (!LEFT_TO_VERIFY.has(err.code ?? '')) throw err;
  return undefined;
}
