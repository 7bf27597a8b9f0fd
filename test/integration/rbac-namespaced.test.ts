// Least privilege of a namespaced install, proven like rbac.test.ts: the chart rendered with
// `watchNamespaces` gives the operator Roles and RoleBindings in the watched namespaces and a
// ClusterRole only for what a Role cannot grant (get on storageclasses, get on the watched
// namespaces by name). The operator runs with a token of the chart's ServiceAccount bound only to
// those objects, and the requests the audit log records for it are exactly what they grant, each in
// a watched namespace (leases in the release namespace): nothing refused, nothing granted and unused.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  HELM,
  apply,
  createNamespace,
  dataMover,
  deleteNamespace,
  getDataMover,
  getJson,
  kubectlOk,
  sourceAndSecret,
  uniqueName,
  waitFor,
  waitForPhase,
  waitGone,
} from '../support/cluster.js';
import type { DataMoverSchedule } from '../../src/api/v1alpha1/schedule.js';
import { granted, requestsBy, tokenKubeconfig } from '../support/audit.js';
import { OperatorProcess } from '../support/operator.js';

const SA = 'datamover-operator-controller-manager';
/** Checked by admission when blockOwnerDeletion is set, never a request (see rbac.test.ts). */
const ADMISSION_ONLY = new Set([
  'datamover.io/datamovers/finalizers:update',
  'datamover.io/datamoverschedules/finalizers:update',
  'datamover.io/datamoverrestores/finalizers:update',
]);
const RBAC_KINDS = new Set(['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}
interface RbacObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Rule[];
  roleRef?: { name: string };
}

let system: string;
let watched: [string, string];
let objects: RbacObject[];
let operator: OperatorProcess | undefined;
/** Cluster-scoped names made unique, so the shared test bed's config/rbac objects stay untouched. */
const suffix = uniqueName('ns').slice(3);

/** The chart's RBAC for a namespaced install, minus the aggregated user roles and metrics reader. */
function renderRbac(): RbacObject[] {
  const yaml = execFileSync(HELM, [
    'template',
    'datamover-operator',
    'charts/datamover-operator',
    '--namespace',
    system,
    '--kube-version',
    '1.34.4',
    '--set',
    `watchNamespaces={${watched.join(',')}}`,
  ]).toString();
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as RbacObject | null)
    .filter((o): o is RbacObject => !!o && RBAC_KINDS.has(o.kind))
    .filter((o) => !/viewer|editor|metrics-reader/.test(o.metadata.name))
    .map((o) => {
      if (o.kind === 'ClusterRole') o.metadata.name += `-${suffix}`;
      if (o.kind === 'ClusterRoleBinding') {
        o.metadata.name += `-${suffix}`;
        o.roleRef!.name += `-${suffix}`;
      }
      return o;
    });
}

beforeAll(async () => {
  system = await createNamespace('dm-rbacns-sys');
  watched = [await createNamespace('dm-rbacns-a'), await createNamespace('dm-rbacns-b')];
  objects = renderRbac();
  await kubectlOk(['apply', '-f', '-'], objects.map((o) => JSON.stringify(o)).join('\n'));
});

afterAll(async () => {
  await operator?.stop();
  for (const kind of ['clusterrolebinding', 'clusterrole'])
    for (const o of objects?.filter((x) => x.kind.toLowerCase() === kind) ?? [])
      await kubectlOk(['delete', kind, o.metadata.name, '--ignore-not-found']);
  for (const ns of [system, ...(watched ?? [])]) if (ns) await deleteNamespace(ns);
});

