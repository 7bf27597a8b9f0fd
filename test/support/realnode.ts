// Helpers of the real tier (test/real): what the global setup (real-setup.ts) hands the test files,
// pods for the real node built from local images, and waits on what a user would look at.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import type { DataMover } from '../../src/api/v1alpha1/schema.js';
import { MARKER, TIMESTAMP_FOLDER, type RunMarker } from '../../src/contract/layout.js';
import {
  apply,
  createNamespace,
  deleteNamespace,
  getDataMover,
  getJson,
  kubectl,
  kubectlOk,
  waitFor,
} from './cluster.js';
import { OperatorProcess } from './operator.js';
import { S3Server, rcloneOn, snapshotBucket } from './s3.js';
import type { Entry } from './tree.js';

export interface RealTier {
  /** Why the tier is skipped (the check of hack/realnode-check.sh that failed), or empty. */
  skip: string;
  moverImage: string;
  busyboxImage: string;
  /** The operator's image, assembled as Dockerfile ships it. */
  operatorImage: string;
  node: string;
  taintKey: string;
  /** The folder of the local images' tarballs (hack/realnode-image.sh). */
  images: string;
  s3: { host: string; port: number; root: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    real: RealTier;
  }
}

export const tier = (): RealTier => inject('real');

/** The reason the real tier is skipped on this machine, for describe.skipIf and its title. */
export const skipReason = (): string => tier().skip;

/** Title of a describe of the tier: with the reason when it is skipped, so the report says why. */
export const titled = (title: string): string =>
  skipReason() ? `${title} (skipped: ${skipReason()})` : title;

/** The toleration every pod meant for the real node carries. */
export const realTolerations = () => [{ key: tier().taintKey, operator: 'Exists', effect: 'NoSchedule' }];

/** The tier's S3 server (started by the global setup, on the bridge address). */
export const realS3 = (): S3Server => {
  const { host, port, root } = tier().s3;
  return new S3Server({ host, port, root });
};

/**
 * Creates a bucket through the S3 API: the server lists its folder once and caches it, so a folder
 * made beside it later would not be a bucket it knows.
 */
export async function makeBucket(name: string): Promise<void> {
  await rcloneOn(realS3(), ['mkdir', `S3:${name}`]);
}

/** A Secret for a bucket of the tier's S3 server, as a user writes it: the endpoint by address. */
export function realBucketSecret(name: string, bucket: string) {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: realS3().secretEnv(bucket) };
}

export function realPvc(name: string, size = '1Gi', storageClassName = 'test-real') {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName,
      resources: { requests: { storage: size } },
    },
  };
}

/**
 * A pod of the restricted profile on the real node (tolerating its taint, selecting it) running `script` in the local busybox image,
 * with PVCs mounted at /<mount>. It runs once (restartPolicy Never).
 */
export function busyboxPod(
  name: string,
  script: string,
  volumes: Array<{ claim: string; mount: string; readOnly?: boolean }>,
  uid = 1000,
) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      tolerations: realTolerations(),
      // Tolerating the taint is not enough: kwok's node would take a pod with no volume on the real node.
      nodeSelector: { 'kubernetes.io/hostname': tier().node },
      securityContext: {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: uid,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'main',
          image: tier().busyboxImage,
          command: ['sh', '-c', script],
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
          volumeMounts: volumes.map((v) => ({
            name: v.claim,
            mountPath: `/${v.mount}`,
            readOnly: !!v.readOnly,
          })),
        },
      ],
      volumes: volumes.map((v) => ({ name: v.claim, persistentVolumeClaim: { claimName: v.claim } })),
    },
  };
}

interface PodState {
  status?: { phase?: string; reason?: string; message?: string };
}

/** Creates a pod, waits until it ends, and returns its log; a pod that fails throws with its log. */
export async function runPod(namespace: string, pod: { metadata: { name: string } }, timeoutMs = 60_000) {
  const name = pod.metadata.name;
  await apply(namespace, pod);
  const phase = await waitFor(
    async () => {
      const p = await getJson<PodState>(['get', 'pod', name, '-n', namespace]);
      const ph = p?.status?.phase;
      return ph === 'Succeeded' || ph === 'Failed' ? ph : undefined;
    },
    { timeoutMs, intervalMs: 250, what: `pod ${namespace}/${name} to finish` },
  );
  const logs = await kubectl(['logs', name, '-n', namespace]);
  if (phase !== 'Succeeded') {
    const events = await kubectl([
      'get',
      'events',
      '-n',
      namespace,
      '--field-selector',
      `involvedObject.name=${name}`,
    ]);
    throw new Error(`pod ${name} ${phase}: ${logs.stdout}${logs.stderr}\n${events.stdout}`);
  }
  if (logs.code !== 0) throw new Error(`kubectl logs ${name}: ${logs.stderr}`);
  return logs.stdout;
}

