// The volume side of a manifest: walking a folder into manifest entries (the backup's source, a
// restored target), and applying a manifest's metadata to a restored target. The walk streams: one
// folder's names are sorted at a time, and files are hashed a few at a time, in order, so a tree of a
// million files costs the memory of its widest folder, not of the tree.
import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { chmod, lchown, lstat, lutimes, opendir, readlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManifestEntry } from '../src/contract/manifest.js';

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

/**
 * Sets what rclone does not restore from the manifest: every entry's mode and modification time, and
 * its owner when `owners` (a mover that is root with CAP_CHOWN; chown before chmod, which keeps the
 * set-user-ID and set-group-ID bits a chown clears). Folders last and deepest first, once nothing
 * more is written into them (creating a file changes its folder's time, and a 0500 folder would
 * refuse it). A change the kernel refuses (EPERM, EACCES: a mover without the capability, a file of
 * another user left by an overwrite) is left for the verify that follows, which names the entry: an
 * owner as not applied, or as a mismatch when owners were asked for; a mode or a time as a mismatch.
 */
export async function applyMetadata(
  root: string,
  manifest: AsyncIterable<ManifestEntry>,
  owners: boolean,
): Promise<void> {
  const dirs: ManifestEntry[] = [];
  const apply = async (e: ManifestEntry) => {
    const abs = join(root, e.path);
    const time = e.mtimeMs / 1000;
    if (owners) await lchown(abs, e.uid, e.gid).catch(leftToVerify);
    if (e.type === 'symlink') return lutimes(abs, time, time).catch(leftToVerify);
    await chmod(abs, e.mode).catch(leftToVerify);
    await utimes(abs, time, time).catch(leftToVerify);
  };
  for await (const e of manifest) {
    if (e.type === 'dir') dirs.push(e);
    else await apply(e);
  }
  dirs.sort((a, b) => b.path.split('/').length - a.path.split('/').length);
  for (const d of dirs) await apply(d);
}

/** What the verify that follows reports by name (a path rclone did not restore, a refused change). */
const LEFT_TO_VERIFY = new Set(['ENOENT', 'ENOTDIR', 'EPERM', 'EACCES']);

function leftToVerify(err: NodeJS.ErrnoException): void {
  if (!LEFT_TO_VERIFY.has(err.code ?? '')) throw err;
}
