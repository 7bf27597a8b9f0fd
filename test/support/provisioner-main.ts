// Runs the test provisioner beside the test bed (hack/cluster-up.sh starts it). DATAMOVER_HOST_VOLUMES:
// the folder of the test-real volumes (test/support/host-volumes.ts).
import { KubeConfig } from '@kubernetes/client-node';
import { TestProvisioner } from './provisioner.js';

const kc = new KubeConfig();
kc.loadFromDefault();
const stop = await new TestProvisioner(kc, process.env.DATAMOVER_HOST_VOLUMES || undefined).start((err) =>
  console.error(`provisioner: ${String(err)}`),
);
console.log('test provisioner running');
process.on('SIGTERM', () => void stop().then(() => process.exit(0)));
