// An event the operator records about one of its objects.
export interface EventRecord {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}
