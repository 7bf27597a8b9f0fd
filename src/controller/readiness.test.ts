import { describe, expect, it } from 'vitest';
import { stalledRecheckMs } from './readiness.js';

describe('a stalled snapshot or clone', () => {
  it('is looked at again the less often the longer it stalls, from 2 to 30 s, never past the timeout', () => {
    const timeout = 600_000;
    expect([1_000, 20_000, 61_000, 200_000, 590_000].map((w) => stalledRecheckMs(w, timeout))).toEqual([
      2_000, 5_000, 15_250, 30_000, 10_000,
    ]);
  });
});
