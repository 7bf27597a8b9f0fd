// Helpers for journeys against the real control plane: kubectl, namespaces, waiting with deadlines.
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import type { DataMover } from '../../src/api/v1alpha1/schema.js';

const exec = promisify(execFile);

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function kubectl(args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile('kubectl', args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (err as { code?: number | string | null }).code : 0;
      // A kubectl that never ran or was killed (spawn refused, a signal, output too large) has no
      // exit status: its error says why, where its stderr would.
      if (typeof code !== 'number') resolve({ code: 1, stdout, stderr: `${stderr}${err?.message ?? ''}` });
      else resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export async function kubectlOk(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

export async function getJson<T>(args: string[]): Promise<T | undefined> {
  const r = await kubectl([...args, '-o', 'json']);
  if (r.code !== 0) {
    if (/NotFound|not found/.test(r.stderr)) return undefined;
    throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  }
  return JSON.parse(r.stdout) as T;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** A namespace that enforces Pod Security `restricted`, as the mover must pass it everywhere. */
export async function createNamespace(prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await kubectlOk(['create', 'namespace', name]);
  await kubectlOk(['label', 'namespace', name, 'pod-security.kubernetes.io/enforce=restricted']);
  return name;
}

export async function deleteNamespace(name: string): Promise<void> {
  await kubectl(['delete', 'namespace', name, '--wait=false']);
}

export async function apply(namespace: string, ...objects: object[]): Promise<void> {
  const input = objects.map((o) => stringify(o)).join('---\n');
  await kubectlOk(['apply', '-n', namespace, '-f', '-'], input);
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  what?: string;
}

/** Polls `check` until it returns a value other than undefined/false, or fails at the deadline. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false>,
  opts: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}

export function getDataMover(namespace: string, name: string): Promise<DataMover | undefined> {
  return getJson<DataMover>(['get', 'datamover', name, '-n', namespace]);
}

export function waitForPhase(namespace: string, name: string, phase: string, timeoutMs = 30_000) {
  return waitFor(
    async () => {
      const dm = await getDataMover(namespace, name);
      return dm?.status?.phase === phase ? dm : undefined;
    },
    { timeoutMs, what: `DataMover ${namespace}/${name} to reach ${phase}` },
  );
}

/**
 * Waits until a DataMover is Stalled (for `reason`, and saying `saying`, when given); the DataMover
 * as it then is.
 */
export function waitForStalled(namespace: string, name: string, reason?: string, saying?: string) {
  return waitFor(
    async () => {
      const dm = await getDataMover(namespace, name);
      const stalled = condition(dm, 'Stalled');
      return stalled?.status === 'True' &&
        (reason === undefined || stalled.reason === reason) &&
        (saying === undefined || stalled.message?.includes(saying))
        ? dm
        : undefined;
    },
    {
      what: `DataMover ${namespace}/${name} Stalled${reason ? ` with ${reason}` : ''}${saying ? ` saying "${saying}"` : ''}`,
    },
  );
}

/** Waits until `kubectl get <resource> <name>` finds nothing (deleted, garbage-collected). */
export function waitGone(resource: string, name: string, namespace: string, timeoutMs = 30_000) {
  return waitFor(async () => (await getJson(['get', resource, name, '-n', namespace])) === undefined, {
    timeoutMs,
    what: `${resource} ${namespace}/${name} to be gone`,
  });
}

export function condition(dm: DataMover | undefined, type: string) {
  return dm?.status?.conditions?.find((c) => c.type === type);
}

export function pvc(
  name: string,
  opts: { storageClassName?: string; size?: string; volumeMode?: string } = {},
) {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: opts.storageClassName ?? 'test-immediate',
      volumeMode: opts.volumeMode ?? 'Filesystem',
      resources: { requests: { storage: opts.size ?? '1Gi' } },
    },
  };
}

export function bucketSecret(name = 'bucket') {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name },
    stringData: {
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      BUCKET_HOST: 's3.test.invalid',
      BUCKET_NAME: 'backups',
    },
  };
}

export function dataMover(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'datamover.io/v1alpha1', kind: 'DataMover', metadata: { name }, spec };
}

/** Applies a DataMover `name` with `spec` in `namespace`: one backup run. */
export function backup(namespace: string, name: string, spec: Record<string, unknown>): Promise<void> {
  return apply(namespace, dataMover(name, spec));
}

/** A bound source PVC and the bucket Secret in `namespace`. */
export async function sourceAndSecret(
  namespace: string,
  pvcName: string,
  opts: Parameters<typeof pvc>[1] = {},
) {
  await apply(namespace, pvc(pvcName, opts), bucketSecret());
  await waitFor(
    async () =>
      (await getJson<{ status?: { phase?: string } }>(['get', 'pvc', pvcName, '-n', namespace]))?.status
        ?.phase === 'Bound',
    { what: `PVC ${pvcName} to bind` },
  );
}

/** Stops a helper process with SIGTERM and waits for it to exit. */
export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

export { exec };

/**
 * Points a script run outside make (`npm run bench`) at the test bed: its kubeconfig when KUBECONFIG
 * is not set, and its kubectl on PATH, as the Makefile does.
 */
export function useTestBed(): void {
  const sh = (script: string) => execFileSync('bash', ['-c', script], { encoding: 'utf8' }).trim();
  process.env.KUBECONFIG ||= sh('bash hack/cluster-up.sh --kubeconfig');
  const bin = sh('source hack/testbed-versions.sh && echo "$TESTBED_BIN"');
  if (!(process.env.PATH ?? '').split(':').includes(bin))
    process.env.PATH = `${bin}:${process.env.PATH ?? ''}`;
}

/** The helm of the test bed (hack/build-tools.sh), or HELM. */
export const HELM =
  process.env.HELM ??
  join(
    process.env.DATAMOVER_CACHE ??
      join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'datamover-operator'),
    'tools/helm-v3.22.0/bin/helm',
  );
