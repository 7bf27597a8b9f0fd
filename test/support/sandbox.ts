// The mover image's sandbox, in bubblewrap: the image's ENTRYPOINT and file layout (from
// mover/Dockerfile), the system's programs read-only, a read-only root filesystem, no capabilities,
// a UID of its own. Shared by the contract tests of the backup Job and of the restore command.
import type { V1Container } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RCLONE } from './s3.js';
import { makeTempDir } from './tempdirs.js';

/** The system's programs and libraries, read-only, as an image's would be. */
export const SYSTEM = [
  '--ro-bind',
  '/usr',
  '/usr',
  '--symlink',
  'usr/lib',
  '/lib',
  '--symlink',
  'usr/lib64',
  '/lib64',
  '--symlink',
  'usr/bin',
  '/bin',
];

/** ENTRYPOINT of mover/Dockerfile, the command the Job runs (it sets none of its own). */
export function imageEntrypoint(): string[] {
  const line = readFileSync('mover/Dockerfile', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('ENTRYPOINT '))!;
  return JSON.parse(line.slice('ENTRYPOINT '.length)) as string[];
}

/** The build outputs mover/Dockerfile copies into the image: `COPY --from=build /src/<from> <to>`. */
export function imageLayout(): Array<[string, string]> {
  const dockerfile = readFileSync('mover/Dockerfile', 'utf8');
  const copies = [...dockerfile.matchAll(/^COPY --from=build \/src\/(\S+) (\S+)$/gm)].map(
    (m) => [m[1]!, m[2]!] as [string, string],
  );
  if (copies.length === 0) throw new Error('mover/Dockerfile copies no build output');
  return copies;
}

export function sandbox(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((res) => {
    execFile('bwrap', args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      res({ code: typeof code === 'number' ? code : 1, output: `${stdout}${stderr}` });
    });
  });
}

/** An empty termination log any UID may write, as the kubelet provides. */
export function terminationLog(): string {
  const termination = join(makeTempDir('dm-term-'), 'termination-log');
  writeFileSync(termination, '');
  chmodSync(termination, 0o666);
  return termination;
}

/**
 * bwrap arguments up to the mounts of a pod's volumes: namespaces, the UID/GID, no capabilities, the
 * system, /proc and /dev, the termination log, and the image (node and rclone on PATH, the program
 * under /app).
 */
export function imageSandbox(opts: {
  uid: number;
  gid: number;
  termination: string;
  /**
   * A privileged mover (root with only these capabilities, as the Job adds them: `CHOWN`, …): run as
   * the real root without a user namespace, so that a chown to any UID works as in a pod; every other
   * capability is dropped. The tests run as root.
   */
  capabilities?: readonly string[];
}): string[] {
  const app = makeTempDir('dm-app-');
  writeFileSync(join(app, 'package.json'), '{"type":"module"}\n');
  const identity = opts.capabilities
    ? opts.capabilities.flatMap((c) => ['--cap-add', `CAP_${c}`])
    : ['--unshare-user', '--uid', String(opts.uid), '--gid', String(opts.gid)];
  if (opts.capabilities && opts.uid !== 0) throw new Error('capabilities are for a mover that runs as root');
  const args = [
    '--die-with-parent',
    '--new-session',
    '--unshare-pid',
    '--unshare-ipc',
    '--cap-drop',
    'ALL',
    ...identity,
    ...SYSTEM,
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--bind',
    opts.termination,
    '/dev/termination-log',
    '--tmpfs',
    '/usr/local/bin',
    '--ro-bind',
    realpathSync(process.execPath),
    '/usr/local/bin/node',
    '--ro-bind',
    RCLONE,
    '/usr/local/bin/rclone',
  ];
  for (const [from, to] of imageLayout()) args.push('--ro-bind', resolve(from), to);
  args.push('--ro-bind', join(app, 'package.json'), '/app/package.json');
  return args;
}

/** The end of the arguments: the root made read-only, exactly this environment, the entrypoint. */
export function entrypointWith(env: Record<string, string>): string[] {
  const args = ['--remount-ro', '/', '--clearenv'];
  for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v);
  return [...args, '--', ...imageEntrypoint()];
}

/**
 * A container's environment as the kubelet gives it: literal values, and the Secret's keys its
 * secretKeyRefs name (an optional key that is missing is left out; a required one stops the pod,
 * which the kubelet reports as CreateContainerConfigError: here an error).
 */
export function containerEnv(
  container: V1Container,
  secrets: Record<string, Record<string, string>>,
  base: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin' },
): Record<string, string> {
  const env = { ...base };
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (!ref) {
      env[e.name] = e.value ?? '';
      continue;
    }
    const value = secrets[ref.name ?? '']?.[ref.key];
    if (value !== undefined) env[e.name] = value;
    else if (!ref.optional) throw new Error(`couldn't find key ${ref.key} in Secret ${ref.name}`);
  }
  return env;
}
