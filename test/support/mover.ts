// Runs the mover entrypoint as the mover pod would: with an environment, as a UID/GID, reading a
// source folder; returns its exit code, its termination message and its output.
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RCLONE } from './s3.js';

export const ENTRYPOINT = resolve('dist/mover/entrypoint.js');

export interface MoverRun {
  code: number;
  termination: string;
  output: string;
}

let sharedRclone: string | undefined;

/** The rclone binary where any user may run it (the cache under $HOME is private), as in the image. */
function rcloneForAnyUser(): string {
  if (!sharedRclone) {
    const dir = mkdtempSync(join(tmpdir(), 'dm-rclone-'));
    chmodSync(dir, 0o755);
    sharedRclone = join(dir, 'rclone');
    copyFileSync(RCLONE, sharedRclone);
    chmodSync(sharedRclone, 0o755);
  }
  return sharedRclone;
}

export function runMover(
  env: Record<string, string>,
  opts: { uid?: number; gid?: number } = {},
): Promise<MoverRun> {
  const dir = mkdtempSync(join(tmpdir(), 'dm-term-'));
  chmodSync(dir, 0o777);
  const termination = join(dir, 'termination-log');
  writeFileSync(termination, '');
  chmodSync(termination, 0o666);
  const fullEnv = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    RCLONE_BINARY: opts.uid === undefined ? RCLONE : rcloneForAnyUser(),
    DATAMOVER_TERMINATION_LOG: termination,
    ...env,
  };
  const [cmd, args] =
    opts.uid === undefined
      ? [process.execPath, [ENTRYPOINT]]
      : [
          'setpriv',
          [
            `--reuid=${opts.uid}`,
            `--regid=${opts.gid ?? opts.uid}`,
            '--clear-groups',
            process.execPath,
            ENTRYPOINT,
          ],
        ];
  return new Promise((res) => {
    execFile(cmd, args, { env: fullEnv, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      res({
        code: typeof code === 'number' ? code : 1,
        termination: readFileSync(termination, 'utf8'),
        output: `${stdout}${stderr}`,
      });
    });
  });
}
