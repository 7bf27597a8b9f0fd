// The mover's report, written as JSON to its container's termination message (under 4 KiB):
// {"bytes":N,"files":N,"errors":N,"seconds":S,"destination":"…","error":"one line for the user"}.
export interface MoverResult {
  bytes?: number;
  files?: number;
  errors?: number;
  seconds?: number;
  destination?: string;
  error?: string;
}

const count = (v: unknown) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;

/** The mover's result, or undefined when the message is not one (an older mover, a crash). */
export function parseMoverResult(message: string | undefined): MoverResult | undefined {
  if (!message?.trim().startsWith('{')) return undefined;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(message) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const result: MoverResult = {};
  const bytes = count(raw.bytes);
  const files = count(raw.files);
  const errors = count(raw.errors);
  if (bytes !== undefined) result.bytes = bytes;
  if (files !== undefined) result.files = files;
  if (errors !== undefined) result.errors = errors;
  if (typeof raw.seconds === 'number' && raw.seconds >= 0) result.seconds = raw.seconds;
  if (typeof raw.destination === 'string') result.destination = raw.destination;
  if (typeof raw.error === 'string' && raw.error) result.error = raw.error.slice(0, 1024);
  return result;
}
