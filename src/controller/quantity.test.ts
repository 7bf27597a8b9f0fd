import { describe, expect, it } from 'vitest';
import { maxQuantity, quantityBytes } from './quantity.js';

describe('storage quantities', () => {
  it.each([
    ['1Gi', 1024n ** 3n],
    ['1G', 1000n ** 3n],
    ['1.5Gi', 3n * 512n * 1024n ** 2n],
    ['100', 100n],
    ['1k', 1000n],
    ['0.1', 1n],
  ])('%s is %s bytes', (q, bytes) => {
    expect(quantityBytes(q)).toBe(bytes);
  });

  it('picks the larger of request and capacity, as written', () => {
    expect(maxQuantity('1Gi', '1100Mi')).toBe('1100Mi');
    expect(maxQuantity('2G', '1Gi')).toBe('2G');
    expect(maxQuantity(undefined, '5Gi')).toBe('5Gi');
    expect(maxQuantity('5Gi', undefined)).toBe('5Gi');
  });

  it('refuses what it cannot read', () => {
    expect(() => quantityBytes('lots')).toThrow(/unsupported storage quantity "lots"/);
  });
});
