// A real S3-compatible server for the mover's tests: `rclone serve s3` (the pinned rclone) over a
// directory, on loopback (or, for the real tier, on the real node's bridge address, never on all
// addresses), with one access key. Buckets are the directory's top-level folders. Also a
// hashed listing of a bucket, and a proxy that refuses chosen requests.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stopChild, waitFor } from './cluster.js';
import { freePort } from './ports.js';
import { makeTempDir } from './tempdirs.js';

export const RCLONE = process.env.RCLONE_BINARY ?? 'rclone';
export const ACCESS_KEY = 'datamover-test';
export const SECRET_KEY = 'datamover-test-secret';

export interface S3ServerOptions {
  /** The address to bind and to reach it by (default 127.0.0.1). */
  host?: string;
  /** The folder it serves (default: a scratch folder). */
  root?: string;
  /** A server another process started on this port (start() is then not called). */
  port?: number;
}

export class S3Server {
  private child: ChildProcess | undefined;
  port: number;
  readonly host: string;
  readonly root: string;
  private output = '';

  constructor(opts: S3ServerOptions = {}) {
    this.host = opts.host ?? '127.0.0.1';
    if (this.host === '0.0.0.0' || this.host === '::') throw new Error('the S3 server binds one address');
    this.root = opts.root ?? makeTempDir('dm-s3-');
    this.port = opts.port ?? 0;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(...buckets: string[]): Promise<void> {
    for (const bucket of buckets) mkdirSync(join(this.root, bucket));
    this.port = await freePort(this.host);
    this.child = spawn(
      RCLONE,
      [
        'serve',
        's3',
        this.root,
        '--addr',
        `${this.host}:${this.port}`,
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
        const res = await fetch(`http://${this.host}:${this.port}/`).catch(() => undefined);
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
      BUCKET_HOST: this.host,
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
      RCLONE_CONFIG_S3_ENDPOINT: `http://${this.host}:${this.port}`,
      RCLONE_CONFIG_S3_FORCE_PATH_STYLE: 'true',
      RCLONE_CONFIG_S3_DIRECTORY_MARKERS: 'true',
    };
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

const exec = promisify(execFile);

/** rclone on the test's own `S3:` remote for this server (checks and set-up, not the mover). */
export function rcloneOn(s3: S3Server, args: string[]) {
  return exec(RCLONE, args, { env: { ...process.env, ...s3.remoteEnv() }, maxBuffer: 64 * 1024 * 1024 });
}

export interface ObjectState {
  sha256: string;
  size: number;
  modTime: string;
  metadata: string;
}

/**
 * Every object in a bucket, by path, with what would show any change to it: a SHA-256 of its
 * content downloaded through the S3 API, its size, time and metadata.
 */
export async function snapshotBucket(s3: S3Server, bucket: string): Promise<Map<string, ObjectState>> {
  const sums = (await rcloneOn(s3, ['hashsum', 'sha256', '--download', `S3:${bucket}`])).stdout;
  const listing = JSON.parse(
    (await rcloneOn(s3, ['lsjson', '-R', '--files-only', '--metadata', `S3:${bucket}`])).stdout,
  ) as Array<{ Path: string; Size: number; ModTime: string; Metadata?: Record<string, string> }>;
  const hashes = new Map<string, string>();
  for (const line of sums.split('\n').filter(Boolean)) hashes.set(line.slice(66), line.slice(0, 64));
  const out = new Map<string, ObjectState>();
  for (const o of listing) {
    out.set(o.Path, {
      sha256: hashes.get(o.Path) ?? 'missing',
      size: o.Size,
      modTime: o.ModTime,
      metadata: JSON.stringify(o.Metadata ?? {}),
    });
  }
  if (out.size !== hashes.size) throw new Error(`listed ${out.size} objects but hashed ${hashes.size}`);
  return out;
}

/**
 * Every object in a bucket, by path, with the MD5 the server computed from the bytes it stored (its
 * ETag; a multipart object's whole-file MD5 from its metadata), size, time and metadata: one listing,
 * nothing downloaded. For buckets of gigabytes, where snapshotBucket would read everything back.
 */
export async function listBucket(s3: S3Server, bucket: string): Promise<Map<string, ObjectState>> {
  const listing = JSON.parse(
    (
      await rcloneOn(s3, [
        'lsjson',
        '-R',
        '--files-only',
        '--hash',
        '--hash-type',
        'md5',
        '--metadata',
        `S3:${bucket}`,
      ])
    ).stdout,
  ) as Array<{ Path: string; Size: number; ModTime: string; Hashes?: { md5?: string }; Metadata?: object }>;
  const out = new Map<string, ObjectState>();
  for (const o of listing) {
    const md5 = o.Hashes?.md5;
    if (!md5) throw new Error(`${o.Path}: the server gave no MD5`);
    out.set(o.Path, {
      sha256: `md5:${md5}`,
      size: o.Size,
      modTime: o.ModTime,
      metadata: JSON.stringify(o.Metadata ?? {}),
    });
  }
  return out;
}

/**
 * A proxy in front of the S3 server that refuses chosen requests with 403 AccessDenied, as a bucket
 * policy would (rclone does not retry it), and forwards the rest untouched: the Host header is kept,
 * so signatures stay valid.
 */
export class S3FaultProxy {
  private server: Server | undefined;
  port = 0;
  refused: string[] = [];
  refuse: (method: string, path: string) => boolean = () => false;

  async start(upstreamPort: number): Promise<void> {
    this.server = createServer((req, res) => {
      const path = decodeURIComponent((req.url ?? '').split('?')[0] ?? '');
      if (this.refuse(req.method ?? '', path)) {
        this.refused.push(`${req.method} ${path}`);
        req.resume();
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
        );
        return;
      }
      const upstream = request(
        { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
      if (!this.server) resolve();
    });
  }
}
