// Least privilege, proven: the operator runs with a ServiceAccount token bound only to the roles in
// config/rbac, completes DataMovers through success, cleanup, failure, stalls, timeouts and TTL
// deletion, and the requests the apiserver's audit log records for it are exactly what the roles
// grant — nothing refused, nothing granted and unused.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
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

const SYSTEM_NS = 'datamover-operator-system';
const SA = 'datamover-operator-controller-manager';
const USER = `system:serviceaccount:${SYSTEM_NS}:${SA}`;
/**
 * Checked by the OwnerReferencesPermissionEnforcement admission plugin when the operator sets
 * blockOwnerDeletion on a child, not sent as a request: it never appears in the audit log. The test
 * of a role without it is below.
 */
const ADMISSION_ONLY = new Set([
  'datamover.io/datamovers/finalizers:update',
  'datamover.io/datamoverschedules/finalizers:update',
  'datamover.io/datamoverrestores/finalizers:update',
]);

let ns: string;
let operator: OperatorProcess | undefined;
let since: Date;

function rbacDocuments(): Array<{ kind: string; metadata: { name: string }; rules?: never[] }> {
  return ['role.yaml', 'leader_election_role.yaml'].flatMap((f) =>
    parseAllDocuments(readFileSync(join('config/rbac', f), 'utf8')).map((d) => d.toJS()),
  );
}

beforeAll(async () => {
  ns = await createNamespace('dm-rbac');
  await kubectlOk(['create', 'namespace', SYSTEM_NS, '--dry-run=client', '-o', 'yaml']).then((y) =>
    kubectlOk(['apply', '--server-side', '-f', '-'], y),
  );
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-k', 'config/rbac']);
});

afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(ns);
});

describe("the operator's RBAC", () => {
  it('is exactly what the operator uses', async () => {
    since = new Date(Date.now() - 1000);
    operator = new OperatorProcess(
      [ns],
      [
        `--kubeconfig=${await tokenKubeconfig(SA, SYSTEM_NS)}`,
        '--leader-elect',
        `--leader-election-namespace=${SYSTEM_NS}`,
        `--leader-election-id=${uniqueName('rbac')}`,
        '--clone-stall-after=1s',
        '--clone-provision-timeout=4s',
        '--pod-start-timeout=3s',
      ],
    );
    await operator.start();
    await sourceAndSecret(ns, 'src');
    // A Job the operator did not make, holding a mover Job's name: the create meets AlreadyExists
    // and the operator reads the Job (get) to tell whose it is.
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
    await waitForPhase(ns, 'ok', 'Completed');
    // copyMethod Snapshot: it creates the snapshot, reads it until ready, and deletes it at the end.
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
    // A schedule run by its trigger: it lists the PVCs its selector picks, creates a DataMover, records
    // the result in its status and deletes the run (no history kept).
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
      { what: 'the scheduled run recorded and deleted' },
    );
    // A restore of the backup into a new PVC: it lists and watches restores, reads the source PVC for
    // the size, creates the PVC, lists the namespace's pods (is the target mounted?), runs a restore
    // Job, writes restores/status and deletes the finished Job.
    await apply(ns, {
      apiVersion: 'datamover.io/v1alpha1',
      kind: 'DataMoverRestore',
      metadata: { name: 'back' },
      spec: {
        source: { backup: { secretName: 'bucket', sourcePvc: 'src' } },
        target: { newPvc: { name: 'src-restored' } },
      },
    });
    await waitFor(
      async () =>
        (await getJson<{ status?: { phase?: string } }>(['get', 'dmr', 'back', '-n', ns]))?.status?.phase ===
        'Completed',
      { what: 'the restore to complete' },
    );
    await waitGone('job', 'back-restore', ns);
    await operator.stop();

    const requests = requestsBy(USER, since);
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((r) => r.code === 403)).toEqual([]);
    const used = new Set(requests.map((r) => r.permission));
    const grants = granted(rbacDocuments().flatMap((d) => d.rules ?? []));
    const missing = [...used].filter((p) => !grants.has(p));
    const unused = [...grants].filter((p) => !used.has(p) && !ADMISSION_ONLY.has(p));
    expect({ missing, unused }).toEqual({ missing: [], unused: [] });
  });

  it('needs update on datamovers/finalizers to set blockOwnerDeletion on children', async () => {
    const role = rbacDocuments().find((d) => d.kind === 'ClusterRole')!;
    const name = uniqueName('dm-nofinalizers');
    const rules = (role.rules as Array<{ resources: string[] }>).filter(
      (r) => !r.resources.includes('datamovers/finalizers'),
    );
    const objects = [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: SYSTEM_NS } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects: [{ kind: 'ServiceAccount', name, namespace: SYSTEM_NS }],
      },
    ];
    await kubectlOk(['apply', '-f', '-'], objects.map((o) => JSON.stringify(o)).join('\n'));
    const weak = new OperatorProcess([ns], [`--kubeconfig=${await tokenKubeconfig(name, SYSTEM_NS)}`]);
    try {
      await weak.start();
      await apply(
        ns,
        dataMover('weak', { sourcePvc: 'src', secretName: 'bucket', destinationPath: `${ns}/weak` }),
      );
      const dm = await waitForPhase(ns, 'weak', 'Failed');
      expect(dm.status?.conditions?.find((c) => c.type === 'Failed')?.reason).toBe('CloneCreationFailed');
      expect(dm.status?.message).toContain('blockOwnerDeletion');
    } finally {
      await weak.stop();
      await kubectlOk(['delete', 'clusterrolebinding,clusterrole', name]);
      await kubectlOk(['delete', 'serviceaccount', name, '-n', SYSTEM_NS]);
    }
  });
});
