// metav1.Condition helpers: lastTransitionTime moves only when the status of a condition flips.
import type { Condition } from '../api/v1alpha1/schema.js';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

export function setCondition(
  conditions: Condition[],
  type: string,
  status: ConditionStatus,
  reason: string,
  message: string,
  generation: number | undefined,
  now: Date,
): Condition[] {
  const previous = findCondition(conditions, type);
  const next: Condition = {
    type,
    status,
    reason,
    message,
    lastTransitionTime:
      previous && previous.status === status ? previous.lastTransitionTime : now.toISOString(),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  return previous ? conditions.map((c) => (c.type === type ? next : c)) : [...conditions, next];
}
