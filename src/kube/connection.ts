// The operator's connection to the apiserver of its kubeconfig's current context, on Node's own
// http/https modules: one keep-alive agent shared by every request and watch, the TLS settings read
// once, and the credential's headers applied per request, so a bearer token re-read from its file or
// renewed by an exec plugin is sent as it changes. client-node stays the source of the configuration
// and the credential; its HTTP client (undici) is not loaded: undici alone was 8 MiB of the bundled
// operator's idle memory (BENCHMARKS.md, issue 22).
import type { KubeConfig } from '@kubernetes/client-node';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

/** client-node's KubeConfig parts that read the TLS files and apply the credential (not in its types). */
interface Credential {
  applyHTTPSOptions(opts: https.RequestOptions): void;
  applyAuthorizationHeader(opts: { headers?: Record<string, unknown> }): Promise<void>;
}

/** Sockets idle this long are closed by the agent; TCP keep-alive probes start after 30 s, as client-go's. */
const KEEP_ALIVE_MS = 30_000;

/** A request with no answer (headers) after this long fails, retryably: undici's default, kept. */
export const ANSWER_TIMEOUT_MS = 300_000;

/** Why a kubeconfig cannot be used, or undefined: checked at start-up (client.ts's loadKubeConfig). */
export function unusable(kc: KubeConfig): string | undefined {
  const cluster = kc.getCurrentCluster();
  if (!cluster) return 'the kubeconfig names no current cluster';
  if (cluster.proxyUrl) return `the cluster's proxy-url (${cluster.proxyUrl}) is not supported`;
  if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify)
    return `the server ${cluster.server} is plain HTTP, which only insecure-skip-tls-verify allows`;
  return undefined;
}

export class Connection {
  readonly server: string;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  /** Impersonation: the same on every request. */
  private readonly fixed: Record<string, string> = {};

  constructor(private readonly kc: KubeConfig) {
    const problem = unusable(kc);
    if (problem) throw new Error(problem);
    this.server = kc.getCurrentCluster()!.server.replace(/\/+$/, '');
    const tls: https.RequestOptions = {};
    (kc as unknown as Credential).applyHTTPSOptions(tls);
    for (const [k, v] of Object.entries(tls.headers ?? {})) this.fixed[k] = String(v);
    const { ca, cert, key, servername, rejectUnauthorized } = tls;
    const options = {
      keepAlive: true,
      keepAliveMsecs: KEEP_ALIVE_MS,
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(servername ? { servername } : {}),
      ...(rejectUnauthorized === undefined ? {} : { rejectUnauthorized }),
    };
    const plain = this.server.startsWith('http:');
    this.transport = plain ? http : https;
    this.agent = plain ? new http.Agent(options) : new https.Agent(options);
  }

  /** The credential's headers as they are now, with the impersonation. */
  async headers(): Promise<Record<string, string>> {
    const opts: { headers?: Record<string, unknown> } = {};
    await (this.kc as unknown as Credential).applyAuthorizationHeader(opts);
    const out: Record<string, string> = { ...this.fixed };
    const user = this.kc.getCurrentUser();
    if (user?.username)
      out.authorization = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
    for (const [k, v] of Object.entries(opts.headers ?? {})) out[k.toLowerCase()] = String(v);
    return out;
  }

  /**
   * Sends a request; resolves with the response once its headers arrive (its body is the caller's to
   * read), rejects on a network failure, an abort, or no answer within ANSWER_TIMEOUT_MS.
   */
  async send(
    method: string,
    pathAndQuery: string,
    headers: Record<string, string>,
    body?: string,
    signal?: AbortSignal,
  ): Promise<IncomingMessage> {
    const all = { ...(await this.headers()), ...headers };
    if (body !== undefined) all['content-length'] = String(Buffer.byteLength(body));
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = this.transport.request(`${this.server}${pathAndQuery}`, {
        method,
        headers: all,
        agent: this.agent,
        ...(signal ? { signal } : {}),
      });
      const timer = setTimeout(
        () => req.destroy(new Error(`no answer from ${this.server} within ${ANSWER_TIMEOUT_MS / 1000}s`)),
        ANSWER_TIMEOUT_MS,
      );
      timer.unref();
      req.on('response', (res) => {
        clearTimeout(timer);
        resolve(res);
      });
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(body);
    });
  }

  /** Closes the pooled sockets (tests; a process that exits need not). */
  close(): void {
    this.agent.destroy();
  }
}

const connections = new WeakMap<KubeConfig, Connection>();

/** The one connection of a KubeConfig: every request and watch made with it shares its sockets. */
export function connectionOf(kc: KubeConfig): Connection {
  let c = connections.get(kc);
  if (!c) {
    c = new Connection(kc);
    connections.set(kc, c);
  }
  return c;
}

/** A response's whole body as text. */
export async function bodyText(res: IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk as string;
  return text;
}
