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
  /** How long a PVC a schedule no longer selects keeps its recovery-point gauges. */
  readonly unselectedPvcGracePeriodMs: number;
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
  /** Test only: accept 6-field schedules with seconds, so tests can fire every few seconds. */
  readonly allowSecondsInSchedules: boolean;
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

/** One command-line flag: the parser's options and the help text both come from this table. */
export interface Flag {
  readonly name: string;
  readonly type: 'string' | 'boolean';
  /** What the value is, in the help text (string flags). */
  readonly arg?: string;
  readonly default?: (env: NodeJS.ProcessEnv) => string | boolean | undefined;
  /** The default as the help text says it, when it is not the value itself. */
  readonly defaultText?: string;
  readonly help: string;
  /** Test-only flags are accepted but not listed. */
  readonly hidden?: boolean;
}

const constant = (value: string | boolean) => () => value;

export const FLAGS: readonly Flag[] = [
  {
    name: 'metrics-bind-address',
    type: 'string',
    arg: 'ADDR',
    default: constant(':8080'),
    help: '/metrics listener',
  },
  {
    name: 'health-probe-bind-address',
    type: 'string',
    arg: 'ADDR',
    default: constant(':8081'),
    help: '/healthz and /readyz listener',
  },
  {
    name: 'namespaces',
    type: 'string',
    arg: 'LIST',
    default: (env) => env.WATCH_NAMESPACES ?? '',
    defaultText: 'all, or $WATCH_NAMESPACES',
    help: 'comma-separated namespaces to watch',
  },
  {
    name: 'max-concurrent-reconciles',
    type: 'string',
    arg: 'N',
    default: constant('8'),
    help: 'objects of each kind reconciled at once; a quarter kept for runs under way',
  },
  {
    name: 'source-pvc-grace-period',
    type: 'string',
    arg: 'DUR',
    default: constant('5m'),
    help: 'tolerate a missing or unbound source PVC this long',
  },
  {
    name: 'unselected-pvc-grace-period',
    type: 'string',
    arg: 'DUR',
    default: constant('24h'),
    help: 'keep the gauges of a PVC a schedule no longer selects this long',
  },
  {
    name: 'clone-provision-timeout',
    type: 'string',
    arg: 'DUR',
    default: constant('10m'),
    help: 'fail when the clone is not provisioned by then',
  },
  {
    name: 'clone-stall-after',
    type: 'string',
    arg: 'DUR',
    default: constant('1m'),
    help: 'report a pending clone as Stalled after',
  },
  {
    name: 'pod-start-timeout',
    type: 'string',
    arg: 'DUR',
    default: constant('5m'),
    help: 'fail when the mover pod cannot start for this long',
  },
  {
    name: 'default-mover-image',
    type: 'string',
    arg: 'IMAGE',
    default: constant(DEFAULT_MOVER_IMAGE),
    help: 'mover image when a DataMover names none',
  },
  {
    name: 'allowed-mover-images',
    type: 'string',
    arg: 'LIST',
    defaultText: "the default image's repository",
    help: 'image repositories a DataMover may use',
  },
  {
    name: 'allow-mover-service-account',
    type: 'boolean',
    default: constant(false),
    help: 'let DataMovers set serviceAccountName',
  },
  {
    name: 'shutdown-timeout',
    type: 'string',
    arg: 'DUR',
    default: constant('20s'),
    help: 'how long SIGTERM waits for in-flight reconciles',
  },
  {
    name: 'metrics-secure',
    type: 'boolean',
    default: constant(false),
    help: 'serve /metrics over HTTPS to clients whose bearer token may get it',
  },
  {
    name: 'metrics-cert-dir',
    type: 'string',
    arg: 'DIR',
    defaultText: 'a self-signed certificate',
    help: 'tls.crt and tls.key for --metrics-secure',
  },
  {
    name: 'leader-elect',
    type: 'boolean',
    default: constant(false),
    help: 'elect one active replica with a Lease',
  },
  {
    name: 'leader-election-namespace',
    type: 'string',
    arg: 'NS',
    default: (env) => env.POD_NAMESPACE ?? 'datamover-operator-system',
    defaultText: '$POD_NAMESPACE or datamover-operator-system',
    help: 'namespace of the Lease',
  },
  {
    name: 'leader-election-id',
    type: 'string',
    arg: 'NAME',
    default: constant('datamover-operator-leader'),
    help: 'name of the Lease',
  },
  {
    name: 'lease-duration',
    type: 'string',
    arg: 'DUR',
    default: constant('15s'),
    help: 'how long a silent leader keeps the Lease',
  },
  {
    name: 'renew-deadline',
    type: 'string',
    arg: 'DUR',
    default: constant('10s'),
    help: 'how long a leader tries to renew before it stops leading',
  },
  {
    name: 'retry-period',
    type: 'string',
    arg: 'DUR',
    default: constant('2s'),
    help: 'how often candidates try',
  },
  {
    name: 'log-level',
    type: 'string',
    arg: 'LEVEL',
    default: (env) => env.LOG_LEVEL ?? 'info',
    defaultText: 'info, or $LOG_LEVEL',
    help: 'error, warn, info or debug',
  },
  {
    name: 'kubeconfig',
    type: 'string',
    arg: 'PATH',
    defaultText: '$KUBECONFIG, then in-cluster',
    help: 'kubeconfig',
  },
  {
    name: 'test-fault-point',
    type: 'string',
    default: (env) => env.DATAMOVER_TEST_FAULT_POINT,
    help: 'test only: SIGKILL right after this action',
    hidden: true,
  },
  {
    name: 'allow-seconds-in-schedules',
    type: 'boolean',
    default: constant(false),
    help: 'test only: accept 6-field DataMoverSchedule expressions with seconds',
    hidden: true,
  },
];

