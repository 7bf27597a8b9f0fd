// Test scaffolding, not product code: a stand-in for a CSI driver's external provisioner. For each
// PVC of a StorageClass whose provisioner is test.datamover.io/provisioner it creates a PV bound to
// the claim (Immediate: at once; WaitForFirstConsumer: once the scheduler picked a node), and it
// deletes Released PVs it made. For most classes no data exists anywhere: only the API objects are
// real. A class with the parameter hostFolders: "true" (test-real) gets hostPath volumes that hold data
// on the real node, clones included (host-volumes.ts). For the class `test-broken` it never provisions
// and reports a ProvisioningFailed warning instead. It also plays the CSI driver's snapshotter for the
// snapshot controller (hack/testbed/snapshots.yaml): a VolumeSnapshotContent of driver
// test.datamover.io is marked ready (API only), one of test.datamover.io/broken gets an error.
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  StorageV1Api,
  makeInformer,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import {
  cloneSourceOf,
  folderFor,
  folderOf,
  HOST_CSI_DRIVER,
  hostClassOf,
  hostVolumeFor,
  makeFolder,
  removeFolder,
  snapshotSourceOf,
  type HostClass,
} from './host-volumes.js';

export const PROVISIONER = 'test.datamover.io/provisioner';
export const BROKEN_CLASS = 'test-broken';
export const SNAPSHOT_DRIVER = 'test.datamover.io';
export const BROKEN_SNAPSHOT_DRIVER = 'test.datamover.io/broken';
export const BROKEN_SNAPSHOT_MESSAGE = 'simulated: the driver cannot snapshot this volume';
const CONTENT_FINALIZER = 'snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection';
const SNAPSHOTS = { group: 'snapshot.storage.k8s.io', version: 'v1', plural: 'volumesnapshotcontents' };

/** What the test provisioner reads and writes of a VolumeSnapshotContent. */
interface SnapshotContent {
  metadata: {
    name: string;
    uid?: string;
    deletionTimestamp?: Date;
    resourceVersion?: string;
    finalizers?: string[];
  };
  spec?: { driver?: string; source?: { volumeHandle?: string } };
  status?: { readyToUse?: boolean; error?: unknown; snapshotHandle?: string };
}
const SELECTED_NODE = 'volume.kubernetes.io/selected-node';

function volumeFor(pvc: V1PersistentVolumeClaim, storageClassName: string, uid: string): V1PersistentVolume {
  const spec = pvc.spec ?? {};
  return {
    metadata: { name: `pvc-${uid}`, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER } },
    spec: {
      capacity: { storage: spec.resources?.requests?.storage ?? '1Gi' },
      accessModes: spec.accessModes ?? ['ReadWriteOnce'],
      volumeMode: spec.volumeMode ?? 'Filesystem',
      storageClassName,
      persistentVolumeReclaimPolicy: 'Delete',
      claimRef: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        namespace: pvc.metadata!.namespace!,
        name: pvc.metadata!.name!,
        uid,
      },
      csi: { driver: 'test.datamover.io', volumeHandle: uid },
    },
  };
}

/** Rethrows an API error unless the object is gone (404): a deleted content needs nothing more. */
const unlessGone = (err: unknown): undefined => {
  if ((err as { code?: number }).code !== 404) throw err;
  return undefined;
};

/** Attempts per claim or volume event, a second apart: longer than any apiserver restart in the tests. */
const RETRIES = 60;

interface ClassInfo {
  mode: string;
  host: HostClass | undefined;
}

export class TestProvisioner {
  private readonly core: CoreV1Api;
  private readonly storage: StorageV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly classes = new Map<string, ClassInfo>();
  private readonly warned = new Set<string>();
  private readonly inFlight = new Map<string, Promise<void>>();