describe("the chart's namespaced RBAC (watchNamespaces)", () => {
  it('is Roles in the watched namespaces and a ClusterRole only for cluster-scoped reads', () => {
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}`).sort();
    expect(kinds).toEqual(
      [
        'ClusterRole/',
        'ClusterRoleBinding/',
        `Role/${system}`,
        `Role/${watched[0]}`,
        `Role/${watched[1]}`,
        `RoleBinding/${system}`,
        `RoleBinding/${watched[0]}`,
        `RoleBinding/${watched[1]}`,
        `ServiceAccount/${system}`,
      ].sort(),
    );
    const cluster = objects.find((o) => o.kind === 'ClusterRole')!;
    expect(cluster.rules).toEqual([
      { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get'] },
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get'], resourceNames: watched },
    ]);
  });

  it('is exactly what the operator uses', { timeout: 240_000 }, async () => {
    const since = new Date(Date.now() - 1000);
    const [a, b] = watched;
    operator = new OperatorProcess(
      [a, b],
      [
        `--kubeconfig=${await tokenKubeconfig(SA, system)}`,
        '--leader-elect',
        `--leader-election-namespace=${system}`,
        `--leader-election-id=${uniqueName('rbacns')}`,
        '--clone-stall-after=1s',
        '--clone-provision-timeout=4s',
        '--pod-start-timeout=3s',
      ],
    );
    await operator.start();
    await sourceAndSecret(a, 'src');
    await sourceAndSecret(b, 'src');
    // The same scenarios as rbac.test.ts, spread over both namespaces, each of which uses every
    // namespaced permission.
    for (const ns of [a, b]) {
      await apply(ns, {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'taken-mover' },
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'x', image: 'none' }] } } },
      });
      await apply(
        ns,
        dataMover('ok', { sourcePvc: 'src', secretName: 'bucket', deletePvcAfterBackup: true }),
        dataMover('taken', { sourcePvc: 'src', secretName: 'bucket', destinationPath: `${ns}/taken` }),
        dataMover('noreport', {
          sourcePvc: 'src',
          secretName: 'bucket',
          destinationPath: `${ns}/noreport`,
          podLabels: { simulate: 'noreport' },
        }),
        dataMover('fails', {
          sourcePvc: 'src',
          secretName: 'bucket',
          destinationPath: `${ns}/fails`,
          backoffLimit: 0,
          podLabels: { simulate: 'fail' },
        }),
        dataMover('nopod', {
          sourcePvc: 'src',
          secretName: 'bucket',
          destinationPath: `${ns}/nopod`,
          nodeSelector: { none: 'x' },
        }),
        dataMover('noclone', {
          sourcePvc: 'src',
          secretName: 'bucket',
          destinationPath: `${ns}/noclone`,
          storageClassName: 'test-broken',
        }),
        dataMover('privileged', {
          sourcePvc: 'src',
          secretName: 'bucket',
          destinationPath: `${ns}/privileged`,
          privilegedReader: true,
        }),
        dataMover('snap', {
          sourcePvc: 'src',
          secretName: 'bucket',
          destinationPath: `${ns}/snap`,
          copyMethod: 'Snapshot',
          deletePvcAfterBackup: true,
        }),
        dataMover('ttl', {
          sourcePvc: 'src',
          secretName: 'bucket',
          destinationPath: `${ns}/ttl`,
          ttlSecondsAfterFinished: 0,
        }),
      );
    }
    for (const ns of [a, b]) {
      await waitForPhase(ns, 'ok', 'Completed');
      await waitForPhase(ns, 'snap', 'Completed');
      await waitFor(async () => !(await getDataMover(ns, 'snap'))?.status?.snapshotName, {
        what: 'the snapshot deleted',
      });
      const taken = await waitForPhase(ns, 'taken', 'Failed');
      expect(taken.status?.conditions?.find((c) => c.type === 'Failed')?.reason).toBe('NameConflict');
      // A Job that succeeded without the mover's report: its pod's log is read (get pods/log).
      const noreport = await waitForPhase(ns, 'noreport', 'Failed');
      expect(noreport.status?.conditions?.find((c) => c.type === 'Failed')?.reason).toBe('NoMoverReport');
      await waitForPhase(ns, 'fails', 'Failed', 60_000);
      await waitForPhase(ns, 'nopod', 'Failed');
      await waitForPhase(ns, 'noclone', 'Failed');
      await waitForPhase(ns, 'privileged', 'Failed');
      await waitGone('datamover', 'ttl', ns);
    }
    for (const ns of [a, b]) {
      await kubectlOk(['label', 'pvc', 'src', '-n', ns, 'backup=enabled']);
      await apply(ns, {
        apiVersion: 'datamover.io/v1alpha1',
        kind: 'DataMoverSchedule',
        metadata: { name: 'sched' },
        spec: {
          schedule: '0 0 1 1 *',
          selector: { matchLabels: { backup: 'enabled' } },
          trigger: 'now',
          successfulRunsHistoryLimit: 0,
          template: { secretName: 'bucket', destinationPath: `${ns}/sched` },
        },
      });
    }
    for (const ns of [a, b]) {
      await waitFor(
        async () => {
          const s = await getJson<DataMoverSchedule>(['get', 'dms', 'sched', '-n', ns]);
          const runs = await getJson<{ items: unknown[] }>([
            'get',
            'dm',
            '-n',
            ns,
            '-l',
            'datamover.io/schedule=sched',
          ]);
          return s?.status?.pvcs?.[0]?.lastSuccessfulTime !== undefined && runs?.items.length === 0;
        },
        { what: `the scheduled run in ${ns} recorded and deleted` },
      );
    }
    // A restore in each namespace: its status writes and its Job, under the namespaced Roles.
    for (const ns of [a, b]) {
      await apply(ns, {
        apiVersion: 'datamover.io/v1alpha1',
        kind: 'DataMoverRestore',
        metadata: { name: 'back' },
        spec: {
          source: { backup: { secretName: 'bucket', sourcePvc: 'src' } },
          target: { newPvc: { name: 'src-restored' } },
        },
      });
    }
    for (const ns of [a, b]) {
      await waitFor(
        async () =>
          (await getJson<{ status?: { phase?: string } }>(['get', 'dmr', 'back', '-n', ns]))?.status
            ?.phase === 'Completed',
        { what: `the restore in ${ns} to complete` },
      );
    }
    await operator.stop();

    const requests = requestsBy(`system:serviceaccount:${system}:${SA}`, since);
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((r) => r.code === 403)).toEqual([]);
    // Scoped permissions: `<namespace>|<permission>`, `*|<permission>` for cluster-scoped ones.
    // The audit log gives a namespace object's own name as its namespace.
    const clusterScoped = (p: string) => /^(\/namespaces|storage\.k8s\.io\/storageclasses):/.test(p);
    const used = new Set(
      requests.map((r) => `${clusterScoped(r.permission) ? '*' : (r.namespace ?? '*')}|${r.permission}`),
    );
    // Namespaces are read only by the names the ClusterRole lists.
    expect(
      requests.filter((r) => r.permission === '/namespaces:get' && !watched.includes(r.namespace!)),
    ).toEqual([]);
    const grants = new Set<string>();
    for (const o of objects) {
      if (o.kind !== 'Role' && o.kind !== 'ClusterRole') continue;
      const scope = o.kind === 'Role' ? o.metadata.namespace! : '*';
      for (const p of granted(o.rules ?? [])) grants.add(`${scope}|${p}`);
    }
    const missing = [...used].filter((p) => !grants.has(p));
    const unused = [...grants].filter((p) => !used.has(p) && !ADMISSION_ONLY.has(p.split('|')[1]!));
    expect({ missing, unused }).toEqual({ missing: [], unused: [] });
  });
});
