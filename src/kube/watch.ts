// A watch on the operator's own connection (connection.ts), in the shape client-node's ListWatch
// drives (its Watch class, which sends through undici): the same query, one JSON event per line, a
// `done` called once when the stream ends or fails, a statusCode on a refused watch, and a
// TimeoutError after 30 s without a byte (a connection that died silently), from which ListWatch
// resumes at its resourceVersion.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { ListWatch } from '@kubernetes/client-node';
import { STATUS_CODES } from 'node:http';
import { bodyText, connectionOf, idleTimer, type Connection, type Query } from './connection.js';

/** client-node's inactivity timeout of a watch: its first byte, then each next one. */
const WATCH_IDLE_MS = 30_000;

type Callback = (phase: string, obj: unknown, event: unknown) => void;
type Done = (err: unknown) => void;

const timeoutError = () => new DOMException('The operation was aborted due to timeout', 'TimeoutError');

export class Watch {
  private readonly connection: Connection;

  constructor(
    kc: KubeConfig,
    private readonly idleMs = WATCH_IDLE_MS,
  ) {
    this.connection = connectionOf(kc);
  }

  async watch(
    path: string,
    query: Record<string, unknown>,
    callback: Callback,
    done: Done,
  ): Promise<AbortController> {
    const params: Query = { watch: 'true' };
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params[k] = String(v);
    const controller = new AbortController();
    let timedOut = false;
    const quiet = idleTimer(this.idleMs, () => {
      timedOut = true;
      controller.abort(timeoutError());
    });
    let ended = false;
    const end = (err: unknown) => {
      if (ended) return;
      ended = true;
      quiet.stop();
      controller.abort();
      done(err && timedOut ? timeoutError() : err);
    };
    try {
      const res = await this.connection.send('GET', path, {
        query: params,
        headers: { accept: 'application/json' },
        signal: controller.signal,
      });
      if (res.statusCode !== 200) {
        await bodyText(res).catch(() => '');
        const code = res.statusCode ?? 500;
        throw Object.assign(new Error(res.statusMessage || STATUS_CODES[code] || 'Internal Server Error'), {
          statusCode: code,
        });
      }
      quiet.touch();
      res.setEncoding('utf8');
      let rest = '';
      const hand = (line: string) => {
        if (!line.trim()) return;
        let event: { type: string; object: unknown };
        try {
          event = JSON.parse(line) as { type: string; object: unknown };
        } catch {
          return; // as client-node: a line that is not JSON is skipped
        }
        callback(event.type, event.object, event);
      };
      res.on('data', (chunk: string) => {
        quiet.touch();
        rest += chunk;
        let newline = rest.indexOf('\n');
        while (newline >= 0) {
          const line = rest.slice(0, newline);
          rest = rest.slice(newline + 1);
          newline = rest.indexOf('\n');
          hand(line);
        }
      });
      res.on('error', end);
      res.on('aborted', () => end(new Error('watch connection aborted')));
      res.on('end', () => {
        hand(rest); // a last line without its newline, as readline would give it
        end(null);
      });
      res.on('close', () => end(null));
    } catch (err) {
      end(err);
    }
    return controller;
  }
}

/** A ListWatch (client-node's cache and relist logic) over this module's watch: what makeInformer made. */
export function makeInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<{ items: T[] }>,
  labelSelector: string | undefined,
): ListWatch<T> {
  return new ListWatch<T>(path, new Watch(kc) as never, list as never, false, labelSelector);
}
