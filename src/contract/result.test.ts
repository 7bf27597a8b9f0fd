import { describe, expect, it } from 'vitest';
import { MAX_REPORTED_RUNS, abandonedReport, parseMoverResult, pruneReport } from './result.js';

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

  it("reads an incremental run's bytes uploaded and the run it copied the rest from", () => {
    const result = parseMoverResult(
      '{"bytes":1000,"uploaded":10,"base":"2026-01-02-030405-0123abcd","files":3,"destination":"b/p/"}',
    );
    expect(result).toMatchObject({ bytes: 1000, uploaded: 10, base: '2026-01-02-030405-0123abcd' });
    expect(parseMoverResult('{"bytes":1,"uploaded":-1,"base":7}')).toEqual({ bytes: 1 });
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

  it("carries the prune's report, its list of runs bounded", () => {
    const runs = Array.from({ length: 500 }, (_, i) => `2026-01-01-${String(i).padStart(6, '0')}`);
    const report = pruneReport(7, runs, 'x'.repeat(5000));
    expect(report.removed).toHaveLength(MAX_REPORTED_RUNS);
    expect(report.removedCount).toBe(500);
    const message = JSON.stringify({
      bytes: 1,
      files: 1,
      errors: 0,
      seconds: 1,
      destination: 'b/p/',
      prune: report,
    });
    expect(message.length).toBeLessThan(4096);
    expect(parseMoverResult(message)?.prune).toEqual({
      kept: 7,
      removed: runs.slice(0, MAX_REPORTED_RUNS),
      removedCount: 500,
      error: 'x'.repeat(1024),
    });
  });

  it('reads a prune report of the wrong shape as none, and a short count as the names it lists', () => {
    expect(parseMoverResult('{"bytes":1,"prune":{"removed":["a"]}}')).toEqual({ bytes: 1 });
    expect(parseMoverResult('{"prune":{"kept":2,"removed":["a",3,"b"],"removedCount":0}}')?.prune).toEqual({
      kept: 2,
      removed: ['a', 'b'],
      removedCount: 2,
    });
  });

  it('reads verify and restore reports, naming at most ten mismatches', () => {
    const mismatched = Array.from({ length: 30 }, (_, i) => `f${i}: content`);
    const parsed = parseMoverResult(
      JSON.stringify({
        verify: { verified: 12, mismatches: 30, mismatched },
        restore: { run: '2026-12-01-030000', bytes: 9, files: 3, verified: 3, mismatches: 0, mismatched: [] },
      }),
    );
    expect(parsed?.verify).toEqual({ verified: 12, mismatches: 30, mismatched: mismatched.slice(0, 10) });
    expect(parsed?.restore).toEqual({
      run: '2026-12-01-030000',
      bytes: 9,
      files: 3,
      verified: 3,
      mismatches: 0,
      mismatched: [],
    });
    expect(parseMoverResult('{"restore":{"verified":1,"mismatches":0}}')?.restore).toBeUndefined();
  });
});

describe('the report of abandoned runs', () => {
  it('names at most ten, counts all, and is read back; an older report has none', () => {
    const runs = Array.from({ length: 25 }, (_, i) => `2026-01-01-${String(i).padStart(6, '0')}-0a1b2c3d`);
    const report = abandonedReport(runs, 'x'.repeat(5000));
    expect(report.removed).toHaveLength(10);
    expect(report.removedCount).toBe(25);
    expect(report.error).toHaveLength(512);
    expect(parseMoverResult(JSON.stringify({ bytes: 1, abandoned: report }))?.abandoned).toEqual(report);
    expect(parseMoverResult('{"bytes":1}')).not.toHaveProperty('abandoned');
    expect(parseMoverResult('{"bytes":1,"abandoned":{"removed":[],"removedCount":0}}')).toEqual({ bytes: 1 });
    expect(parseMoverResult('{"abandoned":{"removed":["a",3],"removedCount":0}}')?.abandoned).toEqual({
      removed: ['a'],
      removedCount: 1,
    });
  });
});

describe('a restore report', () => {
  it('carries what the restore could not apply, bounded', () => {
    const named = Array.from({ length: 15 }, (_, i) => `f${i}: owner (0:0, not 1:1)`);
    const parsed = parseMoverResult(
      JSON.stringify({
        restore: {
          run: 'mirror',
          bytes: 1,
          files: 1,
          verified: 3,
          mismatches: 0,
          mismatched: [],
          notApplied: { count: 15, named },
        },
      }),
    );
    expect(parsed?.restore?.notApplied).toEqual({ count: 15, named: named.slice(0, 10) });
    const without = parseMoverResult(
      JSON.stringify({ restore: { run: 'mirror', verified: 1, mismatches: 0 } }),
    );
    expect(without?.restore).not.toHaveProperty('notApplied');
  });
});
