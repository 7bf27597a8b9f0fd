// A DataMoverSchedule's PVC selector as the apiserver's label-selector syntax, so the list that picks
// the PVCs at a fire time is filtered by the server. The operator's own clones are never picked.
import type { DataMoverScheduleSpec } from '../../api/v1alpha1/schedule.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../../kube/names.js';

type Selector = NonNullable<DataMoverScheduleSpec['selector']>;

export function selectorString(selector: Selector): string {
  const terms = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = `(${(e.values ?? []).join(',')})`;
    if (e.operator === 'In') terms.push(`${e.key} in ${values}`);
    else if (e.operator === 'NotIn') terms.push(`${e.key} notin ${values}`);
    else if (e.operator === 'Exists') terms.push(e.key);
    else terms.push(`!${e.key}`);
  }
  terms.push(`${MANAGED_BY_LABEL}!=${MANAGED_BY}`);
  return terms.join(',');
}
