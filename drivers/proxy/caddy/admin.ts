// A small client of Caddy's admin API (undici), on a unix socket or a TCP URL. Every failure
// becomes a CaddyAdminError, a ProxyError carrying Caddy's own `{"error": ...}` text when
// Caddy sent one.
import { Agent, request } from 'undici';
import { ProxyError, type ProxyErrorReason } from '../types.js';
import type { Json } from './json.js';

/** A config as Caddy sends it, parsed; null when it has none. */
export const parseConfig = (text: string): Json => (text.trim() === '' ? null : (JSON.parse(text) as Json));

export class CaddyAdminError extends ProxyError {
  constructor(
    message: string,
    reason: ProxyErrorReason,
    /** HTTP status Caddy answered with; absent when it could not be reached. */
    readonly status?: number,
  ) {
    super(message, reason);
    this.name = 'CaddyAdminError';
  }
}

const RESET_RETRIES = 5;
const isReset = (e: NodeJS.ErrnoException) =>
  e.code === 'ECONNRESET' || e.code === 'UND_ERR_SOCKET' || e.code === 'EPIPE';

export class CaddyAdmin {
  private readonly dispatcher: Agent;
  /** What errors name: the URL, or the socket's path. */
  readonly where: string;
  private readonly base: string;

  /**
   * `target` is an http URL (its host is also the Host header the admin API checks) or the
   * path of the admin unix socket (Caddy wants an empty Host there).
   */
  constructor(readonly target: string) {
    const socketPath = target.startsWith('/') ? target : undefined;
    this.where = socketPath ? `unix socket ${socketPath}` : target;
    this.base = socketPath ? 'http://localhost' : target;
    this.dispatcher = new Agent({
      connect: { timeout: 3_000, ...(socketPath ? { socketPath } : {}) },
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
    });
    this.socket = socketPath !== undefined;
  }

  private readonly socket: boolean;

  /** Admin API base URL, or "unix//path" for the socket. */
  get baseUrl(): string {
    return this.socket ? `unix/${this.target}` : this.target;
  }

  async getConfig(): Promise<Json> {
    return parseConfig(await this.getConfigText());
  }

  /** The config as Caddy sends it (empty, or "null", when it has none). */
  getConfigText(): Promise<string> {
    return this.call('GET', '/config/');
  }

  /** Replaces the whole config (an object, or its JSON); resolves once Caddy has reloaded (or found it unchanged). */
  async load(config: Json | string): Promise<void> {
    await this.call('POST', '/load', typeof config === 'string' ? config : JSON.stringify(config));
  }

  /** Any admin call, for tests and benchmarks. Returns the body text. */
  async call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: string): Promise<string> {
    const url = new URL(path, this.base);
    const headers: Record<string, string> = { connection: 'close' };
    if (this.socket) headers.host = '';
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    for (let attempt = 1; ; attempt++) {
      try {
        // Caddy replaces its admin listener after every load: a kept-alive socket would be reset.
        res = await request(url, { method, dispatcher: this.dispatcher, headers, body });
        break;
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        // A connection that lands on the admin listener being replaced is reset before Caddy reads it.
        if (attempt < RESET_RETRIES && isReset(e)) {
          await new Promise((r) => setTimeout(r, 20 * attempt));
          continue;
        }
        throw new CaddyAdminError(
          `Caddy admin API at ${this.where} unreachable (${method} ${path}): ${e.code ? `${e.code} ` : ''}${e.message}`,
          'ProxyUnreachable',
        );
      }
    }
    const text = await res.body.text();
    if (res.statusCode >= 200 && res.statusCode < 300) return text;
    let message = text.trim();
    try {
      const parsed = JSON.parse(text) as { error?: unknown };
      if (typeof parsed.error === 'string') message = parsed.error;
    } catch {
      /* not JSON: keep the text */
    }
    throw new CaddyAdminError(
      `Caddy ${method} ${path} (${res.statusCode}): ${message || 'no message'}`,
      path === '/load' && res.statusCode === 400 ? 'ProxyConfigRejected' : 'ProxyError',
      res.statusCode,
    );
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
