import { describe, expect, it } from 'vitest';
import { engineProblem } from './engine.js';

describe('the Node.js engine check', () => {
  it('refuses an older Node.js, naming the version it needs and the one it runs on', () => {
    const problem = engineProblem('20.20.2', '>=22.19');
    expect(problem).toContain('needs Node.js 22.19 or newer');
    expect(problem).toContain('this is Node.js 20.20.2');
    expect(engineProblem('22.18.9', '>=22.19')).toContain('needs Node.js 22.19');
  });

  it('accepts the version it needs and newer ones', () => {
    for (const v of ['22.19.0', '22.20.1', '24.9.0', 'v26.0.0'])
      expect(engineProblem(v, '>=22.19')).toBeUndefined();
  });

  it('never refuses what it cannot read', () => {
    expect(engineProblem('20.0.0', undefined)).toBeUndefined();
    expect(engineProblem('20.0.0', '^22 || ^24')).toBeUndefined();
  });
});
