// Runs rclone with the mover's remote: its log passes through to the pod's log, and the end of it is
// kept to classify a failure. Listing commands keep their standard output to themselves.
import { spawn } from 'node:child_process';
import { MoverExit } from '../src/contract/exit-codes.js';
import { MoverError, rcloneEnvironment, type MoverPlan } from './plan.js';

const RCLONE = process.env.RCLONE_BINARY || 'rclone';
const KEEP_LINES = 400;

export interface RcloneRun {
  code: number;
  /** Standard output, when the command was run `quiet`. */
  stdout: string;
  /** The last lines of what rclone printed (both streams). */
  output: string;
}

export function rclone(
  args: string[],
  plan: MoverPlan,
  opts: { quiet?: boolean; input?: string } = {},
): Promise<RcloneRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(RCLONE, args, {
      env: rcloneEnvironment(process.env, plan),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let partial = '';
    let stdout = '';
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
    child.stdout?.on('data', (c: Buffer) => {
      if (opts.quiet) stdout += c.toString();
      else take(c, process.stdout);
    });
    child.stderr?.on('data', (c: Buffer) => take(c, process.stderr));
    child.on('error', (err) =>
      reject(new MoverError(MoverExit.ConfigError, `cannot run rclone (${RCLONE}): ${err.message}`)),
    );
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, output: [...lines, partial].join('\n') }));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}
