import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { LeaderElector, nextLeaseAction, type LeaderTimings, type LeaseRecord } from './leader.js';

/** An elector whose API calls go to `api` (a stand-in for the Lease endpoints). */
function elector(
  timings: LeaderTimings,
  api: object,
  log = winston.createLogger({ silent: true }),
  now?: () => number,
): LeaderElector {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const callbacks = { onStartedLeading() {}, onStoppedLeading() {} };
  const made = new LeaderElector(kc, 'ns', 'lease', 'me', timings, callbacks, log, now);
  (made as unknown as { api: unknown }).api = api;
  return made;
}

const renew = (e: LeaderElector) =>
  (e as unknown as { tryAcquireOrRenew(): Promise<void> }).tryAcquireOrRenew();

const held = (holder: string): LeaseRecord => ({
  holder,
  leaseDurationSeconds: 15,
  transitions: 0,
  renewTime: 'x',
});

describe('nextLeaseAction', () => {
  it('creates a missing Lease', () => {
    expect(nextLeaseAction(undefined, 'me', 0, 0)).toBe('create');
  });

  it('renews its own Lease', () => {
    expect(nextLeaseAction(held('me'), 'me', 100_000, 0)).toBe('renew');
  });

  it("waits while another holder's record has changed within the lease duration", () => {
    expect(nextLeaseAction(held('other'), 'me', 14_999, 0)).toBe('wait');
  });

  it('takes over a record unchanged for a whole lease duration on its own clock', () => {
    expect(nextLeaseAction(held('other'), 'me', 15_000, 0)).toBe('takeover');
  });

  it('takes a released Lease at once', () => {
    expect(nextLeaseAction(held(''), 'me', 1, 0)).toBe('takeover');
  });
});

describe('LeaderElector.holdsLease', () => {
  it('does not count a renewal whose answer arrived after a pause longer than the renew deadline', async () => {
    let clock = 1_000_000;
    const timings = { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 };
    const lease = (holder: string) => ({
      metadata: { name: 'lease', namespace: 'ns', resourceVersion: '1' },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: 4,
        renewTime: new Date(clock),
        leaseTransitions: 0,
      },
    });
    let pauseDuringReplace = 0;
    // The API as the elector sees it: a Lease it holds; replace answers after `pauseDuringReplace`.
    const e = elector(
      timings,
      {
        readNamespacedLease: async () => lease('me'),
        replaceNamespacedLease: async ({ body }: { body: unknown }) => {
          clock += pauseDuringReplace;
          return body;
        },
        createNamespacedLease: async ({ body }: { body: unknown }) => body,
      },
      undefined,
      () => clock,
    );
    await renew(e);
    expect(e.holdsLease()).toBe(true);
    pauseDuringReplace = 10_000; // SIGSTOP with the renewal's answer in flight
    await renew(e);
    expect(e.holdsLease()).toBe(false);
  });
});

describe('LeaderElector.stop', () => {
  it('releases the Lease after a renewal that was in flight, not with its stale resourceVersion', async () => {
    const warnings: string[] = [];
    const log = winston.createLogger({ silent: true });
    log.warn = ((message: string) => {
      warnings.push(message);
      return log;
    }) as typeof log.warn;
    const timings = { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 60_000 };
    // The apiserver as the elector sees it: replace is refused (409) unless it names the current
    // resourceVersion; `hold` delays the answer of the next replace.
    type Lease = { metadata: { resourceVersion: string }; spec: Record<string, unknown> };
    let stored: Lease = {
      metadata: { resourceVersion: '1' },
      spec: { holderIdentity: 'me', leaseDurationSeconds: 4, renewTime: new Date(), leaseTransitions: 0 },
    };
    let hold: Promise<void> | undefined;
    let applied!: () => void;
    const renewalApplied = new Promise<void>((resolve) => (applied = resolve));
    const api = {
      readNamespacedLease: async () => structuredClone(stored),
      replaceNamespacedLease: async ({ body }: { body: Lease }) => {
        if (body.metadata.resourceVersion !== stored.metadata.resourceVersion) {
          throw Object.assign(new Error('conflict'), { code: 409 });
        }
        stored = {
          metadata: { resourceVersion: String(Number(stored.metadata.resourceVersion) + 1) },
          spec: body.spec,
        };
        const answer = structuredClone(stored);
        if (hold) {
          applied();
          await hold;
        }
        return answer;
      },
    };
    const e = elector(timings, api, log);
    await renew(e);
    expect(e.isLeader).toBe(true);
    let answer!: () => void;
    hold = new Promise((resolve) => (answer = resolve));
    e.start(); // a renewal, applied, its answer held back
    await renewalApplied;
    const stopping = e.stop();
    hold = undefined;
    answer();
    await stopping;
    expect(stored.spec.holderIdentity).toBe('');
    expect(warnings).toEqual([]);
  });
});
