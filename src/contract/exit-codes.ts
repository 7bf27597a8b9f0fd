// Exit codes of the mover, shared by the mover and the operator. Codes for problems that a retry
// cannot fix fail the Job at once through its podFailurePolicy.
export const MoverExit = {
  Ok: 0,
  TransferFailed: 1,
  ConfigError: 3,
  CredentialsRejected: 4,
  BucketNotFound: 5,
  EndpointUnreachable: 6,
  UnreadableFiles: 7,
  /** The destination lies inside, or holds, another backup, or objects no DataMover wrote. */
  DestinationConflict: 8,
  /** The bucket (after a backup) or the restored volume differs from the backup's manifest. */
  VerifyFailed: 9,
  /** A restore found no such run, or for `latest` no Complete run, in the backup root. */
  BackupNotFound: 10,
} as const;

export const FAIL_FAST_EXIT_CODES: number[] = [
  MoverExit.ConfigError,
  MoverExit.CredentialsRejected,
  MoverExit.BucketNotFound,
  MoverExit.UnreadableFiles,
  MoverExit.DestinationConflict,
  MoverExit.VerifyFailed,
  MoverExit.BackupNotFound,
];
