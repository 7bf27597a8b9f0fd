// Runs the mover entrypoint as the mover pod would: with an environment, as a UID/GID, reading a
// source folder; returns its exit code, its termination message and its output.
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DataMover } from '../../src/api/v1alpha1/schema.js';
import { at, config, dm, job, terminatedPod } from '../../src/controller/datamover/fixtures.test-helpers.js';
import { decide } from '../../src/controller/datamover/machine.js';
import { MoverExit } from '../../src/contract/exit-codes.js';
import { buildMoverJob } from '../../src/jobs/job.js';
import { RCLONE } from './s3.js';
import { makeTempDir } from './tempdirs.js';

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
    const dir = makeTempDir('dm-rclone-');
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
  const dir = makeTempDir('dm-term-');
  chmodSync(dir, 0o777);
  const termination = join(dir, 'termination-log');
  writeFileSync(termination, '');
  chmodSync(termination, 0o666);
  const fullEnv = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    DATAMOVER_RCLONE: opts.uid === undefined ? RCLONE : rcloneForAnyUser(),
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

/**
 * The environment the operator gives the mover of this DataMover (from its own Job spec), with the
 * Secret's variables and the source folder filled in, as the pod would see them. `liveRuns`: the
 * UIDs of the DataMovers that still back up to its root (without them, as from an older operator,
 * the mover deletes no abandoned run).
 */
export function moverEnvFor(
  dataMover: DataMover,
  secret: Record<string, string>,
  source: string,
  startTime: Date,
  liveRuns?: readonly string[],
): Record<string, string> {
  const job = buildMoverJob(dataMover, config, startTime, liveRuns);
  const env: Record<string, string> = { ...secret, DATAMOVER_SOURCE: source };
  for (const e of job.spec!.template.spec!.containers[0]!.env!)
    if (e.value !== undefined) env[e.name] = e.value;
  delete env.HOME;
  return env;
}

/** The DataMover status the operator writes when its mover exits with this code and report. */
export function statusFor(code: number, termination: string) {
  const running = dm(
    {},
    { phase: 'CreatingPod', jobName: 'backup-mover', phaseStartTime: at(0).toISOString() },
  );
  const failedJob = job({
    type: 'Failed',
    reason: code === MoverExit.EndpointUnreachable ? 'BackoffLimitExceeded' : 'PodFailurePolicy',
  });
  return decide(running, { now: at(5), job: failedJob, pods: [terminatedPod(code, termination)] }, config)
    .status;
}
