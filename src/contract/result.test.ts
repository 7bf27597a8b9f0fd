import { describe, expect, it } from 'vitest';
import { parseMoverResult } from './result.js';

describe("the mover's termination message", () => {
  it('is read as the JSON result', () => {
    expect(
      parseMoverResult('{"bytes":1048576,"files":3,"errors":0,"seconds":1.5,"destination":"b/p/"}'),
    ).toEqual({
      bytes: 1048576,
      files: 3,
      errors: 0,
      seconds: 1.5,
      destination: 'b/p/',
    });
  });

  it('ignores what is not a result', () => {
    expect(parseMoverResult('Error: boom')).toBeUndefined();
    expect(parseMoverResult('{not json')).toBeUndefined();
    expect(parseMoverResult(undefined)).toBeUndefined();
  });

  it('drops fields of the wrong type and bounds the error line', () => {
    expect(parseMoverResult(`{"bytes":-1,"files":"3","error":"${'x'.repeat(5000)}"}`)).toEqual({
      error: 'x'.repeat(1024),
    });
  });
});
