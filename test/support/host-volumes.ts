// Test scaffolding, not product code: volumes that hold data, for the real node. A StorageClass of
// the test provisioner with the parameter `hostFolders: "true"` (test-real, hack/testbed/storage.yaml)
// gets, for each PVC, a folder on the host below DATAMOVER_HOST_VOLUMES (the test bed's state
// folder) and a hostPath PV bound to the claim, with node affinity to the class's `node` (the real
// node); with `csi: "true"` as well (test-real-csi) the PV is a CSI volume of HOST_CSI_DRIVER, which
// the test bed's node plugin (hack/testbed/csi-hostfolders) bind-mounts into pods, and which the
// snapshot controller can snapshot. A new volume is an empty folder of mode 0777, as local-path makes them, so a non-root pod
// can write. A PVC whose dataSource is a PVC gets a copy of the source's folder taken at provisioning
// time (`cp -a --sparse=always`: owners, modes, times, links and holes kept): a point-in-time clone, as
// CSI promises. Deleting the PV removes its folder.
import { execFile } from 'node:child_process';
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';

const exec = promisify(execFile);

/** The StorageClass parameter that selects host folders, and the one naming the node. */
export const HOST_FOLDERS_PARAM = 'hostFolders';
export const NODE_PARAM = 'node';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';
/** The parameter that serves a class's folders as CSI volumes, and the driver that publishes them. */
export const CSI_PARAM = 'csi';
export const HOST_CSI_DRIVER = 'hostfolders.test.datamover.io';

export interface HostClass {
  node: string;
  /** CSI PVs of HOST_CSI_DRIVER (the test bed's node plugin bind-mounts the folder), not hostPath. */
  csi: boolean;
}

/** The host-folder settings of a StorageClass's parameters, or undefined for a class without data. */
export function hostClassOf(parameters: Record<string, string> | undefined): HostClass | undefined {
  if (parameters?.[HOST_FOLDERS_PARAM] !== 'true') return undefined;
  const node = parameters[NODE_PARAM];
  if (!node) throw new Error(`a StorageClass with ${HOST_FOLDERS_PARAM}: "true" must name its ${NODE_PARAM}`);
  return { node, csi: parameters[CSI_PARAM] === 'true' };
}

/** The folder of a volume: one per PV name, directly below the root. */
export function folderFor(root: string, pvName: string): string {
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(pvName)) throw new Error(`not a PV name: ${pvName}`);
  return join(root, pvName);
}

/** The folder of one of our PVs, if it lies directly below `root` (never anything else). */
export function folderOf(pv: V1PersistentVolume, root: string): string | undefined {
  const csi = pv.spec?.csi;
  const path = csi?.driver === HOST_CSI_DRIVER ? join(root, csi.volumeHandle) : pv.spec?.hostPath?.path;
  if (!path || !isAbsolute(path)) return undefined;
  const rel = relative(resolve(root), resolve(path));
  if (!rel || rel.startsWith('..') || isAbsolute(rel) || rel.includes('/')) return undefined;
  return resolve(path);
}

/** The PVC a claim is to be cloned from (dataSource or dataSourceRef of kind PersistentVolumeClaim). */
export function cloneSourceOf(pvc: V1PersistentVolumeClaim): string | undefined {
  const ds = pvc.spec?.dataSourceRef ?? pvc.spec?.dataSource;
  if (!ds || ds.kind !== 'PersistentVolumeClaim' || (ds.apiGroup ?? '') !== '') return undefined;
  return ds.name;
}

/** The VolumeSnapshot a claim is to be provisioned from (dataSource or dataSourceRef). */
export function snapshotSourceOf(pvc: V1PersistentVolumeClaim): string | undefined {
  const ds = pvc.spec?.dataSourceRef ?? pvc.spec?.dataSource;
  if (!ds || ds.kind !== 'VolumeSnapshot' || ds.apiGroup !== 'snapshot.storage.k8s.io') return undefined;
  return ds.name;
}

/** A PV bound to `pvc` at `folder` (hostPath, or CSI for a csi class), only for pods on `cls.node`. */
export function hostVolumeFor(
  pvc: V1PersistentVolumeClaim,
  storageClassName: string,
  cls: HostClass,
  folder: string,
  provisioner: string,
): V1PersistentVolume {
  const spec = pvc.spec ?? {};
  const uid = pvc.metadata!.uid!;
  return {
    metadata: { name: `pvc-${uid}`, annotations: { 'pv.kubernetes.io/provisioned-by': provisioner } },
    spec: {
      capacity: { storage: spec.resources?.requests?.storage ?? '1Gi' },
      accessModes: spec.accessModes ?? ['ReadWriteOnce'],
      volumeMode: 'Filesystem',
      storageClassName,
      persistentVolumeReclaimPolicy: 'Delete',
      claimRef: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        namespace: pvc.metadata!.namespace!,
        name: pvc.metadata!.name!,
        uid,
      },
      ...(cls.csi
        ? { csi: { driver: HOST_CSI_DRIVER, volumeHandle: basename(folder), volumeAttributes: { folder } } }
        : { hostPath: { path: folder, type: 'Directory' } }),
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: HOSTNAME_LABEL, operator: 'In', values: [cls.node] }] },
          ],
        },
      },
    },
  };
}

/** The command that copies the content and attributes of `source` into the new folder `target`. */
export function copyCommand(source: string, target: string): [string, string[]] {
  // `source/.` copies the folder's entries and its own mode, owner and times onto `target`.
  return ['cp', ['-a', '--sparse=always', '--no-target-directory', `${source}/.`, target]];
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * Makes the folder of a volume: empty with mode 0777, or a copy of `source`. Written beside it and
 * renamed into place, so a folder that exists is whole; an existing one is kept (a retried claim).
 */
export async function makeFolder(folder: string, source?: string): Promise<void> {
  if (await exists(folder)) return;
  const partial = `${folder}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(resolve(folder, '..'), { recursive: true });
  if (source) {
    const [cmd, args] = copyCommand(source, partial);
    await exec(cmd, args, { maxBuffer: 16 * 1024 * 1024 });
  } else {
    await mkdir(partial);
    await chmod(partial, 0o777);
  }
  await rename(partial, folder);
}

export async function removeFolder(folder: string): Promise<void> {
  await rm(folder, { recursive: true, force: true });
}
