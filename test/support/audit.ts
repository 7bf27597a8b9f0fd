// Reads the test bed's apiserver audit log: which requests one user made, as verb and resource.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { kubectlOk } from './cluster.js';
import { join } from 'node:path';
import { makeTempDir } from './tempdirs.js';

const LOGS = join(
  process.env.KWOK_WORKDIR ?? join(homedir(), '.kwok'),
  'clusters',
  process.env.DATAMOVER_CLUSTER ?? 'datamover',
  'logs',
);
const AUDIT_LOG = join(LOGS, 'audit.log');

/**
 * The audit log's lines that may be newer than `since`: the apiserver rotates audit.log at 100 MB
 * (to audit-<time>.log), which a benchmark or a long test run passes, so the rotated files written
 * to since then are read too, oldest first.
 */
function* auditLines(since: Date): Generator<string> {
  const rotated = () =>
    readdirSync(LOGS)
      .filter((f) => /^audit-.*\.log$/.test(f))
      .map((f) => join(LOGS, f))
      .filter((f) => statSync(f).mtimeMs >= since.getTime())
      .sort();
  // A rotation while the files are read moves lines out of audit.log: read again until none happened.
  for (;;) {
    const files = rotated();
    const text = [...files, AUDIT_LOG].map((file) => readFileSync(file, 'utf8'));
    if (rotated().join() !== files.join()) continue;
    for (const t of text) yield* t.split('\n');
    return;
  }
}

interface AuditEvent {
  verb: string;
  stage: string;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  user: { username: string };
  objectRef?: {
    apiGroup?: string;
    resource?: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  };
  responseStatus?: { code?: number };
}

export interface Request {
  /** `group/resource[/subresource]:verb`, the group empty for the core API. */
  permission: string;
  code: number;
  /** The namespace of a namespaced request; undefined for cluster-scoped ones. */
  namespace?: string;
}

export function requestsBy(username: string, since: Date): Request[] {
  const out: Request[] = [];
  for (const line of auditLines(since)) {
    if (!line.includes(username)) continue;
    const e = JSON.parse(line) as AuditEvent;
    if (e.user.username !== username || e.stage !== 'ResponseComplete') continue;
    if (new Date(e.requestReceivedTimestamp) < since || !e.objectRef?.resource) continue;
    const ref = e.objectRef;
    const resource = ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource;
    out.push({
      permission: `${ref.apiGroup ?? ''}/${resource}:${e.verb}`,
      code: e.responseStatus?.code ?? 0,
      ...(ref.namespace ? { namespace: ref.namespace } : {}),
    });
  }
  return out;
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
}

/** Every `group/resource:verb` the rules grant. */
export function granted(rules: Rule[]): Set<string> {
  const out = new Set<string>();
  for (const rule of rules) {
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        for (const verb of rule.verbs) out.add(`${group}/${resource}:${verb}`);
      }
    }
  }
  return out;
}

/** A token of a ServiceAccount, valid for two hours. */
export async function serviceAccountToken(serviceAccount: string, namespace: string): Promise<string> {
  return (await kubectlOk(['create', 'token', serviceAccount, '-n', namespace, '--duration=2h'])).trim();
}

/** A kubeconfig for the test bed that authenticates as a ServiceAccount token. */
export async function tokenKubeconfig(serviceAccount: string, namespace: string): Promise<string> {
  const token = await serviceAccountToken(serviceAccount, namespace);
  const config = JSON.parse(await kubectlOk(['config', 'view', '--raw', '--minify', '-o', 'json'])) as {
    clusters: Array<{ name: string; cluster: Record<string, string> }>;
  };
  const cluster = config.clusters[0]!;
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [cluster],
    users: [{ name: serviceAccount, user: { token } }],
    contexts: [{ name: 'sa', context: { cluster: cluster.name, user: serviceAccount } }],
    'current-context': 'sa',
  };
  const file = join(makeTempDir('dm-rbac-'), 'kubeconfig');
  writeFileSync(file, JSON.stringify(kubeconfig));
  return file;
}

/**
 * Creates in `namespace` since `since`, by `resource/name`, whoever made them. `created` counts the
 * answered ones (201): a child created twice shows as 2. `unanswered` counts creates the apiserver
 * could not answer because their client went away (a SIGKILLed replica): etcd may have committed the
 * object, and the apiserver audits them with 504, not 201. `conflicts` counts 409 AlreadyExists.
 */
export function createsIn(
  namespace: string,
  since: Date,
): { created: Map<string, number>; unanswered: Map<string, number>; conflicts: number } {
  const created = new Map<string, number>();
  const unanswered = new Map<string, number>();
  let conflicts = 0;
  for (const line of auditLines(since)) {
    if (!line.includes('"verb":"create"') || !line.includes(namespace)) continue;
    const e = JSON.parse(line) as AuditEvent;
    if (e.stage !== 'ResponseComplete' || e.objectRef?.namespace !== namespace) continue;
    if (new Date(e.requestReceivedTimestamp) < since || e.objectRef.subresource) continue;
    const key = `${e.objectRef.resource}/${e.objectRef.name}`;
    const code = e.responseStatus?.code ?? 0;
    if (code === 201) created.set(key, (created.get(key) ?? 0) + 1);
    if (code === 409) conflicts++;
    if (code === 504) unanswered.set(key, (unanswered.get(key) ?? 0) + 1);
  }
  return { created, unanswered, conflicts };
}

