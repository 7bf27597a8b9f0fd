// The run cap benchmark counts from the audit log how many runs held a clone or a Job at once.
import { describe, expect, it } from 'vitest';
import { mostOwnersAtOnce, type Lifecycle } from '../support/audit.js';

const ev = (ms: number, verb: Lifecycle['verb'], name: string, namespace = 'a'): Lifecycle => ({
  ms,
  verb,
  namespace,
  resource: name.endsWith('-clone') ? 'persistentvolumeclaims' : 'jobs',
  name,
});
const run = (e: Lifecycle) => e.name.replace(/-(clone|mover)$/, '');

describe('mostOwnersAtOnce', () => {
  it('counts a run once while it holds its clone and its Job, and frees it at its last delete', () => {
    const events = [
      ev(1, 'create', 'r1-clone'),
      ev(2, 'create', 'r1-mover'),
      ev(3, 'create', 'r2-clone'),
      ev(4, 'delete', 'r1-clone'),
      ev(5, 'create', 'r3-clone'),
      ev(6, 'delete', 'r1-mover'),
      ev(7, 'create', 'r4-clone'),
    ];
    expect(mostOwnersAtOnce(events, run)).toBe(3);
  });

  it('tells runs of the same name in two namespaces apart', () => {
    expect(mostOwnersAtOnce([ev(1, 'create', 'r1-clone', 'a'), ev(2, 'create', 'r1-clone', 'b')], run)).toBe(
      2,
    );
  });

  it('is 0 for nothing, and a delete of something never created changes nothing', () => {
    expect(mostOwnersAtOnce([], run)).toBe(0);
    expect(mostOwnersAtOnce([ev(1, 'delete', 'r1-clone'), ev(2, 'create', 'r2-clone')], run)).toBe(1);
  });
});
