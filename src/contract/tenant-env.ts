// What a tenant may put into the mover's environment (a DataMover's additionalEnv): data, never
// code. An allowlist, shared by the CRD's CEL rules (src/api/v1alpha1/schema.ts), the operator
// (checks.ts, for objects admitted under an older CRD) and the mover (mover/plan.ts, which refuses
// to start with a name outside it and gives rclone a clean environment). docs/security.md.
//
// Allowed: (1) plain names, which nothing in the mover image reads as configuration: upper-case
// letters, digits and underscores, outside every family below (the original operator's
// ENVIRONMENT=production is one); (2) the rclone tuning flags of RCLONE_TUNING, each with a value of
// its kind. Only literal values: valueFrom is refused. Pure: names and patterns only.

/** The kinds of value a tuning flag takes, as patterns (RE2 and JavaScript alike: CEL uses RE2). */
export const VALUE_PATTERNS = {
  count: '^[0-9]{1,6}$',
  number: '^[0-9]{1,6}(\\.[0-9]{1,3})?$',
  size: '^[0-9]{1,12}(\\.[0-9]{1,6})?([bBkKmMgGtTpP]i?B?)?$',
  duration: '^0$|^([0-9]{1,6}(\\.[0-9]{1,3})?(ns|us|ms|s|m|h)){1,4}$',
  bandwidth:
    '^off$|^[0-9]{1,12}(\\.[0-9]{1,6})?[bBkKmMgGtTpP]?(:[0-9]{1,12}(\\.[0-9]{1,6})?[bBkKmMgGtTpP]?)?$',
  bool: '^(true|false)$',
} as const;
export type ValueKind = keyof typeof VALUE_PATTERNS;

export const VALUE_WORDS: Record<ValueKind, string> = {
  count: 'a whole number',
  number: 'a number',
  size: 'a size such as 16M or 1.5Gi',
  duration: 'a duration such as 30s or 1m30s',
  bandwidth: 'a bandwidth such as 10M or 10M:1M (upload:download), or off',
  bool: 'true or false',
};

/**
 * The rclone flags a tenant may tune through the environment (rclone reads `RCLONE_<FLAG>` as
 * `--<flag>`): how hard and how fast the transfer works, never where data goes, what is logged or how
 * it is checked (the mover reads rclone's statistics and verifies against its own manifest).
 */
export const RCLONE_TUNING: Readonly<Record<string, ValueKind>> = {
  RCLONE_TRANSFERS: 'count',
  RCLONE_CHECKERS: 'count',
  RCLONE_BWLIMIT: 'bandwidth',
  RCLONE_BUFFER_SIZE: 'size',
  RCLONE_MULTI_THREAD_STREAMS: 'count',
  RCLONE_MULTI_THREAD_CUTOFF: 'size',
  RCLONE_MAX_BACKLOG: 'count',
  RCLONE_TPSLIMIT: 'number',
  RCLONE_TPSLIMIT_BURST: 'count',
  RCLONE_RETRIES: 'count',
  RCLONE_RETRIES_SLEEP: 'duration',
  RCLONE_LOW_LEVEL_RETRIES: 'count',
  RCLONE_TIMEOUT: 'duration',
  RCLONE_CONTIMEOUT: 'duration',
  RCLONE_USE_MMAP: 'bool',
  RCLONE_S3_CHUNK_SIZE: 'size',
  RCLONE_S3_UPLOAD_CUTOFF: 'size',
  RCLONE_S3_COPY_CUTOFF: 'size',
  RCLONE_S3_UPLOAD_CONCURRENCY: 'count',
  RCLONE_S3_MAX_UPLOAD_PARTS: 'count',
};

/** A plain name: upper-case letters, digits and underscores, starting with a letter. */
export const PLAIN_NAME = '^[A-Z][A-Z0-9_]{0,127}$';

/**
 * The families of names that something in the mover pod reads as configuration, each a rule of its
 * own (the CRD's message names it): prefixes, whole names and suffixes.
 */
export interface EnvFamily {
  /** Who reads these names: the rule's name in messages. */
  readBy: string;
  prefixes: readonly string[];
  names: readonly string[];
  suffixes: readonly string[];
}

