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
  hostClassOf,
  hostVolumeFor,
  makeFolder,
  removeFolder,
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
  spec?: { driver?: string };
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

  /** As a CSI snapshotter: a content of ours is cut at once (ready), or fails for the broken driver. */
  async handleContent(content: SnapshotContent): Promise<void> {
    const driver = content.spec?.driver;
    if (driver !== SNAPSHOT_DRIVER && driver !== BROKEN_SNAPSHOT_DRIVER) return;
    if (content.metadata.deletionTimestamp) {
      // Deleted (deletionPolicy Delete): the snapshot is gone, so the content may go, as the sidecar
      // lets it once the driver deleted the snapshot.
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
      return;
    }
    if (content.status?.readyToUse || content.status?.error) return;
    const status =
      driver === SNAPSHOT_DRIVER
        ? {
            snapshotHandle: `snap-${content.metadata.uid}`,
            readyToUse: true,
            creationTime: Date.now() * 1_000_000,
          }
        : { readyToUse: false, error: { message: BROKEN_SNAPSHOT_MESSAGE, time: new Date().toISOString() } };
    await this.custom.replaceClusterCustomObjectStatus({
      ...SNAPSHOTS,
      name: content.metadata.name,
      body: { ...content, status: { ...content.status, ...status } },
    });
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

  /** A hostPath PV for a claim of a host-folder class, its folder made first (a clone: copied). */
  private async hostVolume(pvc: V1PersistentVolumeClaim, cls: string, host: HostClass) {
    if (!this.hostVolumes) return this.warnOnce(pvc, 'the provisioner runs without DATAMOVER_HOST_VOLUMES');
    const folder = folderFor(this.hostVolumes, `pvc-${pvc.metadata!.uid!}`);
    const sourceName = cloneSourceOf(pvc);
    let source: string | undefined;
    if (sourceName) {
      const claim = await this.core.readNamespacedPersistentVolumeClaim({
        name: sourceName,
        namespace: pvc.metadata!.namespace!,
      });
      const volume = claim.spec?.volumeName;
      if (!volume || claim.status?.phase !== 'Bound')
        throw new Error(`clone source ${sourceName} is not bound`);
      source = folderOf(await this.core.readPersistentVolume({ name: volume }), this.hostVolumes);
      if (!source) return this.warnOnce(pvc, `clone source ${sourceName} is not a volume of this class`);
    }
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
    const running = this.inFlight.get(uid);
    if (running) return running;
    const provision = (async () => {
      const pv = info.host ? await this.hostVolume(pvc, cls, info.host) : volumeFor(pvc, cls, uid);
      if (!pv) return;
      try {
        await this.core.createPersistentVolume({ body: pv });
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
      }
    })().finally(() => this.inFlight.delete(uid));
    this.inFlight.set(uid, provision);
    return provision;
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