/** Waits for a PVC to bind and returns the host folder of its volume (test-real PVs are hostPath). */
export async function hostFolderOf(namespace: string, claim: string): Promise<string> {
  const volume = await waitFor(
    async () => {
      const pvc = await getJson<{ spec?: { volumeName?: string }; status?: { phase?: string } }>([
        'get',
        'pvc',
        claim,
        '-n',
        namespace,
      ]);
      return pvc?.status?.phase === 'Bound' ? pvc.spec?.volumeName : undefined;
    },
    { what: `PVC ${namespace}/${claim} to bind` },
  );
  const pv = JSON.parse(await kubectlOk(['get', 'pv', volume, '-o', 'json'])) as {
    spec: { hostPath?: { path: string }; csi?: { volumeAttributes?: { folder?: string } } };
  };
  // test-real: a hostPath PV; test-real-csi: a CSI PV of the test bed's plugin, naming its folder.
  const folder = pv.spec.hostPath?.path ?? pv.spec.csi?.volumeAttributes?.folder;
  if (!folder) throw new Error(`PV ${volume} of ${claim} is not a host folder`);
  return folder;
}

/** Runs `fn`, prints how long it took under `label`, and returns its value. */
export async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await fn();
  } finally {
    console.log(`real tier: ${label}: ${((Date.now() - start) / 1000).toFixed(1)} s`);
  }
}

/** Waits for a DataMover to complete; a failure ends the wait at once, and a timeout says where it stood. */
export async function dataMoverCompleted(
  namespace: string,
  name: string,
  timeoutMs = 90_000,
): Promise<DataMover> {
  let last: DataMover | undefined;
  try {
    const dm = await waitFor(
      async () => {
        last = await getDataMover(namespace, name);
        return ['Completed', 'Failed'].includes(last?.status?.phase ?? '') ? last : undefined;
      },
      { timeoutMs, intervalMs: 250, what: `DataMover ${namespace}/${name} to complete` },
    );
    if (dm.status?.phase !== 'Completed') throw new Error(`DataMover ${name} Failed: ${dm.status?.message}`);
    return dm;
  } catch (err) {
    const state = await kubectl(['get', 'pods,jobs,pvc', '-n', namespace, '-o', 'wide']);
    throw new Error(`${String(err)}; status: ${JSON.stringify(last?.status)}\n${state.stdout}`, {
      cause: err,
    });
  }
}

/** A test file's namespace (Pod Security restricted) and the operator that watches it. */
export interface RealNamespace {
  ns: string;
  operator?: OperatorProcess;
}

/**
 * Registers the file's beforeAll/afterAll: a namespace named after `prefix`, an operator for it that
 * uses the tier's mover image (and `flags`), and `prepare(ns)` (buckets, Secrets, PVCs) run while the operator
 * starts. Afterwards the operator's log is kept (DATAMOVER_TEST_LOGS) and the namespace deleted.
 */
export function useRealNamespace(
  prefix: string,
  prepare: (ns: string) => Promise<unknown>,
  flags: () => string[] = () => [],
): RealNamespace {
  const env: RealNamespace = { ns: '' };
  beforeAll(async () => {
    if (skipReason()) return;
    env.ns = await createNamespace(prefix);
    env.operator = new OperatorProcess([env.ns], [`--default-mover-image=${tier().moverImage}`, ...flags()]);
    await Promise.all([env.operator.start(), prepare(env.ns)]);
  });
  afterAll(async () => {
    await env.operator?.stop();
    if (env.ns) await deleteNamespace(env.ns);
  });
  return env;
}

/** The run folder of a backup, from its status.destination (`<Secret>:<root>/<run>/`). */
export const runFolderOf = (dm: DataMover): string =>
  dm.status!.destination!.replace(/\/$/, '').split('/').pop()!;

/**
 * The timestamped run folders below a backup root, read from the S3 server's folder on the host,
 * with the state of their markers.
 */
export function runsIn(bucket: string, root: string): Record<string, RunMarker['state'] | 'no marker'> {
  const dir = join(tier().s3.root, bucket, root);
  const out: Record<string, RunMarker['state'] | 'no marker'> = {};
  for (const name of readdirSync(dir).filter((n) => TIMESTAMP_FOLDER.test(n))) {
    try {
      out[name] = (JSON.parse(readFileSync(join(dir, name, MARKER), 'utf8')) as RunMarker).state;
    } catch {
      out[name] = 'no marker';
    }
  }
  return out;
}

/** A tree without owners (uid, gid): what a restore that does not restore owners gives back. */
export const withoutOwners = (t: Record<string, Entry>) =>
  Object.fromEntries(Object.entries(t).map(([p, { uid: _u, gid: _g, ...rest }]) => [p, rest]));

/** The files of a tree, by relative path: their SHA-256. */
export const fileHashes = (t: Record<string, Entry>): Map<string, string> =>
  new Map(
    Object.entries(t)
      .filter(([, e]) => e.type === 'file')
      .map(([p, e]) => [p, e.sha256!]),
  );

/**
 * The files of a completed backup in the tier's bucket, by path below its run's data/ folder (from
 * status.destination, `<Secret>:<root>/<run>/`): their SHA-256, hashed by the S3 server's reads.
 */
export async function filesOfRun(dm: DataMover, bucket: string): Promise<Map<string, string>> {
  const destination = dm.status!.destination!;
  const data = `${destination.slice(destination.indexOf(':') + 1)}data/`;
  return new Map(
    [...(await snapshotBucket(realS3(), bucket))]
      .filter(([p]) => p.startsWith(data) && !p.endsWith('.rclonelink'))
      .map(([p, o]) => [p.slice(data.length), o.sha256]),
  );
}