export const ENV_FAMILIES: readonly EnvFamily[] = [
  {
    readBy: 'the operator and the bucket Secret (credentials, bucket and run settings)',
    prefixes: ['AWS_', 'DATAMOVER_', 'BUCKET_'],
    names: ['TLS_HOST'],
    suffixes: [],
  },
  {
    readBy: `rclone (every RCLONE_* is a flag, a remote or a config file; only the tuning flags ${Object.keys(RCLONE_TUNING).join(', ')} are allowed)`,
    prefixes: ['RCLONE_'],
    names: ['RCLONE'],
    suffixes: [],
  },
  {
    readBy: 'Node.js (options, module paths, certificates, colours)',
    prefixes: ['NODE_', 'UV_', 'NPM_', 'COREPACK_'],
    names: ['FORCE_COLOR', 'NO_COLOR', 'NO_UPDATE_NOTIFIER'],
    suffixes: [],
  },
  {
    readBy: 'the dynamic loader and the C library (preloads, allocators, converters, name resolution)',
    prefixes: ['LD_', 'GLIBC_', 'MALLOC_'],
    names: ['GCONV_PATH', 'GETCONF_DIR', 'HOSTALIASES', 'LOCALDOMAIN', 'RES_OPTIONS', 'LOCPATH', 'NLSPATH'],
    suffixes: [],
  },
  {
    readBy: 'the shell and the process (search paths, start-up files, home and temporary folders)',
    prefixes: ['BASH_', 'XDG_'],
    names: [
      'PATH',
      'HOME',
      'SHELL',
      'ENV',
      'IFS',
      'CDPATH',
      'PS1',
      'PS2',
      'PS4',
      'USER',
      'LOGNAME',
      'HOSTNAME',
      'PWD',
      'OLDPWD',
      'TMPDIR',
      'TERM',
      'TERMINFO',
      'EDITOR',
      'VISUAL',
      'PAGER',
    ],
    suffixes: [],
  },
  {
    readBy: 'locale and time zone handling',
    prefixes: ['LC_'],
    names: ['LANG', 'LANGUAGE', 'TZ', 'TZDIR'],
    suffixes: [],
  },
  {
    readBy: 'TLS stacks (certificate files, engines, configuration)',
    prefixes: ['SSL_', 'OPENSSL_'],
    names: ['CURL_CA_BUNDLE', 'REQUESTS_CA_BUNDLE'],
    suffixes: [],
  },
  {
    readBy: "Go's runtime and cloud SDKs in rclone (GODEBUG, GOMAXPROCS, credentials)",
    prefixes: ['GO', 'AZURE_', 'OS_', 'SSH_'],
    names: [],
    suffixes: [],
  },
  {
    readBy: 'HTTP clients (proxies: an administrator setting, not a tenant one)',
    prefixes: [],
    names: ['NO_PROXY'],
    suffixes: ['_PROXY'],
  },
  {
    readBy: 'Kubernetes (service discovery)',
    prefixes: ['KUBERNETES_'],
    names: [],
    suffixes: [],
  },
];

export const ALLOWED_ENV_SUMMARY =
  'additionalEnv takes plain names (upper-case letters, digits and underscores that nothing in the mover reads) and the rclone tuning flags, with literal values (docs/security.md)';

export function familyOf(name: string): EnvFamily | undefined {
  if (name in RCLONE_TUNING) return undefined;
  return ENV_FAMILIES.find(
    (f) =>
      f.prefixes.some((p) => name.startsWith(p)) ||
      f.names.includes(name) ||
      f.suffixes.some((s) => name.endsWith(s)),
  );
}

/** Why a tenant's variable may not reach the mover (undefined: it may). */
export function tenantEnvProblem(e: {
  name: string;
  value?: string;
  valueFrom?: unknown;
}): string | undefined {
  const name = e.name;
  if (e.valueFrom !== undefined && e.valueFrom !== null) {
    return `additionalEnv ${name}: valueFrom is refused; give a literal value (the bucket's keys come from secretName)`;
  }
  if (!new RegExp(PLAIN_NAME).test(name)) {
    return `additionalEnv ${name} is refused: not a plain name; ${ALLOWED_ENV_SUMMARY}`;
  }
  const tuning = RCLONE_TUNING[name];
  if (tuning) {
    const value = e.value ?? '';
    if (!new RegExp(VALUE_PATTERNS[tuning]).test(value)) {
      return `additionalEnv ${name} is refused: ${name} takes ${VALUE_WORDS[tuning]}`;
    }
    return undefined;
  }
  const family = familyOf(name);
  if (family) return `additionalEnv ${name} is refused: ${family.readBy} read it; ${ALLOWED_ENV_SUMMARY}`;
  return undefined;
}

/** The name a tenant's variables are listed under for the mover to check again (comma-separated). */
export const TENANT_ENV_LIST = 'DATAMOVER_TENANT_ENV';

/**
 * Names that run code or change where a process loads code from, whoever set them: the mover
 * refuses to start when its environment has any (a pod of another operator version, a hand-made Job).
 */
export const NEVER_IN_MOVER = [
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_EXTRA_CA_CERTS',
  'NODE_TLS_REJECT_UNAUTHORIZED',
  'LD_PRELOAD',
  'LD_LIBRARY_PATH',
  'LD_AUDIT',
  'GCONV_PATH',
  'BASH_ENV',
  'ENV',
  'RCLONE_BINARY',
  'RCLONE_CONFIG_PASS',
  'RCLONE_PASSWORD_COMMAND',
] as const;
