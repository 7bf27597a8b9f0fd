import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ManifestEntry } from '../src/contract/manifest.js';
import { BucketCheck, compareTree, differences, type ListedObject } from './manifest.js';

const md5 = (t: string) => createHash('md5').update(t).digest('hex');
const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const meta = { mode: 0o644, uid: 0, gid: 0, mtimeMs: 1000 };
const file = (path: string, content: string): ManifestEntry => ({
  path,
  type: 'file',
  size: Buffer.byteLength(content),
  sha256: sha(content),
  md5: md5(content),
  ...meta,
});
const dir = (path: string): ManifestEntry => ({ path, type: 'dir', ...meta, mode: 0o755 });
const link = (path: string, target: string): ManifestEntry => ({ path, type: 'symlink', target, ...meta });

const manifest = [dir('a'), file('a/x.txt', 'hello'), link('a/l', '../b'), file('empty', '')];
const listing = (over: Record<string, ListedObject | undefined> = {}) => {
  const base: Record<string, ListedObject | undefined> = {
    a: { isDir: true, size: 0 },
    'a/x.txt': { isDir: false, size: 5, hash: md5('hello') },
    'a/l.rclonelink': { isDir: false, size: 4, hash: md5('../b') },
    empty: { isDir: false, size: 0, hash: md5('') },
    ...over,
  };
  return new Map(Object.entries(base).filter((e): e is [string, ListedObject] => e[1] !== undefined));
};
const check = (l: Map<string, ListedObject>, kind: 'md5' | 'sha256' = 'md5') => {
  const c = new BucketCheck(l, kind);
  for (const e of manifest) c.entry(e);
  return c.finish();
};

describe('the bucket against a manifest', () => {
  it('verifies every entry of an intact backup: files by hash, links as .rclonelink objects, folders', () => {
    expect(check(listing())).toEqual({ verified: 4, mismatches: 0, mismatched: [] });
  });

  it('names a changed, a resized, a missing and an extra object with what differs', () => {
    const report = check(
      listing({
        'a/x.txt': { isDir: false, size: 5, hash: md5('HELLO') },
        empty: { isDir: false, size: 1, hash: md5('') },
        'a/l.rclonelink': undefined,
        'stray.bin': { isDir: false, size: 1, hash: md5('s') },
      }),
    );
    expect(report).toEqual({
      verified: 1,
      mismatches: 4,
      mismatched: ['a/x.txt: content', 'a/l: missing', 'empty: size', 'stray.bin: not in the backup'],
    });
  });

  it('compares SHA-256 when the objects were downloaded (encrypted), and names one that could not be', () => {
    const l = listing({
      'a/x.txt': { isDir: false, size: 5, hash: sha('hello') },
      'a/l.rclonelink': { isDir: false, size: 4, hash: sha('../b') },
      empty: { isDir: false, size: 0 },
    });
    expect(check(l, 'sha256').mismatched).toEqual(['empty: content (cannot be read back or decrypted)']);
  });

  it('names at most ten entries but counts all of them', () => {
    const c = new BucketCheck(new Map(), 'md5');
    for (let i = 0; i < 25; i++) c.entry(file(`f${i}`, 'x'));
    const report = c.finish();
    expect(report.mismatches).toBe(25);
    expect(report.mismatched).toHaveLength(10);
  });
});

async function* from<T>(items: T[]) {
  yield* items;
}

describe('a restored volume against a manifest', () => {
  it('passes when every entry matches, owners included when root', async () => {
    const report = await compareTree(from(manifest), from(manifest), { owners: true });
    expect(report).toEqual({
      verify: { verified: 4, mismatches: 0, mismatched: [] },
      notApplied: { count: 0, named: [] },
    });
  });

  it('names missing, extra and differing entries in one pass', async () => {
    const found = [
      dir('a'),
      { ...file('a/x.txt', 'hellp') },
      file('a/y', 'new'),
      { ...file('empty', ''), mode: 0o600 },
      dir('lost+found'),
    ];
    const report = await compareTree(from(manifest), from(found), { owners: true });
    expect(report.verify.mismatched).toEqual([
      'a/x.txt: content',
      'a/l: missing',
      'a/y: not in the backup',
      'empty: mode (600, not 644)',
    ]);
  });

  it('reports owners it could not apply as not applied, not as mismatches, when not root', async () => {
    const found = manifest.map((e) => ({ ...e, uid: 65534, gid: 65534 }));
    const report = await compareTree(from(manifest), from(found), { owners: false });
    expect(report.verify.mismatches).toBe(0);
    expect(report.notApplied.count).toBe(4);
    expect(report.notApplied.named[0]).toBe('a: owner (65534:65534, not 0:0)');
    const asRoot = await compareTree(from(manifest), from(found), { owners: true });
    expect(asRoot.verify.mismatches).toBe(4);
  });

  it('tells a changed type and a changed link target', () => {
    expect(differences(file('x', 'a'), dir('x'), { owners: true }).mismatch).toEqual([
      'type (dir, not file)',
    ]);
    expect(differences(link('l', 'a'), link('l', 'b'), { owners: true }).mismatch).toEqual(['link target']);
    expect(
      differences(file('x', 'a'), { ...file('x', 'a'), mtimeMs: 5000 }, { owners: true }).mismatch,
    ).toEqual(['mtime']);
  });
});
