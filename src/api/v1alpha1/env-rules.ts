// The CRD's CEL rules of a DataMover's additionalEnv entries, generated from the allowlist the
// operator and the mover apply again (src/contract/tenant-env.ts): one definition, three checks.
import {
  ALLOWED_ENV_SUMMARY,
  ENV_FAMILIES,
  PLAIN_NAME,
  RCLONE_TUNING,
  VALUE_PATTERNS,
  VALUE_WORDS,
  type EnvFamily,
  type ValueKind,
} from '../../contract/tenant-env.js';

const cel = (text: string) => JSON.stringify(text);
const celList = (items: readonly string[]) => `[${items.map(cel).join(', ')}]`;
const TUNING_NAMES = celList(Object.keys(RCLONE_TUNING));
const named = "'additionalEnv ' + self.name";

/**
 * The CEL rules of one additionalEnv entry (src/contract/tenant-env.ts, which the operator and the
 * mover apply again): literal values only, plain names, no name of a family something in the mover
 * reads, and the rclone tuning flags with values of their kind. Each rule's message names the
 * variable and the rule.
 */
export function tenantEnvRules() {
  const family = (f: EnvFamily) => {
    const tests = [
      ...f.prefixes.map((p) => `self.name.startsWith(${cel(p)})`),
      ...(f.names.length > 0 ? [`self.name in ${celList(f.names)}`] : []),
      ...f.suffixes.map((x) => `self.name.endsWith(${cel(x)})`),
    ];
    return {
      rule: `self.name in ${TUNING_NAMES} || !(${tests.join(' || ')})`,
      messageExpression: `${named} + ${cel(` is refused: ${f.readBy} read it; ${ALLOWED_ENV_SUMMARY}`)}`,
    };
  };
  const kinds = Object.keys(VALUE_PATTERNS) as ValueKind[];
  const values = kinds
    .map((kind) => [kind, Object.keys(RCLONE_TUNING).filter((n) => RCLONE_TUNING[n] === kind)] as const)
    .filter(([, names]) => names.length > 0)
    .map(([kind, names]) => ({
      rule: `!(self.name in ${celList(names)}) || (has(self.value) && self.value.matches(${cel(VALUE_PATTERNS[kind])}))`,
      messageExpression: `${named} + ' is refused: ' + self.name + ${cel(` takes ${VALUE_WORDS[kind]}`)}`,
    }));
  return [
    {
      rule: '!has(self.valueFrom)',
      messageExpression: `${named} + ${cel(": valueFrom is refused; give a literal value (the bucket's keys come from secretName)")}`,
    },
    {
      rule: `self.name.matches(${cel(PLAIN_NAME)})`,
      messageExpression: `${named} + ${cel(` is refused: not a plain name; ${ALLOWED_ENV_SUMMARY}`)}`,
    },
    ...ENV_FAMILIES.map(family),
    ...values,
  ];
}
