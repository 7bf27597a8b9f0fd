// Restarts the test bed's kube-apiserver process in place: the same binary, flags and log, as a
// node reboot or a control-plane upgrade would. kwokctl keeps its pid file; cleanup still works.
import { spawn } from 'node:child_process';
import { openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { kubectl, waitFor } from './cluster.js';

const CLUSTER_DIR = join(
  process.env.KWOK_WORKDIR ?? join(homedir(), '.kwok'),
  'clusters',
  process.env.DATAMOVER_CLUSTER ?? 'datamover',
);

/** True while the process runs (a zombie waiting for its reaper counts as gone). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

const pidFile = (component: string) => join(CLUSTER_DIR, 'pids', `${component}.pid`);

/** Starts a component again with the same binary, flags, working directory and log. */
function respawn(component: string, args: string[], cwd: string) {
  const log = openSync(join(CLUSTER_DIR, 'logs', `${component}.log`), 'a');
  const child = spawn(args[0]!, args.slice(1), { cwd, detached: true, stdio: ['ignore', log, log] });
  child.unref();
  writeFileSync(pidFile(component), String(child.pid));
  return child;
}

/** Stops a component with `signal`, waits until it is gone, and returns how to start it again. */
async function stop(component: string, signal: NodeJS.Signals): Promise<{ args: string[]; cwd: string }> {
  const pid = Number(readFileSync(pidFile(component), 'utf8').trim());
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const cwd = readlinkSync(`/proc/${pid}/cwd`);
  process.kill(pid, signal);
  await waitFor(async () => !alive(pid), { timeoutMs: 60_000, what: `${component} to stop` });
  return { args, cwd };
}

/**
 * Kills kube-apiserver (SIGKILL: a crash; a SIGTERM drain takes the apiserver about 60 s), waits
 * until it is gone, starts it again and waits for /readyz. Then kube-controller-manager is
 * restarted: its pod creates whose answers the crash lost hold their Jobs for the five minutes of
 * its expectations timeout, which would make the test about the test bed rather than the operator.
 */
export async function restartApiserver(): Promise<{ downMs: number }> {
  const stoppedAt = Date.now();
  const { args, cwd } = await stop('kube-apiserver', 'SIGKILL');
  // The killed process's last threads may hold the port a moment longer: start again until the new
  // process stays up.
  await waitFor(
    async () => {
      const child = respawn('kube-apiserver', args, cwd);
      const exited = new Promise<false>((resolve) => child.once('exit', () => resolve(false)));
      const ready = waitFor(async () => (await kubectl(['get', '--raw', '/readyz'])).code === 0, {
        timeoutMs: 60_000,
        intervalMs: 250,
        what: 'kube-apiserver to be ready again',
      });
      return Promise.race([ready, exited]);
    },
    { timeoutMs: 90_000, intervalMs: 500, what: 'kube-apiserver to start again' },
  );
  const downMs = Date.now() - stoppedAt;
  const kcm = await stop('kube-controller-manager', 'SIGTERM');
  respawn('kube-controller-manager', kcm.args, kcm.cwd);
  // The rest of the control plane must have ridden it out (a few seconds is within their renew
  // deadline); one that exited would make the test about the test bed, not the operator.
  for (const component of ['kube-scheduler', 'kwok-controller']) {
    const other = Number(readFileSync(pidFile(component), 'utf8').trim());
    if (!alive(other)) throw new Error(`${component} exited during the apiserver restart`);
  }
  return { downMs };
}
