import { describe, expect, it } from 'vitest';
import { nextLeaseAction, type LeaseRecord } from './leader.js';

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
