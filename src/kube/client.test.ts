import type { KubeConfig, V1Job } from '@kubernetes/client-node';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servingCert } from '../server/tls.js';
import { KubeApi, NotLeaderError } from './client.js';
import { standInKubeConfig } from './stand-in.test-helpers.js';

// A local HTTP server stands in for the apiserver: it answers every request 503 and counts them,
// so the test sees which attempts of a write were actually sent.
let server: Server;
let received = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    received++;
    req.resume();
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"unavailable"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function config(): KubeConfig {
  return standInKubeConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

const job: V1Job = { metadata: { name: 'j', namespace: 'ns' } };

describe('KubeApi fencing', () => {
  it('sends no write at all while the process may not hold the lease', async () => {
    received = 0;
    const api = new KubeApi(config(), () => false);
    await expect(api.createJob(job)).rejects.toBeInstanceOf(NotLeaderError);
    await expect(api.deleteJob('ns', 'j')).rejects.toBeInstanceOf(NotLeaderError);
    expect(received).toBe(0);
  });

  it('sends no retry of a failed write once the lease is lost during the backoff', async () => {
    received = 0;
    let holds = true;
    const api = new KubeApi(config(), () => {
      const now = holds;
      holds = false; // lost after the first attempt was sent
      return now;
    });
    await expect(api.createJob(job)).rejects.toBeInstanceOf(NotLeaderError);
    expect(received).toBe(1);
  });

  it('retries a write answered 503 while the lease is held', async () => {
    received = 0;
    const api = new KubeApi(config(), () => true);
    await expect(api.createJob(job)).rejects.toMatchObject({ code: 503 });
    expect(received).toBe(4); // the first attempt and three retries
  });
});

describe('the pooled connection', () => {
  // An HTTPS apiserver stand-in answering 404 to everything, recording each request's credential and
  // counting TLS connections.
  async function tlsServer(): Promise<{
    url: string;
    seen: string[];
    connections: () => number;
    close: () => Promise<void>;
  }> {
    const { cert, key } = await servingCert(undefined);
    let connections = 0;
    const seen: string[] = [];
    const s = createHttpsServer({ cert, key }, (req, res) => {
      seen.push(req.headers.authorization ?? '');
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
    });
    s.on('secureConnection', () => connections++);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return {
      url: `https://127.0.0.1:${(s.address() as AddressInfo).port}`,
      seen,
      connections: () => connections,
      close: () => {
        s.closeAllConnections();
        return new Promise<void>((resolve) => s.close(() => resolve()));
      },
    };
  }

  it('sends the credential as it is at each request over the pooled connection', async () => {
    const server = await tlsServer();
    try {
      const kc = standInKubeConfig(server.url);
      const api = new KubeApi(kc);
      for (let i = 0; i < 3; i++) expect(await api.getPvc('ns', `p${i}`)).toBeNull();
      // The token changes (a projected ServiceAccount token re-read, an exec plugin's renewal).
      (kc.getCurrentUser() as { token?: string }).token = 'renewed';
      for (let i = 0; i < 3; i++) expect(await api.getPvc('ns', `q${i}`)).toBeNull();
      expect(server.seen).toEqual([...Array(3).fill('Bearer t'), ...Array(3).fill('Bearer renewed')]);
      expect(server.connections()).toBeLessThanOrEqual(2);
    } finally {
      await server.close();
    }
  });

  it('reuses its TLS connections for sequential requests, across the KubeApis of one kubeconfig', async () => {
    const server = await tlsServer();
    try {
      const kc = standInKubeConfig(server.url);
      for (let i = 0; i < 10; i++) expect(await new KubeApi(kc).getPvc('ns', `p${i}`)).toBeNull();
      // A second socket may open while the first is still being handed back to the pool.
      expect(server.connections()).toBeLessThanOrEqual(2);
    } finally {
      await server.close();
    }
  });
});
