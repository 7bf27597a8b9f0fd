// The schedule benchmark: S DataMoverSchedules, each selecting the same P labelled PVCs, all firing at
// the same second, while R DataMovers are already in flight. It measures how long after the fire time
// each DataMover was created (the apiserver's answer to its create, in the audit log), and whether the runs in flight were held up: their
// reaction (a Job completing -> the DataMover's next phase) during the burst against before it.
//   node dist/test/bench/schedules.js [--schedules 100] [--pvcs 10] [--inflight 50] [--json]
import { Watch } from '@kubernetes/client-node';
import { parseArgs } from 'node:util';
import { createdAt, requestsBy, tokenKubeconfig, updatesOf } from '../support/audit.js';
import { bucketSecret, dataMover, deleteNamespace, kubectlOk, pvc, waitFor } from '../support/cluster.js';
import { OPERATOR_USER, SA, SYSTEM_NS, benchSetup } from './setup.js';
import { OperatorProcess } from '../support/operator.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    schedules: { type: 'string', default: '100' },
    pvcs: { type: 'string', default: '10' },
    inflight: { type: 'string', default: '50' },
    json: { type: 'boolean', default: false },
  },
});
const schedules = Number(values.schedules);
const pvcs = Number(values.pvcs);
const inflight = Number(values.inflight);
const expected = schedules * pvcs;
const { kc, ns, apply } = await benchSetup('dm-schedbench');

const labelled = Array.from({ length: pvcs }, (_, i) => ({
  ...pvc(`app-${i}`),
  metadata: { name: `app-${i}`, labels: { backup: 'bench' } },
}));
const sources = Array.from({ length: inflight }, (_, i) => pvc(`busy-${i}`));
await apply([bucketSecret(), ...labelled, ...sources]);
await waitFor(
  async () =>
    (await kubectlOk(['get', 'pvc', '-n', ns, '-o', 'jsonpath={.items[*].status.phase}']))
      .split(' ')
      .filter((p) => p === 'Bound').length ===
    pvcs + inflight,
  { timeoutMs: 600_000, intervalMs: 1000, what: 'PVCs bound' },
);

const operator = new OperatorProcess(
  [ns],
  [
    `--kubeconfig=${await tokenKubeconfig(SA, SYSTEM_NS)}`,
    '--log-level=info',
    '--allow-seconds-in-schedules',
  ],
);
await operator.start();
// A failed benchmark must not leave its operator running and loading the test bed.
process.on('exit', () => operator.signal('SIGKILL'));

