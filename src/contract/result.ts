// The mover's report, written as JSON to its container's termination message (under 4 KiB):
// {"protocol":1,"command":"backup","uid":"…","root":"…","run":"…",
//  "bytes":N,"files":N,"errors":N,"seconds":S,"destination":"…","error":"one line for the user",
//  "verify":{…},"prune":{"kept":N,"removed":["run",…],"removedCount":N,"error":"…"},
//  "abandoned":{"removed":["run",…],"removedCount":N,"error":"…"}}.
// A run is a success only with a report of this protocol bound to it (reportProblem): a mover that
// exits 0 without one proves nothing.
import { trimSlashes } from './layout.js';
import { MAX_NAMED, type VerifyReport } from './manifest.js';
import { type RestoreReport } from './restore.js';

/**
 * The version of the report. A change a reader of version 1 would misread gets a new number: the
 * operator fails a run whose report it cannot read, naming both versions, instead of guessing.
 */
export const REPORT_PROTOCOL = 1;

export interface MoverResult {
  /** REPORT_PROTOCOL of the mover that wrote it; absent from movers before the protocol. */
  protocol?: number;
  /** What the mover did: DATAMOVER_COMMAND. */
  command?: string;
  /** The UID of the DataMover or DataMoverRestore the run belongs to (DATAMOVER_UID). */
  uid?: string;
  /** The backup root the run wrote (a backup) or read (a restore), as the operator gave it. */
  root?: string;
  /** A backup's run folder in the root, as the operator gave it. */
  run?: string;
  /** Bytes of the files the sync wrote to the run: uploaded, or copied inside the bucket (`uploaded`). */
  bytes?: number;
  /**
   * Of `bytes`, those sent from the volume; the rest were unchanged since `base` and copied inside the
   * bucket. Absent from older movers and restores.
   */
  uploaded?: number;
  /** The Complete run of the PVC the unchanged files were copied from (an incremental run). */
  base?: string;
  files?: number;
  errors?: number;
  seconds?: number;
  destination?: string;
  error?: string;
  /** What the prune after a scheduled run did (retention); a failed prune does not fail the backup. */
  prune?: PruneReport;
  /**
   * The abandoned runs of the PVC a backup deleted after its sync (InProgress runs of DataMovers that
   * no longer exist); present only when it deleted one or failed to. Added after the first version.
   */
  abandoned?: AbandonedReport;
  /** A backup's check of the bucket against its manifest, after the sync. */
  verify?: VerifyReport;
  /** What a restore restored and how it verified. */
  restore?: RestoreReport;
}

export interface PruneReport {
  /** Backups of the schedule that remain, the one just written included. */
  kept: number;
  /** The runs deleted, oldest first; at most MAX_REPORTED_RUNS of them (the message has 4 KiB). */
  removed: string[];
  /** How many runs were deleted, whether or not all are named in `removed`. */
  removedCount: number;
  /** Why the prune stopped, when it did; the runs not yet deleted are intact. */
  error?: string;
}

/**
 * Run names are 17 or 26 characters: 40 of them take under 1.2 KiB of the 4 KiB termination
 * message.
 */
export const MAX_REPORTED_RUNS = 40;
const MAX_ERROR = 1024;

/** The report of a prune, bounded to fit the termination message. */
export function pruneReport(kept: number, removed: readonly string[], error?: string): PruneReport {
  return {
    kept,
    removed: removed.slice(0, MAX_REPORTED_RUNS),
    removedCount: removed.length,
    ...(error ? { error: error.slice(0, MAX_ERROR) } : {}),
  };
}

export interface AbandonedReport {
  /** The abandoned runs deleted, oldest first; at most MAX_NAMED of them. */
  removed: string[];
  /** How many were deleted, whether or not all are named. */
  removedCount: number;
  /** Why the deletion stopped, when it did: the next backup of the PVC finishes it. */
  error?: string;
}

const MAX_ABANDONED_ERROR = 512;

/** The report of the abandoned runs deleted, bounded to fit the termination message. */
export function abandonedReport(removed: readonly string[], error?: string): AbandonedReport {
  return {
    removed: removed.slice(0, MAX_NAMED),
    removedCount: removed.length,
    ...(error ? { error: error.slice(0, MAX_ABANDONED_ERROR) } : {}),
  };
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
  const result: MoverResult = parseBinding(raw);
  for (const key of ['bytes', 'uploaded', 'files', 'errors'] as const) {
    const n = count(raw[key]);
    if (n !== undefined) result[key] = n;
  }
  if (typeof raw.base === 'string' && raw.base) result.base = raw.base.slice(0, 64);
  if (typeof raw.seconds === 'number' && raw.seconds >= 0) result.seconds = raw.seconds;
  if (typeof raw.destination === 'string') result.destination = raw.destination;
  if (typeof raw.error === 'string' && raw.error) result.error = raw.error.slice(0, MAX_ERROR);
  const prune = parsePrune(raw.prune);
  if (prune) result.prune = prune;
  const abandoned = parseAbandoned(raw.abandoned);
  if (abandoned) result.abandoned = abandoned;
  const verify = parseVerify(raw.verify);
  if (verify) result.verify = verify;
  const restore = parseRestore(raw.restore);
  if (restore) result.restore = restore;
  return result;
}

