// The manifest a backup leaves beside its data, and what a verify reports of it: one JSON line per
// file, folder and link of the volume, in a fixed order (comparePaths), so that a walk of a restored
// volume is compared with it in one pass. Pure: no I/O.
//
//   <root>/<run>/manifest.jsonl   (MANIFEST; encrypted: the object manifest.jsonl.bin)

export const MANIFEST = 'manifest.jsonl';
/** The manifest's object name when encrypted (rclone crypt, file name encryption off). */
export const ENCRYPTED_MANIFEST = `${MANIFEST}.bin`;
export const MANIFEST_FORMAT = 1;

/** One line of a manifest: an entry of the backed-up volume, relative to its root. */
export interface ManifestEntry {
  /** Relative path, `/`-separated, no leading `./`. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Files: size in bytes and SHA-256 of the content, hex. */
  size?: number;
  sha256?: string;
  /**
   * Files: MD5 of the content, hex. Added to the first format (optional, so older readers ignore it):
   * an S3 listing gives each object's MD5, so the bucket is verified without downloading it.
   */
  md5?: string;
  /** Permission bits (mode & 0o7777), owner, and modification time in ms since the epoch. */
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  /** Symlinks: the link's target, as stored. */
  target?: string;
}

/** What verify found: entries checked, and those that differ or are missing (the first few named). */
export interface VerifyReport {
  verified: number;
  mismatches: number;
  /** At most MAX_NAMED paths, each with what differs ("content", "missing", "mode", …). */
  mismatched: string[];
}

export const MAX_NAMED = 10;

/** One manifest line (no newline), its keys always in the same order so equal trees give equal bytes. */
export function manifestLine(e: ManifestEntry): string {
  const ordered: Record<string, unknown> = { path: e.path, type: e.type };
  if (e.type === 'file') Object.assign(ordered, { size: e.size ?? 0, sha256: e.sha256, md5: e.md5 });
  Object.assign(ordered, { mode: e.mode, uid: e.uid, gid: e.gid, mtimeMs: e.mtimeMs });
  if (e.type === 'symlink') ordered.target = e.target ?? '';
  return JSON.stringify(ordered);
}

const TYPES: ReadonlySet<string> = new Set(['file', 'dir', 'symlink']);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX32 = /^[0-9a-f]{32}$/;

/** A manifest line's entry, or undefined when the line is not one (a corrupt or foreign manifest). */
export function parseManifestLine(line: string): ManifestEntry | undefined {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const base = baseOf(raw);
  if (!base) return undefined;
  if (base.type === 'file') {
    if (!isInt(raw.size) || typeof raw.sha256 !== 'string' || !HEX64.test(raw.sha256)) return undefined;
    const md5 = typeof raw.md5 === 'string' && HEX32.test(raw.md5) ? { md5: raw.md5 } : {};
    return { ...base, size: raw.size, sha256: raw.sha256, ...md5 };
  }
  if (base.type === 'symlink')
    return typeof raw.target === 'string' ? { ...base, target: raw.target } : undefined;
  return base;
}

/** The fields every entry has, checked: a relative path that never climbs out of the volume. */
function baseOf(raw: Record<string, unknown>): ManifestEntry | undefined {
  const { path, type, mode, uid, gid, mtimeMs } = raw;
  if (typeof path !== 'string' || !path || path.startsWith('/')) return undefined;
  if (path.split('/').some((s) => s === '' || s === '.' || s === '..')) return undefined;
  if (typeof type !== 'string' || !TYPES.has(type)) return undefined;
  if (!isInt(mode) || !isInt(uid) || !isInt(gid)) return undefined;
  if (typeof mtimeMs !== 'number' || !Number.isFinite(mtimeMs)) return undefined;
  return { path, type: type as ManifestEntry['type'], mode, uid, gid, mtimeMs };
}

/**
 * The order of a manifest: folder by folder, each folder's names by UTF-16 code unit, a folder right
 * before what it holds (a depth-first walk with sorted names). Two walks of equal trees give the
 * same order, so a manifest and a walk of a restored volume are compared in one pass.
 */
export function comparePaths(a: string, b: string): number {
  const as = a.split('/');
  const bs = b.split('/');
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    if (as[i] !== bs[i]) return as[i]! < bs[i]! ? -1 : 1;
  }
  return as.length - bs.length;
}
