// Environment names the mover's remote owns: shared by the mover, which drops them from rclone's
// environment, and the API, which refuses them in additionalEnv.
/**
 * rclone's S3 options that the mover's remote defines, and the credential ones it leaves unset. An
 * `RCLONE_S3_<OPTION>` variable counts as a command-line flag and outranks the remote's own
 * `RCLONE_CONFIG_DATAMOVER_<OPTION>`, so none of them may come from the pod's environment.
 */
export const RESERVED_RCLONE_ENV = [
  'PROVIDER',
  'ACCESS_KEY_ID',
  'SECRET_ACCESS_KEY',
  'SESSION_TOKEN',
  'ENV_AUTH',
  'REGION',
  'ENDPOINT',
  'FORCE_PATH_STYLE',
  'NO_CHECK_BUCKET',
  'DIRECTORY_MARKERS',
].map((option) => `RCLONE_S3_${option}`);

/**
 * rclone reads `RCLONE_CRYPT_<OPTION>` as a flag for every crypt remote, above the remote's own
 * definition: the Secret's plain-text RCLONE_CRYPT_PASSWORD would replace the obscured one, and an
 * `RCLONE_CRYPT_NO_DATA_ENCRYPTION` or `_FILENAME_ENCRYPTION` would silently store plain text. The
 * mover drops them all from rclone's environment; additionalEnv may not set any (schema.ts).
 */
export const RESERVED_CRYPT_ENV_PREFIX = 'RCLONE_CRYPT_';
