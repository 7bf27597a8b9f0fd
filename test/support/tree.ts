// Source trees for the mover's tests, and a description of a tree to compare a restore with.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { makeTempDir } from './tempdirs.js';

export function tempDir(prefix: string): string {
  const dir = makeTempDir(prefix);
  chmodSync(dir, 0o755);
  return dir;
}

/** Nested folders, empty files and folders, symlinks, modes, owners, names with spaces and non-ASCII. */
export function makeTree(root: string, opts: { bigFileMiB?: number } = {}): void {
  const file = (path: string, content: string | Buffer, mode = 0o644) => {
    writeFileSync(join(root, path), content);
    chmodSync(join(root, path), mode);
  };
  mkdirSync(join(root, 'db/wal/segments'), { recursive: true });
  mkdirSync(join(root, 'empty dir'), { recursive: true });
  mkdirSync(join(root, 'données/été'), { recursive: true });
  file('README.md', '# app data\n');
  file('empty.txt', '');
  file('db/data.db', Buffer.alloc(100_000, 7), 0o600);
  file('db/wal/segments/0001.seg', 'segment-1\n', 0o640);
  file('run.sh', '#!/bin/sh\necho hi\n', 0o755);
  file('données/été/naïve café.txt', 'ünïcödé ✓\n');
  file('with space.txt', 'spaces\n');
  chownSync(join(root, 'db/wal/segments/0001.seg'), 1001, 1002);
  symlinkSync('db/data.db', join(root, 'current.db'));
  symlinkSync('../README.md', join(root, 'données/readme-link'));
  utimesSync(join(root, 'README.md'), new Date('2021-05-06T07:08:09Z'), new Date('2021-05-06T07:08:09Z'));
  if (opts.bigFileMiB) {
    execFileSync('sh', [
      '-c',
      `head -c ${opts.bigFileMiB * 1024 * 1024} /dev/urandom > "${join(root, 'big.bin')}"`,
    ]);
  }
}

export interface Entry {
  type: 'file' | 'dir' | 'link';
  mode?: string;
  uid?: number;
  gid?: number;
  mtime?: number;
  sha256?: string;
  target?: string;
}

/** Everything a backup must keep, per relative path. Directory times are not kept (documented). */
export function describeTree(root: string): Record<string, Entry> {
  const out: Record<string, Entry> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const rel = relative(root, path);
      const st = lstatSync(path);
      if (st.isSymbolicLink()) out[rel] = { type: 'link', target: readlinkSync(path) };
      else if (st.isDirectory()) {
        out[rel] = { type: 'dir' };
        walk(path);
      } else {
        out[rel] = {
          type: 'file',
          mode: (st.mode & 0o7777).toString(8),
          uid: st.uid,
          gid: st.gid,
          mtime: Math.floor(st.mtimeMs / 1000),
          sha256: createHash('sha256').update(readFileSync(path)).digest('hex'),
        };
      }
    }
  };
  walk(root);
  return out;
}

/** A text every small file of makeRestoreTree holds: no encrypted object may contain it. */
export const CONTENT_MARKER = 'DATAMOVER-PLAINTEXT-MARKER';
/** Owner of makeRestoreTree's private files: neither root nor the mover's default UID. */
export const PRIVATE_UID = 4321;

/**
 * Everything a restore must give back, at scale: a large file, empty files, names in several scripts,
 * a folder 40 levels deep, `smallFiles` small files (100 to a folder), relative, absolute and dangling
 * symlinks, empty folders, folders and files with their own modes and times, and 0600 files in a
 * 0700 folder owned by PRIVATE_UID (only root reads them).
 */
export function makeRestoreTree(root: string, opts: { bigFileMiB: number; smallFiles: number }): void {
  const at = (p: string) => join(root, p);
  const file = (p: string, content: string | Buffer, mode = 0o644) => {
    writeFileSync(at(p), content);
    chmodSync(at(p), mode);
  };
  execFileSync('sh', ['-c', `head -c ${opts.bigFileMiB * 1024 * 1024} /dev/urandom > "${at('big.bin')}"`]);
  mkdirSync(at('données/été'), { recursive: true });
  mkdirSync(at('日本語'), { recursive: true });
  file('empty.txt', '');
  file('données/été/naïve café.txt', `ünïcödé ✓ ${CONTENT_MARKER}\n`);
  file('日本語/ファイル.txt', `こんにちは ${CONTENT_MARKER}\n`);
  file('🎉 party.txt', `emoji ${CONTENT_MARKER}\n`, 0o640);
  const deep = Array.from({ length: 40 }, (_, i) => `level-${String(i).padStart(2, '0')}`).join('/');
  mkdirSync(at(deep), { recursive: true });
  file(`${deep}/bottom.txt`, `forty levels down ${CONTENT_MARKER}\n`);
  file(`${deep}/empty-at-the-bottom`, '');
  for (let i = 0; i < opts.smallFiles; i++) {
    const dir = `many/${String(Math.floor(i / 100)).padStart(3, '0')}`;
    if (i % 100 === 0) mkdirSync(at(dir), { recursive: true });
    file(`${dir}/file-${String(i).padStart(5, '0')}.txt`, `${CONTENT_MARKER} ${i} ${'x'.repeat(i % 300)}\n`);
  }
  symlinkSync('many/000/file-00000.txt', at('link-relative'));
  symlinkSync('/etc/hostname', at('link-absolute'));
  symlinkSync('no/such/file', at('link-dangling'));
  symlinkSync('../../données', at('many/000/link-up'));
  mkdirSync(at('empty dir'));
  mkdirSync(at('empty/nested/deeper'), { recursive: true });
  mkdirSync(at('private'));
  file('private/secret.key', `key ${CONTENT_MARKER}\n`, 0o600);
  file('private/other.key', `other ${CONTENT_MARKER}\n`, 0o600);
  for (const p of ['private/secret.key', 'private/other.key', 'private'])
    chownSync(at(p), PRIVATE_UID, PRIVATE_UID);
  chmodSync(at('private'), 0o700);
  chmodSync(at('données'), 0o750);
  chmodSync(at('empty dir'), 0o711);
  file('run.sh', '#!/bin/sh\necho hi\n', 0o755);
  file('setgid-dir-file', 'g\n', 0o2755);
  const old = new Date('2020-02-03T04:05:06.789Z');
  for (const p of ['empty.txt', 'données/été/naïve café.txt', 'empty dir', 'données/été', deep])
    utimesSync(at(p), old, old);
}

export interface FullEntry {
  type: 'file' | 'dir' | 'link';
  mode: string;
  uid: number;
  gid: number;
  /** Milliseconds, rounded: a backup keeps times to the millisecond at least. */
  mtimeMs: number;
  size?: number;
  sha256?: string;
  target?: string;
}

/** Every entry of a tree with content hash and all of its metadata, folders and links included. */
export function snapshotTree(root: string): Map<string, FullEntry> {
  const out = new Map<string, FullEntry>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = lstatSync(path);
      const base = {
        mode: (st.mode & 0o7777).toString(8),
        uid: st.uid,
        gid: st.gid,
        mtimeMs: Math.round(st.mtimeMs),
      };
      const rel = relative(root, path);
      if (st.isSymbolicLink()) out.set(rel, { type: 'link', ...base, mode: '-', target: readlinkSync(path) });
      else if (st.isDirectory()) {
        out.set(rel, { type: 'dir', ...base });
        walk(path);
      } else {
        const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
        out.set(rel, { type: 'file', ...base, size: st.size, sha256 });
      }
    }
  };
  walk(root);
  return out;
}
