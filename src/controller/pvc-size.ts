// The size a PVC made from another must ask for: the larger of the source's request and capacity.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { maxQuantity } from './quantity.js';

export function sizeLike(source: V1PersistentVolumeClaim): string {
  const requested = source.spec?.resources?.requests?.storage;
  const capacity = source.status?.capacity?.storage;
  const size = maxQuantity(requested, capacity);
  if (!size) throw new Error(`source PVC ${source.metadata?.name} has no storage request or capacity`);
  return size;
}
