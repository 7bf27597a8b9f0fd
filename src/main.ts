// Wiring only: config → logger → kube client → controller → servers; SIGTERM drains.
import { readFileSync } from 'node:fs';
import { Controller } from './controller/controller.js';
import { USAGE, loadConfig } from './config.js';
import { KubeApi, loadKubeConfig } from './kube/client.js';
import { createLogger } from './logger.js';
import { OperatorMetrics } from './metrics/metrics.js';
import { closeServer, startMetricsServer, startProbeServer } from './server/server.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const config = loadConfig(process.argv.slice(2));
  const log = createLogger(config.logLevel);
  const api = new KubeApi(loadKubeConfig(config.kubeconfig));
  const cluster: { controller?: Controller } = {};
  const metrics = new OperatorMetrics(VERSION, {
    dataMovers: () => cluster.controller?.caches.dataMovers.list() ?? [],
    isLeader: () => true,
  });
  const controller = new Controller(api, config, metrics, log);
  cluster.controller = controller;
  const probes = await startProbeServer(() => controller.hasSynced, config.healthProbeBindAddress);
  const metricsServer = await startMetricsServer(metrics.registry, config.metricsBindAddress);
  log.info('starting', {
    version: VERSION,
    metrics: config.metricsBindAddress,
    probes: config.healthProbeBindAddress,
  });
  await controller.startInformers();
  controller.startWorkers();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    const drained = await controller.stop(config.shutdownTimeoutMs);
    if (!drained) log.warn('in-flight reconciles did not finish before the shutdown timeout');
    await Promise.all([closeServer(probes), closeServer(metricsServer)]);
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(JSON.stringify({ level: 'error', message: 'operator failed to start', error: String(err) }));
  process.exit(1);
});
