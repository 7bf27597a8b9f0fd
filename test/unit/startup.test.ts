// A misconfigured start fails fast and says what to set, instead of retrying forever with an
// unrelated error (client-node falls back to http://localhost:8080 when it finds no configuration).
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/tempdirs.js';

const MAIN = resolve('dist/src/main.js');
const home = makeTempDir('dm-startup-');

/** Runs the operator with a bare environment; resolves with how it ended, killing it after 10 s. */
function start(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; output: string; ms: number }>((done) => {
    const began = Date.now();
    const child = spawn(
      process.execPath,
      [MAIN, '--metrics-bind-address=127.0.0.1:0', '--health-probe-bind-address=127.0.0.1:0', ...args],
      {
        env: { PATH: process.env.PATH ?? '', HOME: home, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', (code) => {
      clearTimeout(killer);
      done({ code, output, ms: Date.now() - began });
    });
  });
}

describe('the operator started without a usable Kubernetes configuration', () => {
  it('exits non-zero within 5 s, naming KUBECONFIG, when it finds no configuration at all', async () => {
    const r = await start([]);
    expect(r.code).toBe(2);
    expect(r.ms).toBeLessThan(5_000);
    expect(r.output).toContain('no Kubernetes configuration found: set KUBECONFIG');
  });

  it('exits non-zero naming the file when the kubeconfig cannot be read', async () => {
    const r = await start([], { KUBECONFIG: join(home, 'missing.yaml') });
    expect(r.code).toBe(2);
    expect(r.output).toContain(`cannot read the kubeconfig ${join(home, 'missing.yaml')}`);
    expect(r.output).toContain('set --kubeconfig or KUBECONFIG');
  });
});
