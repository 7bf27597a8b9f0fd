// The only reader of flags and environment. Produces a typed, validated, frozen configuration.
import { parseArgs } from 'node:util';

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

function nonNegativeInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag}: "${value}" must be 0 or a positive integer`);
  return n;
}

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const LOG_LEVELS = ['error', 'warn', 'info', 'debug'];

type Raw = string | boolean | undefined;

/**
 * One command-line flag: the parser's options, the help text and the typed value of the
 * configuration all come from this table. Config is derived from it: a flag is written once.
 */
export interface Flag<K extends string = string, V = unknown> {
  readonly name: string;
  /** The property of Config the flag sets. */
  readonly key: K;
  readonly type: 'string' | 'boolean';
  /** What the value is, in the help text (string flags). */
  readonly arg?: string;
  readonly default?: (env: NodeJS.ProcessEnv) => string | boolean | undefined;
  /** The default as the help text says it, when it is not the value itself. */
  readonly defaultText?: string;
  readonly help: string;
  /** Test-only flags are accepted but not listed. */
  readonly hidden?: boolean;
  /** The typed value of the raw one; `all` holds every flag's raw value, by name. */
  readonly parse: (raw: Raw, all: Readonly<Record<string, Raw>>, env: NodeJS.ProcessEnv) => V;
}

const constant = (value: string | boolean) => () => value;
const flag = <K extends string, V>(f: Flag<K, V>): Flag<K, V> => f;

/** A string flag with a constant default, its value as given. */
const text = <K extends string>(name: string, key: K, arg: string, dflt: string, help: string) =>
  flag({ name, key, type: 'string', arg, default: constant(dflt), help, parse: (raw) => raw as string });

/** A boolean flag, false unless given. */
const bool = <K extends string>(name: string, key: K, help: string, hidden = false) =>
  flag({
    name,
    key,
    type: 'boolean',
    default: constant(false),
    help,
    ...(hidden ? { hidden } : {}),
    parse: (raw) => raw === true,
  });

/** A duration flag (500ms, 30s, 5m, 1h), in milliseconds. */
const duration = <K extends string>(name: string, key: K, dflt: string, help: string) =>
  flag({
    name,
    key,
    type: 'string',
    arg: 'DUR',
    default: constant(dflt),
    help,
    parse: (raw) => parseDuration(name, raw as string),
  });

/** A host:port flag. */
const address = <K extends string>(name: string, key: K, dflt: string, help: string) =>
  flag({
    name,
    key,
    type: 'string',
    arg: 'ADDR',
    default: constant(dflt),
    help,
    parse: (raw) => parseBindAddress(name, raw as string),
  });

/** A string flag without a default: absent is undefined. */
const optional = <K extends string>(name: string, key: K, arg: string, defaultText: string, help: string) =>
  flag({
    name,
    key,
    type: 'string',
    arg,
    defaultText,
    help,
    parse: (raw) => (raw as string | undefined) || undefined,
  });

export const FLAGS = [
  address('metrics-bind-address', 'metricsBindAddress', ':8080', '/metrics listener'),
  address('health-probe-bind-address', 'healthProbeBindAddress', ':8081', '/healthz and /readyz listener'),
  flag({
    name: 'namespaces',
    key: 'namespaces',
    type: 'string',
    arg: 'LIST',
    default: (env) => env.WATCH_NAMESPACES ?? '',
    defaultText: 'all, or $WATCH_NAMESPACES',
    help: 'comma-separated namespaces to watch',
    parse: (raw): readonly string[] => Object.freeze(list(raw as string)),
  }),
  flag({
    name: 'max-concurrent-reconciles',
    key: 'maxConcurrentReconciles',
    type: 'string',
    arg: 'N',
    default: constant('8'),
    help: 'objects of each kind reconciled at once; a quarter kept for runs under way',
    parse: (raw) => positiveInt('max-concurrent-reconciles', raw as string),
  }),
  flag({
    name: 'max-concurrent-runs',
    key: 'maxConcurrentRuns',
    type: 'string',
    arg: 'N',
    default: constant('0'),
    defaultText: '0, no cap',
    help: 'backups and restores holding a clone or a mover Job at once, cluster-wide; the others wait their turn. A StorageClass annotated datamover.io/max-concurrent-runs caps its runs on its own instead',
    parse: (raw) => nonNegativeInt('max-concurrent-runs', raw as string),
  }),
  duration(
    'source-pvc-grace-period',
    'sourcePvcGracePeriodMs',
    '5m',
    'tolerate a missing or unbound source PVC this long',
  ),
  duration(
    'unselected-pvc-grace-period',
    'unselectedPvcGracePeriodMs',
    '24h',
    'keep the gauges of a PVC a schedule no longer selects this long',
  ),
  duration(
    'clone-provision-timeout',
    'cloneProvisionTimeoutMs',
    '10m',
    'fail when the clone is not provisioned by then',
  ),
  duration('clone-stall-after', 'cloneStallAfterMs', '1m', 'report a pending clone as Stalled after'),
  duration(
    'pod-start-timeout',
    'podStartTimeoutMs',
    '5m',
    'fail when the mover pod cannot start for this long',
  ),
  text(
    'default-mover-image',
    'defaultMoverImage',
    'IMAGE',
    DEFAULT_MOVER_IMAGE,
    'mover image when a DataMover names none',
  ),
  flag({
    name: 'allowed-mover-images',
    key: 'allowedMoverImages',
    type: 'string',
    arg: 'LIST',
    defaultText: "the default image's repository",
    help: 'image repositories a DataMover may use',
    parse: (raw, all): readonly string[] =>
      Object.freeze(
        raw === undefined ? [repositoryOf(all['default-mover-image'] as string)] : list(raw as string),
      ),
  }),
  bool('allow-mover-service-account', 'allowMoverServiceAccount', 'let DataMovers set serviceAccountName'),
  duration('shutdown-timeout', 'shutdownTimeoutMs', '20s', 'how long SIGTERM waits for in-flight reconciles'),
  bool(
    'metrics-secure',
    'metricsSecure',
    'serve /metrics over HTTPS to clients whose bearer token may get it',
  ),
  optional(
    'metrics-cert-dir',
    'metricsCertDir',
    'DIR',
    'a self-signed certificate',
    'tls.crt and tls.key for --metrics-secure',
  ),
  bool('leader-elect', 'leaderElect', 'elect one active replica with a Lease'),
  flag({
    name: 'leader-election-namespace',
    key: 'leaderElectionNamespace',
    type: 'string',
    arg: 'NS',
    default: (env) => env.POD_NAMESPACE ?? 'datamover-operator-system',
    defaultText: '$POD_NAMESPACE or datamover-operator-system',
    help: 'namespace of the Lease',
    parse: (raw) => raw as string,
  }),
  text('leader-election-id', 'leaderElectionId', 'NAME', 'datamover-operator-leader', 'name of the Lease'),
  duration('lease-duration', 'leaseDurationMs', '15s', 'how long a silent leader keeps the Lease'),
  duration(
    'renew-deadline',
    'renewDeadlineMs',
    '10s',
    'how long a leader tries to renew before it stops leading',
  ),
  duration('retry-period', 'retryPeriodMs', '2s', 'how often candidates try'),
  flag({
    name: 'log-level',
    key: 'logLevel',
    type: 'string',
    arg: 'LEVEL',
    default: (env) => env.LOG_LEVEL ?? 'info',
    defaultText: 'info, or $LOG_LEVEL',
    help: 'error, warn, info or debug',
    parse: (raw) => {
      if (!LOG_LEVELS.includes(raw as string))
        throw new Error(`--log-level: "${String(raw)}" is not one of ${LOG_LEVELS}`);
      return raw as string;
    },
  }),
  flag({
    name: 'kubeconfig',
    key: 'kubeconfig',
    type: 'string',
    arg: 'PATH',
    defaultText: '$KUBECONFIG, then in-cluster',
    help: 'kubeconfig',
    parse: (raw, _all, env) => (raw as string | undefined) ?? env.KUBECONFIG,
  }),
  flag({
    name: 'test-fault-point',
    key: 'testFaultPoint',
    type: 'string',
    default: (env) => env.DATAMOVER_TEST_FAULT_POINT,
    help: 'test only: SIGKILL right after this action, before the status write',
    hidden: true,
    parse: (raw) => (raw as string | undefined) || undefined,
  }),
  bool(
    'allow-seconds-in-schedules',
    'allowSecondsInSchedules',
    'test only: accept 6-field DataMoverSchedule expressions with seconds',
    true,
  ),
] as const;

type Flags = (typeof FLAGS)[number];

/** The typed, validated, frozen configuration: one property per flag (Flag.key). */
export type Config = { readonly [F in Flags as F['key']]: ReturnType<F['parse']> };

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
    FLAGS.map((f: Flag) => {
      const value = f.default?.(env);
      return [f.name, { type: f.type, ...(value !== undefined ? { default: value } : {}) }];
    }),
  ) as Record<string, { type: 'string' | 'boolean'; default?: string | boolean }>;
  const { values: raw } = parseArgs({ args: argv, strict: true, options });
  const config = Object.freeze(
    Object.fromEntries(FLAGS.map((f: Flag) => [f.key, f.parse(raw[f.name], raw, env)])),
  ) as Config;
  if (!(config.retryPeriodMs < config.renewDeadlineMs && config.renewDeadlineMs < config.leaseDurationMs)) {
    throw new Error('--retry-period < --renew-deadline < --lease-duration must hold');
  }
  return config;
}