  /** `hostVolumes`: the folder below which host-folder classes keep their volumes (none: not served). */
  constructor(
    private readonly kc: KubeConfig,
    private readonly hostVolumes?: string,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.storage = kc.makeApiClient(StorageV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  /**
   * As a CSI snapshotter: a content of ours is cut at once (ready), or fails for the broken driver.
   * For the real node's CSI volumes the cut is a copy of the volume's folder, the snapshot's folder.
   */
  handleContent(content: SnapshotContent): Promise<void> {
    // One cut per content at a time, in order (two copies into one folder would tear it), each
    // reading the content afresh.
    const key = `content:${content.metadata.name}`;
    const done = (this.inFlight.get(key) ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.cut(content.metadata.name));
    this.inFlight.set(key, done);
    return done.finally(() => {
      if (this.inFlight.get(key) === done) this.inFlight.delete(key);
    });
  }

  private async cut(name: string): Promise<void> {
    const content = await this.readContent(name);
    const driver = content?.spec?.driver;
    if (!content || !driver || ![SNAPSHOT_DRIVER, BROKEN_SNAPSHOT_DRIVER, HOST_CSI_DRIVER].includes(driver))
      return;
    const hostFolder = driver === HOST_CSI_DRIVER ? this.snapshotFolder(name) : undefined;
    if (content.metadata.deletionTimestamp) return this.release(content, hostFolder);
    if (content.status?.readyToUse || content.status?.error) return;
    if (hostFolder) {
      const handle = content.spec?.source?.volumeHandle;
      if (!handle) throw new Error(`snapshot content ${name} names no source volume`);
      await makeFolder(hostFolder, folderFor(this.hostVolumes!, handle));
    }
    const status =
      driver !== BROKEN_SNAPSHOT_DRIVER
        ? {
            snapshotHandle: hostFolder ? name : `snap-${content.metadata.uid}`,
            readyToUse: true,
            creationTime: Date.now() * 1_000_000,
          }
        : { readyToUse: false, error: { message: BROKEN_SNAPSHOT_MESSAGE, time: new Date().toISOString() } };
    await this.custom
      .replaceClusterCustomObjectStatus({
        ...SNAPSHOTS,
        name,
        body: { ...content, status: { ...content.status, ...status } },
      })
      .catch(unlessGone);
  }

  private async readContent(name: string): Promise<SnapshotContent | undefined> {
    return (await this.custom.getClusterCustomObject({ ...SNAPSHOTS, name }).catch(unlessGone)) as
      SnapshotContent | undefined;
  }

  /**
   * Deleted (deletionPolicy Delete): the snapshot is gone, so the content may go, as the sidecar lets
   * it once the driver deleted the snapshot (here: its folder, for a host-folder volume).
   */
  private async release(content: SnapshotContent, hostFolder: string | undefined): Promise<void> {
    if (hostFolder) await removeFolder(hostFolder);
    const finalizers = content.metadata.finalizers ?? [];
    if (!finalizers.includes(CONTENT_FINALIZER)) return;
    await this.custom.replaceClusterCustomObject({
      ...SNAPSHOTS,
      name: content.metadata.name,
      body: {
        ...content,
        metadata: { ...content.metadata, finalizers: finalizers.filter((f) => f !== CONTENT_FINALIZER) },
      },
    });
  }

  /** A deleted content of a host-folder CSI volume takes its snapshot's folder with it. */
  async contentGone(content: SnapshotContent): Promise<void> {
    if (content.spec?.driver === HOST_CSI_DRIVER)
      await removeFolder(this.snapshotFolder(content.metadata.name));
  }

  /** The folder of a snapshot of a host-folder CSI volume: beside the volumes, named by its content. */
  private snapshotFolder(content: string): string {
    if (!this.hostVolumes) throw new Error('the provisioner runs without DATAMOVER_HOST_VOLUMES');
    return folderFor(this.hostVolumes, content);
  }

  /**
   * The folder a claim of a host-folder class starts as a copy of: its source PVC's or snapshot's
   * (undefined: none; null: the source PVC's volume is not one of ours).
   */
  private async sourceFolder(pvc: V1PersistentVolumeClaim, root: string): Promise<string | undefined | null> {
    const namespace = pvc.metadata!.namespace!;
    const snapshot = snapshotSourceOf(pvc);
    if (snapshot) {
      const vs = (await this.custom.getNamespacedCustomObject({
        ...SNAPSHOTS,
        plural: 'volumesnapshots',
        namespace,
        name: snapshot,
      })) as { status?: { boundVolumeSnapshotContentName?: string; readyToUse?: boolean } };
      const content = vs.status?.boundVolumeSnapshotContentName;
      if (!content || !vs.status?.readyToUse) throw new Error(`snapshot ${snapshot} is not ready`);
      return this.snapshotFolder(content);
    }
    const sourceName = cloneSourceOf(pvc);
    if (!sourceName) return undefined;
    const claim = await this.core.readNamespacedPersistentVolumeClaim({ name: sourceName, namespace });
    const volume = claim.spec?.volumeName;
    if (!volume || claim.status?.phase !== 'Bound')
      throw new Error(`clone source ${sourceName} is not bound`);
    return folderOf(await this.core.readPersistentVolume({ name: volume }), root) ?? null;
  }

  private async classInfo(name: string): Promise<ClassInfo | undefined> {
    if (!this.classes.has(name)) {
      try {
        const sc = await this.storage.readStorageClass({ name });
        if (sc.provisioner !== PROVISIONER) return undefined;
        this.classes.set(name, {
          mode: sc.volumeBindingMode ?? 'Immediate',
          host: hostClassOf(sc.parameters),
        });
      } catch {
        return undefined;
      }
    }
    return this.classes.get(name);
  }

  /** A PV for a claim of a host-folder class, its folder made first (a clone: copied). */
  private async hostVolume(pvc: V1PersistentVolumeClaim, cls: string, host: HostClass) {
    if (!this.hostVolumes) return this.warnOnce(pvc, 'the provisioner runs without DATAMOVER_HOST_VOLUMES');
    const folder = folderFor(this.hostVolumes, `pvc-${pvc.metadata!.uid!}`);
    const source = await this.sourceFolder(pvc, this.hostVolumes);
    if (source === null)
      return this.warnOnce(pvc, `clone source ${cloneSourceOf(pvc)} is not a volume of this class`);
    await makeFolder(folder, source);
    return hostVolumeFor(pvc, cls, host, folder, PROVISIONER);
  }

  async handleClaim(pvc: V1PersistentVolumeClaim): Promise<void> {
    const cls = pvc.spec?.storageClassName;
    if (!cls || pvc.status?.phase !== 'Pending' || pvc.spec?.volumeName || pvc.metadata?.deletionTimestamp)
      return;
    const info = await this.classInfo(cls);
    if (!info) return;
    const uid = pvc.metadata!.uid!;
    if (cls === BROKEN_CLASS) return this.warnOnce(pvc);
    if (info.mode === 'WaitForFirstConsumer' && !pvc.metadata?.annotations?.[SELECTED_NODE]) return;
    // One provisioning per claim at a time: its add and update events come close together.
    return this.once(uid, async () => {
      const pv = info.host ? await this.hostVolume(pvc, cls, info.host) : volumeFor(pvc, cls, uid);
      if (!pv) return;
      try {
        await this.core.createPersistentVolume({ body: pv });
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
      }
    });
  }

  /** Runs `work` unless work of the same key runs: then the caller shares it. */
  private once(key: string, work: () => Promise<void>): Promise<void> {
    const running = this.inFlight.get(key);
    if (running) return running;
    const done = work().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, done);
    return done;
  }

  private async warnOnce(
    pvc: V1PersistentVolumeClaim,
    message = 'simulated: the storage backend has no capacity left',
  ): Promise<undefined> {
    const uid = pvc.metadata!.uid!;
    if (this.warned.has(uid)) return undefined;
    this.warned.add(uid);
    const now = new Date();
    await this.core.createNamespacedEvent({
      namespace: pvc.metadata!.namespace!,
      body: {
        metadata: { generateName: `${pvc.metadata!.name}.`, namespace: pvc.metadata!.namespace! },
        involvedObject: {
          kind: 'PersistentVolumeClaim',
          apiVersion: 'v1',
          name: pvc.metadata!.name!,
          namespace: pvc.metadata!.namespace!,
          uid,
        },
        type: 'Warning',
        reason: 'ProvisioningFailed',
        message,
        source: { component: PROVISIONER },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
    return undefined;
  }

  async handleVolume(pv: V1PersistentVolume): Promise<void> {
    const ours = pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'] === PROVISIONER;
    if (!ours || pv.status?.phase !== 'Released' || pv.metadata?.deletionTimestamp) return;
    await this.volumeGone(pv);
    try {
      await this.core.deletePersistentVolume({ name: pv.metadata!.name! });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
  }

  /** A host-folder PV that is released or deleted takes its folder with it. */
  async volumeGone(pv: V1PersistentVolume): Promise<void> {
    const ours = pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'] === PROVISIONER;
    const folder = this.hostVolumes && ours ? folderOf(pv, this.hostVolumes) : undefined;
    if (folder) await removeFolder(folder);
  }

  async start(onError: (err: unknown) => void): Promise<() => Promise<void>> {
    const claims = makeInformer<V1PersistentVolumeClaim>(this.kc, '/api/v1/persistentvolumeclaims', () =>
      this.core.listPersistentVolumeClaimForAllNamespaces(),
    );
    const volumes = makeInformer<V1PersistentVolume>(this.kc, '/api/v1/persistentvolumes', () =>
      this.core.listPersistentVolume(),
    );
    // A claim whose PV create fails while the apiserver is away (a restart test) is handled again:
    // the informer's relist sends no event for a claim that did not change, so it would never bind.
    const safe = (handle: () => Promise<void>, attempt = 0): void => {
      handle().catch((err: unknown) => {
        onError(err);
        if (attempt < RETRIES) setTimeout(() => safe(handle, attempt + 1), 1000);
      });
    };
    claims.on('add', (o) => safe(() => this.handleClaim(o)));
    claims.on('update', (o) => safe(() => this.handleClaim(o)));
    volumes.on('add', (o) => safe(() => this.handleVolume(o)));
    volumes.on('update', (o) => safe(() => this.handleVolume(o)));
    volumes.on('delete', (o) => safe(() => this.volumeGone(o)));
    // Keep trying while the apiserver is away (a restart test takes it down for a few seconds).
    const restart = (inf: typeof claims | typeof volumes) =>
      setTimeout(() => {
        inf.start().catch((err: unknown) => {
          onError(err);
          restart(inf);
        });
      }, 1000);
    const contents = makeInformer<SnapshotContent>(
      this.kc,
      '/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents',
      () => this.custom.listClusterCustomObject(SNAPSHOTS) as never,
    );
    contents.on('add', (o) => safe(() => this.handleContent(o)));
    contents.on('update', (o) => safe(() => this.handleContent(o)));
    // Without the sidecar's finalizer a content is deleted at once: its snapshot's folder goes then.
    contents.on('delete', (o) => safe(() => this.contentGone(o)));
    const informers = [claims, volumes, contents] as Array<typeof claims>;
    for (const inf of informers) {
      inf.on('error', (err) => {
        onError(err);
        restart(inf);
      });
    }
    await Promise.all(informers.map((inf) => inf.start()));
    return async () => {
      await Promise.all(informers.map((inf) => inf.stop()));
    };
  }
}
