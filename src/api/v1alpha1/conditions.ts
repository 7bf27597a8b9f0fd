// Condition types and reasons of the DataMover API, as constants so code and docs agree.
export const ConditionType = {
  Complete: 'Complete',
  Failed: 'Failed',
  Ready: 'Ready',
  Reconciling: 'Reconciling',
  Stalled: 'Stalled',
  CleanedUp: 'CleanedUp',
} as const;

export const Reason = {
  // progress
  Started: 'Started',
  CreatingClone: 'CreatingClone',
  WaitingForDestination: 'WaitingForDestination',
  WaitingForOldChild: 'WaitingForOldChild',
  MoverRunning: 'MoverRunning',
  DeletingClone: 'DeletingClone',
  Succeeded: 'Succeeded',
  // stalls and failures
  SourcePVCNotFound: 'SourcePVCNotFound',
  SourcePVCNotBound: 'SourcePVCNotBound',
  SourcePVCTerminating: 'SourcePVCTerminating',
  SourcePVCBlockMode: 'SourcePVCBlockMode',
  CloneNotProvisioned: 'CloneNotProvisioned',
  CloneProvisioningTimeout: 'CloneProvisioningTimeout',
  CloneCreationFailed: 'CloneCreationFailed',
  ImageNotAllowed: 'ImageNotAllowed',
  ServiceAccountNotAllowed: 'ServiceAccountNotAllowed',
  PrivilegedMoverNotAllowed: 'PrivilegedMoverNotAllowed',
  ReservedEnvNotAllowed: 'ReservedEnvNotAllowed',
  JobCreationFailed: 'JobCreationFailed',
  MoverPodNotStarting: 'MoverPodNotStarting',
  MoverPodStartTimeout: 'MoverPodStartTimeout',
  MoverJobFailed: 'MoverJobFailed',
  MoverConfigError: 'MoverConfigError',
  BucketCredentialsRejected: 'BucketCredentialsRejected',
  BucketNotFound: 'BucketNotFound',
  BucketEndpointUnreachable: 'BucketEndpointUnreachable',
  UnreadableFiles: 'UnreadableFiles',
  DestinationConflict: 'DestinationConflict',
  DestinationNotAllowed: 'DestinationNotAllowed',
  NameConflict: 'NameConflict',
  InvalidRetention: 'InvalidRetention',
  CloneDeleted: 'CloneDeleted',
  CleanupFailed: 'CleanupFailed',
  // the prune after a scheduled run (events only: a failed prune does not fail the backup)
  Pruned: 'Pruned',
  PruneFailed: 'PruneFailed',
  Failed: 'Failed',
} as const;
export type ReasonValue = (typeof Reason)[keyof typeof Reason];
