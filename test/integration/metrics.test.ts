// The exposition itself: exact names, labels and buckets of the spec, and promtool's linter.
import { execFile } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { apply, dataMover, sourceAndSecret, waitForPhase } from '../support/cluster.js';
import { withOperator } from '../support/operator.js';

const env = withOperator('dm-metrics');

beforeAll(async () => {
  await sourceAndSecret(env.ns, 'src');
  await apply(env.ns, dataMover('m', { sourcePvc: 'src', secretName: 'bucket', deletePvcAfterBackup: true }));
  await waitForPhase(env.ns, 'm', 'Completed');
});

function promtool(input: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
    child.stdin?.end(input);
  });
}

const datamoverFamilies = (text: string) =>
  text
    .split('\n')
    .filter((l) => /^(# (HELP|TYPE) )?datamover_/.test(l))
    .join('\n') + '\n';

describe('/metrics', () => {
  it('passes promtool check metrics on every datamover_* family', async () => {
    const text = await env.operator.scrape();
    const result = await promtool(datamoverFamilies(text));
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  it('declares the spec families with their types, labels and buckets', async () => {
    const text = await env.operator.scrape();
    expect(text).toContain('# TYPE datamover_operations_total counter');
    expect(text).toContain('# TYPE datamover_phase_duration_seconds histogram');
    expect(text).toContain('# TYPE datamover_cleanup_operations_total counter');
    expect(text).toContain('# TYPE datamover_pod_creation_operations_total counter');
    expect(text).toContain('# TYPE datamover_data_sync_operations_total counter');
    const buckets = [
      ...text.matchAll(
        new RegExp(
          `datamover_phase_duration_seconds_bucket\\{le="([^"]+)",phase="CleaningUp",namespace="${env.ns}"\\}`,
          'g',
        ),
      ),
    ].map((m) => m[1]);
    expect(buckets).toEqual([
      '0.1',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '30',
      '60',
      '120',
      '300',
      '600',
      '1200',
      '+Inf',
    ]);
    expect(text).toMatch(
      new RegExp(
        `datamover_operations_total\\{phase="CleaningUp",status="success",namespace="${env.ns}"\\} 1`,
      ),
    );
    expect(text).toMatch(
      new RegExp(`datamover_cleanup_operations_total\\{status="success",namespace="${env.ns}"\\} 1`),
    );
  });

  it('exports cluster state: DataMovers by phase and the last successful backup per PVC', async () => {
    const text = await env.operator.scrape();
    expect(text).toMatch(new RegExp(`datamover_datamovers\\{namespace="${env.ns}",phase="Completed"\\} 1`));
    expect(text).toMatch(
      new RegExp(`datamover_last_success_timestamp_seconds\\{namespace="${env.ns}",pvc="src"\\} \\d+`),
    );
    expect(text).toMatch(/datamover_build_info\{version="[^"]+",nodejs_version="v\d+/);
    expect(text).toMatch(new RegExp(`datamover_sync_bytes_sum\\{namespace="${env.ns}"\\} 1048576`));
    expect(text).toContain('process_resident_memory_bytes');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });

  it('serves liveness and readiness on the probe port', async () => {
    const healthz = await fetch(`http://127.0.0.1:${env.operator.probePort}/healthz`);
    const readyz = await fetch(`http://127.0.0.1:${env.operator.probePort}/readyz`);
    expect(healthz.status).toBe(200);
    expect(readyz.status).toBe(200);
  });
});
