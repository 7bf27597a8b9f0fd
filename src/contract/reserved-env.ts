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
