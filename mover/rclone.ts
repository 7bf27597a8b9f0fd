// Runs rclone with the mover's remote: its log passes through to the pod's log, and the end of it is
// kept to classify a failure. Listing commands keep their standard output to themselves; long
// listings and uploads stream (a manifest of a million files never sits whole in memory).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { MoverExit } from '../src/contract/exit-codes.js';
import { MoverError, rcloneEnvironment, type Remote } from './plan.js';

/** rclone: the image's, on PATH; DATAMOVER_RCLONE (a name only the operator sets) for the tests. */
const RCLONE = process.env.DATAMOVER_RCLONE || 'rclone';
const KEEP_LINES = 400;

export interface RcloneRun {
  code: number;
  /** Standard output, when the command was run `quiet`. */
  stdout: string;
  /** The last lines of what rclone printed (both streams). */
  output: string;
}

export interface RcloneOptions {
  /** Keep standard output (into `stdout`) instead of passing it to the pod's log. */
  quiet?: boolean;
  /** Standard input: a text, or a stream piped in with backpressure (rcat of a manifest). */
  input?: string | Readable;
  /** Standard output line by line, instead of keeping or logging it. */
  onLine?: (line: string) => void;
  /**
   * A folder or object that does not exist is an answer, not an error (a first backup lists a root
   * nobody wrote yet): rclone's log is held back and passed to the pod's log only when it exits with
   * another code than NOT_FOUND, so the log shows no `ERROR : error listing: directory not found`.
   */
  missingOk?: boolean;
}

/** rclone exits 3 when a folder or object does not exist. */
export const NOT_FOUND = 3;

function start(args: string[], plan: Remote, opts: RcloneOptions) {
  const child = spawn(RCLONE, args, {
    env: rcloneEnvironment(process.env, plan),
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const held: Buffer[] = [];
  let partial = '';
  const take = (chunk: Buffer, sink: NodeJS.WriteStream) => {
    if (opts.missingOk && sink === process.stderr) held.push(chunk);
    else sink.write(chunk);
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (lines.length > KEEP_LINES) lines.shift();
    }
  };
  child.stderr?.on('data', (c: Buffer) => take(c, process.stderr));
  if (typeof opts.input === 'string') child.stdin?.end(opts.input);
  else if (opts.input) {
    const input = opts.input;
    // rclone closing its input early (it failed) is reported by its exit code, not as an EPIPE.
    child.stdin?.on('error', () => input.destroy());
    input.on('error', () => child.kill());
    input.pipe(child.stdin!);
  }
  /** The held-back log goes to the pod's log unless rclone said "not found". */
  const release = (code: number) => {
    if (code !== NOT_FOUND) for (const chunk of held) process.stderr.write(chunk);
    held.length = 0;
  };
  return { child, take, release, output: () => [...lines, partial].join('\n') };
}

export function rclone(args: string[], plan: Remote, opts: RcloneOptions = {}): Promise<RcloneRun> {
  return new Promise((resolve, reject) => {
    const { child, take, release, output } = start(args, plan, opts);
    let stdout = '';
    if (opts.onLine) {
      const rl = createInterface({ input: child.stdout! });
      rl.on('line', opts.onLine);
    } else {
      child.stdout?.on('data', (c: Buffer) => {
        if (opts.quiet) stdout += c.toString();
        else take(c, process.stdout);
      });
    }
    child.on('error', (err) =>
      reject(new MoverError(MoverExit.ConfigError, `cannot run rclone (${RCLONE}): ${err.message}`)),
    );
    child.on('close', (code) => {
      release(code ?? 1);
      resolve({ code: code ?? 1, stdout, output: output() });
    });
  });
}

/**
 * rclone's standard output as lines, read as they are consumed (backpressure pauses rclone). The
 * run's result comes after the last line, through `done`.
 */
export function rcloneLines(
  args: string[],
  plan: Remote,
): { lines: AsyncIterable<string>; done: Promise<RcloneRun> } {
  const { child, output } = start(args, plan, {});
  const done = new Promise<RcloneRun>((resolve, reject) => {
    child.on('error', (err) =>
      reject(new MoverError(MoverExit.ConfigError, `cannot run rclone (${RCLONE}): ${err.message}`)),
    );
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: '', output: output() }));
  });
  return { lines: createInterface({ input: child.stdout!, crlfDelay: Infinity }), done };
}

// What rclone printed, read: the reason a run failed, its last error, and the statistics of a sync.

/** The exit code and one-line message for a failed rclone run, from what it printed. */
export function classifyRcloneFailure(output: string, plan: Remote): MoverError {
  const text = output.toLowerCase();
  if (/invalidaccesskeyid|signaturedoesnotmatch|accessdenied|status code: 403|forbidden/.test(text)) {
    return new MoverError(
      MoverExit.CredentialsRejected,
      `the bucket endpoint ${plan.endpoint} rejected the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) for bucket ${plan.bucket}`,
    );
  }
  if (/nosuchbucket|directory not found|bucket.*not found|status code: 404/.test(text)) {
    return new MoverError(
      MoverExit.BucketNotFound,
      `bucket ${plan.bucket} does not exist at ${plan.endpoint}; create it first (the mover never creates buckets)`,
    );
  }
  // The network error itself, without rclone's request details around it.
  const network =
    /(dial tcp[^"\\]*?(?:connection refused|no such host|i\/o timeout|network is unreachable)|tls: [^"\\]*|x509: [^"\\]*)/i.exec(
      output,
    );
  if (network) {
    return new MoverError(
      MoverExit.EndpointUnreachable,
      `cannot reach the bucket endpoint ${plan.endpoint}: ${network[1]!.trim()}`,
    );
  }
  return new MoverError(
    MoverExit.TransferFailed,
    `sync failed: ${lastError(output) ?? 'rclone exited with an error'}`,
  );
}

/** The last error rclone logged, as one line. */
export function lastError(output: string): string | undefined {
  let found: string | undefined;
  for (const line of output.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed) continue;
    try {
      const entry = JSON.parse(trimmed) as { level?: string; msg?: string; object?: string };
      if (entry.level === 'error' || entry.level === 'critical')
        found = entry.object ? `${entry.object}: ${entry.msg}` : entry.msg;
    } catch {
      if (/error|failed/i.test(trimmed)) found = trimmed;
    }
  }
  return found?.replace(/\s+/g, ' ').trim().slice(0, 512);
}

export interface SyncStats {
  /** Bytes of the files written: uploaded or copied server-side. */
  bytes: number;
  files: number;
  errors: number;
  /** Of `bytes`, those copied server-side (from --copy-dest) rather than uploaded. */
  serverSideBytes: number;
}

/** rclone's final statistics from its JSON log. */
export function finalStats(output: string): SyncStats | undefined {
  let stats: SyncStats | undefined;
  for (const line of output.split('\n')) {
    if (!line.includes('"stats"')) continue;
    try {
      const entry = JSON.parse(line) as {
        stats?: { bytes?: number; transfers?: number; errors?: number; serverSideCopyBytes?: number };
      };
      if (entry.stats)
        stats = {
          bytes: entry.stats.bytes ?? 0,
          files: entry.stats.transfers ?? 0,
          errors: entry.stats.errors ?? 0,
          serverSideBytes: entry.stats.serverSideCopyBytes ?? 0,
        };
    } catch {
      // not a JSON line
    }
  }
  return stats;
}
