// Field helpers the kinds' schemas share, and kubectl get's columns, declared on the schema property
// each one shows: crd.ts collects them, so a column's path, type and description are the property's
// own. The mark is a symbol key, which TypeBox keeps and the CRD's JSON leaves out.
import { Type, type TSchema } from '@sinclair/typebox';

export const COLUMN = Symbol('datamover.column');

export interface ColumnMark {
  /** Its place from the left (before Message and Age, which every kind shows last). */
  at: number;
  name: string;
  /** Only with -o wide. */
  wide?: boolean;
  /** A time shown as written rather than as an age (a time still to come). */
  asText?: boolean;
}

/** Schema options that show the property as column `name`, `at`-th from the left. */
export const column = (at: number, name: string, more: Pick<ColumnMark, 'wide' | 'asText'> = {}) => ({
  [COLUMN]: { at, name, ...more } satisfies ColumnMark,
});

/** An object the API server keeps as given (a pod template's parts, say). */
export function opaque<T>(description: string): TSchema & { static: T } {
  return Type.Unsafe<T>({ type: 'object', description, 'x-kubernetes-preserve-unknown-fields': true });
}

export function stringMap(description: string) {
  return Type.Unsafe<Record<string, string>>({
    type: 'object',
    description,
    additionalProperties: { type: 'string' },
  });
}

export function enumOf<const T extends readonly string[]>(values: T, description: string, more: object = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], description, ...more });
}

export const time = (description: string, more: object = {}) =>
  Type.String({ format: 'date-time', description, ...more });

export const optionalTime = (description: string, more: object = {}) =>
  Type.Optional(time(description, more));
