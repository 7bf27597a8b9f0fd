// The operator as users install it (issue 36, first slice): `helm install` of the chart with only
// what a user sets (the image, a toleration and a node selector for the real node, the mover image),
// its own image on the real node, reaching the apiserver through the `kubernetes` Service. Both
// replicas become Ready and exactly one leads; a DataMover completes through the installed operator
// with real bytes in the tier's S3 server; the leader's pod is deleted and the other replica (or its
// replacement) leads and completes the next run; `helm uninstall` leaves no operator object but the
// Lease (and the CRDs, as documented).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HELM,
  apply,
  createNamespace,
  dataMover,
  deleteNamespace,
  getJson,
  kubectl,
  kubectlOk,
  waitFor,
} from '../support/cluster.js';
import {
  busyboxPod,
  dataMoverCompleted,
  makeBucket,
  realBucketSecret,
  realPvc,
  realS3,
  realTolerations,
  runPod,
  skipReason,
  tier,
  titled,
} from '../support/realnode.js';
import { snapshotBucket } from '../support/s3.js';

const RELEASE = 'datamover-operator';
const SYSTEM_NS = 'datamover-operator-system';
const BUCKET = 'helm';
const LEASE = 'datamover-operator-leader';

const helm = (args: string[]) => promisify(execFile)(HELM, args, { maxBuffer: 16 * 1024 * 1024 });

let ns = '';

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  status?: { conditions?: Array<{ type: string; status: string }> };
}
const operatorPods = async () =>
  (
    (
      await getJson<{ items: Pod[] }>([
        'get',
        'pods',
        '-n',
        SYSTEM_NS,
        '-l',
        'app.kubernetes.io/component=controller-manager',
      ])
    )?.items ?? []
  ).filter((p) => !p.metadata.deletionTimestamp);
const ready = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
const holder = async () =>
  (await getJson<{ spec?: { holderIdentity?: string } }>(['get', 'lease', LEASE, '-n', SYSTEM_NS]))?.spec
    ?.holderIdentity ?? '';

beforeAll(async () => {
  if (skipReason()) return;
  // The other tiers apply config/rbac for their own operators (same cluster-scoped names): a user's
  // cluster has one or the other.
  await kubectl(['delete', '-k', 'config/rbac', '--ignore-not-found']);
  await kubectl(['delete', 'namespace', SYSTEM_NS, '--ignore-not-found', '--wait=true']);
  ns = await createNamespace('real-helm');
  await Promise.all([makeBucket(BUCKET), apply(ns, realBucketSecret('bucket', BUCKET), realPvc('app'))]);
  await runPod(
    ns,
    busyboxPod('writer', 'echo one > /data/a.txt; mkdir /data/d; echo two > /data/d/b.txt', [
      { claim: 'app', mount: 'data' },
    ]),
  );
});

afterAll(async () => {
  if (skipReason()) return;
  await helm(['uninstall', RELEASE, '-n', SYSTEM_NS, '--wait']).catch(() => undefined);
  await kubectl(['delete', 'namespace', SYSTEM_NS, '--ignore-not-found', '--wait=false']);
  if (ns) await deleteNamespace(ns);
});

describe.skipIf(!!skipReason())(titled('the operator installed with helm on the real node'), () => {
  it('runs two Ready replicas, one leading, and completes a backup with real bytes', async () => {
    const [repository, tag] = tier().operatorImage.split(':');
    const tol = realTolerations()[0]!;
    await helm([
      'install',
      RELEASE,
      'charts/datamover-operator',
      '-n',
      SYSTEM_NS,
      '--create-namespace',
      '--set',
      `image.repository=${repository}`,
      '--set',
      `image.tag=${tag}`,
      '--set',
      `defaultMoverImage=${tier().moverImage}`,
      '--set-string',
      `nodeSelector.kubernetes\\.io/hostname=${tier().node}`,
      '--set',
      `tolerations[0].key=${tol.key}`,
      '--set',
      'tolerations[0].operator=Exists',
      '--set',
      'tolerations[0].effect=NoSchedule',
      '--wait',
      '--timeout',
      '150s',
    ]);
    const pods = await operatorPods();
    expect(pods.length).toBe(2);
    expect(pods.every(ready)).toBe(true);
    const leader = await waitFor(async () => (await holder()) || undefined, { what: 'a leader' });
    expect(pods.map((p) => p.metadata.name)).toContain(leader.split('_')[0]);

    await apply(
      ns,
      dataMover('via-helm', {
        sourcePvc: 'app',
        secretName: 'bucket',
        addTimestampPrefix: true,
        tolerations: realTolerations(),
        nodeSelector: { 'kubernetes.io/hostname': tier().node },
      }),
    );
    const dm = await dataMoverCompleted(ns, 'via-helm', 150_000);
    expect(dm.status?.filesTransferred).toBe(2);
    expect(dm.status?.verification).toMatchObject({ mismatches: 0 });
    const run = dm.status!.destination!.slice('bucket:'.length);
    const objects = [...(await snapshotBucket(realS3(), BUCKET)).keys()].filter((k) =>
      k.startsWith(`${run}data/`),
    );
    expect(objects.sort()).toEqual([`${run}data/a.txt`, `${run}data/d/b.txt`]);
  });

  it("hands the lease on when the leader's pod is deleted, and the next run completes once", async () => {
    const before = (await holder()).split('_')[0]!;
    await kubectlOk(['delete', 'pod', before, '-n', SYSTEM_NS, '--wait=false']);
    const next = await waitFor(
      async () => {
        const h = (await holder()).split('_')[0];
        return h && h !== before ? h : undefined;
      },
      { timeoutMs: 60_000, what: 'another replica to lead' },
    );
    expect(next).not.toBe(before);
    await apply(
      ns,
      dataMover('after-failover', {
        sourcePvc: 'app',
        secretName: 'bucket',
        addTimestampPrefix: true,
        tolerations: realTolerations(),
        nodeSelector: { 'kubernetes.io/hostname': tier().node },
      }),
    );
    const dm = await dataMoverCompleted(ns, 'after-failover', 150_000);
    expect(dm.status?.attempts).toBe(1);
  });

  it('leaves no operator object behind on helm uninstall but its Lease; the CRDs stay', async () => {
    await helm(['uninstall', RELEASE, '-n', SYSTEM_NS, '--wait']);
    await waitFor(async () => ((await operatorPods()).length === 0 ? true : undefined), {
      what: 'the operator pods gone',
    });
    const left = await kubectlOk([
      'get',
      'deployment,service,serviceaccount,role,rolebinding,configmap,secret',
      '-n',
      SYSTEM_NS,
      '-l',
      'app.kubernetes.io/name=datamover-operator',
      '-o',
      'name',
    ]);
    expect(left.trim()).toBe('');
    const cluster = await kubectlOk(['get', 'clusterrole,clusterrolebinding', '-o', 'name']);
    expect(cluster.split('\n').filter((n) => n.includes('datamover-operator'))).toEqual([]);
    expect(await kubectlOk(['get', 'crd', 'datamovers.datamover.io', '-o', 'name'])).toContain('datamovers');
  });
});
