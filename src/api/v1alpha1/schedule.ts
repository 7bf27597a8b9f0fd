// The DataMoverSchedule API: backups that run themselves. A schedule fires on a cron expression in a
// time zone and creates one DataMover per selected PVC per fire time; it keeps a record per PVC of
// the last success and failure, which outlives the DataMovers deleted by TTL or history limits.
// Types and the CRD's OpenAPI schema both come from these definitions.
import { Type, type Static } from '@sinclair/typebox';
import { column, optionalTime } from './fields.js';
import {
  conditionsField,
  DataMoverSpecSchema,
  DNS_SUBDOMAIN,
  RetentionSchema,
  type Resource,
} from './schema.js';
import {
  CRON_PATTERN_WITH_SECONDS,
  NEVER_FIRES_PATTERN,
  NOT_TIME_ZONE_PREFIX_PATTERN,
  NOT_TIME_ZONES,
  TIME_ZONE_NAME_PATTERN,
} from './cron-pattern.js';

export const SCHEDULE_KIND = 'DataMoverSchedule';
export const SCHEDULE_PLURAL = 'datamoverschedules';

export const CONCURRENCY_POLICIES = ['Forbid', 'Allow', 'Replace'] as const;
export type ConcurrencyPolicy = (typeof CONCURRENCY_POLICIES)[number];

/** An RE2 expression as a single-quoted CEL string literal. */
const celRegex = (pattern: string) => `'${pattern.replace(/\\/g, '\\\\')}'`;

const count = (description: string, maximum = 1000) =>
  Type.Optional(Type.Integer({ minimum: 0, maximum, description }));

/** The schedule's keep policy is the retention.keep of every run it creates: one definition. */
export const KeepPolicySchema = RetentionSchema.properties.keep;

const LabelSelectorSchema = Type.Object(
  {
    matchLabels: Type.Optional(
      Type.Unsafe<Record<string, string>>({
        type: 'object',
        additionalProperties: { type: 'string' },
        description: 'PVCs with all of these labels.',
      }),
    ),
    matchExpressions: Type.Optional(
      Type.Array(
        Type.Object({
          key: Type.String({ minLength: 1, description: 'Label key.' }),
          operator: Type.Unsafe<'In' | 'NotIn' | 'Exists' | 'DoesNotExist'>({
            type: 'string',
            enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'],
            description: 'In, NotIn, Exists or DoesNotExist.',
          }),
          values: Type.Optional(
            Type.Array(Type.String(), { description: 'Values for In and NotIn; empty otherwise.' }),
          ),
        }),
        { description: 'PVCs matching all of these expressions.' },
      ),
    ),
  },
  {
    description:
      "Back up every PVC of the schedule's namespace with these labels, one DataMover per PVC per fire time; PVCs labelled later are picked up at the next fire time.",
    'x-kubernetes-validations': [
      {
        rule: '(has(self.matchLabels) && size(self.matchLabels) > 0) || (has(self.matchExpressions) && size(self.matchExpressions) > 0)',
        message:
          'selector must have matchLabels or matchExpressions: an empty selector would select every PVC',
      },
    ],
  },
);

/** A DataMover spec without its PVC: the schedule names the PVCs. */
const templateProperties = Object.fromEntries(
  Object.entries(DataMoverSpecSchema.properties).filter(([name]) => name !== 'sourcePvc'),
) as Omit<typeof DataMoverSpecSchema.properties, 'sourcePvc'>;
export const TemplateSchema = Type.Object(templateProperties, {
  description:
    'The DataMover spec of every run, without sourcePvc. Runs are timestamped unless addTimestampPrefix is false. With a selector, destinationPath (default <namespace>) is the folder holding one backup root per PVC: <destinationPath>/<pvc>.',
});