/** The protocol version and whose run the report is. */
function parseBinding(raw: Record<string, unknown>): MoverResult {
  const result: MoverResult = {};
  if (typeof raw.protocol === 'number' && Number.isInteger(raw.protocol)) result.protocol = raw.protocol;
  for (const key of ['command', 'uid', 'root', 'run'] as const) {
    const v = raw[key];
    if (typeof v === 'string' && v) result[key] = v.slice(0, 1024);
  }
  return result;
}

function parseVerify(raw: unknown): VerifyReport | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const verified = count(r.verified);
  const mismatches = count(r.mismatches);
  if (verified === undefined || mismatches === undefined) return undefined;
  const mismatched = Array.isArray(r.mismatched)
    ? r.mismatched
        .filter((x): x is string => typeof x === 'string')
        .slice(0, MAX_NAMED)
        .map((x) => x.slice(0, 256))
    : [];
  return { verified, mismatches, mismatched };
}

function parseRestore(raw: unknown): RestoreReport | undefined {
  const verify = parseVerify(raw);
  if (!verify) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.run !== 'string' || !r.run) return undefined;
  const out: RestoreReport = {
    ...verify,
    run: r.run.slice(0, 64),
    bytes: count(r.bytes) ?? 0,
    files: count(r.files) ?? 0,
  };
  const na = r.notApplied as Record<string, unknown> | undefined;
  const naCount = count(na?.count);
  if (naCount) {
    const named = Array.isArray(na?.named)
      ? na.named
          .filter((x): x is string => typeof x === 'string')
          .slice(0, MAX_NAMED)
          .map((x) => x.slice(0, 256))
      : [];
    out.notApplied = { count: naCount, named };
  }
  return out;
}

function parsePrune(raw: unknown): PruneReport | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const kept = count(r.kept);
  if (kept === undefined) return undefined;
  const removed = Array.isArray(r.removed)
    ? r.removed.filter((x): x is string => typeof x === 'string').slice(0, MAX_REPORTED_RUNS)
    : [];
  const removedCount = Math.max(count(r.removedCount) ?? 0, removed.length);
  const error = typeof r.error === 'string' && r.error ? r.error.slice(0, MAX_ERROR) : undefined;
  return { kept, removed, removedCount, ...(error ? { error } : {}) };
}

function parseAbandoned(raw: unknown): AbandonedReport | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const removed = Array.isArray(r.removed)
    ? r.removed
        .filter((x): x is string => typeof x === 'string')
        .slice(0, MAX_NAMED)
        .map((x) => x.slice(0, 64))
    : [];
  const removedCount = Math.max(count(r.removedCount) ?? 0, removed.length);
  const error = typeof r.error === 'string' && r.error ? r.error.slice(0, MAX_ABANDONED_ERROR) : undefined;
  if (removedCount === 0 && !error) return undefined;
  return { removed, removedCount, ...(error ? { error } : {}) };
}

/** Who the operator expects a report from: the run's owner, its command, and a backup's folder. */
export interface ReportBinding {
  command: 'backup' | 'restore';
  uid: string;
  root: string;
  /** A backup's run folder. */
  run?: string;
}

/**
 * Why a mover's report does not prove that its run succeeded (undefined: it does): it is missing,
 * of another protocol version, bound to another run, or lacks what the run must have written and
 * verified. `protocol` is set when the versions differ (MoverProtocolMismatch, not NoMoverReport).
 */
export function reportProblem(
  result: MoverResult | undefined,
  expected: ReportBinding,
): { problem: string; protocol?: number } | undefined {
  if (!result || result.protocol === undefined) {
    return { problem: `no report of protocol ${REPORT_PROTOCOL} in the termination message` };
  }
  if (result.protocol !== REPORT_PROTOCOL) {
    return {
      problem: `the report is of protocol version ${result.protocol}, and this operator reads version ${REPORT_PROTOCOL}: run the mover image that matches the operator`,
      protocol: result.protocol,
    };
  }
  const other = (what: string, got: string | undefined, want: string) =>
    `the report is for ${what} ${got === undefined ? '(none)' : JSON.stringify(got)}, not this run's ${JSON.stringify(want)}`;
  if (result.command !== expected.command)
    return { problem: other('command', result.command, expected.command) };
  if (result.uid !== expected.uid) return { problem: other('uid', result.uid, expected.uid) };
  if (trimSlashes(result.root ?? '') !== trimSlashes(expected.root))
    return { problem: other('root', result.root, expected.root) };
  if (expected.run !== undefined && result.run !== expected.run)
    return { problem: other('run folder', result.run, expected.run) };
  if (expected.command === 'backup') {
    if (result.bytes === undefined || result.files === undefined)
      return { problem: 'the report says no bytes or files written' };
    if (!result.verify) return { problem: 'the report has no verification of the bucket' };
    if (result.verify.mismatches > 0)
      return { problem: `the report's verification found ${result.verify.mismatches} mismatch(es)` };
  } else {
    if (!result.restore) return { problem: 'the report has no restore' };
    if (result.restore.mismatches > 0)
      return { problem: `the report's verification found ${result.restore.mismatches} mismatch(es)` };
  }
  return undefined;
}
