// A real Prometheus scrapes the running operator as the ServiceMonitor would; after a known mix of
// successful and failed DataMovers the spec's queries (corrected) give the expected numbers, the
// `namespace` label is the DataMover's, and every dashboard panel's query parses and returns data.
import { mkdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, dataMover, sourceAndSecret, waitFor, waitForPhase } from '../support/cluster.js';
import { sample, withOperator } from '../support/operator.js';
import { PrometheusServer, quantileFromBuckets } from '../support/prometheus.js';

const env = withOperator('dm-prom');
let prometheus: PrometheusServer;

const one = async (expr: string) => {
  const result = await prometheus.query(expr);
  expect(result, expr).toHaveLength(1);
  return Number(result[0]!.value[1]);
};

beforeAll(async () => {
  mkdirSync('.tmp', { recursive: true });
  execFileSync('node', [
    'hack/extract-rules.mjs',
    'config/prometheus/prometheus_rule.yaml',
    '.tmp/rules.yaml',
  ]);
  prometheus = new PrometheusServer(`127.0.0.1:${env.operator.metricsPort}`, '.tmp/rules.yaml');
  await prometheus.start();
  // A first DataMover that waits for its source creates the namespace's series at 0; Prometheus
  // must scrape those zeros before the runs, or rate() and increase() have nothing to compare with.
  await apply(env.ns, dataMover('warm-up', { sourcePvc: 'later', secretName: 'bucket' }));
  await waitFor(
    async () => {
      const r = await prometheus.query(
        `count_over_time(datamover_operations_total{namespace="${env.ns}",phase="CreatingPod",status="failure"}[5m])`,
      );
      return Number(r[0]?.value[1]) >= 2;
    },
    { timeoutMs: 30_000, what: 'Prometheus to scrape the zeros' },
  );
  await sourceAndSecret(env.ns, 'src');
  await apply(
    env.ns,
    dataMover('ok-1', { sourcePvc: 'src', secretName: 'bucket', destinationPath: `${env.ns}/one` }),
    dataMover('ok-2', { sourcePvc: 'src', secretName: 'bucket', destinationPath: `${env.ns}/two` }),
    dataMover('ok-clean', {
      sourcePvc: 'src',
      secretName: 'bucket',
      destinationPath: `${env.ns}/three`,
      deletePvcAfterBackup: true,
    }),
    dataMover('broken', {
      sourcePvc: 'src',
      secretName: 'bucket',
      destinationPath: `${env.ns}/four`,
      backoffLimit: 0,
      podLabels: { simulate: 'fail' },
    }),
  );
  await Promise.all([
    waitForPhase(env.ns, 'ok-1', 'Completed'),
    waitForPhase(env.ns, 'ok-2', 'Completed'),
    waitForPhase(env.ns, 'ok-clean', 'Completed'),
    waitForPhase(env.ns, 'broken', 'Failed', 60_000),
  ]);
  // Prometheus has scraped the final state.
  await waitFor(
    async () => {
      const r = await prometheus.query(
        `sum(datamover_operations_total{namespace="${env.ns}",status!="started"})`,
      );
      return Number(r[0]?.value[1]) === 9;
    },
    { timeoutMs: 30_000, what: 'Prometheus to scrape the final counts' },
  );
});

afterAll(async () => {
  await prometheus?.stop();
});

