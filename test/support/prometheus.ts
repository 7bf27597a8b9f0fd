// A real Prometheus server (Debian's package) scraping one operator process the way the Prometheus
// Operator's ServiceMonitor would: job and target labels of the Service, honor_labels on.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { stopChild, waitFor } from './cluster.js';
import { freePort } from './ports.js';
import { makeTempDir } from './tempdirs.js';

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export class PrometheusServer {
  private child: ChildProcess | undefined;
  port = 0;
  private output = '';

  constructor(
    private readonly target: string,
    private readonly ruleFile?: string,
  ) {}

  async start(): Promise<void> {
    const dir = makeTempDir('dm-prometheus-');
    this.port = await freePort();
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      ...(this.ruleFile ? { rule_files: [resolve(this.ruleFile)] } : {}),
      scrape_configs: [
        {
          // What the Prometheus Operator generates for the ServiceMonitor in config/prometheus.
          job_name: 'serviceMonitor/datamover-operator-system/datamover-operator/0',
          honor_labels: true,
          metrics_path: '/metrics',
          static_configs: [
            {
              targets: [this.target],
              labels: {
                job: 'datamover-operator-controller-manager-metrics-service',
                namespace: 'datamover-operator-system',
                service: 'datamover-operator-controller-manager-metrics-service',
                endpoint: 'http-metrics',
                pod: 'datamover-operator-controller-manager-0',
                container: 'manager',
              },
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
    this.child = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${this.port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    await waitFor(
      async () => {
        if (this.child?.exitCode !== null) throw new Error(`prometheus exited: ${this.output}`);
        return (await fetch(`http://127.0.0.1:${this.port}/-/ready`)).ok;
      },
      { timeoutMs: 30_000, what: 'Prometheus ready' },
    );
  }

  async query(expr: string): Promise<Sample[]> {
    const res = await fetch(`http://127.0.0.1:${this.port}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { result: Sample[] } };
    if (body.status !== 'success') throw new Error(`query failed: ${expr}: ${body.error}`);
    return body.data!.result;
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

/** The q-quantile of a cumulative histogram by linear interpolation, as histogram_quantile does. */
export function quantileFromBuckets(q: number, buckets: Array<[number, number]>): number {
  const total = buckets.at(-1)![1];
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (!Number.isFinite(bound)) return prevBound;
      return prevBound + ((bound - prevBound) * (rank - prevCount)) / (count - prevCount);
    }
    prevBound = bound;
    prevCount = count;
  }
  return prevBound;
}