function defaultText(flag: Flag): string | undefined {
  if (flag.defaultText) return flag.defaultText;
  const value = flag.default?.({});
  return value === undefined || value === '' ? undefined : String(value);
}

/** `--help`, generated from FLAGS. */
export const USAGE = [
  'Usage: datamover-operator [flags]',
  ...FLAGS.filter((f) => !f.hidden).map((f) => {
    const name = `--${f.name}${f.arg ? ` ${f.arg}` : ''}`;
    const dflt = defaultText(f);
    return `  ${name.padEnd(36)}${f.help}${dflt !== undefined ? ` (default ${dflt})` : ''}`;
  }),
].join('\n');

export function repositoryOf(image: string): string {
  const at = image.indexOf('@');
  const noDigest = at >= 0 ? image.slice(0, at) : image;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  const options = Object.fromEntries(
    FLAGS.map((f) => {
      const value = f.default?.(env);
      return [f.name, { type: f.type, ...(value !== undefined ? { default: value } : {}) }];
    }),
  ) as Record<string, { type: 'string' | 'boolean'; default?: string | boolean }>;
  const { values: raw } = parseArgs({ args: argv, strict: true, options });
  // Flags with a default are always strings (or booleans); the others may be absent.
  const str = (name: string) => raw[name] as string;
  const optional = (name: string) => raw[name] as string | undefined;
  const bool = (name: string) => raw[name] === true;
  const logLevel = str('log-level');
  if (!LOG_LEVELS.includes(logLevel))
    throw new Error(`--log-level: "${logLevel}" is not one of ${LOG_LEVELS}`);
  const defaultMoverImage = str('default-mover-image');
  const leaseDurationMs = parseDuration('lease-duration', str('lease-duration'));
  const renewDeadlineMs = parseDuration('renew-deadline', str('renew-deadline'));
  const retryPeriodMs = parseDuration('retry-period', str('retry-period'));
  if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) {
    throw new Error('--retry-period < --renew-deadline < --lease-duration must hold');
  }
  const allowed = optional('allowed-mover-images');
  return Object.freeze({
    metricsBindAddress: parseBindAddress('metrics-bind-address', str('metrics-bind-address')),
    healthProbeBindAddress: parseBindAddress('health-probe-bind-address', str('health-probe-bind-address')),
    namespaces: Object.freeze(list(str('namespaces'))),
    maxConcurrentReconciles: positiveInt('max-concurrent-reconciles', str('max-concurrent-reconciles')),
    sourcePvcGracePeriodMs: parseDuration('source-pvc-grace-period', str('source-pvc-grace-period')),
    cloneProvisionTimeoutMs: parseDuration('clone-provision-timeout', str('clone-provision-timeout')),
    cloneStallAfterMs: parseDuration('clone-stall-after', str('clone-stall-after')),
    podStartTimeoutMs: parseDuration('pod-start-timeout', str('pod-start-timeout')),
    unselectedPvcGracePeriodMs: parseDuration(
      'unselected-pvc-grace-period',
      str('unselected-pvc-grace-period'),
    ),
    defaultMoverImage,
    allowedMoverImages: Object.freeze(
      allowed === undefined ? [repositoryOf(defaultMoverImage)] : list(allowed),
    ),
    allowMoverServiceAccount: bool('allow-mover-service-account'),
    shutdownTimeoutMs: parseDuration('shutdown-timeout', str('shutdown-timeout')),
    logLevel,
    kubeconfig: optional('kubeconfig') ?? env.KUBECONFIG,
    metricsSecure: bool('metrics-secure'),
    metricsCertDir: optional('metrics-cert-dir'),
    leaderElect: bool('leader-elect'),
    testFaultPoint: optional('test-fault-point') || undefined,
    allowSecondsInSchedules: bool('allow-seconds-in-schedules'),
    leaderElectionNamespace: str('leader-election-namespace'),
    leaderElectionId: str('leader-election-id'),
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
  });
}