export const DataMoverScheduleSpecSchema = Type.Object(
  {
    schedule: Type.String({
      minLength: 1,
      maxLength: 256,
      description:
        'When to run: a 5-field cron expression (minute hour day-of-month month day-of-week, with lists, ranges, steps and names) or @hourly, @daily, @weekly, @monthly, @yearly.',
      ...column(1, 'Schedule'),
      'x-kubernetes-validations': [
        {
          // The first line against a mistyped schedule; the operator's parse checks the ranges and refuses
          // a seconds field unless it runs with --allow-seconds-in-schedules (tests).
          rule: `self.matches(${celRegex(CRON_PATTERN_WITH_SECONDS)})`,
          message:
            "schedule must be a cron expression of 5 fields (for example '0 3 * * *', '*/15 * * * *', '0 2 * * MON-FRI') or @hourly, @daily, @weekly, @monthly, @yearly",
        },
        {
          // The day-of-month/month combinations that a pattern can see never fire (cron-pattern.ts);
          // the operator's parse finds the others and reports them as Stalled.
          rule: `!self.matches(${celRegex(NEVER_FIRES_PATTERN)})`,
          message:
            'schedule never fires: none of its months has its day of month (February has no 30th or 31st; April, June, September and November have no 31st)',
        },
      ],
    }),
    timeZone: Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'IANA time zone of the schedule, for example Europe/Berlin (default UTC).',
        'x-kubernetes-validations': [
          {
            // A name, not an offset such as +01:00 (which CEL's timestamp functions would also take),
            // nor empty or with blanks around it.
            rule: `self.matches(${celRegex(TIME_ZONE_NAME_PATTERN)})`,
            message:
              'timeZone must be an IANA time zone name such as Europe/Berlin, America/New_York or UTC: not empty, no blanks, not an offset such as +01:00',
          },
          {
            // Go's time.LoadLocation, behind the rule below, takes Local: the apiserver's own clock.
            rule: "self != 'Local'",
            message:
              "timeZone Local is refused: it means the clock of whichever machine reads it; name the schedule's zone, for example Europe/Berlin, or UTC",
          },
          {
            rule: `!(self in [${NOT_TIME_ZONES.filter((z) => z !== 'Local')
              .map((z) => `'${z}'`)
              .join(', ')}]) && !self.matches(${celRegex(NOT_TIME_ZONE_PREFIX_PATTERN)})`,
            message:
              'timeZone must be an IANA time zone name such as Europe/Berlin: localtime, posixrules, Factory and the posix/ and right/ variants are files of the zoneinfo folder, not zones the operator can use',
          },
          {
            // CEL's timestamp functions take an IANA zone and fail on any other: the apiserver's own
            // time zone database decides (for a name of the right shape: the first rule reports the rest).
            rule: `!self.matches(${celRegex(TIME_ZONE_NAME_PATTERN)}) || timestamp('2000-01-01T00:00:00Z').getHours(self) >= 0`,
            message: 'timeZone must be an IANA time zone name, for example Europe/Berlin or America/New_York',
          },
        ],
      }),
    ),
    suspend: Type.Optional(
      Type.Boolean({
        description:
          'Create no runs at fire times while true (a changed trigger still runs once). Fire times that pass while suspended are neither run nor counted as missed.',
        ...column(2, 'Suspend'),
      }),
    ),
    startingDeadlineSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'After downtime or a failover, run the latest missed fire time only if it is at most this old; older fire times are counted as missed. Without it the latest is always run.',
      }),
    ),
    concurrencyPolicy: Type.Optional(
      Type.Unsafe<ConcurrencyPolicy>({
        type: 'string',
        enum: [...CONCURRENCY_POLICIES],
        description:
          "What a fire time does while the PVC's previous run is still going: Forbid (default) skips it and counts it as missed, Replace deletes the running one, Allow runs both (up to maxConcurrentRunsPerPvc).",
      }),
    ),
    maxConcurrentRunsPerPvc: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        description:
          'With concurrencyPolicy Allow, the most runs of one PVC going at once (default 3): a fire time that would start one more skips that PVC and counts it as missed, so movers that hang cannot pile up runs without bound.',
      }),
    ),
    successfulRunsHistoryLimit: count('Completed DataMovers kept per PVC (default 3).', 100),
    failedRunsHistoryLimit: count('Failed DataMovers kept per PVC (default 1).', 100),
    trigger: Type.Optional(
      Type.String({
        maxLength: 63,
        description:
          'Change this value (for example to the current time) to run every PVC once now, outside the schedule, even while suspended.',
      }),
    ),
    sourcePvc: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        pattern: DNS_SUBDOMAIN,
        description: 'The PVC to back up. Set either sourcePvc or selector.',
      }),
    ),
    selector: Type.Optional(LabelSelectorSchema),
    keep: Type.Optional(KeepPolicySchema),
    template: TemplateSchema,
  },
  {
    description: 'When to back up which PVCs, how, and how many backups to keep.',
    'x-kubernetes-validations': [
      {
        rule: 'has(self.sourcePvc) != has(self.selector)',
        message: 'set exactly one of sourcePvc and selector',
      },
      {
        rule: '!has(self.keep) || !has(self.template.addTimestampPrefix) || self.template.addTimestampPrefix',
        message: 'keep prunes timestamped backups: it cannot be used with template.addTimestampPrefix: false',
      },
    ],
  },
);

