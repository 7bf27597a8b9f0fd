// Measures how fast the operator reacts to its children: for N DataMovers it records, from one
// watch connection per kind, when a clone became Bound and when the DataMover left
// CreatingClonedPVC, and when a mover Job completed and when the DataMover left CreatingPod.
// Prints the distribution; no assertion (speed is a figure, not a test).
//   node dist/test/bench/reaction.js [--count N]
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { parseArgs } from 'node:util';
import {
  apply,
  createNamespace,
  dataMover,
  deleteNamespace,
  sourceAndSecret,
  waitFor,
} from '../support/cluster.js';
import { OperatorProcess } from '../support/operator.js';

interface Obj {
  metadata: { name: string; labels?: Record<string, string>; ownerReferences?: Array<{ name: string }> };
  status?: { phase?: string; conditions?: Array<{ type: string; status: string }> };
}

const { values } = parseArgs({ options: { count: { type: 'string', default: '20' } } });
const count = Number(values.count);
const kc = new KubeConfig();
kc.loadFromDefault();
const ns = await createNamespace('dm-bench');
const operator = new OperatorProcess([ns], ['--log-level=info']);
await operator.start();

const cloneBound = new Map<string, number>();
const jobDone = new Map<string, number>();
const leftClone = new Map<string, number>();
const leftPod = new Map<string, number>();
const completed = new Set<string>();
const watch = new Watch(kc);
const owner = (o: Obj) => o.metadata.ownerReferences?.[0]?.name ?? '';
const aborts = await Promise.all([
  watch.watch(
    `/api/v1/namespaces/${ns}/persistentvolumeclaims`,
    {},
    (_t, o: Obj) => {
      if (o.status?.phase === 'Bound' && o.metadata.name.endsWith('-clone') && !cloneBound.has(owner(o))) {
        cloneBound.set(owner(o), performance.now());
      }
    },
    () => {},
  ),
  watch.watch(
    `/apis/batch/v1/namespaces/${ns}/jobs`,
    {},
    (_t, o: Obj) => {
      const done = o.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True');
      if (done && !jobDone.has(owner(o))) jobDone.set(owner(o), performance.now());
    },
    () => {},
  ),
  watch.watch(
    `/apis/datamover.io/v1alpha1/namespaces/${ns}/datamovers`,
    {},
    (_t, o: Obj) => {
      const name = o.metadata.name;
      const phase = o.status?.phase;
      if (phase && phase !== 'CreatingClonedPVC' && !leftClone.has(name))
        leftClone.set(name, performance.now());
      if (phase && phase !== 'CreatingClonedPVC' && phase !== 'CreatingPod' && !leftPod.has(name))
        leftPod.set(name, performance.now());
      if (phase === 'Completed') completed.add(name);
    },
    () => {},
  ),
]);

await sourceAndSecret(ns, 'src');
const started = performance.now();
await apply(
  ns,
  ...Array.from({ length: count }, (_, i) =>
    dataMover(`bench-${i}`, { sourcePvc: 'src', secretName: 'bucket', destinationPath: `bench/${i}` }),
  ),
);
await waitFor(async () => completed.size === count, { timeoutMs: 300_000, what: 'all DataMovers Completed' });
const elapsed = (performance.now() - started) / 1000;

const reactions = (cause: Map<string, number>, effect: Map<string, number>) =>
  [...cause.entries()]
    .filter(([n]) => effect.has(n))
    .map(([n, t]) => Math.max(0, effect.get(n)! - t))
    .sort((a, b) => a - b);
const pct = (xs: number[], p: number) =>
  xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const report = (label: string, xs: number[]) =>
  console.log(
    `${label}: n=${xs.length} p50=${pct(xs, 50).toFixed(1)}ms p90=${pct(xs, 90).toFixed(1)}ms max=${(xs.at(-1) ?? NaN).toFixed(1)}ms`,
  );
console.log(`${count} DataMovers completed in ${elapsed.toFixed(1)} s`);
report('clone Bound -> DataMover left CreatingClonedPVC', reactions(cloneBound, leftClone));
report('mover Job Complete -> DataMover left CreatingPod', reactions(jobDone, leftPod));
const all = [...reactions(cloneBound, leftClone), ...reactions(jobDone, leftPod)].sort((a, b) => a - b);
console.log(
  JSON.stringify({
    count,
    completedSeconds: Number(elapsed.toFixed(2)),
    reactionP50Ms: Number(pct(all, 50).toFixed(1)),
    reactionP99Ms: Number(pct(all, 99).toFixed(1)),
  }),
);

for (const a of aborts) a.abort();
await operator.stop();
await deleteNamespace(ns);
