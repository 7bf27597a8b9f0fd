// The Argo CD health check, run by a Lua interpreter against DataMovers taken from the test bed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  apply,
  dataMover,
  getDataMover,
  sourceAndSecret,
  waitFor,
  waitForPhase,
  waitForStalled,
} from '../support/cluster.js';
import { argoHealth } from '../support/lua.js';
import { withOperator } from '../support/operator.js';

const SCRIPT = 'config/argocd/health.lua';
const env = withOperator('dm-argo', ['--source-pvc-grace-period=1h']);

describe('the Argo CD health check', () => {
  it('is the script shipped in the argocd-cm patch', () => {
    const patch = parse(readFileSync('config/argocd/argocd-cm-patch.yaml', 'utf8')) as {
      data: Record<string, string>;
    };
    expect(patch.data['resource.customizations.health.datamover.io_DataMover']).toBe(
      readFileSync(SCRIPT, 'utf8'),
    );
  });

  it('says Healthy for a completed backup, Degraded for a failed or stalled one, Progressing for one under way', async () => {
    await sourceAndSecret(env.ns, 'src');
    await apply(
      env.ns,
      dataMover('ok', { sourcePvc: 'src', secretName: 'bucket' }),
      dataMover('bad', {
        sourcePvc: 'src',
        secretName: 'bucket',
        backoffLimit: 0,
        podLabels: { simulate: 'fail' },
      }),
      dataMover('busy', {
        sourcePvc: 'src',
        secretName: 'bucket',
        destinationPath: `${env.ns}/busy`,
        podLabels: { simulate: 'hang' },
      }),
      dataMover('waiting', { sourcePvc: 'not-yet', secretName: 'bucket' }),
    );
    const ok = await waitForPhase(env.ns, 'ok', 'Completed');
    const bad = await waitForPhase(env.ns, 'bad', 'Failed', 60_000);
    const busy = await waitFor(async () => {
      const dm = await getDataMover(env.ns, 'busy');
      return dm?.status?.jobName ? dm : undefined;
    });
    const waiting = await waitForStalled(env.ns, 'waiting');
    expect(await argoHealth(SCRIPT, ok)).toMatchObject({ status: 'Healthy' });
    expect(await argoHealth(SCRIPT, bad)).toMatchObject({
      status: 'Degraded',
      message: expect.stringContaining('failed'),
    });
    expect(await argoHealth(SCRIPT, busy)).toMatchObject({ status: 'Progressing' });
    expect(await argoHealth(SCRIPT, waiting)).toMatchObject({
      status: 'Degraded',
      message: expect.stringContaining('SourcePVCNotFound'),
    });
    const fresh = {
      apiVersion: 'datamover.io/v1alpha1',
      kind: 'DataMover',
      metadata: { name: 'n', generation: 1 },
      spec: {},
    };
    expect(await argoHealth(SCRIPT, fresh)).toMatchObject({ status: 'Progressing' });
  });
});

// Here because this file's operator waits an hour for a missing source: nothing but the source's own
// watch event can move such a run on before the deadline (no poll re-checks it).
describe('a run waiting for its source', () => {
  it('goes on as soon as the source appears, and is then Healthy', async () => {
    await apply(env.ns, dataMover('patient', { sourcePvc: 'later', secretName: 'bucket' }));
    const stalled = await waitForStalled(env.ns, 'patient', 'SourcePVCNotFound');
    expect(await argoHealth(SCRIPT, stalled)).toMatchObject({ status: 'Degraded' });
    await sourceAndSecret(env.ns, 'later');
    const done = await waitForPhase(env.ns, 'patient', 'Completed');
    expect(done.status?.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('False');
    expect(await argoHealth(SCRIPT, done)).toMatchObject({ status: 'Healthy' });
  });
});
