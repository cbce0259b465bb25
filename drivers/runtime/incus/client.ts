// A small Incus REST client: the unix socket (or HTTPS with a client certificate) through one
// undici Agent, sync/async/error replies, operations awaited through /wait with the outcome
// read from the body. Every failure becomes a RuntimeError carrying Incus's own words.
import { X509Certificate } from 'node:crypto';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import { RuntimeError, type RuntimeErrorReason } from '../types.js';
import { waitForOperation, type Operation } from './operation-wait.js';

export type { Operation } from './operation-wait.js';

export const DEFAULT_INCUS_SOCKET = '/var/lib/incus/unix.socket';

export interface IncusConnection {
  /** Unix socket of the local Incus (default /var/lib/incus/unix.socket). Ignored when `url` is set. */
  socketPath?: string;
  /** HTTPS endpoint of a remote Incus or of any cluster member, e.g. https://incus.lan:8443. */
  url?: string;
  /** PEM client certificate and key trusted by the remote Incus (`incus config trust add-certificate`). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /**
   * PEM certificate (or CA) to verify the server with; Incus servers are usually self-signed
   * (/var/lib/incus/server.crt, or ~/.config/incus/servercerts/<remote>.crt). When the server
   * presents exactly this certificate it is trusted whatever host name it is reached by (pinning,
   * as the incus client does); otherwise the usual host name check applies.
   */
  serverCert?: string | Buffer;
  /** Skip server certificate verification (only for tests on loopback). */
  insecureSkipVerify?: boolean;
  /** Timeout for one HTTP request, ms (default 30 s; operation waits have their own). */
  requestTimeoutMs?: number;
  /**
   * Longest single /wait request, seconds (default 60); a longer wait is several in a row. Tests
   * make it short to see an operation outlive one /wait without taking a minute.
   */
  waitSliceSeconds?: number;
}

interface Envelope {
  type?: 'sync' | 'async' | 'error';
  status_code?: number;
  error_code?: number;
  error?: string;
  operation?: string;
  metadata?: unknown;
}

export class IncusClient {
  readonly dispatcher: Dispatcher;
  /** Base for http(s) requests; the host part is ignored on a unix socket. */
  readonly base: string;
  /** Where this client talks to, for error messages. */
  readonly where: string;
  readonly #timeoutMs: number;
  readonly #waitSliceSeconds: number;

  constructor(conn: IncusConnection) {
    this.#timeoutMs = conn.requestTimeoutMs ?? 30_000;
    this.#waitSliceSeconds = Math.max(1, conn.waitSliceSeconds ?? 60);
    if (conn.url) {
      const url = new URL(conn.url);
      if (url.protocol !== 'https:')
        throw new RuntimeError(`Incus URL must be https:// (got ${conn.url})`, 'InvalidConfig');
      this.base = url.origin;
      this.where = `Incus at ${url.origin}`;
      const pinned = conn.serverCert ? pinnedDer(conn.serverCert) : undefined;
      this.dispatcher = new Agent({
        connect: {
          cert: conn.cert,
          key: conn.key,
          ca: conn.serverCert,
          rejectUnauthorized: !conn.insecureSkipVerify,
          checkServerIdentity: (host: string, cert: PeerCertificate) =>
            pinned && cert.raw?.equals(pinned) ? undefined : checkServerIdentity(host, cert),
          // Incus speaks TLS 1.3 only.
          minVersion: 'TLSv1.3',
        },
        keepAliveTimeout: 30_000,
      });
    } else {
      const socketPath = conn.socketPath ?? DEFAULT_INCUS_SOCKET;
      this.base = 'http://incus';
      this.where = `Incus at unix socket ${socketPath}`;
      this.dispatcher = new Agent({ connect: { socketPath }, keepAliveTimeout: 30_000, connections: 32 });
    }
  }

  /**
   * One request; returns the sync metadata or, for async replies, the finished operation's
   * metadata. `ifGone` runs when the operation was reaped before its outcome could be read.
   */
  async call<T = unknown>(
    method: Dispatcher.HttpMethod,
    path: string,
    body?: unknown,
    opts: { waitSeconds?: number; ifGone?: () => Promise<void> } = {},
  ): Promise<T> {
    const env = await this.raw(method, path, body);
    if (env.type === 'async' && env.operation) {
      const op = await this.wait(env.operation, opts.waitSeconds ?? 120);
      // Reaped before we saw how it ended: the caller checks the resource (and throws if wrong).
      if (!op) await opts.ifGone?.();
      return (op?.metadata ?? undefined) as T;
    }
    return env.metadata as T;
  }

