import { describe, expect, it } from 'vitest';
import { dm } from '../controller/datamover/fixtures.test-helpers.js';
import { boundedName, childLabels, cloneName, jobName, ownerKey } from './names.js';

describe('child names', () => {
  it('derive from the DataMover name', () => {
    expect(cloneName(dm())).toBe('backup-clone');
    expect(jobName(dm())).toBe('backup-mover');
  });

  it('stay within 63 characters and differ for long names that share a prefix', () => {
    const a = 'x'.repeat(70) + 'a';
    const b = 'x'.repeat(70) + 'b';
    expect(boundedName(a, '-clone')).toHaveLength(63);
    expect(boundedName(a, '-clone')).not.toBe(boundedName(b, '-clone'));
    expect(boundedName(a, '-clone')).toMatch(/^x+-[0-9a-f]{8}-clone$/);
    expect(boundedName('y'.repeat(57), '-clone')).toBe('y'.repeat(57) + '-clone');
  });

  it('never end the kept part with a dash before the hash', () => {
    const name = boundedName('a'.repeat(44) + '-'.repeat(30), '-mover');
    expect(name).not.toMatch(/--/);
  });

  it('label children with the managing operator and the (bounded) owner', () => {
    const long = dm({}, undefined, 'n'.repeat(200));
    expect(childLabels(long)['datamover.io/datamover']).toHaveLength(63);
    expect(childLabels(dm())).toEqual({
      'app.kubernetes.io/managed-by': 'datamover-operator',
      'datamover.io/datamover': 'backup',
    });
  });
});

describe('ownerKey', () => {
  it('reads the controller reference, or the owner annotation on mover pods', () => {
    const ref = {
      apiVersion: 'datamover.io/v1alpha1',
      kind: 'DataMover',
      name: 'b',
      uid: 'u',
      controller: true,
    };
    expect(ownerKey({ metadata: { namespace: 'ns', ownerReferences: [ref] } })).toBe('ns/b');
    expect(
      ownerKey({ metadata: { namespace: 'ns', annotations: { 'datamover.io/datamover-name': 'p' } } }),
    ).toBe('ns/p');
    expect(
      ownerKey({ metadata: { namespace: 'ns', ownerReferences: [{ ...ref, controller: false }] } }),
    ).toBeUndefined();
  });
});

describe('ownerKey per kind', () => {
  const job = (kind: string) => ({
    metadata: {
      namespace: 'ns',
      ownerReferences: [{ apiVersion: 'datamover.io/v1alpha1', kind, name: 'r', uid: 'u', controller: true }],
    },
  });
  const pod = (annotation: string) => ({ metadata: { namespace: 'ns', annotations: { [annotation]: 'r' } } });

  it("maps a restore's Job and pods to the restore, and never to a DataMover of that name", () => {
    expect(ownerKey(job('DataMoverRestore'), 'DataMoverRestore')).toBe('ns/r');
    expect(ownerKey(pod('datamover.io/restore-name'), 'DataMoverRestore')).toBe('ns/r');
    expect(ownerKey(job('DataMoverRestore'))).toBeUndefined();
    expect(ownerKey(pod('datamover.io/restore-name'))).toBeUndefined();
  });

  it("maps a DataMover's Job and pods to the DataMover only", () => {
    expect(ownerKey(job('DataMover'), 'DataMoverRestore')).toBeUndefined();
    expect(ownerKey(pod('datamover.io/datamover-name'), 'DataMoverRestore')).toBeUndefined();
  });
});
