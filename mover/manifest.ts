// Comparing a backup's manifest with what is there: the objects of the bucket (after a backup, or by
// the verify command) and a restored volume (after a restore). Pure: the caller lists and walks.
//
// In the bucket a file is an object of its size and content hash under `data/`, a symlink the object
// `<name>.rclonelink` holding its target (rclone --links), and a folder a directory marker or a
// prefix. Which hash the bucket gives depends on the remote: MD5 in an S3 listing (the ETag, or the
// md5chksum rclone stores with multipart uploads), none through crypt (the mover then downloads and
// hashes with SHA-256); the manifest holds both, so either is compared with what the backup read.
import { createHash } from 'node:crypto';
import { MAX_NAMED, comparePaths, type ManifestEntry, type VerifyReport } from '../src/contract/manifest.js';

export const LINK_SUFFIX = '.rclonelink';

/** An object of the bucket's data folder as a listing shows it. */
export interface ListedObject {
  isDir: boolean;
  size: number;
  /** The content hash the listing gave, of the kind the check is made with. */
  hash?: string;
}

export type HashKind = 'md5' | 'sha256';

const digest = (kind: HashKind, text: string) => createHash(kind).update(text, 'utf8').digest('hex');

/** Counts what was checked and names the first MAX_NAMED differences. */
export class Tally {
  verified = 0;
  mismatches = 0;
  readonly mismatched: string[] = [];

  ok(): void {
    this.verified += 1;
  }

  differs(path: string, what: string[]): void {
    this.mismatches += 1;
    if (this.mismatched.length < MAX_NAMED) this.mismatched.push(`${path}: ${what.join(', ')}`);
  }

  report(): VerifyReport {
    return { verified: this.verified, mismatches: this.mismatches, mismatched: [...this.mismatched] };
  }
}

/**
 * The bucket's data folder against the manifest: feed every manifest entry, then finish. The listing
 * is consumed as it is matched; what is left at the end is in the bucket but not in the backup.
 */
export class BucketCheck {
  private readonly tally = new Tally();

  constructor(
    private readonly listing: Map<string, ListedObject>,
    private readonly kind: HashKind,
  ) {}

  entry(e: ManifestEntry): void {
    const name = e.type === 'symlink' ? `${e.path}${LINK_SUFFIX}` : e.path;
    const found = this.listing.get(name);
    this.listing.delete(name);
    if (!found) return this.tally.differs(e.path, ['missing']);
    if (e.type === 'dir') {
      return found.isDir ? this.tally.ok() : this.tally.differs(e.path, ['type']);
    }
    if (found.isDir) return this.tally.differs(e.path, ['type']);
    const size = e.type === 'symlink' ? Buffer.byteLength(e.target ?? '', 'utf8') : (e.size ?? 0);
    const hash =
      e.type === 'symlink' ? digest(this.kind, e.target ?? '') : this.kind === 'md5' ? e.md5 : e.sha256;
    const what: string[] = [];
    if (found.size !== size) what.push('size');
    if (found.hash === undefined) what.push('content (cannot be read back or decrypted)');
    else if (hash === undefined) what.push('content (no hash to compare)');
    else if (found.hash.toLowerCase() !== hash) what.push('content');
    if (what.length) this.tally.differs(e.path, what);
    else this.tally.ok();
  }

  finish(): VerifyReport {
    for (const [path] of [...this.listing].sort(([a], [b]) => comparePaths(a, b))) {
      this.tally.differs(path, ['not in the backup']);
    }
    this.listing.clear();
    return this.tally.report();
  }
}

/** What differs between a manifest entry and what a walk found at its path. */
export function differences(
  want: ManifestEntry,
  found: ManifestEntry,
  opts: { owners: boolean },
): { mismatch: string[]; notApplied: string[] } {
  const mismatch: string[] = [];
  const notApplied: string[] = [];
  if (want.type !== found.type) return { mismatch: [`type (${found.type}, not ${want.type})`], notApplied };
  if (want.type === 'file') {
    if (want.size !== found.size) mismatch.push('size');
    if (want.sha256 !== found.sha256) mismatch.push('content');
  }
  if (want.type === 'symlink' && want.target !== found.target) mismatch.push('link target');
  // A symlink's own mode is always 0777 on Linux: nothing to restore or compare.
  if (want.type !== 'symlink' && want.mode !== found.mode) {
    mismatch.push(`mode (${found.mode.toString(8)}, not ${want.mode.toString(8)})`);
  }
  if (Math.abs(want.mtimeMs - found.mtimeMs) >= 1) mismatch.push('mtime');
  if (want.uid !== found.uid || want.gid !== found.gid) {
    const owner = `owner (${found.uid}:${found.gid}, not ${want.uid}:${want.gid})`;
    (opts.owners ? mismatch : notApplied).push(owner);
  }
  return { mismatch, notApplied };
}

export interface TargetReport {
  verify: VerifyReport;
  notApplied: { count: number; named: string[] };
}

/** Names that may lie in a fresh volume's root without being restored (mkfs.ext4 makes lost+found). */
const VOLUME_NOISE = new Set(['lost+found']);

/**
 * A restored volume against the manifest, both in manifest order (comparePaths): one pass, neither
 * held in memory. `owners`: the restore ran as root, so owners must match; otherwise a different
 * owner is reported as not applied.
 */
export async function compareTree(
  manifest: AsyncIterable<ManifestEntry>,
  walk: AsyncIterable<ManifestEntry>,
  opts: { owners: boolean },
): Promise<TargetReport> {
  const tally = new Tally();
  const notApplied = { count: 0, named: [] as string[] };
  const found = walk[Symbol.asyncIterator]();
  let next = await found.next();
  const extra = (e: ManifestEntry) => {
    if (!VOLUME_NOISE.has(e.path.split('/')[0]!)) tally.differs(e.path, ['not in the backup']);
  };
  for await (const want of manifest) {
    while (!next.done && comparePaths(next.value.path, want.path) < 0) {
      extra(next.value);
      next = await found.next();
    }
    if (next.done || next.value.path !== want.path) {
      tally.differs(want.path, ['missing']);
      continue;
    }
    const d = differences(want, next.value, opts);
    if (d.notApplied.length) {
      notApplied.count += 1;
      if (notApplied.named.length < MAX_NAMED)
        notApplied.named.push(`${want.path}: ${d.notApplied.join(', ')}`);
    }
    if (d.mismatch.length) tally.differs(want.path, d.mismatch);
    else tally.ok();
    next = await found.next();
  }
  for (; !next.done; next = await found.next()) extra(next.value);
  return { verify: tally.report(), notApplied };
}
