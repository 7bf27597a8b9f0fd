import { describe, expect, it } from 'vitest';
import { DATA_REMOTE, RUN_REMOTE, cryptKeysFromEnv, cryptRemotesEnv, obscure, reveal } from './crypt.js';

describe('obscure', () => {
  it('reads what rclone obscure wrote, and writes what it reads back', () => {
    // `echo -n hunter2 | rclone obscure -` with rclone v1.76.0.
    expect(reveal('gtpIrsCjU0vXesYR6VDgEZhM9TggmLw')).toBe('hunter2');
    expect(reveal(obscure('correct horse battery staple ✓'))).toBe('correct horse battery staple ✓');
  });

  it('never gives the same text twice for one password, and never the password itself', () => {
    const a = obscure('secret');
    expect(a).not.toBe(obscure('secret'));
    expect(a).not.toContain('secret');
    expect(a).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

describe('the crypt remotes of a run', () => {
  it('wrap the data folder with names encrypted, and the run folder with names kept', () => {
    const keys = cryptKeysFromEnv('pw', 'salt')!;
    const env = cryptRemotesEnv('DATAMOVER:bucket/ns/data/mirror', keys);
    expect(env).toMatchObject({
      [`RCLONE_CONFIG_${DATA_REMOTE}_TYPE`]: 'crypt',
      [`RCLONE_CONFIG_${DATA_REMOTE}_REMOTE`]: 'DATAMOVER:bucket/ns/data/mirror/data',
      [`RCLONE_CONFIG_${DATA_REMOTE}_FILENAME_ENCRYPTION`]: 'standard',
      [`RCLONE_CONFIG_${DATA_REMOTE}_NO_DATA_ENCRYPTION`]: 'false',
      [`RCLONE_CONFIG_${RUN_REMOTE}_REMOTE`]: 'DATAMOVER:bucket/ns/data/mirror',
      [`RCLONE_CONFIG_${RUN_REMOTE}_FILENAME_ENCRYPTION`]: 'off',
    });
    expect(reveal(env[`RCLONE_CONFIG_${DATA_REMOTE}_PASSWORD`]!)).toBe('pw');
    expect(reveal(env[`RCLONE_CONFIG_${RUN_REMOTE}_PASSWORD2`]!)).toBe('salt');
    expect(Object.values(env)).not.toContain('pw');
  });

  it('are not defined without a password', () => {
    expect(cryptKeysFromEnv(undefined, undefined)).toBeUndefined();
    expect(cryptKeysFromEnv('', 'salt')).toBeUndefined();
    expect(cryptKeysFromEnv('pw', undefined)).not.toHaveProperty('salt');
  });
});
