// The mover program: runs one command, DATAMOVER_COMMAND (src/contract/env.ts), and reports its
// result as JSON in the container's termination message. `backup` (the default, mover/backup.ts)
// syncs /data into its run folder and verifies it; `restore` (mover/restore.ts) copies a run into
// the target volume and verifies it; `verify` (mover/verify.ts) checks a run in the bucket against
// its manifest. Exit codes (src/contract/exit-codes.ts) tell configuration errors from transfer
// errors and a failed verification from both.
import { writeFileSync } from 'node:fs';
import { MoverExit } from '../src/contract/exit-codes.js';
import { BackupEnv } from '../src/contract/env.js';
import { trimSlashes } from '../src/contract/layout.js';
import { REPORT_PROTOCOL, type MoverResult } from '../src/contract/result.js';
import { backup } from './backup.js';
import { MoverError, checkEnvironment, commandFromEnv, planFromEnv, restorePlanFromEnv } from './plan.js';
import { restore } from './restore.js';
import { verifyCommand } from './verify.js';

const TERMINATION_LOG = process.env.DATAMOVER_TERMINATION_LOG || '/dev/termination-log';

/**
 * Whose run this report is: the operator takes a run as done only with a report of its protocol for
 * that very run (src/contract/result.ts reportProblem), so each report names the command, the owner's
 * UID, the root and a backup's run folder as the operator gave them.
 */
function binding(): Partial<MoverResult> {
  const env = process.env;
  const command = env[BackupEnv.command]?.trim() || 'backup';
  const run = env[BackupEnv.run]?.trim();
  return {
    protocol: REPORT_PROTOCOL,
    command,
    ...(env[BackupEnv.uid] ? { uid: env[BackupEnv.uid] } : {}),
    root: trimSlashes(env[BackupEnv.root] ?? ''),
    ...(command === 'backup' && run ? { run } : {}),
  };
}

function report(outcome: MoverResult): void {
  const result = { ...binding(), ...outcome };
  let json = JSON.stringify(result);
  if (json.length > 4000) json = JSON.stringify({ ...result, error: result.error?.slice(0, 1500) });
  try {
    writeFileSync(TERMINATION_LOG, json);
  } catch (err) {
    console.error(`cannot write the termination message to ${TERMINATION_LOG}: ${String(err)}`);
  }
}

async function run(started: number): Promise<{ code: number; result: MoverResult }> {
  const seconds = () => (Date.now() - started) / 1000;
  checkEnvironment(process.env);
  switch (commandFromEnv(process.env)) {
    case 'backup':
      return { code: MoverExit.Ok, result: await backup(planFromEnv(process.env), started) };
    case 'restore': {
      const plan = restorePlanFromEnv(process.env);
      const restored = await restore(plan);
      return { code: MoverExit.Ok, result: { restore: restored, seconds: seconds() } };
    }
    case 'verify': {
      const plan = restorePlanFromEnv(process.env);
      const { report: verify, run: verified } = await verifyCommand(plan);
      const destination = `${plan.bucket}/${plan.root}/${verified}/`;
      if (verify.mismatches > 0) {
        throw new MoverError(
          MoverExit.VerifyFailed,
          `the bucket differs from the manifest of ${destination} in ${verify.mismatches} entr${verify.mismatches === 1 ? 'y' : 'ies'}: ${verify.mismatched.join('; ')}`,
          { verify, destination },
        );
      }
      console.error(`verified ${verify.verified} entries of ${destination}`);
      return { code: MoverExit.Ok, result: { verify, destination, seconds: seconds() } };
    }
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  try {
    const { code, result } = await run(started);
    report(result);
    process.exitCode = code;
  } catch (err) {
    const failure =
      err instanceof MoverError
        ? err
        : new MoverError(MoverExit.TransferFailed, String((err as Error)?.message ?? err));
    report({ ...failure.result, error: failure.message, seconds: (Date.now() - started) / 1000 });
    console.error(`datamover: ${failure.message}`);
    process.exitCode = failure.exitCode;
  }
}

await main();
