// A misconfigured start fails fast and says what to set, instead of retrying forever with an
// unrelated error (client-node falls back to http://localhost:8080 when it finds no configuration).
import { spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/tempdirs.js';

const MAIN = resolve('dist/operator/main.js');
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

// The system Node.js of these machines is 20: the Kubernetes client's HTTP stack (undici) would
// crash loading on it with a TypeError. The entry point checks package.json's engines first.
const SYSTEM_NODE = '/usr/bin/node';
const systemMajor = (() => {
  const run = spawnSync(SYSTEM_NODE, ['--version'], { encoding: 'utf8' });
  return run.status === 0 ? Number(/^v(\d+)/.exec(run.stdout)?.[1]) : undefined;
})();

describe('the operator started on a Node.js older than package.json engines', () => {
  it.skipIf(systemMajor === undefined || systemMajor >= 22)(
    'exits 1 naming the Node.js it needs, before loading anything that would crash',
    () => {
      const run = spawnSync(SYSTEM_NODE, [MAIN, '--help'], { encoding: 'utf8', env: { HOME: home } });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(
        /^datamover-operator needs Node\.js 22\.19 or newer \(package\.json engines: ">=22\.19"\); this is Node\.js 20\./,
      );
      expect(run.stderr).not.toContain('TypeError');
      expect(run.stdout).toBe('');
    },
  );

  it('starts on the Node.js the tests run on (the one it supports)', () => {
    const run = spawnSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8', env: { HOME: home } });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Usage: datamover-operator');
  });
});
