// A real S3-compatible server for the mover's tests: `rclone serve s3` (the pinned rclone) over a
// directory, on loopback, with one access key. Buckets are the directory's top-level folders.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopChild, waitFor } from './cluster.js';
import { freePort } from './ports.js';

export const RCLONE = process.env.RCLONE_BINARY ?? 'rclone';
export const ACCESS_KEY = 'datamover-test';
export const SECRET_KEY = 'datamover-test-secret';

export class S3Server {
  private child: ChildProcess | undefined;
  port = 0;
  readonly root = mkdtempSync(join(tmpdir(), 'dm-s3-'));
  private output = '';

  async start(...buckets: string[]): Promise<void> {
    for (const bucket of buckets) mkdirSync(join(this.root, bucket));
    this.port = await freePort();
    this.child = spawn(
      RCLONE,
      [
        'serve',
        's3',
        this.root,
        '--addr',
        `127.0.0.1:${this.port}`,
        '--auth-key',
        `${ACCESS_KEY},${SECRET_KEY}`,
        '--config',
        '/dev/null',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    await waitFor(
      async () => {
        if (this.child?.exitCode !== null) throw new Error(`rclone serve s3 exited: ${this.output}`);
        const res = await fetch(`http://127.0.0.1:${this.port}/`).catch(() => undefined);
        return res !== undefined;
      },
      { timeoutMs: 20_000, what: 'the S3 server' },
    );
  }

  /** The Secret's variables for this server. */
  secretEnv(bucket: string): Record<string, string> {
    return {
      AWS_ACCESS_KEY_ID: ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: SECRET_KEY,
      BUCKET_HOST: '127.0.0.1',
      BUCKET_PORT: String(this.port),
      TLS_HOST: 'false',
      BUCKET_NAME: bucket,
    };
  }

  /** Environment that makes `S3:` an rclone remote for this server, for checks and restores. */
  remoteEnv(): Record<string, string> {
    return {
      RCLONE_CONFIG: '/dev/null',
      RCLONE_CONFIG_S3_TYPE: 's3',
      RCLONE_CONFIG_S3_PROVIDER: 'Other',
      RCLONE_CONFIG_S3_ACCESS_KEY_ID: ACCESS_KEY,
      RCLONE_CONFIG_S3_SECRET_ACCESS_KEY: SECRET_KEY,
      RCLONE_CONFIG_S3_ENDPOINT: `http://127.0.0.1:${this.port}`,
      RCLONE_CONFIG_S3_FORCE_PATH_STYLE: 'true',
      RCLONE_CONFIG_S3_DIRECTORY_MARKERS: 'true',
    };
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}
