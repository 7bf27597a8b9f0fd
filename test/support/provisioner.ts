// Test scaffolding, not product code: a stand-in for a CSI driver's external provisioner. For each
// PVC of a StorageClass whose provisioner is test.datamover.io/provisioner it creates a PV bound to
// the claim (Immediate: at once; WaitForFirstConsumer: once the scheduler picked a node), and it
// deletes Released PVs it made. No data exists anywhere: only the API objects are real. For the
// class `test-broken` it never provisions and reports a ProvisioningFailed warning instead.
import {
  CoreV1Api,
  KubeConfig,
  StorageV1Api,
  makeInformer,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
} from '@kubernetes/client-node';

export const PROVISIONER = 'test.datamover.io/provisioner';
export const BROKEN_CLASS = 'test-broken';
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

export class TestProvisioner {
  private readonly core: CoreV1Api;
  private readonly storage: StorageV1Api;
  private readonly classes = new Map<string, string>();
  private readonly warned = new Set<string>();

  constructor(private readonly kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.storage = kc.makeApiClient(StorageV1Api);
  }

  private async bindingMode(name: string): Promise<string | undefined> {
    if (!this.classes.has(name)) {
      try {
        const sc = await this.storage.readStorageClass({ name });
        if (sc.provisioner !== PROVISIONER) return undefined;
        this.classes.set(name, sc.volumeBindingMode ?? 'Immediate');
      } catch {
        return undefined;
      }
    }
    return this.classes.get(name);
  }

  async handleClaim(pvc: V1PersistentVolumeClaim): Promise<void> {
    const cls = pvc.spec?.storageClassName;
    if (!cls || pvc.status?.phase !== 'Pending' || pvc.spec?.volumeName || pvc.metadata?.deletionTimestamp)
      return;
    const mode = await this.bindingMode(cls);
    if (!mode) return;
    const uid = pvc.metadata!.uid!;
    if (cls === BROKEN_CLASS) return this.warnOnce(pvc);
    if (mode === 'WaitForFirstConsumer' && !pvc.metadata?.annotations?.[SELECTED_NODE]) return;
    const pv = volumeFor(pvc, cls, uid);
    try {
      await this.core.createPersistentVolume({ body: pv });
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }

  private async warnOnce(pvc: V1PersistentVolumeClaim): Promise<void> {
    const uid = pvc.metadata!.uid!;
    if (this.warned.has(uid)) return;
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
        message: 'simulated: the storage backend has no capacity left',
        source: { component: PROVISIONER },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  }

  async handleVolume(pv: V1PersistentVolume): Promise<void> {
    const ours = pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'] === PROVISIONER;
    if (!ours || pv.status?.phase !== 'Released' || pv.metadata?.deletionTimestamp) return;
    try {
      await this.core.deletePersistentVolume({ name: pv.metadata!.name! });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
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
    // Keep trying while the apiserver is away (a restart test takes it down for a few seconds).
    const restart = (inf: typeof claims | typeof volumes) =>
      setTimeout(() => {
        inf.start().catch((err: unknown) => {
          onError(err);
          restart(inf);
        });
      }, 1000);
    for (const inf of [claims, volumes]) {
      inf.on('error', (err) => {
        onError(err);
        restart(inf);
      });
    }
    await Promise.all([claims.start(), volumes.start()]);
    return async () => {
      await Promise.all([claims.stop(), volumes.stop()]);
    };
  }
}
