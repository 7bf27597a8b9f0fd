// The only reader of flags and environment. Produces a typed, validated, frozen configuration.
import { parseArgs } from 'node:util';

export interface Config {
  readonly metricsBindAddress: { host: string; port: number };
  readonly healthProbeBindAddress: { host: string; port: number };
  /** Namespaces to watch; empty means all namespaces. */
  readonly namespaces: readonly string[];
  readonly maxConcurrentReconciles: number;
  /** How long a missing or unbound source PVC is tolerated before the DataMover fails. */
  readonly sourcePvcGracePeriodMs: number;
  /** How long a clone may stay unprovisioned before the DataMover fails. */
  readonly cloneProvisionTimeoutMs: number;
  /** How long a pending clone waits before it is reported as Stalled. */
  readonly cloneStallAfterMs: number;
  /** How long a mover pod may fail to start before the DataMover fails. */
  readonly podStartTimeoutMs: number;
  readonly defaultMoverImage: string;
  /** Image repositories (or repository:tag) a DataMover may name. */
  readonly allowedMoverImages: readonly string[];
  readonly allowMoverServiceAccount: boolean;
  readonly logLevel: string;
  readonly kubeconfig: string | undefined;
  readonly shutdownTimeoutMs: number;
  readonly metricsSecure: boolean;
  readonly metricsCertDir: string | undefined;
  readonly leaderElect: boolean;
  /** Test only: SIGKILL the process right after this action, before the status write. */
  readonly testFaultPoint: string | undefined;
  readonly leaderElectionNamespace: string;
  readonly leaderElectionId: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

export const DEFAULT_MOVER_IMAGE = 'ghcr.io/datamover-operator/mover:0.1.0';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(flag: string, value: string): number {
  const match = DURATION.exec(value.trim());
  if (!match) throw new Error(`--${flag}: "${value}" is not a duration such as 500ms, 30s, 5m or 1h`);
  return Math.round(Number(match[1]) * (UNIT_MS[match[2] as string] ?? 1));
}

export function parseBindAddress(flag: string, value: string): { host: string; port: number } {
  const idx = value.lastIndexOf(':');
  if (idx < 0) throw new Error(`--${flag}: "${value}" must be [host]:port`);
  const port = Number(value.slice(idx + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--${flag}: port in "${value}" must be 0-65535`);
  }
  return { host: value.slice(0, idx) || '0.0.0.0', port };
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag}: "${value}" must be a positive integer`);
  return n;
}

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const LOG_LEVELS = ['error', 'warn', 'info', 'debug'];

export const USAGE = `Usage: datamover-operator [flags]
  --metrics-bind-address ADDR         /metrics listener (default :8080)
  --health-probe-bind-address ADDR    /healthz and /readyz listener (default :8081)
  --namespaces LIST                   comma-separated namespaces to watch (default: all)
  --max-concurrent-reconciles N       DataMovers reconciled at once (default 8)
  --source-pvc-grace-period DUR       tolerate a missing/unbound source PVC this long (default 5m)
  --clone-provision-timeout DUR       fail when the clone is not provisioned by then (default 10m)
  --clone-stall-after DUR             report a pending clone as Stalled after (default 1m)
  --pod-start-timeout DUR             fail when the mover pod cannot start for this long (default 5m)
  --default-mover-image IMAGE         mover image when a DataMover names none (default ${DEFAULT_MOVER_IMAGE})
  --allowed-mover-images LIST         image repositories a DataMover may use (default: the default image's)
  --allow-mover-service-account       let DataMovers set serviceAccountName (default false)
  --shutdown-timeout DUR              how long SIGTERM waits for in-flight reconciles (default 20s)
  --metrics-secure                    serve /metrics over HTTPS to clients whose bearer token may get it
  --metrics-cert-dir DIR              tls.crt and tls.key for --metrics-secure (default: self-signed)
  --leader-elect                      elect one active replica with a Lease (default false)
  --leader-election-namespace NS      namespace of the Lease (default $POD_NAMESPACE or datamover-operator-system)
  --leader-election-id NAME           name of the Lease (default datamover-operator-leader)
  --lease-duration DUR                how long a silent leader keeps the Lease (default 15s)
  --renew-deadline DUR                how long a leader tries to renew before it stops leading (default 10s)
  --retry-period DUR                  how often candidates try (default 2s)
  --log-level LEVEL                   error, warn, info or debug (default info)
  --kubeconfig PATH                   kubeconfig (default: $KUBECONFIG, then in-cluster)`;

export function repositoryOf(image: string): string {
  const at = image.indexOf('@');
  const noDigest = at >= 0 ? image.slice(0, at) : image;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'metrics-bind-address': { type: 'string', default: ':8080' },
      'health-probe-bind-address': { type: 'string', default: ':8081' },
      namespaces: { type: 'string', default: env.WATCH_NAMESPACES ?? '' },
      'max-concurrent-reconciles': { type: 'string', default: '8' },
      'source-pvc-grace-period': { type: 'string', default: '5m' },
      'clone-provision-timeout': { type: 'string', default: '10m' },
      'clone-stall-after': { type: 'string', default: '1m' },
      'pod-start-timeout': { type: 'string', default: '5m' },
      'default-mover-image': { type: 'string', default: DEFAULT_MOVER_IMAGE },
      'allowed-mover-images': { type: 'string' },
      'allow-mover-service-account': { type: 'boolean', default: false },
      'shutdown-timeout': { type: 'string', default: '20s' },
      'log-level': { type: 'string', default: env.LOG_LEVEL ?? 'info' },
      'metrics-secure': { type: 'boolean', default: false },
      'metrics-cert-dir': { type: 'string' },
      'leader-elect': { type: 'boolean', default: false },
      'test-fault-point': { type: 'string', default: env.DATAMOVER_TEST_FAULT_POINT },
      'leader-election-namespace': {
        type: 'string',
        default: env.POD_NAMESPACE ?? 'datamover-operator-system',
      },
      'leader-election-id': { type: 'string', default: 'datamover-operator-leader' },
      'lease-duration': { type: 'string', default: '15s' },
      'renew-deadline': { type: 'string', default: '10s' },
      'retry-period': { type: 'string', default: '2s' },
      kubeconfig: { type: 'string' },
    },
  });
  const logLevel = values['log-level'];
  if (!LOG_LEVELS.includes(logLevel))
    throw new Error(`--log-level: "${logLevel}" is not one of ${LOG_LEVELS}`);
  const defaultMoverImage = values['default-mover-image'];
  const leaseDurationMs = parseDuration('lease-duration', values['lease-duration']);
  const renewDeadlineMs = parseDuration('renew-deadline', values['renew-deadline']);
  const retryPeriodMs = parseDuration('retry-period', values['retry-period']);
  if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) {
    throw new Error('--retry-period < --renew-deadline < --lease-duration must hold');
  }
  const allowed = values['allowed-mover-images'];
  return Object.freeze({
    metricsBindAddress: parseBindAddress('metrics-bind-address', values['metrics-bind-address']),
    healthProbeBindAddress: parseBindAddress(
      'health-probe-bind-address',
      values['health-probe-bind-address'],
    ),
    namespaces: Object.freeze(list(values.namespaces)),
    maxConcurrentReconciles: positiveInt('max-concurrent-reconciles', values['max-concurrent-reconciles']),
    sourcePvcGracePeriodMs: parseDuration('source-pvc-grace-period', values['source-pvc-grace-period']),
    cloneProvisionTimeoutMs: parseDuration('clone-provision-timeout', values['clone-provision-timeout']),
    cloneStallAfterMs: parseDuration('clone-stall-after', values['clone-stall-after']),
    podStartTimeoutMs: parseDuration('pod-start-timeout', values['pod-start-timeout']),
    defaultMoverImage,
    allowedMoverImages: Object.freeze(
      allowed === undefined ? [repositoryOf(defaultMoverImage)] : list(allowed),
    ),
    allowMoverServiceAccount: values['allow-mover-service-account'],
    shutdownTimeoutMs: parseDuration('shutdown-timeout', values['shutdown-timeout']),
    logLevel,
    kubeconfig: values.kubeconfig ?? env.KUBECONFIG,
    metricsSecure: values['metrics-secure'],
    metricsCertDir: values['metrics-cert-dir'],
    leaderElect: values['leader-elect'],
    testFaultPoint: values['test-fault-point'] || undefined,
    leaderElectionNamespace: values['leader-election-namespace'],
    leaderElectionId: values['leader-election-id'],
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
  });
}
