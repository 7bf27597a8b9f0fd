// A fault-injecting proxy in front of the test bed's apiserver: the operator talks plain HTTP to it,
// it forwards over HTTPS with the test bed's admin credentials. It answers chosen requests itself
// with 429 or 5xx (without forwarding them: nothing was applied), can forward a request and lose its
// answer (applied, but the client cannot know), and can cut or hold back every open watch.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { kubectlOk } from './cluster.js';
import { makeTempDir } from './tempdirs.js';

/** Decides, for the n-th request that is not a watch, whether to answer it with an error code. */
export type FaultRule = (req: IncomingMessage, n: number) => number | undefined;

export class FaultProxy {
  readonly injected = new Map<number, number>();
  forwarded = 0;
  watchesCut = 0;
  private server: Server | undefined;
  private readonly watches = new Set<ServerResponse>();
  private count = 0;
  private agent: Agent | undefined;
  private upstream: URL | undefined;
  rule: FaultRule = () => undefined;
  /** Requests to forward (so the apiserver applies them) whose answer is then lost: the connection is cut. */
  lose: (req: IncomingMessage, n: number) => boolean = () => false;
  lost = 0;

  /**
   * Starts the proxy and returns a kubeconfig that points at it. With a `token`, the client
   * authenticates as that token's user (its requests keep their identity in the audit log);
   * otherwise the proxy forwards with the test bed's admin certificate.
   */
  async start(opts: { token?: string } = {}): Promise<string> {
    this.passToken = opts.token !== undefined;
    const config = JSON.parse(await kubectlOk(['config', 'view', '--raw', '--minify', '-o', 'json'])) as {
      clusters: Array<{ cluster: { server: string; 'certificate-authority': string } }>;
      users: Array<{ user: { 'client-certificate': string; 'client-key': string } }>;
    };
    const { cluster } = config.clusters[0]!;
    const { user } = config.users[0]!;
    this.upstream = new URL(cluster.server);
    this.agent = new Agent({
      ca: readFileSync(cluster['certificate-authority']),
      ...(opts.token === undefined
        ? { cert: readFileSync(user['client-certificate']), key: readFileSync(user['client-key']) }
        : {}),
      keepAlive: true,
    });
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      // client-node speaks plain HTTP only with TLS verification off.
      clusters: [
        { name: 'proxy', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } },
      ],
      users: [{ name: 'proxy', user: opts.token === undefined ? {} : { token: opts.token } }],
      contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'proxy' } }],
      'current-context': 'proxy',
    };
    const file = join(makeTempDir('dm-proxy-'), 'kubeconfig');
    writeFileSync(file, JSON.stringify(kubeconfig));
    return file;
  }

  /** Ends every open watch at once, as an apiserver or load balancer restart would. */
  cutWatches(): number {
    const n = this.watches.size;
    for (const res of this.watches) res.destroy();
    this.watches.clear();
    this.watchesCut += n;
    return n;
  }

  /**
   * Holds back the events of the open and future watches whose path matches: the client's cache
   * freezes (as behind a slow or partitioned apiserver) until `release`.
   */
  hold(path: RegExp): void {
    this.held = path;
  }

  release(): void {
    this.held = undefined;
    for (const flush of this.waiting.splice(0)) flush();
  }

  private held: RegExp | undefined;
  private readonly waiting: Array<() => void> = [];
  private passToken = false;

  /**
   * Holds back the answers of the requests (not watches) whose path matches, from the next one on:
   * the client waits for them, as for a slow apiserver, until `releaseAnswers`.
   */
  holdAnswers(path: RegExp): void {
    this.heldAnswers.push(path);
  }

  /** Sends the held answers whose path matches (all when none is named), and holds no more of them. */
  releaseAnswers(path?: RegExp): void {
    const matches = (url: string) => path === undefined || path.test(url);
    this.heldAnswers = this.heldAnswers.filter((p) => path !== undefined && p.source !== path.source);
    const send = this.answersWaiting.filter((w) => matches(w.url));
    this.answersWaiting = this.answersWaiting.filter((w) => !matches(w.url));
    for (const w of send) w.send();
  }

  /** How many answers whose path matches are held back now. */
  answersHeld(path: RegExp): number {
    return this.answersWaiting.filter((w) => path.test(w.url)).length;
  }

  private heldAnswers: RegExp[] = [];
  private answersWaiting: Array<{ url: string; send: () => void }> = [];

  private gate(url: string, answer: IncomingMessage, res: ServerResponse): void {
    answer.on('data', (chunk: Buffer) => {
      if (this.held?.test(url)) this.waiting.push(() => res.write(chunk));
      else res.write(chunk);
    });
    answer.on('end', () => {
      if (this.held?.test(url)) this.waiting.push(() => res.end());
      else res.end();
    });
  }

  get totalInjected(): number {
    return [...this.injected.values()].reduce((a, b) => a + b, 0);
  }

  async stop(): Promise<void> {
    this.cutWatches();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
    this.agent?.destroy();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    let lose = false;
    if (!watch) {
      const n = ++this.count;
      lose = this.lose(req, n);
      const code = lose ? undefined : this.rule(req, n);
      if (code !== undefined) {
        this.injected.set(code, (this.injected.get(code) ?? 0) + 1);
        req.resume();
        const status = {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          code,
          message: 'injected by the test proxy',
        };
        res.writeHead(code, {
          'content-type': 'application/json',
          ...(code === 429 ? { 'retry-after': '1' } : {}),
        });
        res.end(JSON.stringify(status));
        return;
      }
    }
    this.forwarded++;
    const headers = { ...req.headers, host: this.upstream!.host };
    if (!this.passToken) delete headers.authorization;
    const upstream = request(
      {
        host: this.upstream!.hostname,
        port: this.upstream!.port,
        method: req.method,
        path: req.url,
        headers,
        agent: this.agent,
      },
      (answer) => {
        if (lose) {
          this.lost++;
          answer.resume();
          answer.on('end', () => res.destroy());
          return;
        }
        const url = req.url ?? '';
        if (!watch && this.heldAnswers.some((p) => p.test(url))) {
          answer.pause();
          this.answersWaiting.push({
            url,
            send: () => {
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(res);
              answer.resume();
            },
          });
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        // A watch sends no body until something changes: the client must see the headers now.
        res.flushHeaders();
        if (watch) this.gate(req.url ?? '', answer, res);
        else answer.pipe(res);
        if (watch) {
          this.watches.add(res);
          res.on('close', () => {
            this.watches.delete(res);
            answer.destroy();
          });
        }
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }
}
