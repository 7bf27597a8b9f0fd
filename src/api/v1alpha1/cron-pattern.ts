// The cron expression's fields, and the RE2 pattern the CRD's CEL rule checks a schedule against at
// admission. Shared by the CRD (api) and the operator's parse (controller/schedule/cron.ts), which
// checks the numeric ranges the pattern does not.
const MONTHS = 'JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC';
const DAYS = 'SUN|MON|TUE|WED|THU|FRI|SAT';

export interface CronField {
  name: string;
  min: number;
  max: number;
  names?: string;
}

export const SECOND: CronField = { name: 'second', min: 0, max: 59 };
export const FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 0, max: 7, names: DAYS },
];
export const FIVE_FIELDS = 'minute hour day-of-month month day-of-week';

function patternFor(seconds: boolean): string {
  const value = (field: CronField) => (field.names ? `([0-9]{1,2}|(?i:${field.names}))` : '[0-9]{1,2}');
  const item = (field: CronField) => `(\\*(/[0-9]{1,2})?|${value(field)}(-${value(field)}(/[0-9]{1,2})?)?)`;
  const list = (field: CronField) => `${item(field)}(,${item(field)})*`;
  const fields = [...(seconds ? [`(${list(SECOND)}[ \\t]+)?`] : []), FIELDS.map(list).join('[ \\t]+')].join(
    '',
  );
  return `^[ \\t]*(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|${fields})[ \\t]*$`;
}

/**
 * An RE2 expression (no lookaround, no backreferences: it goes into the CRD's CEL `matches()`)
 * for what parseSchedule accepts: 5 fields or a macro. Numbers are one or two digits whatever the
 * field, so "61 * * * *" passes admission and parseSchedule refuses it. Go's regexp (the
 * apiserver's) compiles it; give the field a maxLength so CEL can bound the rule's cost.
 */
export const CRON_PATTERN = patternFor(false);
/** CRON_PATTERN also allowing a leading seconds field, for a CRD that e2e tests feed 6 fields. */
export const CRON_PATTERN_WITH_SECONDS = patternFor(true);

const BLANK = '[ \\t]+';
const TOKEN = '[^ \\t]+';
const listOf = (item: string) => `${item}(,${item})*`;
const FEBRUARY = '(0?2|(?i:FEB))';
const MONTHS_WITHOUT_31 = '(0?[2469]|11|(?i:FEB|APR|JUN|SEP|NOV))';

/**
 * An RE2 expression for a 5-field expression (or 6, seconds first) that can never fire: every
 * day of month it lists is one that none of its months has (the 30th or 31st with only February,
 * the 31st with only months of 30 days or fewer), and its day-of-week starts with *, so a day must
 * match both fields (see controller/schedule/cron.ts). Single values and lists only: ranges, steps
 * and other never-firing combinations are left to the operator's parse, which reports them as
 * Stalled. Fields are read from the end, so blanks and a seconds field do not matter.
 */
export const NEVER_FIRES_PATTERN =
  `^[ \\t]*(${TOKEN}${BLANK})?${TOKEN}${BLANK}${TOKEN}${BLANK}` +
  `(${listOf('(30|31|30-31)')}${BLANK}${listOf(FEBRUARY)}|${listOf('31')}${BLANK}${listOf(MONTHS_WITHOUT_31)})` +
  `${BLANK}\\*[^ \\t]*[ \\t]*$`;

/** What a time zone name looks like: a letter, then letters, digits, -, _, + and / (no offset, no blank). */
export const TIME_ZONE_NAME_PATTERN = '^[A-Za-z][-A-Za-z0-9_+/]*$';
/**
 * Names the apiserver's time zone lookup (Go's time.LoadLocation) accepts that are no IANA zone
 * the operator can run in: Local (the clock of whichever host reads it) and files of the zoneinfo
 * folder. The operator refuses them too (Intl does not know them).
 */
export const NOT_TIME_ZONES = ['Local', 'localtime', 'posixrules', 'Factory'] as const;
/** Prefixes of the zoneinfo folder's variants (posix/Europe/Berlin, right/UTC), which Intl refuses. */
export const NOT_TIME_ZONE_PREFIX_PATTERN = '^(posix|right)/';
