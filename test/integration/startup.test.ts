// An operator whose credentials the apiserver refuses says which permission it lacks and stays
// unready, so a rollout with a broken ServiceAccount binding stops at readiness and the log says why.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tokenKubeconfig } from '../support/audit.js';
import { createNamespace, deleteNamespace, kubectlOk, waitFor } from '../support/cluster.js';
import { freePort } from '../support/ports.js';

let ns = '';
let child: ChildProcess | undefined;
afterAll(async () => {
  child?.kill('SIGKILL');
  if (ns) await deleteNamespace(ns);
});

describe('the operator started with a ServiceAccount bound to nothing', () => {
  it('names the missing permission in its log and never becomes ready', async () => {
    ns = await createNamespace('dm-startup');
    await kubectlOk(['create', 'serviceaccount', 'unbound', '-n', ns]);
    const kubeconfig = await tokenKubeconfig('unbound', ns);
    const probePort = await freePort();
    child = spawn(
      process.execPath,
      [
        resolve('dist/operator/main.js'),
        `--kubeconfig=${kubeconfig}`,
        `--namespaces=${ns}`,
        '--metrics-bind-address=127.0.0.1:0',
        `--health-probe-bind-address=127.0.0.1:${probePort}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    await waitFor(async () => output.includes('not allowed to list and watch datamovers (403)'), {
      what: 'the log naming the missing permission',
      timeoutMs: 15_000,
    });
    expect(output).toContain('bind the operator');
    const ready = await fetch(`http://127.0.0.1:${probePort}/readyz`);
    expect(ready.status).toBe(503);
    expect(child.exitCode).toBeNull();
  });
});