/**
 * When the apiserver answered each create (201) of `resource` in `namespace` since `since`, by name:
 * a benchmark's clock for "created", exact to the microsecond and independent of any watch.
 */
export function createdAt(namespace: string, resource: string, since: Date): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of auditLines(since)) {
    if (!line.includes('"verb":"create"') || !line.includes(namespace)) continue;
    const e = JSON.parse(line) as AuditEvent;
    if (e.stage !== 'ResponseComplete' || e.objectRef?.namespace !== namespace) continue;
    if (e.objectRef.resource !== resource || e.objectRef.subresource || !e.objectRef.name) continue;
    if (e.responseStatus?.code !== 201 || new Date(e.requestReceivedTimestamp) < since) continue;
    out.set(e.objectRef.name, new Date(e.stageTimestamp).getTime());
  }
  return out;
}

/** Each update of `resource/subresource` in `namespace` since `since`: when it arrived, when answered. */
export function updatesOf(
  namespace: string,
  resource: string,
  subresource: string,
  since: Date,
): Array<{ name: string; receivedMs: number; answeredMs: number }> {
  const out: Array<{ name: string; receivedMs: number; answeredMs: number }> = [];
  for (const line of auditLines(since)) {
    if (!line.includes('"verb":"update"') || !line.includes(namespace)) continue;
    const e = JSON.parse(line) as AuditEvent;
    const ref = e.objectRef;
    if (e.stage !== 'ResponseComplete' || ref?.namespace !== namespace || !ref.name) continue;
    if (ref.resource !== resource || ref.subresource !== subresource) continue;
    const receivedMs = new Date(e.requestReceivedTimestamp).getTime();
    if (receivedMs < since.getTime()) continue;
    out.push({ name: ref.name, receivedMs, answeredMs: new Date(e.stageTimestamp).getTime() });
  }
  return out;
}

/** Every audit event about one object (`resource/name` in `namespace`), for a failure message. */
export function auditTrail(namespace: string, key: string): string[] {
  const [resource, name] = key.split('/');
  const out: string[] = [];
  for (const line of auditLines(new Date(0))) {
    if (!line.includes(`"${name}"`) || !line.includes(namespace)) continue;
    const e = JSON.parse(line) as AuditEvent;
    if (e.objectRef?.resource !== resource || e.objectRef?.name !== name) continue;
    out.push(
      `${e.requestReceivedTimestamp} ${e.stage} ${e.verb} ${e.responseStatus?.code ?? ''} ${e.user.username}`,
    );
  }
  return out;
}

/** A create (201, or 504 if cut off) or a delete (200 or 202) of one object, as the audit log has it. */
export interface Lifecycle {
  ms: number;
  verb: 'create' | 'delete';
  namespace: string;
  resource: string;
  name: string;
}

/**
 * Every create and delete of `resources` in `namespaces` since `since`, whoever made them, oldest
 * first: a create counts when the apiserver answered it, a delete when it received it (the object may
 * linger for its finalizers, but no longer holds anything its owner counts).
 */
export function lifecycles(
  namespaces: readonly string[],
  resources: readonly string[],
  since: Date,
): Lifecycle[] {
  const out: Lifecycle[] = [];
  for (const line of auditLines(since)) {
    if (!line.includes('"verb":"create"') && !line.includes('"verb":"delete"')) continue;
    const e = JSON.parse(line) as AuditEvent;
    const ref = e.objectRef;
    if (e.stage !== 'ResponseComplete' || !ref?.namespace || !ref.name || ref.subresource) continue;
    if (!namespaces.includes(ref.namespace) || !resources.includes(ref.resource ?? '')) continue;
    const code = e.responseStatus?.code ?? 0;
    const verb = e.verb as Lifecycle['verb'];
    // A create audited 504 was cut off by its client going away (a SIGKILLed operator): etcd may
    // have committed it, so it counts (an upper bound; its delete follows if it exists).
    if (verb === 'create' ? code !== 201 && code !== 504 : code !== 200 && code !== 202) continue;
    const ms = new Date(verb === 'create' ? e.stageTimestamp : e.requestReceivedTimestamp).getTime();
    if (ms < since.getTime()) continue;
    out.push({ ms, verb, namespace: ref.namespace, resource: ref.resource!, name: ref.name });
  }
  return out.sort((a, b) => a.ms - b.ms);
}

/**
 * Replayed from `lifecycles`: the most owners that held an object at once, an object's owner given by
 * `ownerOf` (e.g. a run's clone and Job both belong to the run).
 */
export function mostOwnersAtOnce(events: readonly Lifecycle[], ownerOf: (e: Lifecycle) => string): number {
  const live = new Map<string, string>();
  let most = 0;
  for (const e of events) {
    const key = `${e.namespace}/${e.resource}/${e.name}`;
    if (e.verb === 'delete') live.delete(key);
    else live.set(key, `${e.namespace}/${ownerOf(e)}`);
    most = Math.max(most, new Set(live.values()).size);
  }
  return most;
}
