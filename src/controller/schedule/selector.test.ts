import { describe, expect, it } from 'vitest';
import { selectorString } from './selector.js';

describe('selectorString', () => {
  it('writes labels and every operator as the apiserver reads them, and never picks our clones', () => {
    expect(
      selectorString({
        matchLabels: { app: 'db', tier: 'data' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['prod', 'staging'] },
          { key: 'skip', operator: 'NotIn', values: ['true'] },
          { key: 'backup', operator: 'Exists' },
          { key: 'scratch', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe(
      'app=db,tier=data,env in (prod,staging),skip notin (true),backup,!scratch,app.kubernetes.io/managed-by!=datamover-operator',
    );
  });
});
