// Client-side encryption: the run's data folder and its manifest go through rclone crypt remotes
// wrapping the S3 remote, defined like it through RCLONE_CONFIG_<NAME>_* variables (no config file on
// the read-only root filesystem). Pure, apart from the random IV of obscure().
//
//   DATAMOVERDATA:  crypt over <bucket>/<root>/<run>/data, names and contents encrypted
//   DATAMOVERRUN:   crypt over <bucket>/<root>/<run>, names in the clear, contents encrypted: only the
//                   manifest goes through it, as <run>/manifest.jsonl.bin (the name is no secret)
//
// rclone wants its crypt passwords obscured in a remote's definition. `rclone obscure` would need the
// password on its command line (visible in /proc) or a second process per run; obscuring is AES-CTR
// under a fixed, public key with a random IV (rclone's lib/obscure), a dozen lines here. It hides
// nothing from anyone who can read the environment: the Secret is the protection, obscuring is only
// the encoding rclone accepts. The password is never logged: it lives in rclone's environment only.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const DATA_REMOTE = 'DATAMOVERDATA';
export const RUN_REMOTE = 'DATAMOVERRUN';

/** rclone's lib/obscure key: a constant of rclone's source, not a secret. */
const OBSCURE_KEY = Buffer.from('9c935b48730a554d6bfd7c63c886a92bd390198eb8128afbf4de162b8b95f638', 'hex');

/** `rclone obscure`: a random IV, then the password under AES-256-CTR, base64url without padding. */
export function obscure(password: string, iv: Buffer = randomBytes(16)): string {
  const cipher = createCipheriv('aes-256-ctr', OBSCURE_KEY, iv);
  return Buffer.concat([iv, cipher.update(password, 'utf8'), cipher.final()]).toString('base64url');
}

/** `rclone reveal`: the password an obscured value holds. */
export function reveal(obscured: string): string {
  const raw = Buffer.from(obscured, 'base64url');
  const decipher = createDecipheriv('aes-256-ctr', OBSCURE_KEY, raw.subarray(0, 16));
  return Buffer.concat([decipher.update(raw.subarray(16)), decipher.final()]).toString('utf8');
}

/** The obscured keys of a crypt remote. */
export interface CryptKeys {
  password: string;
  salt?: string;
}

/** The Secret's plain-text keys, obscured for rclone; undefined without a password. */
export function cryptKeysFromEnv(
  password: string | undefined,
  salt: string | undefined,
): CryptKeys | undefined {
  if (!password) return undefined;
  return { password: obscure(password), ...(salt ? { salt: obscure(salt) } : {}) };
}

/**
 * The two crypt remotes of one run folder (`<S3 remote>:<bucket>/<root>/<run>`). Every option that
 * decides what is encrypted is set here, so the defaults of another rclone version cannot change it.
 * Names are encoded in base64 (S3 keys are case-sensitive), not rclone's default base32: an
 * encrypted name is a multiple of 16 bytes, so `level-01` becomes 22 characters rather than 26, and
 * S3's 1024-byte key limit allows 40 levels of short folder names instead of about 35.
 */
export function cryptRemotesEnv(runFolder: string, keys: CryptKeys): Record<string, string> {
  const remote = (name: string, over: string, filenames: 'standard' | 'off') => {
    const p = `RCLONE_CONFIG_${name}_`;
    return {
      [`${p}TYPE`]: 'crypt',
      [`${p}REMOTE`]: over,
      [`${p}PASSWORD`]: keys.password,
      ...(keys.salt ? { [`${p}PASSWORD2`]: keys.salt } : {}),
      [`${p}FILENAME_ENCRYPTION`]: filenames,
      [`${p}DIRECTORY_NAME_ENCRYPTION`]: 'true',
      [`${p}FILENAME_ENCODING`]: 'base64',
      [`${p}NO_DATA_ENCRYPTION`]: 'false',
      [`${p}SUFFIX`]: '.bin',
    };
  };
  return {
    ...remote(DATA_REMOTE, `${runFolder}/data`, 'standard'),
    ...remote(RUN_REMOTE, runFolder, 'off'),
  };
}
