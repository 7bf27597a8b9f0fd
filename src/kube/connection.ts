// The operator's connection to the apiserver of its kubeconfig's current context, on Node's own
// http/https modules: one keep-alive agent shared by every request and watch (a new one when an exec
// plugin renews its client certificate), the TLS settings read once, and the credential's headers
// applied per request, so a bearer token re-read from its file or renewed by an exec plugin is sent
// as it changes. client-node stays the source of the configuration and the credential; its HTTP
// client (undici) is not loaded: undici alone was 8 MiB of the bundled operator's idle memory
// (BENCHMARKS.md, issue 22).
import type { KubeConfig } from '@kubernetes/client-node';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

/** client-node's KubeConfig parts that read the TLS files and apply the credential (not in its types). */
interface KubeConfigParts {
  applyHTTPSOptions(opts: https.RequestOptions): void;
  applyAuthorizationHeader(opts: { headers?: Record<string, unknown> }): Promise<void>;
}

/** TCP keep-alive probes start after 30 s of silence on a socket, as client-go's. */
const KEEP_ALIVE_MS = 30_000;

/**
 * A pooled socket unused this long is closed: before the apiserver closes it (90 s idle), so a
 * request never goes out on a socket the server is closing.
 */
const FREE_SOCKET_MS = 60_000;

/** A request with no answer (headers), or a body that stalls, this long fails, retryably: undici's. */
const ANSWER_TIMEOUT_MS = 300_000;

/** A request's query parameters; one that is undefined is not sent. */
export type Query = Record<string, string | undefined>;

/** A request as Connection.send takes it: all optional. */
export interface Outgoing {
  query?: Query;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/**
 * Calls `onIdle` once `ms` pass without a touch() (an answer's first byte, each next one); stop()
 * ends it. Never keeps the process alive.
 */
export function idleTimer(ms: number, onIdle: () => void): { touch(): void; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(onIdle, ms).unref();
  };
  touch();
  return { touch, stop: () => clearTimeout(timer) };
}

/** Why a kubeconfig cannot be used, or undefined: checked at start-up (client.ts's loadKubeConfig). */
export function unusable(kc: KubeConfig): string | undefined {
  const cluster = kc.getCurrentCluster();
  if (!cluster) return 'the kubeconfig names no current cluster';
  if (cluster.proxyUrl) return `the cluster's proxy-url (${cluster.proxyUrl}) is not supported`;
  if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify)
    return `the server ${cluster.server} is plain HTTP, which only insecure-skip-tls-verify allows`;
  return undefined;
}

/** What the credential adds to a request: headers, and a client certificate an exec plugin gave. */
interface Credential {
  headers: Record<string, string>;
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
}

export class Connection {
  readonly server: string;
  private readonly transport: typeof http | typeof https;
  /** The cluster's TLS settings and the kubeconfig's client certificate, read once. */
  private readonly tls: https.AgentOptions;
  /** Impersonation: the same on every request. */
  private readonly fixed: Record<string, string> = {};
  /** The pool, made for the client certificate it was made with (an exec plugin may renew it). */
  private agent: { agent: http.Agent; cert: unknown; key: unknown } | undefined;

  constructor(private readonly kc: KubeConfig) {
    const problem = unusable(kc);
    if (problem) throw new Error(problem);
    this.server = kc.getCurrentCluster()!.server.replace(/\/+$/, '');
    const tls: https.RequestOptions = {};
    (kc as unknown as KubeConfigParts).applyHTTPSOptions(tls);
    for (const [k, v] of Object.entries(tls.headers ?? {})) this.fixed[k] = String(v);
    const { ca, cert, key, servername, rejectUnauthorized } = tls;
    this.tls = {
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(servername ? { servername } : {}),
      ...(rejectUnauthorized === undefined ? {} : { rejectUnauthorized }),
    };
    this.transport = this.server.startsWith('http:') ? http : https;
  }

  /** The credential as it is now: client-node's authenticators (token file, exec plugin, OIDC). */
  private async credential(): Promise<Credential> {
    const opts: { headers?: Record<string, unknown>; cert?: string | Buffer; key?: string | Buffer } = {};
    await (this.kc as unknown as KubeConfigParts).applyAuthorizationHeader(opts);
    const headers: Record<string, string> = { ...this.fixed };
    const user = this.kc.getCurrentUser();
    if (user?.username)
      headers.authorization = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = String(v);
    return { headers, cert: opts.cert, key: opts.key };
  }

  /**
   * The pool for a credential: one agent for as long as the client certificate stays the same; an
   * exec plugin's renewed certificate gets a new one (the old one's sockets end with their requests
   * and its idle ones after FREE_SOCKET_MS).
   */
  private agentFor({ cert, key }: Credential): http.Agent {
    const current = this.agent;
    if (current && current.cert === cert && current.key === key) return current.agent;
    const options: https.AgentOptions = {
      keepAlive: true,
      keepAliveMsecs: KEEP_ALIVE_MS,
      timeout: FREE_SOCKET_MS,
      ...this.tls,
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
    };
    const agent = this.transport === http ? new http.Agent(options) : new https.Agent(options);
    this.agent = { agent, cert, key };
    return agent;
  }

  /**
   * Sends a request; resolves with the response once its headers arrive (its body is the caller's to
   * read), rejects on a network failure, an abort, or no answer within ANSWER_TIMEOUT_MS.
   */
  async send(method: string, path: string, out: Outgoing = {}): Promise<IncomingMessage> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(out.query ?? {})) if (v !== undefined) params.set(k, v);
    const credential = await this.credential();
    const headers = { ...credential.headers, ...out.headers };
    if (out.body !== undefined) headers['content-length'] = String(Buffer.byteLength(out.body));
    const agent = this.agentFor(credential);
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = this.transport.request(`${this.server}${path}${params.size ? `?${params}` : ''}`, {
        method,
        headers,
        agent,
        ...(out.signal ? { signal: out.signal } : {}),
      });
      const answer = idleTimer(ANSWER_TIMEOUT_MS, () =>
        req.destroy(new Error(`no answer from ${this.server} within ${ANSWER_TIMEOUT_MS / 1000}s`)),
      );
      req.on('response', (res) => {
        answer.stop();
        resolve(res);
      });
      req.on('error', (err) => {
        answer.stop();
        reject(err);
      });
      req.end(out.body);
    });
  }

  /** Closes the pooled sockets (tests; a process that exits need not). */
  close(): void {
    this.agent?.agent.destroy();
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

/** A response's whole body as text; a body that stalls for `idleMs` fails (the socket is closed). */
export async function bodyText(res: IncomingMessage, idleMs = ANSWER_TIMEOUT_MS): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  const stall = idleTimer(idleMs, () => res.destroy(new Error(`the answer stalled for ${idleMs / 1000}s`)));
  try {
    for await (const chunk of res) {
      stall.touch();
      text += chunk as string;
    }
  } finally {
    stall.stop();
  }
  return text;
}
