// Kubernetes resource quantities, enough to compare storage sizes exactly (BigInt bytes).
const SUFFIX: Record<string, bigint> = {
  '': 1n,
  k: 1000n,
  M: 1000n ** 2n,
  G: 1000n ** 3n,
  T: 1000n ** 4n,
  P: 1000n ** 5n,
  E: 1000n ** 6n,
  Ki: 1024n,
  Mi: 1024n ** 2n,
  Gi: 1024n ** 3n,
  Ti: 1024n ** 4n,
  Pi: 1024n ** 5n,
  Ei: 1024n ** 6n,
};

const QUANTITY = /^(\d+)(?:\.(\d+))?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

/** Bytes in a quantity, rounded up; throws on a quantity it does not understand. */
export function quantityBytes(quantity: string): bigint {
  const match = QUANTITY.exec(quantity.trim());
  if (!match) throw new Error(`unsupported storage quantity "${quantity}"`);
  const [, whole = '0', fraction = '', suffix = ''] = match;
  const unit = SUFFIX[suffix] ?? 1n;
  const scale = 10n ** BigInt(fraction.length);
  const numerator = (BigInt(whole) * scale + BigInt(fraction || '0')) * unit;
  return (numerator + scale - 1n) / scale;
}

/** The larger of two quantities, as written; undefined when both are absent. */
export function maxQuantity(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return quantityBytes(b) > quantityBytes(a) ? b : a;
}
