// Integration tests need the test bed (make cluster-up) and the CRD installed from config/crd.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  const run = (args: string[]) =>
    execFileSync('kubectl', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  try {
    run(['get', '--raw', '/readyz']);
  } catch (err) {
    throw new Error(
      'the test bed is not running: start it with `make cluster-up` (KUBECONFIG must point at it)',
      {
        cause: err,
      },
    );
  }
  run(['apply', '--server-side', '--force-conflicts', '-f', 'config/crd/bases/']);
  run([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/datamovers.datamover.io',
    'crd/datamoverschedules.datamover.io',
    'crd/datamoverrestores.datamover.io',
  ]);
}
