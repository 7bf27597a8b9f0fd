// Helpers of the real tier (test/real): what the global setup (real-setup.ts) hands the test files,
// pods for the real node built from local images, and waits on what a user would look at.
import { inject } from 'vitest';
import type { DataMover } from '../../src/api/v1alpha1/schema.js';
import { apply, getDataMover, getJson, kubectl, kubectlOk, waitFor } from './cluster.js';
import { S3Server, rcloneOn } from './s3.js';

export interface RealTier {
  /** Why the tier is skipped (the check of hack/realnode-check.sh that failed), or empty. */
  skip: string;
  moverImage: string;
  busyboxImage: string;
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

export function realPvc(name: string, size = '1Gi') {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'test-real',
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
    spec: { hostPath?: { path: string } };
  };
  if (!pv.spec.hostPath) throw new Error(`PV ${volume} of ${claim} is not a host folder`);
  return pv.spec.hostPath.path;
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
