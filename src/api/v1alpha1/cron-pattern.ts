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
