// The operator's wiring, loaded by main.ts once the Node.js version is known to be supported: config → logger
// → kube client → controller → servers; SIGTERM drains.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Controller } from './controller/controller.js';
import { USAGE, loadConfig, type Config } from './config.js';
import { KubeApi, StartupError, loadKubeConfig } from './kube/client.js';
import { LeaderElector } from './kube/leader.js';
import { createLogger } from './logger.js';
import { OperatorMetrics } from './metrics/metrics.js';
import { KubernetesReviewer } from './server/auth.js';
import { closeServer, startMetricsServer, startProbeServer, type SecureMetrics } from './server/server.js';
import { servingCert } from './server/tls.js';
import type { Logger } from 'winston';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

function elector(api: KubeApi, config: Config, controller: Controller, log: Logger): LeaderElector {
  const identity = `${hostname()}_${randomUUID().slice(0, 8)}`;
  const timings = {
    leaseDurationMs: config.leaseDurationMs,
    renewDeadlineMs: config.renewDeadlineMs,
    retryPeriodMs: config.retryPeriodMs,
  };
  log.info('waiting for the leader lease', {
    identity,
    lease: `${config.leaderElectionNamespace}/${config.leaderElectionId}`,
  });
  return new LeaderElector(
    api.kc,
    config.leaderElectionNamespace,
    config.leaderElectionId,
    identity,
    timings,
    {
      onStartedLeading: () => controller.startWorkers(),
      onStoppedLeading: () => {
        // As client-go does: a process that lost the lease exits and restarts with clean state.
        log.error('lost the leader lease; exiting');
        process.exit(1);
      },
    },
    log,
  );
}

/** Test only: dies with SIGKILL right after the named action, before its status write. */
function faultPoint(point: string, log: Logger) {
  return (action: string) => {
    if (`after-${action}` !== point) return;
    log.warn('test fault point reached: SIGKILL', { point });
    process.kill(process.pid, 'SIGKILL');
  };
}

async function secureMetrics(api: KubeApi, config: Config, log: Logger): Promise<SecureMetrics> {
  const { cert, key, selfSigned } = await servingCert(config.metricsCertDir);
  log.info('serving metrics over HTTPS with TokenReview and SubjectAccessReview', { selfSigned });
  return { cert, key, reviewer: new KubernetesReviewer(api.rest) };
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const config = loadConfig(process.argv.slice(2));
  const log = createLogger(config.logLevel);
  const cluster: { elector?: LeaderElector } = {};
  // Fencing: no write by a process that may no longer hold the leader lease.
  const api = new KubeApi(loadKubeConfig(config.kubeconfig), () =>
    cluster.elector ? cluster.elector.holdsLease() : true,
  );
  const metrics = new OperatorMetrics(VERSION, () => (cluster.elector ? cluster.elector.isLeader : true));
  const controller = new Controller(api, config, metrics, log, {
    ...(config.testFaultPoint ? { afterAction: faultPoint(config.testFaultPoint, log) } : {}),
  });
  // Readiness is the caches, never the lease: a rolling update of two replicas must not deadlock.
  const probes = await startProbeServer(() => controller.hasSynced, config.healthProbeBindAddress);
  const metricsServer = await startMetricsServer(
    metrics.registry,
    config.metricsBindAddress,
    config.metricsSecure ? await secureMetrics(api, config, log) : undefined,
  );
  log.info('starting', {
    version: VERSION,
    metrics: config.metricsBindAddress,
    probes: config.healthProbeBindAddress,
  });
  await controller.startInformers();
  if (config.leaderElect) {
    cluster.elector = elector(api, config, controller, log);
    cluster.elector.start();
  } else {
    controller.startWorkers();
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    const drained = await controller.stop(config.shutdownTimeoutMs);
    if (!drained) log.warn('in-flight reconciles did not finish before the shutdown timeout');
    await cluster.elector?.stop();
    await Promise.all([closeServer(probes), closeServer(metricsServer)]);
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  const error = err instanceof Error ? err.message : String(err);
  console.error(JSON.stringify({ level: 'error', message: 'operator failed to start', error }));
  process.exit(err instanceof StartupError ? 2 : 1);
});
