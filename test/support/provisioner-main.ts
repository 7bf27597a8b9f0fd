// Runs the test provisioner beside the test bed (hack/cluster-up.sh starts it).
import { KubeConfig } from '@kubernetes/client-node';
import { TestProvisioner } from './provisioner.js';

const kc = new KubeConfig();
kc.loadFromDefault();
const stop = await new TestProvisioner(kc).start((err) => console.error(`provisioner: ${String(err)}`));
console.log('test provisioner running');
process.on('SIGTERM', () => void stop().then(() => process.exit(0)));