export const PvcRecordSchema = Type.Object({
  pvc: Type.String({ description: 'The PVC.' }),
  unselectedSince: optionalTime(
    'The first fire time at which the schedule no longer selected this PVC (its label was removed, or it was deleted). Its gauges go after --unselected-pvc-grace-period; the record goes with its last run.',
  ),
  trackedSince: optionalTime('When this schedule first ran a backup of the PVC.'),
  lastSuccessfulTime: optionalTime('Completion time of the newest successful backup.'),
  lastDestination: Type.Optional(Type.String({ description: 'Where the newest successful backup went.' })),
  lastRun: Type.Optional(Type.String({ description: 'The DataMover of the newest finished run.' })),
  lastFailure: Type.Optional(
    Type.Object(
      {
        time: Type.String({ format: 'date-time', description: 'When the run failed.' }),
        dataMover: Type.Optional(Type.String({ description: 'The DataMover that failed.' })),
        reason: Type.String({ description: 'Its Failed condition reason.' }),
        message: Type.Optional(
          Type.String({
            description: 'Its Failed condition message (at most 256 characters; see status.compacted).',
          }),
        ),
      },
      { description: 'The newest failed run, kept until a newer one fails.' },
    ),
  ),
});

/** Runs listed in status.active at most; status.activeCount counts them all. */
export const ACTIVE_LISTED = 100;

export const ActiveRunSchema = Type.Object({
  name: Type.String({ description: 'The DataMover.' }),
  pvc: Type.String({ description: 'Its PVC.' }),
});

export const DataMoverScheduleStatusSchema = Type.Object(
  {
    conditions: conditionsField(
      'Ready, and Stalled with reason InvalidSchedule when the schedule cannot fire.',
    ),
    observedGeneration: Type.Optional(Type.Integer({ description: 'Generation the status describes.' })),
    lastScheduleTime: optionalTime('The newest fire time that created runs.'),
    scheduledThroughTime: optionalTime(
      'Every fire time up to this one has been run, skipped or counted as missed: where the next pass looks from.',
    ),
    nextScheduleTime: optionalTime('The next fire time.', column(4, 'Next', { asText: true })),
    lastSuccessfulTime: optionalTime(
      'Completion time of the newest successful run of any PVC.',
      column(3, 'Last Success'),
    ),
    lastTrigger: Type.Optional(Type.String({ description: 'The spec.trigger value last run.' })),
    missedRuns: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Fire times that passed without a run, since creation.',
        ...column(5, 'Missed', { wide: true }),
      }),
    ),
    active: Type.Optional(
      Type.Array(ActiveRunSchema, {
        description: `Runs still going, by name: at most ${ACTIVE_LISTED} (activeCount counts them all).`,
      }),
    ),
    activeCount: Type.Optional(Type.Integer({ minimum: 0, description: 'How many runs are still going.' })),
    compacted: Type.Optional(
      Type.Boolean({
        description:
          'True when the PVC records were too many to keep whole: records then keep the recovery point and the failure reason, and only the newest failures keep their DataMover and message (the DataMovers have the rest).',
      }),
    ),
    pvcs: Type.Optional(
      Type.Array(PvcRecordSchema, {
        description:
          'One record per PVC this schedule has backed up: the recovery point, kept when its DataMovers are deleted.',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['pvc'],
      }),
    ),
    message: Type.Optional(Type.String({ description: 'Human-readable summary.' })),
  },
  { description: 'Observed state of the schedule, written only by the operator.' },
);

export type DataMoverScheduleSpec = Static<typeof DataMoverScheduleSpecSchema>;
export type DataMoverScheduleStatus = Static<typeof DataMoverScheduleStatusSchema>;
export type KeepPolicy = Static<typeof KeepPolicySchema>;
export type PvcRecord = Static<typeof PvcRecordSchema>;

export type DataMoverSchedule = Resource<
  typeof SCHEDULE_KIND,
  DataMoverScheduleSpec,
  DataMoverScheduleStatus
>;
