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
