// Files the mover cannot read are never skipped silently: they are found before the sync and named.
import { constants } from 'node:fs';
import { access, lstat, opendir } from 'node:fs/promises';
import { join, relative } from 'node:path';

export interface Unreadable {
  count: number;
  /** Up to `limit` paths relative to the root. */
  examples: string[];
}

export async function findUnreadable(root: string, limit = 10): Promise<Unreadable> {
  const found: Unreadable = { count: 0, examples: [] };
  const note = (path: string) => {
    found.count += 1;
    if (found.examples.length < limit) found.examples.push(relative(root, path) || '.');
  };
  const visit = async (dir: string): Promise<void> => {
    try {
      await access(dir, constants.R_OK | constants.X_OK);
    } catch {
      note(dir);
      return;
    }
    for await (const entry of await opendir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isSymbolicLink()) continue; // kept as a link, never followed
      if (entry.isDirectory()) await visit(path);
      else if (entry.isFile()) {
        try {
          await access(path, constants.R_OK);
        } catch {
          note(path);
        }
      }
    }
  };
  if ((await lstat(root)).isDirectory()) await visit(root);
  return found;
}
