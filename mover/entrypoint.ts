// The mover: checks its configuration, that every file is readable and that the bucket exists, then
// runs `rclone sync` from /data to the bucket and reports the result as JSON in its termination
// message. Exit codes (src/mover/exit-codes.ts) tell configuration errors from transfer errors.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { MoverExit } from '../src/mover/exit-codes.js';
import {
  MoverError,
  checkBucketArgs,
  classifyRcloneFailure,
  finalStats,
  planFromEnv,
  rcloneEnvironment,
  syncArgs,
  type MoverPlan,
} from '../src/mover/plan.js';
import { findUnreadable } from '../src/mover/readable.js';
import type { MoverResult } from '../src/mover/result.js';

const TERMINATION_LOG = process.env.DATAMOVER_TERMINATION_LOG || '/dev/termination-log';
const RCLONE = process.env.RCLONE_BINARY || 'rclone';
const KEEP_LINES = 400;

function report(result: MoverResult): void {
  let json = JSON.stringify(result);
  if (json.length > 4000) json = JSON.stringify({ ...result, error: result.error?.slice(0, 2000) });
  try {
    writeFileSync(TERMINATION_LOG, json);
  } catch (err) {
    console.error(`cannot write the termination message to ${TERMINATION_LOG}: ${String(err)}`);
  }
}

/** Runs rclone, passing its log through and keeping the end of it for classification. */
function rclone(args: string[], plan: MoverPlan): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(RCLONE, args, {
      env: rcloneEnvironment(process.env, plan),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let partial = '';
    const take = (chunk: Buffer, sink: NodeJS.WriteStream) => {
      sink.write(chunk);
      const text = partial + chunk.toString();
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > KEEP_LINES) lines.shift();
      }
    };
    child.stdout.on('data', (c: Buffer) => take(c, process.stdout));
    child.stderr.on('data', (c: Buffer) => take(c, process.stderr));
    child.on('error', (err) =>
      reject(new MoverError(MoverExit.ConfigError, `cannot run rclone (${RCLONE}): ${err.message}`)),
    );
    child.on('close', (code) => resolve({ code: code ?? 1, output: [...lines, partial].join('\n') }));
  });
}

async function run(started: number): Promise<number> {
  const plan = planFromEnv(process.env);
  const unreadable = await findUnreadable(plan.source);
  if (unreadable.count > 0) {
    const uid = process.getuid?.() ?? '?';
    throw new MoverError(
      MoverExit.UnreadableFiles,
      `cannot read ${unreadable.count} file(s) as uid ${uid}: ${unreadable.examples.join(', ')}; run the mover as the application's user (DataMover spec.securityContext.runAsUser/runAsGroup)`,
    );
  }
  const check = await rclone(checkBucketArgs(plan), plan);
  if (check.code !== 0) throw classifyRcloneFailure(check.output, plan);
  const sync = await rclone(syncArgs(plan), plan);
  if (sync.code !== 0) throw classifyRcloneFailure(sync.output, plan);
  const stats = finalStats(sync.output) ?? { bytes: 0, files: 0, errors: 0 };
  const destination = `${plan.bucket}/${plan.path ? `${plan.path}/` : ''}`;
  report({ ...stats, seconds: (Date.now() - started) / 1000, destination });
  console.error(`synced ${stats.files} file(s), ${stats.bytes} bytes to ${destination}`);
  return MoverExit.Ok;
}

async function main(): Promise<void> {
  const started = Date.now();
  try {
    process.exitCode = await run(started);
  } catch (err) {
    const failure =
      err instanceof MoverError
        ? err
        : new MoverError(MoverExit.TransferFailed, String((err as Error)?.message ?? err));
    report({ error: failure.message, seconds: (Date.now() - started) / 1000 });
    console.error(`datamover: ${failure.message}`);
    process.exitCode = failure.exitCode;
  }
}

await main();
