// Runs the built operator as a separate process, as it runs in production, scoped to the test's
// namespaces so test files do not interfere; gives access to its /metrics and its logs.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { createNamespace, deleteNamespace, waitFor } from './cluster.js';
import { freePort } from './ports.js';

const MAIN = resolve('dist/operator/main.js');

/** The environment the shipped Deployment (config/manager) gives the operator: heap and malloc settings. */
export function shippedEnv(): { NODE_OPTIONS: string; MALLOC_ARENA_MAX?: string } {
  for (const doc of parseAllDocuments(readFileSync('config/manager/manager.yaml', 'utf8'))) {
    const d = doc.toJS() as {
      kind?: string;
      spec?: {
        template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } };
      };
    };
    if (d?.kind !== 'Deployment') continue;
    const env = d.spec?.template?.spec?.containers?.[0]?.env ?? [];
    const value = (name: string) => env.find((e) => e.name === name)?.value;
    const nodeOptions = value('NODE_OPTIONS');
    if (!nodeOptions) break;
    const arenas = value('MALLOC_ARENA_MAX');
    return { NODE_OPTIONS: nodeOptions, ...(arenas ? { MALLOC_ARENA_MAX: arenas } : {}) };
  }
  throw new Error('config/manager/manager.yaml sets no NODE_OPTIONS');
}

export class OperatorProcess {
  private child: ChildProcess | undefined;
  private output = '';
  metricsPort = 0;
  probePort = 0;

  constructor(
    readonly namespaces: string[],
    readonly extraArgs: string[] = [],
  ) {}

  get logs(): string {
    return this.output;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get exitCode(): number | null {
    return this.child?.exitCode ?? null;
  }

  /** Sends a signal without waiting (SIGSTOP, SIGCONT). */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** True once the process has ended (by a signal or an exit). */
  get exited(): boolean {
    return this.child !== undefined && (this.child.exitCode !== null || this.child.signalCode !== null);
  }

  /**
   * Starts the operator and waits until it is ready. A port handed out by freePort can be taken by
   * another process before the operator binds it: on EADDRINUSE it starts again on other ports.
   */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const started = await this.launch();
      if (started) return;
      if (!this.output.includes('EADDRINUSE') || attempt === 3) {
        throw new Error(`operator exited with ${this.child?.exitCode}: ${this.output}`);
      }
      this.output = '';
    }
  }

  /** True once ready; false if the process exited first. */
  private async launch(): Promise<boolean> {
    this.metricsPort = await freePort();
    this.probePort = await freePort();
    const args = [
      // As the image runs it (Dockerfile): the bundle maps its own stacks (src/stack-maps.ts).
      MAIN,
      `--metrics-bind-address=127.0.0.1:${this.metricsPort}`,
      `--health-probe-bind-address=127.0.0.1:${this.probePort}`,
      `--namespaces=${this.namespaces.join(',')}`,
      '--log-level=debug',
      ...this.extraArgs,
    ];
    // The operator runs with the heap and malloc settings of the shipped Deployment, or with
    // DATAMOVER_OPERATOR_NODE_OPTIONS when set (an empty value: Node's defaults).
    const shipped = shippedEnv();
    const nodeOptions = process.env.DATAMOVER_OPERATOR_NODE_OPTIONS ?? shipped.NODE_OPTIONS;
    const env = { ...shipped, ...process.env, NODE_OPTIONS: nodeOptions };
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.child = child;
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    // Every operator's output outlives its process when DATAMOVER_TEST_LOGS names a folder (hack/test.sh
    // sets it): what the operators of a failed test did can be read after the run.
    child.once('close', () => this.keepLogs(this.namespaces.join('+') || 'all'));
    const outcome = await waitFor(
      async () => {
        if (child.exitCode !== null) return 'exited';
        const res = await fetch(`http://127.0.0.1:${this.probePort}/readyz`);
        return res.ok ? 'ready' : undefined;
      },
      { timeoutMs: 30_000, what: 'operator readiness' },
    );
    return outcome === 'ready';
  }

  async scrape(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
    if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
    return res.text();
  }

  /** The process's CPU seconds so far, and its resident memory now and at its peak, from /proc. */
  usage(): { cpuSeconds: number; rss: number; peakRss: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const bytes = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) * 1024;
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return {
      cpuSeconds: (Number(stat[11]) + Number(stat[12])) / 100,
      rss: bytes('VmRSS'),
      peakRss: bytes('VmHWM'),
    };
  }

  /** With DATAMOVER_TEST_LOGS set to a folder, the operator's output is kept there after the test. */
  private keepLogs(label: string): void {
    const dir = process.env.DATAMOVER_TEST_LOGS;
    if (dir) writeFileSync(join(dir, `${label}-${this.pid ?? 'none'}.log`), this.output);
  }

  /** Sends `signal` and waits for the process to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill(signal);
    return exited;
  }
}

/** The value of one sample in a Prometheus text exposition, or undefined when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const brace = line.indexOf('{');
    const labelText = brace >= 0 ? line.slice(brace + 1, line.lastIndexOf('}')) : '';
    const found: Record<string, string> = {};
    for (const m of labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found[m[1]!] = m[2]!;
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
}

/** All `datamover_*` counter samples of one namespace, keyed by series, for exact comparisons. */
export function namespaceCounters(text: string, namespace: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('datamover_') || !line.includes(`namespace="${namespace}"`)) continue;
    const [series, value] = [line.slice(0, line.lastIndexOf(' ')), line.slice(line.lastIndexOf(' ') + 1)];
    if (!series.includes('_total')) continue;
    out[series.replace(`,namespace="${namespace}"`, '').replace(`namespace="${namespace}",`, '')] =
      Number(value);
  }
  return out;
}

