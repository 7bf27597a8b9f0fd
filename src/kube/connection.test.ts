import { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servingCert } from '../server/tls.js';
import { Connection, bodyText, connectionOf, unusable } from './connection.js';
import { Rest } from './rest.js';
import { standInKubeConfig } from './stand-in.test-helpers.js';

const url = (s: Server) => `${(s.address() as AddressInfo).port}`;

describe('the connection', () => {
  // An HTTP server that answers with headers and half a body, then nothing.
  let stalling: Server;
  beforeAll(async () => {
    stalling = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"items": [');
    });
    await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => {
    stalling.closeAllConnections();
    return new Promise<void>((resolve) => stalling.close(() => resolve()));
  });

  it('fails an answer whose body stalls, instead of waiting for it forever', async () => {
    const connection = new Connection(standInKubeConfig(`http://127.0.0.1:${url(stalling)}`));
    const res = await connection.send('GET', '/api/v1/pods');
    await expect(bodyText(res, 100)).rejects.toThrow('the answer stalled for 0.1s');
    connection.close();
  });

  it('presents the client certificate an exec plugin gives, and the renewed one once it changes', async () => {
    const { cert, key } = await servingCert(undefined);
    const first = await servingCert(undefined);
    const renewed = await servingCert(undefined);
    const seen: string[] = [];
    const server = createHttpsServer(
      { cert, key, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        seen.push((req.socket as TLSSocket).getPeerCertificate().fingerprint256 ?? 'none');
        req.resume();
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const kc = standInKubeConfig(`https://127.0.0.1:${url(server)}`, undefined);
      let current = first;
      // Stands in for client-node's ExecAuth, which puts a plugin's certificate and key on the options.
      kc.addAuthenticator({
        isAuthProvider: () => true,
        applyAuthentication: async (_user: unknown, opts: { cert?: string; key?: string }) => {
          opts.cert = current.cert;
          opts.key = current.key;
        },
      } as never);
      const rest = new Rest(kc);
      const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
      for (let i = 0; i < 2; i++) await rest.get(`/a${i}`).catch(() => undefined);
      current = renewed;
      for (let i = 0; i < 2; i++) await rest.get(`/b${i}`).catch(() => undefined);
      expect(seen).toEqual([
        fingerprint(first.cert),
        fingerprint(first.cert),
        fingerprint(renewed.cert),
        fingerprint(renewed.cert),
      ]);
      connectionOf(kc).close();
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('refuses a kubeconfig it cannot serve, saying why', () => {
    const proxied = standInKubeConfig('https://10.0.0.1');
    (proxied.getCurrentCluster() as { proxyUrl?: string }).proxyUrl = 'http://proxy:3128';
    expect(unusable(proxied)).toBe("the cluster's proxy-url (http://proxy:3128) is not supported");
    const plain = standInKubeConfig('http://10.0.0.1');
    (plain.getCurrentCluster() as { skipTLSVerify: boolean }).skipTLSVerify = false;
    expect(unusable(plain)).toContain('plain HTTP');
    expect(unusable(standInKubeConfig('https://10.0.0.1'))).toBeUndefined();
  });
});
