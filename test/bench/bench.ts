// The operator benchmark: N source PVCs and N DataMovers on the test bed (instant storage, instant
// Jobs). Prints the figures, and with --json one JSON object as the last line.
//   npm run bench -- --count N [--json]
import { Watch } from '@kubernetes/client-node';
import { parseArgs } from 'node:util';
import { kubectlOk, deleteNamespace, bucketSecret, pvc, dataMover, waitFor } from '../support/cluster.js';
import { requestsBy, tokenKubeconfig } from '../support/audit.js';
import { OPERATOR_USER, SA, SYSTEM_NS, benchSetup } from './setup.js';
import { OperatorProcess, sample } from '../support/operator.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: { count: { type: 'string', default: '100' }, json: { type: 'boolean', default: false } },
});
const count = Number(values.count);
const { kc, ns, apply } = await benchSetup('dm-bench');

// Sources first, all bound, so the run measures the operator.
await apply([bucketSecret(), ...Array.from({ length: count }, (_, i) => pvc(`src-${i}`))]);
await waitFor(
  async () =>
    (await kubectlOk(['get', 'pvc', '-n', ns, '-o', 'jsonpath={.items[*].status.phase}']))
      .split(' ')
      .filter((p) => p === 'Bound').length === count,
  { timeoutMs: 600_000, intervalMs: 1000, what: 'source PVCs bound' },
);

const operator = new OperatorProcess(
  [ns],
  [`--kubeconfig=${await tokenKubeconfig(SA, SYSTEM_NS)}`, '--log-level=info'],
);
await operator.start();
// A failed benchmark must not leave its operator running and loading the test bed.
process.on('exit', () => operator.signal('SIGKILL'));
// Start-up: from exec to ready (informers synced, nothing to do yet), and the memory it then holds.
const startup = operator.usage();
const since = new Date();

// Reaction: from a child's change (seen on this watch) to the DataMover's next phase.
const cloneBound = new Map<string, number>();
const jobDone = new Map<string, number>();
const leftClone = new Map<string, number>();
const leftPod = new Map<string, number>();
const completed = new Set<string>();
type Obj = {
  metadata: { name: string; ownerReferences?: Array<{ name: string }> };
  status?: { phase?: string; conditions?: Array<{ type: string; status: string }> };
};
const owner = (o: Obj) => o.metadata.ownerReferences?.[0]?.name ?? '';
const watch = new Watch(kc);
const noop = () => {};
const aborts = await Promise.all([
  watch.watch(
    `/api/v1/namespaces/${ns}/persistentvolumeclaims`,
    {},
    (_t, o: Obj) => {
      if (o.status?.phase === 'Bound' && o.metadata.name.endsWith('-clone') && !cloneBound.has(owner(o)))
        cloneBound.set(owner(o), performance.now());
    },
    noop,
  ),
  watch.watch(
    `/apis/batch/v1/namespaces/${ns}/jobs`,
    {},
    (_t, o: Obj) => {
      if (
        o.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') &&
        !jobDone.has(owner(o))
      )
        jobDone.set(owner(o), performance.now());
    },
    noop,
  ),
  watch.watch(
    `/apis/datamover.io/v1alpha1/namespaces/${ns}/datamovers`,
    {},
    (_t, o: Obj) => {
      const { name } = o.metadata;
      const phase = o.status?.phase;
      if (phase && phase !== 'CreatingClonedPVC' && !leftClone.has(name))
        leftClone.set(name, performance.now());
      if (phase && !['CreatingClonedPVC', 'CreatingPod'].includes(phase) && !leftPod.has(name))
        leftPod.set(name, performance.now());
      if (phase === 'Completed') completed.add(name);
    },
    noop,
  ),
]);

// Where the operator's memory is, sampled from its own process metrics every 5 s: the sample with
// the largest RSS is printed (V8 heap, memory outside it).
const MiB = 2 ** 20;
let memory = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0 };
const sampler = setInterval(() => {
  operator
    .scrape()
    .then((text) => {
      const rss = sample(text, 'process_resident_memory_bytes') ?? 0;
      if (rss <= memory.rss) return;
      memory = {
        rss,
        heapTotal: sample(text, 'nodejs_heap_size_total_bytes') ?? 0,
        heapUsed: sample(text, 'nodejs_heap_size_used_bytes') ?? 0,
        external: sample(text, 'nodejs_external_memory_bytes') ?? 0,
      };
    })
    .catch(() => undefined);
}, 5_000);

