// The run cap at scale: N DataMovers spread over K namespaces (each namespace's runs created one
// after the other, the first namespace's oldest) and an operator with --max-concurrent-runs C,
// killed with SIGKILL when half the runs completed and replaced by another. Storage binds at once
// and Jobs succeed at once (test bed). Prints: how many runs ever held a clone or a Job at once,
// counted twice (the operator's clones and Jobs followed on two watches, replayed in revision order;
// and every create and delete of them in the apiserver's audit log), the time to complete them all,
// and how evenly the slots, and the completions, went round the namespaces.
//   make bench-cap [COUNT=1000] [NAMESPACES=10] [CAP=10]
import { parseArgs } from 'node:util';
import { ChildLog, largestGap } from '../support/children.js';
import {
  bucketSecret,
  createNamespace,
  dataMover,
  deleteNamespace,
  kubectlOk,
  pvc,
  waitFor,
} from '../support/cluster.js';
import { lifecycles, mostOwnersAtOnce, tokenKubeconfig } from '../support/audit.js';
import { OperatorProcess, sample } from '../support/operator.js';
import { SA, SYSTEM_NS, applyIn, benchSetup } from './setup.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    count: { type: 'string', default: '1000' },
    namespaces: { type: 'string', default: '10' },
    cap: { type: 'string', default: '10' },
  },
});
const count = Number(values.count);
const cap = Number(values.cap);
const { kc, ns: first } = await benchSetup('dm-capbench');
const namespaces = [first];
while (namespaces.length < Number(values.namespaces)) namespaces.push(await createNamespace('dm-capbench'));
const perNamespace = Math.ceil(count / namespaces.length);
const runs = Array.from({ length: count }, (_, i) => ({ ns: namespaces[Math.floor(i / perNamespace)]!, i }));

for (const ns of namespaces) {
  const mine = runs.filter((r) => r.ns === ns);
  await applyIn(ns, [bucketSecret(), ...mine.map((r) => pvc(`src-${r.i}`))]);
}
for (const ns of namespaces) {
  const want = runs.filter((r) => r.ns === ns).length;
  await waitFor(
    async () =>
      (await kubectlOk(['get', 'pvc', '-n', ns, '-o', 'jsonpath={.items[*].status.phase}']))
        .split(' ')
        .filter((p) => p === 'Bound').length === want,
    { timeoutMs: 600_000, intervalMs: 1000, what: `source PVCs bound in ${ns}` },
  );
}
for (const ns of namespaces)
  await applyIn(
    ns,
    runs
      .filter((r) => r.ns === ns)
      .map((r) =>
        dataMover(`run-${r.i}`, {
          sourcePvc: `src-${r.i}`,
          secretName: 'bucket',
          deletePvcAfterBackup: true,
        }),
      ),
  );

const children = new ChildLog(namespaces);
await children.follow(kc);
const kubeconfig = await tokenKubeconfig(SA, SYSTEM_NS);
const operators: OperatorProcess[] = [];
process.on('exit', () => operators.forEach((o) => o.signal('SIGKILL')));
const startOperator = async () => {
  const op = new OperatorProcess(namespaces, [`--kubeconfig=${kubeconfig}`, `--max-concurrent-runs=${cap}`]);
  operators.push(op);
  await op.start();
  return op;
};

const completed = async () => {
  let done = 0;
  for (const ns of namespaces)
    done += (await kubectlOk(['get', 'dm', '-n', ns, '-o', 'jsonpath={.items[*].status.phase}']))
      .split(' ')
      .filter((p) => p === 'Completed').length;
  return done;
};
const since = new Date();
const started = performance.now();
const firstOperator = await startOperator();
await waitFor(async () => (await completed()) >= count / 2, {
  timeoutMs: 1_800_000,
  intervalMs: 1000,
  what: 'half the runs Completed',
});
await firstOperator.stop('SIGKILL');
const failoverAt = (performance.now() - started) / 1000;
const second = await startOperator();
await waitFor(async () => (await completed()) === count, {
  timeoutMs: 1_800_000,
  intervalMs: 1000,
  what: 'all runs Completed',
});
const seconds = (performance.now() - started) / 1000;
await waitFor(async () => children.live() === 0, { timeoutMs: 120_000, what: 'every clone and Job deleted' });
const text = await second.scrape();
await second.stop();
children.stop();

const order = children.admissions();
const waits = namespaces.map((ns) => ({
  sum: sample(text, 'datamover_run_queue_wait_seconds_sum', { namespace: ns }) ?? 0,
  n: sample(text, 'datamover_run_queue_wait_seconds_count', { namespace: ns }) ?? 0,
}));
console.log(
  `${count} DataMovers in ${namespaces.length} namespaces, cap ${cap}: all Completed in ${seconds.toFixed(1)} s`,
);
console.log(`operator killed and replaced at ${failoverAt.toFixed(1)} s`);
console.log(`most runs holding a clone or a Job at once: ${children.mostAtOnce()} (cap ${cap})`);
// The same from the apiserver's audit log: every create and delete of a clone or a Job, whoever
// made it, from the first operator's start; a run holds from its first create to its last delete.
const events = lifecycles(namespaces, ['persistentvolumeclaims', 'jobs'], since).filter((e) =>
  /-(clone|mover)$/.test(e.name),
);
const auditMost = mostOwnersAtOnce(events, (e) => e.name.replace(/-(clone|mover)$/, ''));
const auditCreates = events.filter((e) => e.verb === 'create').length;
console.log(
  `audit log: ${auditCreates} creates and ${events.length - auditCreates} deletes of clones and Jobs; most runs holding one at once: ${auditMost} (cap ${cap})`,
);
console.log(
  `slots given: ${order.length}; largest gap between namespaces while all waited: ${largestGap(order, namespaces)}`,
);
const tenth = Math.ceil(order.length / 10);
for (let k = 0; k < order.length; k += tenth) {
  const slice = order.slice(k, k + tenth);
  const counts = namespaces.map((ns) => slice.filter((n) => n === ns).length);
  console.log(`  slots ${k + 1}-${k + slice.length}: by namespace ${counts.join(' ')}`);
}
// Completion order: the runs sorted by status.completionTime, the namespaces of each tenth.
const finished: Array<{ ns: string; at: number }> = [];
for (const ns of namespaces)
  for (const at of (
    await kubectlOk(['get', 'dm', '-n', ns, '-o', 'jsonpath={.items[*].status.completionTime}'])
  ).split(' '))
    finished.push({ ns, at: Date.parse(at) });
finished.sort((a, b) => a.at - b.at);
for (let k = 0; k < finished.length; k += tenth) {
  const slice = finished.slice(k, k + tenth);
  const counts = namespaces.map((ns) => slice.filter((f) => f.ns === ns).length);
  console.log(`  completed ${k + 1}-${k + slice.length}: by namespace ${counts.join(' ')}`);
}
console.log(
  `mean wait for a slot under the second operator, by namespace (s): ${waits.map((w) => (w.n ? w.sum / w.n : 0).toFixed(1)).join(' ')}`,
);
for (const ns of namespaces) await deleteNamespace(ns);