type Obj = {
  metadata: {
    name: string;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{ name: string; kind: string }>;
  };
  status?: { phase?: string; conditions?: Array<{ type: string; status: string }> };
};
const jobDone = new Map<string, number>();
const leftPod = new Map<string, number>();
const watch = new Watch(kc);
// A watch the apiserver ends (a slow reader is cut off during the burst) is started again: its
// re-list only fills in what was missed, and the number of restarts is printed with the figures.
let watchRestarts = 0;
let stopped = false;
const aborts: Array<{ abort(): void }> = [];
const keepWatching = async (path: string, handler: (o: Obj) => void): Promise<void> => {
  aborts.push(
    await watch.watch(
      path,
      {},
      (_t, o: Obj) => handler(o),
      () => {
        if (stopped) return;
        watchRestarts++;
        void keepWatching(path, handler);
      },
    ),
  );
};
await keepWatching(`/apis/batch/v1/namespaces/${ns}/jobs`, (o) => {
  const owner = o.metadata.ownerReferences?.[0]?.name ?? '';
  if (o.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') && !jobDone.has(owner))
    jobDone.set(owner, Date.now());
});
const scheduledSeen = new Set<string>();
await keepWatching(`/apis/datamover.io/v1alpha1/namespaces/${ns}/datamovers`, (o) => {
  const { name } = o.metadata;
  if (/^s\d+-/.test(name)) scheduledSeen.add(name);
  const phase = o.status?.phase;
  if (phase && !['CreatingClonedPVC', 'CreatingPod'].includes(phase) && !leftPod.has(name))
    leftPod.set(name, Date.now());
});

// Runs in flight: slow movers (3 s), started in waves from before the fire time until after it.
const busy = (i: number) =>
  dataMover(`busy-${i}`, { sourcePvc: `busy-${i}`, secretName: 'bucket', podLabels: { simulate: 'slow' } });
const fireAt = new Date(Math.ceil((Date.now() + 25_000) / 1000) * 1000);
const expression = `${fireAt.getUTCSeconds()} ${fireAt.getUTCMinutes()} ${fireAt.getUTCHours()} * * *`;
const scheduleObjects = Array.from({ length: schedules }, (_, i) => ({
  apiVersion: 'datamover.io/v1alpha1',
  kind: 'DataMoverSchedule',
  metadata: { name: `s${i}` },
  spec: {
    schedule: expression,
    selector: { matchLabels: { backup: 'bench' } },
    template: { secretName: 'bucket', destinationPath: `${ns}/s${i}` },
  },
}));
// The operator's event loop, sampled from its /metrics every 500 ms: a loop held up by the burst
// delays every run's reaction, whatever the queues do.
let loopLagMaxSeconds = 0;
let lastScrape = '';
const sampler = setInterval(() => {
  operator
    .scrape()
    .then((text) => {
      lastScrape = text;
      const lag = /^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text);
      if (lag) loopLagMaxSeconds = Math.max(loopLagMaxSeconds, Number(lag[1]));
    })
    .catch(() => {});
}, 500);
const since = new Date();
await apply(scheduleObjects);
const firstWave = Math.floor(inflight / 2);
await apply(Array.from({ length: firstWave }, (_, i) => busy(i)));
await waitFor(async () => Date.now() >= fireAt.getTime() - 1000, {
  timeoutMs: 60_000,
  what: 'the fire time',
});
await apply(Array.from({ length: inflight - firstWave }, (_, i) => busy(firstWave + i)));
await waitFor(async () => scheduledSeen.size === expected, {
  timeoutMs: 300_000,
  intervalMs: 250,
  what: `all ${expected} scheduled DataMovers created`,
});
await waitFor(async () => [...Array(inflight).keys()].every((i) => leftPod.has(`busy-${i}`)), {
  timeoutMs: 300_000,
  intervalMs: 250,
  what: 'the runs in flight finished',
});

const { cpuSeconds, peakRss } = operator.usage();
clearInterval(sampler);
// How long the DataMovers' urgent keys (the next steps of runs under way) waited for a worker, over
// the whole run: the operator's own share of any delay, the rest being the apiserver's.
const urgentWait = waitQuantiles(lastScrape || (await operator.scrape()), 'DataMover', 'urgent');
await operator.stop();
stopped = true;
for (const a of aborts) a.abort();

// When each scheduled DataMover was created: the apiserver's answer to its create, from the audit log
// (read once, at the end: reading it during the burst would load the machine being measured).
const seen = new Map([...createdAt(ns, 'datamovers', since)].filter(([name]) => /^s\d+-/.test(name)));
const lags = [...seen.values()].map((at) => at - fireAt.getTime()).sort((a, b) => a - b);
const pct = (xs: number[], p: number) =>
  xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const reaction = (names: string[]) =>
  names
    .filter((n) => jobDone.has(n) && leftPod.has(n))
    .map((n) => Math.max(0, leftPod.get(n)! - jobDone.get(n)!))
    .sort((a, b) => a - b);
// Runs whose Job completed within 15 s after the fire time ran through the burst.
const during = [...Array(inflight).keys()]
  .map((i) => `busy-${i}`)
  .filter(
    (n) => (jobDone.get(n) ?? 0) >= fireAt.getTime() && (jobDone.get(n) ?? 0) < fireAt.getTime() + 15_000,
  );
const before = [...Array(inflight).keys()]
  .map((i) => `busy-${i}`)
  .filter((n) => (jobDone.get(n) ?? Infinity) < fireAt.getTime());
