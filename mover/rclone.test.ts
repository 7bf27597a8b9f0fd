// Reading what rclone printed: the exit code and message of a failed run, and a sync's statistics.
import { describe, expect, it } from 'vitest';
import { MoverExit } from '../src/contract/exit-codes.js';
import { remoteFromEnv } from './plan.js';
import { classifyRcloneFailure, finalStats } from './rclone.js';

/** The bucket a failure message names: the Secret's keys are all a remote needs. */
const remote = () =>
  remoteFromEnv({
    AWS_ACCESS_KEY_ID: 'AKIA',
    AWS_SECRET_ACCESS_KEY: 's',
    BUCKET_HOST: 'h',
    BUCKET_NAME: 'backups',
  });

describe('classifyRcloneFailure', () => {
  const plan = remote();
  it.each([
    ['InvalidAccessKeyId: The AWS access key Id you provided does not exist', MoverExit.CredentialsRejected],
    [
      'operation error S3: ListObjects, https response error StatusCode: 403, api error SignatureDoesNotMatch',
      MoverExit.CredentialsRejected,
    ],
    ['error listing: directory not found', MoverExit.BucketNotFound],
    ['NoSuchBucket: The specified bucket does not exist', MoverExit.BucketNotFound],
    ['Get "http://h/b": dial tcp 127.0.0.1:9: connect: connection refused', MoverExit.EndpointUnreachable],
    ['{"level":"error","msg":"Failed to copy: unexpected EOF","object":"big.bin"}', MoverExit.TransferFailed],
  ])('%s -> exit %i', (output, code) => {
    expect(classifyRcloneFailure(output, plan).exitCode).toBe(code);
  });

  it('names the file of a transfer error in one line', () => {
    const err = classifyRcloneFailure(
      '{"level":"error","msg":"Failed to copy:\\nunexpected EOF","object":"dir/big.bin"}',
      plan,
    );
    expect(err.message).toBe('sync failed: dir/big.bin: Failed to copy: unexpected EOF');
  });
});

describe('finalStats', () => {
  it("reads rclone's last statistics line", () => {
    const out = [
      '{"level":"info","msg":"Copied (new)"}',
      '{"level":"notice","msg":"x","stats":{"bytes":13,"transfers":3,"errors":0}}',
    ].join('\n');
    expect(finalStats(out)).toEqual({ bytes: 13, files: 3, errors: 0, serverSideBytes: 0 });
    // An incremental sync: of its bytes, those copied inside the bucket (--copy-dest).
    const incremental = '{"stats":{"bytes":1000,"transfers":4,"errors":0,"serverSideCopyBytes":900}}';
    expect(finalStats(incremental)).toMatchObject({ bytes: 1000, serverSideBytes: 900 });
    expect(finalStats('nothing')).toBeUndefined();
  });
});
