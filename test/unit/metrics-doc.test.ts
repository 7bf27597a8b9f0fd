// docs/metrics.md is the one metrics reference: every metric the operator registers has exactly one
// row there, and every metric a row names is registered. A metric added, renamed or dropped without
// the reference fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DataMoverMetrics } from '../../src/controller/datamover/metrics.js';
import { RestoreMetrics } from '../../src/controller/restore/metrics.js';
import { ScheduleMetrics } from '../../src/controller/schedule/metrics.js';
import { OperatorMetrics } from '../../src/metrics/metrics.js';

/** The shared metrics and every kind's, on one registry, as the operator registers them. */
function registered(): string[] {
  const metrics = new OperatorMetrics('test', () => true);
  new DataMoverMetrics(metrics, () => []);
  new ScheduleMetrics(metrics, () => []);
  new RestoreMetrics(metrics, () => []);
  return metrics.registry
    .getMetricsAsArray()
    .map((m) => m.name)
    .filter((name) => name.startsWith('datamover_'))
    .sort();
}

/** The metric names each table row of the reference names, in its first column. */
function documented(): string[][] {
  const text = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((line) => /^\| `datamover_/.test(line))
    .map((line) => [...line.split('|')[1]!.matchAll(/`(datamover_[a-z0-9_]+)`/g)].map((m) => m[1]!));
}

describe('the metrics reference (docs/metrics.md)', () => {
  it('has a row for every registered metric and names no other', () => {
    expect([...new Set(documented().flat())].sort()).toEqual(registered());
  });

  it('describes each metric once', () => {
    const names = documented().flat();
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });
});