  /** One HTTP exchange; error replies throw. */
  async raw(
    method: Dispatcher.HttpMethod,
    path: string,
    body?: unknown,
    timeoutMs = this.#timeoutMs,
  ): Promise<Envelope> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(this.base + path, {
        method,
        dispatcher: this.dispatcher,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (err) {
      throw this.#unreachable(err);
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw this.#unreachable(err);
    }
    let env: Envelope;
    try {
      env = JSON.parse(text) as Envelope;
    } catch {
      throw new RuntimeError(
        `${this.where}: ${method} ${path} answered HTTP ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`,
        'IncusError',
        res.statusCode,
      );
    }
    if (env.type === 'error' || res.statusCode >= 400) {
      const code = env.error_code ?? res.statusCode;
      throw new RuntimeError(env.error || `HTTP ${res.statusCode}`, reasonFor(code), code);
    }
    return env;
  }

  /** Writes a file into an instance through the files API (`path` already has the query). */
  async pushFile(path: string, content: string | Buffer, mode = '0644'): Promise<void> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(this.base + path, {
        method: 'POST',
        dispatcher: this.dispatcher,
        headers: { 'content-type': 'application/octet-stream', 'x-incus-type': 'file', 'x-incus-mode': mode },
        body: content,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
    } catch (err) {
      throw this.#unreachable(err);
    }
    const text = await res.body.text().catch(() => '');
    if (res.statusCode >= 400) {
      let message = `HTTP ${res.statusCode}`;
      try {
        message = (JSON.parse(text) as Envelope).error || message;
      } catch {
        /* not JSON */
      }
      throw new RuntimeError(message, reasonFor(res.statusCode), res.statusCode);
    }
  }

  /** GET of a plain file Incus serves (an exec's recorded output); error replies throw. */
  async text(path: string): Promise<string> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(this.base + path, {
        method: 'GET',
        dispatcher: this.dispatcher,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
    } catch (err) {
      throw this.#unreachable(err);
    }
    const body = await res.body.text().catch((err: unknown) => {
      throw this.#unreachable(err);
    });
    if (res.statusCode >= 400) {
      let message = `HTTP ${res.statusCode}`;
      try {
        message = (JSON.parse(body) as Envelope).error || message;
      } catch {
        /* not JSON */
      }
      throw new RuntimeError(message, reasonFor(res.statusCode), res.statusCode);
    }
    return body;
  }

  /**
   * Waits for an operation and reads its outcome (see operation-wait.ts for Incus 6.0's traps).
   * A failed operation throws with its `err`, whatever code its /wait answered with. Returns
   * undefined only when the operation is truly gone (finished and reaped before we looked):
   * then its outcome is unknown, and a caller that needs certainty checks the resource.
   */
  wait(operation: string, timeoutSeconds: number): Promise<Operation | undefined> {
    return waitForOperation(this, operation, timeoutSeconds, this.#waitSliceSeconds);
  }

  #unreachable(err: unknown): RuntimeError {
    const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
    const code = e.code ?? e.cause?.code;
    const msg = e.cause?.message ?? e.message ?? String(err);
    const hint =
      code === 'ENOENT'
        ? ' (no such socket: is Incus installed and incusd running? see scripts/setup-host.sh)'
        : code === 'ECONNREFUSED'
          ? ' (connection refused: is incusd running?)'
          : code === 'EACCES'
            ? ' (permission denied: run as root or as a member of incus-admin)'
            : '';
    return new RuntimeError(`${this.where} is not reachable: ${msg}${hint}`, 'RuntimeUnavailable', 503);
  }

  async close(): Promise<void> {
    await (this.dispatcher as Agent).close().catch(() => undefined);
  }
}

function pinnedDer(pem: string | Buffer): Buffer | undefined {
  try {
    return new X509Certificate(pem).raw;
  } catch {
    return undefined; // not a single certificate (a CA bundle, say): no pinning, normal checks
  }
}

function reasonFor(code: number): RuntimeErrorReason {
  switch (code) {
    case 400:
      return 'BadRequest';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 409:
      return 'AlreadyExists';
    case 412:
      return 'Conflict';
    case 503:
      return 'RuntimeUnavailable';
    default:
      return 'IncusError';
  }
}
