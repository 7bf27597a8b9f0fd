import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiMessage, isConflict, isRetryable, statusCode } from './client.js';
import { Rest, groupPath, resourcePath } from './rest.js';
import { NOBODY, standInKubeConfig } from './stand-in.test-helpers.js';

// A local HTTP server stands in for the apiserver: it records each request and answers what the
// test queued (status, content type, body).
let server: Server;
const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];
let answer = { status: 200, type: 'application/json', body: '{}' };

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.writeHead(answer.status, { 'content-type': answer.type }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function rest(): Rest {
  return new Rest(standInKubeConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, 'secret'));
}

describe('resourcePath', () => {
  it('names collections, objects and subresources of core, grouped and cluster-scoped resources', () => {
    expect(resourcePath(groupPath('', 'v1'), 'pods', 'ns')).toBe('/api/v1/namespaces/ns/pods');
    expect(resourcePath(groupPath('batch', 'v1'), 'jobs', undefined)).toBe('/apis/batch/v1/jobs');
    expect(resourcePath(groupPath('datamover.io', 'v1alpha1'), 'datamovers', 'ns', 'dm', 'status')).toBe(
      '/apis/datamover.io/v1alpha1/namespaces/ns/datamovers/dm/status',
    );
    expect(resourcePath(groupPath('', 'v1'), 'namespaces', undefined, 'ns')).toBe('/api/v1/namespaces/ns');
  });
});

describe('Rest', () => {
  it('sends JSON with the credential and the query, and returns the parsed answer', async () => {
    seen.length = 0;
    answer = { status: 201, type: 'application/json', body: '{"metadata":{"name":"j","uid":"u1"}}' };
    const made = await rest().create<{ metadata: { uid: string } }>('/apis/batch/v1/namespaces/ns/jobs', {
      metadata: { name: 'j' },
    });
    expect(made.metadata.uid).toBe('u1');
    await rest().get('/api/v1/namespaces/ns/events', {
      fieldSelector: 'type=Warning,x=a b',
      skipped: undefined,
    });
    expect(
      seen.map((r) => [r.method, r.url, r.headers.authorization, r.headers['content-type'], r.body]),
    ).toEqual([
      [
        'POST',
        '/apis/batch/v1/namespaces/ns/jobs',
        'Bearer secret',
        'application/json',
        '{"metadata":{"name":"j"}}',
      ],
      [
        'GET',
        '/api/v1/namespaces/ns/events?fieldSelector=type%3DWarning%2Cx%3Da+b',
        'Bearer secret',
        undefined,
        '',
      ],
    ]);
  });

  it("fails as client-node's clients do: the status code, and the apiserver's Status as the body", async () => {
    answer = {
      status: 409,
      type: 'application/json',
      body: '{"kind":"Status","message":"the object has been modified","reason":"Conflict","code":409}',
    };
    const err = await rest()
      .replace('/apis/datamover.io/v1alpha1/namespaces/ns/datamovers/dm/status', {})
      .catch((e: unknown) => e);
    expect(isConflict(err)).toBe(true);
    expect(isRetryable(err)).toBe(false);
    expect(apiMessage(err)).toBe('the object has been modified');

    answer = { status: 502, type: 'text/html', body: 'Bad Gateway' };
    const proxied = await rest()
      .delete('/api/v1/namespaces/ns/pods/p')
      .catch((e: unknown) => e);
    expect(statusCode(proxied)).toBe(502);
    expect(isRetryable(proxied)).toBe(true);
    expect(apiMessage(proxied)).toBe('Bad Gateway');
  });

  it('fails with no status code, so retryably, when the apiserver cannot be reached', async () => {
    const kc = standInKubeConfig(NOBODY, undefined);
    const err = await new Rest(kc).get('/api/v1/namespaces').catch((e: unknown) => e);
    expect(statusCode(err)).toBeUndefined();
    expect(isRetryable(err)).toBe(true);
  });
});
