// What both benchmarks start from: the test bed, a namespace, config/rbac (the operator runs with its
// ServiceAccount's token, so the audit log counts its requests alone) and the CRDs, and an apply that
// sends objects a hundred at a time.
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { createNamespace, kubectlOk, useTestBed, waitFor } from '../support/cluster.js';

export const SYSTEM_NS = 'datamover-operator-system';
export const SA = 'datamover-operator-controller-manager';
export const OPERATOR_USER = `system:serviceaccount:${SYSTEM_NS}:${SA}`;

export async function benchSetup(prefix: string) {
  useTestBed();
  const kc = new KubeConfig();
  kc.loadFromDefault();
  // A previous run's namespace still being emptied (thousands of objects for the garbage collector)
  // loads the shared apiserver and would skew the figures: start once it is gone.
  await waitFor(
    async () =>
      !(await kubectlOk(['get', 'namespaces', '-o', 'jsonpath={.items[*].status.phase}'])).includes(
        'Terminating',
      ),
    { timeoutMs: 900_000, intervalMs: 2000, what: "earlier runs' namespaces deleted" },
  );
  const ns = await createNamespace(prefix);
  await kubectlOk(['create', 'namespace', SYSTEM_NS, '--dry-run=client', '-o', 'yaml']).then((y) =>
    kubectlOk(['apply', '--server-side', '-f', '-'], y),
  );
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-k', 'config/rbac']);
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', 'config/crd/bases/']);
  await kubectlOk([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/datamovers.datamover.io',
    'crd/datamoverschedules.datamover.io',
  ]);
  const apply = (objects: object[]) => applyIn(ns, objects);
  return { kc, ns, apply };
}

/** Applies objects in a namespace, a hundred at a time. */
export async function applyIn(ns: string, objects: object[]): Promise<void> {
  for (let i = 0; i < objects.length; i += 100)
    await kubectlOk(
      ['apply', '-n', ns, '-f', '-'],
      objects
        .slice(i, i + 100)
        .map((o) => stringify(o))
        .join('---\n'),
    );
}
