import { describe, expect, it } from 'vitest';
import { DEFAULT_MOVER_IMAGE, loadConfig, parseDuration, repositoryOf } from './config.js';

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
