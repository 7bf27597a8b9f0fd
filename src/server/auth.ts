// Authentication and authorization of /metrics scrapes, as kube-rbac-proxy and controller-runtime's
// secure metrics do: the bearer token goes to a TokenReview, the user it names to a
// SubjectAccessReview for `get` on the non-resource path. Decisions are cached briefly so a scrape
// every few seconds costs the apiserver nothing.
import type { V1SubjectAccessReview, V1TokenReview } from '@kubernetes/client-node';
import type { NextFunction, Request, Response } from 'express';

export type Decision = { allowed: true } | { allowed: false; status: 401 | 403; reason: string };

export interface Reviewer {
  review(token: string, path: string): Promise<Decision>;
}

const CACHE_MS = 60_000;
const MAX_CACHED = 1024;

export class KubernetesReviewer implements Reviewer {
  private readonly cache = new Map<string, { decision: Decision; at: number }>();

  constructor(
    /** Creates an object at an API path (the operator's KubeApi.rest). */
    private readonly rest: { create<T>(path: string, body: unknown): Promise<T> },
    private readonly now: () => number = Date.now,
  ) {}

  async review(token: string, path: string): Promise<Decision> {
    const key = `${path}\u0000${token}`;
    const cached = this.cache.get(key);
    if (cached && this.now() - cached.at < CACHE_MS) return cached.decision;
    const decision = await this.decide(token, path);
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(key, { decision, at: this.now() });
    return decision;
  }

  private async decide(token: string, path: string): Promise<Decision> {
    const review = await this.rest.create<V1TokenReview>('/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token },
    });
    const user = review.status?.user;
    if (!review.status?.authenticated || !user?.username) {
      return { allowed: false, status: 401, reason: review.status?.error ?? 'token not authenticated' };
    }
    const access = await this.rest.create<V1SubjectAccessReview>(
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: user.username,
          uid: user.uid,
          groups: user.groups,
          extra: user.extra,
          nonResourceAttributes: { path, verb: 'get' },
        },
      },
    );
    if (!access.status?.allowed) {
      return { allowed: false, status: 403, reason: `${user.username} may not get ${path}` };
    }
    return { allowed: true };
  }
}

/** Express middleware: 401 without a valid bearer token, 403 without RBAC permission. */
export function requireAuthorized(reviewer: Reviewer) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      res.status(401).type('text/plain').send('Unauthorized: a bearer token is required');
      return;
    }
    try {
      const decision = await reviewer.review(match[1]!, req.path);
      if (decision.allowed) return next();
      res
        .status(decision.status)
        .type('text/plain')
        .send(decision.status === 401 ? `Unauthorized: ${decision.reason}` : `Forbidden: ${decision.reason}`);
    } catch (err) {
      res
        .status(500)
        .type('text/plain')
        .send(`authorization check failed: ${String((err as Error).message ?? err)}`);
    }
  };
}
