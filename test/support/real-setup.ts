// Global setup of the real tier (vitest project `real`): the test bed's real node must be attached
// (hack/cluster-up.sh attaches it unless the machine cannot run a kubelet; it then writes the failed
// check to realnode.skip beside the kubeconfig, and the tier is skipped with that reason, which
// hack/test-summary.mjs prints). Installs the CRDs, brings the local images up to date with dist/
// (hack/realnode-image.sh: rebuilt and imported only when a part changed), and starts one S3 server
// for the tier's files, bound to the real node's bridge address and nothing else.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { TestProject } from 'vitest/node';
import installCrds from './global-setup.js';
import type { RealTier } from './realnode.js';
import { S3Server } from './s3.js';

export const SKIPPED_NOTE = '.tmp/real-skipped.txt';

/**
 * Settings of hack/realnode-env.sh, read from the script itself, for the test bed KUBECONFIG names
 * (<cache>/cluster-<name>/kubeconfig, hack/cluster-up.sh).
 */
function realnodeEnv(kubeconfig: string): Record<string, string> {
  const cluster = /^cluster-(.+)$/.exec(basename(dirname(kubeconfig)))?.[1];
  if (!cluster) throw new Error(`KUBECONFIG ${kubeconfig} is not a test bed's: make cluster-up`);
  const names = ['REALNODE_IP', 'REALNODE_STATE', 'REALNODE_NAME', 'REALNODE_TAINT_KEY', 'REALNODE_IMAGES'];
  const out = execFileSync(
    'bash',
    [
      '-c',
      `source hack/testbed-versions.sh && source hack/realnode-env.sh && printf '%s\\n' ${names.map((n) => `"$${n}"`).join(' ')}`,
    ],
    { encoding: 'utf8', env: { ...process.env, DATAMOVER_CLUSTER: cluster } },
  ).split('\n');
  return { ...Object.fromEntries(names.map((n, i) => [n, out[i] ?? ''])), CLUSTER: cluster };
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  mkdirSync('.tmp', { recursive: true });
  rmSync(SKIPPED_NOTE, { force: true });
  const kubeconfig = process.env.KUBECONFIG;
  if (!kubeconfig) throw new Error('KUBECONFIG is not set: run the real tier with make test-real');
  const skipFile = join(dirname(kubeconfig), 'realnode.skip');
  if (existsSync(skipFile)) {
    const reason = readFileSync(skipFile, 'utf8').trim() || 'no reason recorded';
    writeFileSync(SKIPPED_NOTE, `${reason}\n`);
    project.provide('real', { skip: reason } as RealTier);
    return undefined;
  }
  installCrds();
  const env = realnodeEnv(kubeconfig);
  const node = execFileSync('kubectl', ['get', 'node', env.REALNODE_NAME!, '-o', 'json'], {
    encoding: 'utf8',
  });
  const ready = (
    JSON.parse(node) as { status?: { conditions?: Array<{ type: string; status: string }> } }
  ).status?.conditions?.find((c) => c.type === 'Ready')?.status;
  if (ready !== 'True') throw new Error(`the real node ${env.REALNODE_NAME} is not Ready: make cluster-up`);
  const started = Date.now();
  const [moverImage, busyboxImage, operatorImage] = execFileSync('bash', ['hack/realnode-image.sh'], {
    encoding: 'utf8',
    env: { ...process.env, DATAMOVER_CLUSTER: env.CLUSTER },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
    .trim()
    .split('\n');
  const root = mkdtempSync(join(tmpdir(), 'dm-real-s3-'));
  const s3 = new S3Server({ host: env.REALNODE_IP!, root });
  const pidFile = join(env.REALNODE_STATE!, 's3.pid');
  try {
    await s3.start();
    // realnode-down.sh stops it, should this process die without its teardown.
    writeFileSync(pidFile, `${s3.pid}\n`);
  } catch (err) {
    await s3.stop();
    throw err;
  }
  console.log(`real tier: images and S3 server (${s3.host}:${s3.port}) ready in ${Date.now() - started} ms`);
  project.provide('real', {
    skip: '',
    moverImage: moverImage!,
    busyboxImage: busyboxImage!,
    operatorImage: operatorImage!,
    node: env.REALNODE_NAME!,
    taintKey: env.REALNODE_TAINT_KEY!,
    images: env.REALNODE_IMAGES!,
    s3: { host: s3.host, port: s3.port, root },
  });
  return async () => {
    await s3.stop();
    rmSync(pidFile, { force: true });
    rmSync(root, { recursive: true, force: true });
  };
}
