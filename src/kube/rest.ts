// The operator's requests as plain JSON on its pooled connection (connection.ts). client-node stays
// the source of the configuration and the credential. Its generated API classes are not used: their
// serializer walks every object against the model's type map both ways, and loading them is most of
// the operator's start-up and idle memory (BENCHMARKS.md, issue 22).
// A failed call throws client-node's ApiException, as the generated classes do: status code, the
// apiserver's Status as the body, the response headers.
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import { bodyText, connectionOf, type Connection, type Query } from './connection.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** `/api/v1` for the core group, `/apis/<group>/<version>` for any other. */
export const groupPath = (group: string, version: string) =>
  group === '' ? `/api/${version}` : `/apis/${group}/${version}`;

/**
 * The path of a resource: a collection (no name), an object, or a subresource of it; `namespace`
 * undefined for a cluster-scoped resource or a list across all namespaces.
 */
export function resourcePath(
  api: string,
  plural: string,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  const ns = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  const obj = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  return `${api}${ns}/${plural}${obj}${subresource ? `/${subresource}` : ''}`;
}

export class Rest {
  private readonly connection: Connection;

  constructor(kc: KubeConfig) {
    this.connection = connectionOf(kc);
  }

  /** Sends one request; the parsed JSON answer, or ApiException for a status outside 2xx. */
  async call<T>(method: Method, path: string, body?: unknown, query: Query = {}): Promise<T> {
    const text = await this.send(method, path, body, query, 'application/json');
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A GET whose answer is plain text (a pod's log), or ApiException for a status outside 2xx. */
  getText(path: string, query?: Query): Promise<string> {
    return this.send('GET', path, undefined, query ?? {}, 'text/plain');
  }

  private async send(
    method: Method,
    path: string,
    body: unknown,
    query: Query,
    accept: string,
  ): Promise<string> {
    const headers: Record<string, string> = { accept };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.connection.send(method, path, {
      query,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await bodyText(res);
    const code = res.statusCode ?? 0;
    if (code >= 200 && code < 300) return text;
    let status: unknown = text;
    try {
      status = JSON.parse(text);
    } catch {
      // not JSON (a proxy's page, say): the text is the body
    }
    const answer: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) answer[k] = String(v);
    const message = (status as { message?: unknown })?.message ?? text;
    throw new ApiException(code, `HTTP-Code: ${code}\nMessage: ${message}`, status, answer);
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.call<T>('GET', path, undefined, query);
  }

  create<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  replace<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PUT', path, body);
  }

  delete(path: string, body?: unknown, query?: Query): Promise<unknown> {
    return this.call('DELETE', path, body, query);
  }
}