describe('the metrics in a real Prometheus', () => {
  it('keep the DataMover namespace in `namespace` (honorLabels), with the ServiceMonitor labels beside it', async () => {
    const result = await prometheus.query(
      `datamover_operations_total{namespace="${env.ns}",phase="CreatingPod",status="failure"}`,
    );
    expect(result).toHaveLength(1);
    expect(result[0]!.metric).toMatchObject({
      namespace: env.ns,
      job: 'datamover-operator-controller-manager-metrics-service',
      service: 'datamover-operator-controller-manager-metrics-service',
    });
    expect(result[0]!.metric.exported_namespace).toBeUndefined();
  });

  it('give the success rate of finished operations: 8 of 9', async () => {
    const rate = await one(
      `sum(rate(datamover_operations_total{status="success",namespace="${env.ns}"}[5m])) / sum(rate(datamover_operations_total{status!="started",namespace="${env.ns}"}[5m]))`,
    );
    expect(rate).toBeCloseTo(8 / 9, 2);
  });

  it('give failed operations by phase: one, in CreatingPod', async () => {
    const result = await prometheus.query(
      `sum by (phase) (increase(datamover_operations_total{status="failure",namespace="${env.ns}"}[5m])) > 0`,
    );
    expect(result.map((r) => r.metric.phase)).toEqual(['CreatingPod']);
    // increase() extrapolates to the window edges; within 30% of the true 1.
    expect(Number(result[0]!.value[1])).toBeGreaterThan(0.7);
    expect(Number(result[0]!.value[1])).toBeLessThan(1.3);
  });

  it('give average and p95 phase durations that match the operator histogram', async () => {
    const text = await env.operator.scrape();
    const labels = { phase: 'CreatingPod', namespace: env.ns };
    const expectedAvg =
      sample(text, 'datamover_phase_duration_seconds_sum', labels)! /
      sample(text, 'datamover_phase_duration_seconds_count', labels)!;
    const avg = await one(
      `sum(rate(datamover_phase_duration_seconds_sum{phase="CreatingPod",namespace="${env.ns}"}[5m])) / sum(rate(datamover_phase_duration_seconds_count{phase="CreatingPod",namespace="${env.ns}"}[5m]))`,
    );
    expect(avg).toBeCloseTo(expectedAvg, 3);
    const buckets = [
      ...text.matchAll(
        new RegExp(
          `datamover_phase_duration_seconds_bucket\\{le="([^"]+)",phase="CreatingPod",namespace="${env.ns}"\\} (\\S+)`,
          'g',
        ),
      ),
    ].map((m) => [m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])] as [number, number]);
    const p95 = await one(
      `histogram_quantile(0.95, sum by (le) (rate(datamover_phase_duration_seconds_bucket{phase="CreatingPod",namespace="${env.ns}"}[5m])))`,
    );
    expect(p95).toBeCloseTo(quantileFromBuckets(0.95, buckets), 3);
  });

  it('give operations per minute, and their total over the window: 19 (18 of the runs, 1 of the warm-up)', async () => {
    const total = await one(`sum(increase(datamover_operations_total{namespace="${env.ns}"}[5m]))`);
    expect(total).toBeGreaterThan(19 * 0.7);
    expect(total).toBeLessThan(19 * 1.3);
    expect(
      await one(`60 * sum(rate(datamover_operations_total{namespace="${env.ns}"}[5m]))`),
    ).toBeGreaterThan(0);
  });

  it('evaluate the recording rules', async () => {
    // Rules are evaluated every second; the latest evaluation sees the final counts.
    const rate = await waitFor(
      async () => {
        const r = await prometheus.query(
          `datamover:operations_success_rate:1h{namespace="${env.ns}",phase="CreatingPod"}`,
        );
        const value = Number(r[0]?.value[1]);
        return Math.abs(value - 3 / 4) < 0.01 ? value : undefined;
      },
      { timeoutMs: 10_000, what: 'the success-rate recording rule to read 3/4' },
    );
    expect(rate).toBeCloseTo(3 / 4, 2);
  });

  it('answer every dashboard panel query with data', async () => {
    const dashboard = JSON.parse(readFileSync('config/prometheus/grafana-dashboard.json', 'utf8')) as {
      panels: Array<{ title: string; type: string; targets?: Array<{ expr: string }> }>;
    };
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      for (const target of panel.targets!) {
        const expr = target.expr.replaceAll('$namespace', env.ns);
        const result = await prometheus.query(expr);
        // This file runs no DataMoverSchedule: the Schedules row's queries must parse (query()
        // throws otherwise) but have no series here.
        if (/datamover(_|:)(schedule|prune)/.test(expr)) continue;
        expect(result.length, `${panel.title}: ${expr}`).toBeGreaterThan(0);
      }
    }
  });
});
