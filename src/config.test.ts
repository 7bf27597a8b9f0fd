import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MOVER_IMAGE, FLAGS, USAGE, loadConfig, parseDuration, repositoryOf } from './config.js';

describe('loadConfig', () => {
  it('has production defaults', () => {
    const c = loadConfig([], {});
    expect(c).toMatchObject({
      metricsBindAddress: { host: '0.0.0.0', port: 8080 },
      healthProbeBindAddress: { host: '0.0.0.0', port: 8081 },
      namespaces: [],
      maxConcurrentReconciles: 8,
      sourcePvcGracePeriodMs: 300_000,
      podStartTimeoutMs: 300_000,
      defaultMoverImage: DEFAULT_MOVER_IMAGE,
      allowedMoverImages: ['ghcr.io/datamover-operator/mover'],
      allowMoverServiceAccount: false,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads flags', () => {
    const c = loadConfig(
      [
        '--namespaces=a, b',
        '--max-concurrent-reconciles=8',
        '--pod-start-timeout=90s',
        '--allowed-mover-images=r1,r2:tag',
        '--metrics-bind-address=127.0.0.1:9000',
      ],
      {},
    );
    expect(c.namespaces).toEqual(['a', 'b']);
    expect(c.maxConcurrentReconciles).toBe(8);
    expect(c.podStartTimeoutMs).toBe(90_000);
    expect(c.allowedMoverImages).toEqual(['r1', 'r2:tag']);
    expect(c.metricsBindAddress).toEqual({ host: '127.0.0.1', port: 9000 });
  });

  it('rejects bad input with the flag named', () => {
    expect(() => loadConfig(['--max-concurrent-reconciles=0'], {})).toThrow(
      /--max-concurrent-reconciles: "0"/,
    );
    expect(() => loadConfig(['--pod-start-timeout=soon'], {})).toThrow(
      /--pod-start-timeout: "soon" is not a duration/,
    );
    expect(() => loadConfig(['--log-level=loud'], {})).toThrow(/--log-level/);
    expect(() => loadConfig(['--metrics-bind-address=8080'], {})).toThrow(/must be \[host\]:port/);
    expect(() => loadConfig(['--no-such-flag'], {})).toThrow(/no-such-flag/);
  });
});

describe('helpers', () => {
  it('parses durations', () => {
    expect(parseDuration('x', '250ms')).toBe(250);
    expect(parseDuration('x', '1.5m')).toBe(90_000);
    expect(parseDuration('x', '2h')).toBe(7_200_000);
  });

  it('finds the repository of an image reference', () => {
    expect(repositoryOf('ghcr.io/a/b:1.0')).toBe('ghcr.io/a/b');
    expect(repositoryOf('localhost:5000/b')).toBe('localhost:5000/b');
    expect(repositoryOf('b@sha256:abc')).toBe('b');
  });
});

describe('the flags', () => {
  it('are the ones docs/install.md lists, with the same meaning and default as --help says', () => {
    const readme = readFileSync('docs/install.md', 'utf8');
    const start = readme.indexOf('## Flags');
    const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
    const rows = [...section.matchAll(/^\| `--([a-z-]+)` \| (.*?) \| (.*?) \|$/gm)].map((m) => ({
      name: m[1]!,
      dflt: m[2]!.trim().replace(/\\\|/g, '|'),
      help: m[3]!.trim(),
    }));
    expect(rows.map((r) => r.name)).toEqual(FLAGS.filter((f) => !f.hidden).map((f) => f.name));
    const lines = USAGE.split('\n');
    for (const row of rows) {
      const line = lines.find(
        (l) => l.trimStart().startsWith(`--${row.name} `) || l.trim() === `--${row.name}`,
      );
      expect(line, row.name).toBeDefined();
      const dflt = row.dflt ? ` (default ${row.dflt})` : '';
      expect(line!.endsWith(`${row.help}${dflt}`), `${row.name}: ${line}`).toBe(true);
    }
  });

  it('are all accepted by the parser, and only they', () => {
    for (const f of FLAGS.filter((f) => f.type === 'boolean'))
      expect(() => loadConfig([`--${f.name}`], {})).not.toThrow();
    expect(() => loadConfig(['--no-such-flag'], {})).toThrow(/no-such-flag/);
  });
});
