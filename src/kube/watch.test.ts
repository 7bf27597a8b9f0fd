import type { KubeConfig } from '@kubernetes/client-node';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOBODY, standInKubeConfig } from './stand-in.test-helpers.js';
import { Watch } from './watch.js';

// A local HTTP server stands in for the apiserver's watch: each test sets how it answers.
let server: Server;
let serve: (req: IncomingMessage, res: ServerResponse) => void = () => {};
const urls: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    urls.push(req.url!);
    serve(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

function config(): KubeConfig {
  return standInKubeConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

/** Starts a watch; its events, and a promise of what `done` was called with (it must be once). */
function watching(idleMs?: number) {
  const events: Array<[string, unknown]> = [];
  let calls = 0;
  let settle: (err: unknown) => void = () => {};
  const done = new Promise<unknown>((resolve) => (settle = resolve));
  const watch = new Watch(config(), idleMs);
  const started = watch.watch(
    '/api/v1/pods',
    { resourceVersion: '7', labelSelector: 'a=b', fieldSelector: undefined },
    (phase, obj) => events.push([phase, obj]),
    (err) => {
      calls++;
      settle(err);
    },
  );
  return { events, done, started, calls: () => calls };
}

const line = (type: string, name: string) => `${JSON.stringify({ type, object: { metadata: { name } } })}\n`;

describe('Watch', () => {
  it('asks for a watch from the resourceVersion and hands on each line, split anywhere, the last without its newline, until the stream ends', async () => {
    serve = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const text = (
        line('ADDED', 'a') +
        'not json\n' +
        line('MODIFIED', 'é-b') +
        line('DELETED', 'c')
      ).trimEnd();
      // In pieces that cut lines and a two-byte character apart.
      const bytes = Buffer.from(text);
      const cuts = [5, 40, 41, 77, bytes.indexOf(0xc3) + 1, bytes.length].sort((a, b) => a - b);
      let from = 0;
      for (const to of cuts) {
        res.write(bytes.subarray(from, to));
        from = to;
      }
      res.end();
    };
    const w = watching();
    expect(await w.done).toBeNull();
    expect(urls.at(-1)).toBe('/api/v1/pods?watch=true&resourceVersion=7&labelSelector=a%3Db');
    expect(w.events).toEqual([
      ['ADDED', { metadata: { name: 'a' } }],
      ['MODIFIED', { metadata: { name: 'é-b' } }],
      ['DELETED', { metadata: { name: 'c' } }],
    ]);
    expect(w.calls()).toBe(1);
  });

  it('ends with the status code of a refused watch (410 Gone makes ListWatch relist)', async () => {
    serve = (_req, res) => res.writeHead(410, { 'content-type': 'application/json' }).end('{"code":410}');
    const w = watching();
    expect(await w.done).toMatchObject({ statusCode: 410, message: 'Gone' });
    expect(w.events).toEqual([]);
  });

  it('ends with a TimeoutError when the stream goes quiet (ListWatch resumes at its resourceVersion)', async () => {
    serve = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(line('ADDED', 'a'));
    };
    const w = watching(200);
    expect(await w.done).toMatchObject({ name: 'TimeoutError' });
    expect(w.events).toEqual([['ADDED', { metadata: { name: 'a' } }]]);
    expect(w.calls()).toBe(1);
  });

  it('ends once, with an error, when it is stopped or the apiserver cannot be reached', async () => {
    serve = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
    const w = watching();
    (await w.started).abort();
    expect(await w.done).toBeInstanceOf(Error);
    expect(w.calls()).toBe(1);

    const kc = standInKubeConfig(NOBODY, undefined);
    const refused = await new Promise<unknown>(
      (resolve) => void new Watch(kc).watch('/api/v1/pods', {}, () => {}, resolve),
    );
    expect(refused).toMatchObject({ code: 'ECONNREFUSED' });
  });
});