// The reaction of a run in flight split in two, from the audit log: its Job seen done (by this
// benchmark's watch) to the operator's status write arriving at the apiserver (the operator's watch,
// queue and pass), and that write's own time in the apiserver.
const writes = updatesOf(ns, 'datamovers', 'status', since);
const split = during.flatMap((n) => {
  const write = writes.find((w) => w.name === n && w.receivedMs >= jobDone.get(n)! - 50);
  return write
    ? [{ toSend: write.receivedMs - jobDone.get(n)!, inServer: write.answeredMs - write.receivedMs }]
    : [];
});
const everyRequest = requestsBy(OPERATOR_USER, since);
const requests = everyRequest.filter((r) => !/:(list|watch)$/.test(r.permission));
const result = {
  schedules,
  pvcs,
  created: seen.size,
  createdAfterFireP50Ms: pct(lags, 50),
  createdAfterFireP99Ms: pct(lags, 99),
  createdAfterFireMaxMs: lags.at(-1) ?? NaN,
  inflightReactionBeforeP50Ms: pct(reaction(before), 50),
  inflightReactionDuringP50Ms: pct(reaction(during), 50),
  inflightReactionDuringMaxMs: reaction(during).at(-1) ?? NaN,
  inflightDuring: reaction(during).length,
  apiRequests: requests.length,
  pvcLists: everyRequest.filter((r) => r.permission === '/persistentvolumeclaims:list').length,
  scheduleStatusWrites: requests.filter(
    (r) => r.permission === 'datamover.io/datamoverschedules/status:update',
  ).length,
  operatorPeakRssBytes: peakRss,
  operatorCpuSeconds: cpuSeconds,
  watchRestarts,
  operatorLoopLagMaxMs: Math.round(loopLagMaxSeconds * 1000),
  inflightToWriteSentP50Ms: pct(
    split.map((x) => x.toSend).sort((a, b) => a - b),
    50,
  ),
  inflightWriteInApiserverP50Ms: pct(
    split.map((x) => x.inServer).sort((a, b) => a - b),
    50,
  ),
  urgentQueueWaitP99Ms: urgentWait.p99Ms,
  urgentQueueWaitMaxBucketMs: urgentWait.maxBucketMs,
};
console.log(
  `${schedules} schedules x ${pvcs} PVCs fired at ${fireAt.toISOString()}: ${seen.size} DataMovers`,
);
console.log(
  `created after the fire time: p50 ${result.createdAfterFireP50Ms} ms, p99 ${result.createdAfterFireP99Ms} ms, max ${result.createdAfterFireMaxMs} ms`,
);
console.log(
  `runs in flight, Job done -> next phase: before the burst p50 ${result.inflightReactionBeforeP50Ms} ms; during it (${result.inflightDuring} runs) p50 ${result.inflightReactionDuringP50Ms} ms, max ${result.inflightReactionDuringMaxMs} ms`,
);
console.log(
  `operator peak RSS ${(peakRss / 2 ** 20).toFixed(1)} MiB, CPU ${cpuSeconds.toFixed(1)} s, ${requests.length} API requests (${result.pvcLists} PVC lists, ${result.scheduleStatusWrites} schedule status writes); event loop held up at most ${result.operatorLoopLagMaxMs} ms; the benchmark's watches restarted ${watchRestarts} times`,
);
console.log(
  `  of which: Job seen done -> the operator's status write arriving, p50 ${result.inflightToWriteSentP50Ms} ms; that write in the apiserver, p50 ${result.inflightWriteInApiserverP50Ms} ms`,
);
console.log(
  `DataMover steps of runs under way (new runs' included) waited for a worker: p99 at most ${result.urgentQueueWaitP99Ms} ms, all within ${result.urgentQueueWaitMaxBucketMs} ms (histogram buckets)`,
);
if (values.json) console.log(JSON.stringify(result));
await deleteNamespace(ns);

/** From datamover_workqueue_wait_seconds: the bucket bounds holding the p99 and the slowest key. */
function waitQuantiles(text: string, kind: string, priority: string): { p99Ms: number; maxBucketMs: number } {
  const buckets: Array<[number, number]> = [];
  const re = /^datamover_workqueue_wait_seconds_bucket\{([^}]*)\} (\S+)$/gm;
  for (const m of text.matchAll(re)) {
    const labels = m[1]!;
    if (!labels.includes(`kind="${kind}"`) || !labels.includes(`priority="${priority}"`)) continue;
    const le = /le="([^"]+)"/.exec(labels)![1]!;
    buckets.push([le === '+Inf' ? Infinity : Number(le) * 1000, Number(m[2])]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  const total = buckets.at(-1)?.[1] ?? 0;
  const bound = (q: number) => buckets.find(([, count]) => count >= q * total)?.[0] ?? NaN;
  return { p99Ms: bound(0.99), maxBucketMs: bound(1) };
}
