// --metrics-secure: HTTPS, and only a bearer token whose user may `get` /metrics (the
// datamover-operator-metrics-reader ClusterRole) can scrape; others get 401 or 403.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, kubectlOk, uniqueName } from '../support/cluster.js';
import { OperatorProcess } from '../support/operator.js';
import { makeTempDir } from '../support/tempdirs.js';

let ns: string;
let operator: OperatorProcess;
let ca: string;
const reader = uniqueName('reader');
const stranger = uniqueName('stranger');

function get(path: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: operator.metricsPort,
        path,
        ca,
        servername: 'localhost',
        headers: token ? { authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  ns = await createNamespace('dm-secure');
  const dir = makeTempDir('dm-cert-');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
      '-keyout',
      join(dir, 'tls.key'),
      '-out',
      join(dir, 'tls.crt'),
    ],
    { stdio: 'ignore' },
  );
  ca = readFileSync(join(dir, 'tls.crt'), 'utf8');
  await kubectlOk([
    'apply',
    '--server-side',
    '--force-conflicts',
    '-f',
    'config/rbac/metrics_reader_role.yaml',
  ]);
  await kubectlOk(['create', 'serviceaccount', reader, '-n', ns]);
  await kubectlOk(['create', 'serviceaccount', stranger, '-n', ns]);
  await kubectlOk([
    'create',
    'clusterrolebinding',
    reader,
    '--clusterrole=datamover-operator-metrics-reader',
    `--serviceaccount=${ns}:${reader}`,
  ]);
  operator = new OperatorProcess([ns], ['--metrics-secure', `--metrics-cert-dir=${dir}`]);
  await operator.start();
});

afterAll(async () => {
  await operator?.stop();
  await kubectlOk(['delete', 'clusterrolebinding', reader, '--ignore-not-found']);
  await deleteNamespace(ns);
});

const token = async (sa: string) =>
  (await kubectlOk(['create', 'token', sa, '-n', ns, '--duration=1h'])).trim();

describe('secure metrics', () => {
  it('serves the metrics-reader over HTTPS with the configured certificate', async () => {
    const res = await get('/metrics', await token(reader));
    expect(res.status).toBe(200);
    expect(res.body).toContain('datamover_build_info');
  });

  it('answers 401 without a token or with a token the apiserver does not know', async () => {
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/metrics', 'not-a-real-token')).status).toBe(401);
  });

  it('answers 403 to an authenticated user without permission', async () => {
    const res = await get('/metrics', await token(stranger));
    expect(res.status).toBe(403);
    expect(res.body).toContain(`system:serviceaccount:${ns}:${stranger}`);
  });
});
