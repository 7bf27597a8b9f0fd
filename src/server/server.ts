// HTTP endpoints: /metrics on the metrics address, /healthz and /readyz on the probe address.
// Readiness means the caches are synced; it never depends on holding the leader lease.
import express from 'express';
import type { Server } from 'node:http';
import { createServer } from 'node:https';
import type { Registry } from 'prom-client';
import { requireAuthorized, type Reviewer } from './auth.js';

export interface Listen {
  host: string;
  port: number;
}

function listen(app: express.Express, at: Listen): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(at.port, at.host, (err?: Error) => (err ? reject(err) : resolve(server)));
  });
}

/** With `secure`, metrics are served over HTTPS to authenticated, authorized clients only. */
export interface SecureMetrics {
  cert: string;
  key: string;
  reviewer: Reviewer;
}

export async function startMetricsServer(
  registry: Registry,
  at: Listen,
  secure?: SecureMetrics,
): Promise<Server> {
  const app = express();
  app.disable('x-powered-by');
  if (secure) app.use(requireAuthorized(secure.reviewer));
  app.get('/metrics', async (_req, res) => {
    try {
      const body = await registry.metrics();
      res.type(registry.contentType).send(body);
    } catch (err) {
      res
        .status(500)
        .type('text/plain')
        .send(`metrics collection failed: ${String(err)}`);
    }
  });
  if (!secure) return listen(app, at);
  const server = createServer({ cert: secure.cert, key: secure.key }, app);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => resolve(server as unknown as Server));
  });
}

export async function startProbeServer(ready: () => boolean, at: Listen): Promise<Server> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/readyz', (_req, res) => {
    if (ready()) res.type('text/plain').send('ok');
    else res.status(503).type('text/plain').send('informer caches not synced');
  });
  return listen(app, at);
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