const started = performance.now();
for (let i = 0; i < count; i += 100) {
  await apply(
    Array.from({ length: Math.min(100, count - i) }, (_, j) =>
      dataMover(`bench-${i + j}`, { sourcePvc: `src-${i + j}`, secretName: 'bucket' }),
    ),
  );
}
await waitFor(async () => completed.size === count, {
  timeoutMs: 1_800_000,
  intervalMs: 250,
  what: 'all DataMovers Completed',
});
const completedSeconds = (performance.now() - started) / 1000;
clearInterval(sampler);

const { cpuSeconds, peakRss } = operator.usage();
const scrapeStart = performance.now();
const scrape = await operator.scrape();
const scrapeMs = performance.now() - scrapeStart;
await operator.stop();
for (const a of aborts) a.abort();

const requests = requestsBy(OPERATOR_USER, since).filter((r) => !/:(list|watch)$/.test(r.permission));
const byKind = new Map<string, number>();
for (const r of requests) byKind.set(r.permission, (byKind.get(r.permission) ?? 0) + 1);
const reactions = [...cloneBound]
  .filter(([n]) => leftClone.has(n))
  .map(([n, t]) => leftClone.get(n)! - t)
  .concat([...jobDone].filter(([n]) => leftPod.has(n)).map(([n, t]) => leftPod.get(n)! - t))
  .map((x) => Math.max(0, x))
  .sort((a, b) => a - b);
const pct = (p: number) =>
  reactions[Math.min(reactions.length - 1, Math.floor((p / 100) * reactions.length))] ?? NaN;
// Reconcile passes, every result (success, error, conflict): only DataMovers exist in this benchmark.
const passes = scrape
  .split('\n')
  .filter((l) => l.startsWith('datamover_reconcile_total{'))
  .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
const result = {
  count,
  reconcilePassesPerDataMover: Number((passes / count).toFixed(2)),
  completedSeconds: Number(completedSeconds.toFixed(2)),
  reactionP50Ms: Number(pct(50).toFixed(1)),
  reactionP99Ms: Number(pct(99).toFixed(1)),
  apiRequestsPerDataMover: Number((requests.length / count).toFixed(2)),
  operatorPeakRssBytes: peakRss,
  operatorCpuSeconds: cpuSeconds,
  startupCpuSeconds: startup.cpuSeconds,
  idleRssBytes: startup.rss,
  cpuMsPerDataMover: Number((((cpuSeconds - startup.cpuSeconds) * 1000) / count).toFixed(1)),
  scrapeMs: Number(scrapeMs.toFixed(1)),
  scrapeBytes: Buffer.byteLength(scrape),
};
console.log(`${count} DataMovers Completed in ${result.completedSeconds} s`);
console.log(
  `reaction (child change -> next status write): p50 ${result.reactionP50Ms} ms, p99 ${result.reactionP99Ms} ms`,
);
console.log(`API requests per DataMover (list/watch excluded): ${result.apiRequestsPerDataMover}`);
console.log(`reconcile passes per DataMover: ${result.reconcilePassesPerDataMover}`);
for (const [k, v] of [...byKind].sort((a, b) => b[1] - a[1]))
  console.log(`  ${(v / count).toFixed(2)}  ${k}`);
console.log(`operator peak RSS ${(peakRss / 2 ** 20).toFixed(1)} MiB, CPU ${cpuSeconds.toFixed(1)} s`);
console.log(
  `  start-up (exec to ready) CPU ${startup.cpuSeconds.toFixed(2)} s, idle RSS ${(startup.rss / MiB).toFixed(1)} MiB; ` +
    `CPU per DataMover after start-up ${result.cpuMsPerDataMover} ms`,
);
console.log(
  `  largest sampled RSS ${(memory.rss / MiB).toFixed(1)} MiB: V8 heap ${(memory.heapTotal / MiB).toFixed(1)} MiB ` +
    `(${(memory.heapUsed / MiB).toFixed(1)} used), external ${(memory.external / MiB).toFixed(1)} MiB, ` +
    `the rest (code, native, allocator) ${((memory.rss - memory.heapTotal - memory.external) / MiB).toFixed(1)} MiB`,
);
console.log(`/metrics scrape ${result.scrapeMs} ms, ${result.scrapeBytes} bytes`);
if (values.json) console.log(JSON.stringify(result));
await deleteNamespace(ns);
