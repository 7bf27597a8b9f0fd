// Scratch folders in the system temp dir that are removed after the test file that made them (an
// afterAll hook from test/support/cleanup-setup.ts, a setupFiles entry of every vitest project) and,
// for scripts outside vitest (benchmarks), when the process exits.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();
let hooked = false;

/** `mkdtempSync(<tmpdir>/<prefix>)`, removed with everything in it by removeTempDirs(). */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  if (!hooked) {
    hooked = true;
    process.once('exit', removeTempDirs);
  }
  return dir;
}

/** Removes every folder makeTempDir made so far; one that cannot be removed is left and reported. */
export function removeTempDirs(): void {
  for (const dir of made) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      made.delete(dir);
    } catch (err) {
      console.warn(`could not remove ${dir}: ${String(err)}`);
    }
  }
}
