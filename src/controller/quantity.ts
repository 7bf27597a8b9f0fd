// Kubernetes resource quantities, enough to compare storage sizes exactly (BigInt bytes).
/** Decimal (k, M, …) and binary (Ki, Mi, …) suffixes: the n-th of each is 1000^n or 1024^n. */
const SUFFIX: Record<string, bigint> = { '': 1n };
['k', 'M', 'G', 'T', 'P', 'E'].forEach((prefix, i) => {
  const power = BigInt(i + 1);
  SUFFIX[prefix] = 1000n ** power;
  SUFFIX[`${prefix === 'k' ? 'K' : prefix}i`] = 1024n ** power;
});

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
