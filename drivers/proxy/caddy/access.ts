// Caddy's access log as a stream: Caddy's `net` log writer sends each entry as one UDP
// datagram to 127.0.0.1:<port>, where this listener turns it into "workspace W was used".
// UDP on purpose: a write never blocks Caddy's request path (a stream socket whose reader is
// busy would), a datagram lost under load costs nothing (only "used recently" is kept), and
// with no listener (Tidepool restarting) Caddy's writes just go nowhere. The port is kept
// across restarts: it is part of Caddy's config, which must stay the same for an adoption.
import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from '../daemon.js';
import { errorMessage } from '../../../specs/errors.js';

const URI_KEY = '"uri":"';
/**
 * The start of a request URI in a workspace (the name ends the path or is followed by "/"),
 * after /ns/{namespace} for a workspace of a namespace other than the default.
 */
const WORKSPACE_URI =
  /^(?:\/ns\/([a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?))?\/workspace\/([a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)(?:\/|")/;

/**
 * The workspace a Caddy access log entry is about (its route name), if any. Found without parsing the entry
 * (this runs once per proxied request): in JSON a quote inside a string is always escaped, so
 * the first `"uri":"` is the key itself, and a workspace name needs no escaping.
 */
export function workspaceOfEntry(text: string): string | undefined {
  const at = text.indexOf(URI_KEY);
  if (at < 0) return undefined;
  const m = WORKSPACE_URI.exec(text.slice(at + URI_KEY.length, at + URI_KEY.length + 160));
  if (!m) return undefined;
  // The route name (specs/object-key.ts): "dev", or "dev.team-a".
  return m[1] ? `${m[2]}.${m[1]}` : m[2];
}

const STATUS_KEY = '"status":';

/**
 * The status code an entry's response had, found like the URI: a quote inside a JSON string is
 * escaped, so the first `"status":` is a key, and the request object (which comes first) has none.
 */
export function statusOfEntry(text: string): number | undefined {
  const at = text.indexOf(STATUS_KEY);
  if (at < 0) return undefined;
  const m = /^\s*(\d{3})\b/.exec(text.slice(at + STATUS_KEY.length, at + STATUS_KEY.length + 8));
  return m ? Number(m[1]) : undefined;
}

/**
 * Answers of the door itself (the login, another person's workspace, the login throttle):
 * nobody got in, so the workspace was not used. Counting them would let anyone who reaches
 * the proxy keep a workspace awake, and first in line to keep its room, without signing in.
 */
const REFUSED_AT_THE_DOOR = new Set([401, 403, 429]);

/** The workspace an entry shows used (its route name): a request to it that was let in. */
export function workspaceUsedBy(text: string): string | undefined {
  const ws = workspaceOfEntry(text);
  return ws && !REFUSED_AT_THE_DOOR.has(statusOfEntry(text) ?? 0) ? ws : undefined;
}

export class AccessLog {
  #socket: Socket | undefined;
  readonly #listeners = new Set<(workspace: string) => void>();

  constructor(private readonly logger: Logger) {}

  /** The "udp/127.0.0.1:port" Caddy writes to (after listen). */
  get address(): string {
    return `udp/127.0.0.1:${this.#socket?.address().port ?? 0}`;
  }

  /** Listens on `port` when it is free (the one Caddy's config names already), else on a new one. */
  async listen(port: number): Promise<void> {
    const bind = (p: number) =>
      new Promise<Socket>((resolve, reject) => {
        const s = createSocket('udp4');
        s.once('error', reject);
        s.bind(p, '127.0.0.1', () => {
          s.off('error', reject);
          resolve(s);
        });
      });
    this.#socket = await bind(port).catch(() => bind(0));
    this.#socket.on('error', (err) => this.logger.warn({ err: err.message }, 'access log listener failed'));
    this.#socket.on('message', (msg) => {
      for (const line of msg.toString('utf8').split('\n')) {
        const ws = line && workspaceUsedBy(line);
        if (!ws) continue;
        for (const fn of this.#listeners) {
          try {
            fn(ws);
          } catch (err) {
            this.logger.error({ err: errorMessage(err) }, 'access listener failed');
          }
        }
      }
    });
  }

  subscribe(fn: (workspace: string) => void): () => void {
    this.#listeners.add(fn);
    return () => {
      this.#listeners.delete(fn);
    };
  }

  close(): Promise<void> {
    this.#listeners.clear();
    const s = this.#socket;
    this.#socket = undefined;
    return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }
}