/**
 * One namespace (enforcing Pod Security restricted) and an operator watching only it, for the
 * tests of one file; both are removed after the file.
 */
/** A namespace and an operator watching it for a test file; `extraArgs` may be computed in a beforeAll. */
export function withOperator(prefix: string, extraArgs: string[] | (() => string[]) = []) {
  const env = { ns: '', operator: undefined as unknown as OperatorProcess };
  beforeAll(async () => {
    env.ns = await createNamespace(prefix);
    env.operator = new OperatorProcess([env.ns], typeof extraArgs === 'function' ? extraArgs() : extraArgs);
    await env.operator.start();
  });
  afterAll(async () => {
    await env.operator?.stop();
    if (env.ns) await deleteNamespace(env.ns);
  });
  return env;
}

const op = (phase: string, status: string) =>
  `datamover_operations_total{phase="${phase}",status="${status}"}`;

/** The counters of `runs` clean runs, `cleanups` of which deleted their clone. */
export function cleanRuns(runs: number, cleanups = runs / 2): Record<string, number> {
  return {
    [op('CreatingClonedPVC', 'started')]: runs,
    [op('CreatingClonedPVC', 'success')]: runs,
    [op('CreatingPod', 'started')]: runs,
    [op('CreatingPod', 'success')]: runs,
    'datamover_pod_creation_operations_total{status="started"}': runs,
    'datamover_pod_creation_operations_total{status="success"}': runs,
    'datamover_data_sync_operations_total{status="success"}': runs,
    // Every run's report carries the verification of the bucket (the kwok stages' too).
    'datamover_sync_verified_total{result="verified"}': runs,
    [op('CleaningUp', 'started')]: cleanups,
    [op('CleaningUp', 'success')]: cleanups,
    'datamover_cleanup_operations_total{status="success"}': cleanups,
    'datamover_runs_total{result="completed"}': runs,
  };
}

/** The sum of counter samples, series by series (the counters of two replicas). */
export function addCounters(...sets: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const set of sets) for (const [series, n] of Object.entries(set)) out[series] = (out[series] ?? 0) + n;
  return out;
}

/** `a - b`, series by series (what a replica counted between two scrapes). */
export function subtractCounters(
  a: Record<string, number>,
  b: Record<string, number>,
): Record<string, number> {
  return Object.fromEntries(Object.entries(a).map(([series, n]) => [series, n - (b[series] ?? 0)]));
}
