// Single-user HTTP basic auth behind the login throttle. The comparison hashes both sides (so
// lengths leak nothing) and compares the digests with timingSafeEqual: a wrong user name and a
// wrong password take the same path and the same time. Every way in goes through one
// LoginGate: the API's routes, its WebSocket upgrades, and /authz, which Tidepool's Caddy asks
// for every request to the UI, the IDEs and the Ports.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AUTH_INFO_PATH, PROXY_SECRET_HEADER } from '../specs/index.js';
import { ApiError } from './errors.js';
import { LoginThrottle, clientOf, type ThrottleOptions } from './throttle.js';

export const REALM = 'tidepool';
export const WWW_AUTHENTICATE = `Basic realm="${REALM}", charset="UTF-8"`;

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest();

/** A checker for `Authorization` header values: true only for exactly these credentials. */
export function basicAuthChecker(credentials: {
  username: string;
  password: string;
}): (header: string | undefined) => boolean {
  // user:pass as the header carries it (a user name may not contain ':', RFC 7617).
  const expected = sha256(Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8'));
  return (header) => {
    if (!header) return false;
    const m = /^\s*basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
    // Still hash something on a malformed header, so every reply costs the same.
    const given = sha256(m ? Buffer.from(m[1]!, 'base64') : Buffer.alloc(0));
    return timingSafeEqual(given, expected) && m !== null;
  };
}

export function unauthorized(header: string | undefined): ApiError {
  return new ApiError(
    401,
    'Unauthorized',
    header
      ? 'Unauthorized: the user name or password is wrong'
      : 'Unauthorized: this server needs HTTP basic auth (TIDEPOOL_USER / TIDEPOOL_PASSWORD, or the credentials file in the data directory)',
  );
}

/** A refused login: 401 or 429, with the headers its answer must carry. */
export class LoginRefused extends ApiError {
  constructor(
    code: 401 | 429,
    reason: string,
    message: string,
    readonly headers: Record<string, string>,
  ) {
    super(code, reason, message);
  }
}

/** What the gate reads of a request (a Fastify request and a Node IncomingMessage both have it). */
export interface LoginRequest {
  headers: IncomingHttpHeaders;
  socket: { remoteAddress?: string | undefined };
}

export interface LoginGateOptions {
  credentials: { username: string; password: string };
  throttle?: ThrottleOptions;
  /** The secret Tidepool's Caddy sends in PROXY_SECRET_HEADER; without it no X-Forwarded-For is believed. */
  proxySecret?: string;
}

export interface LoginGate {
  /** Resolves for the right credentials; rejects with LoginRefused (401 after the throttle's wait, or 429). */
  check(req: LoginRequest): Promise<void>;
  /** The client a request is counted against (tests and logs). */
  clientOf(req: LoginRequest): string;
  readonly throttle: LoginThrottle;
}

export function loginGate(opts: LoginGateOptions): LoginGate {
  const authorized = basicAuthChecker(opts.credentials);
  const throttle = new LoginThrottle(opts.throttle);
  const secret = opts.proxySecret ? sha256(opts.proxySecret) : undefined;
  const fromProxy = (headers: IncomingHttpHeaders) => {
    const given = headers[PROXY_SECRET_HEADER.toLowerCase()];
    return !!secret && typeof given === 'string' && timingSafeEqual(sha256(given), secret);
  };
  const clientOfReq = (req: LoginRequest) =>
    clientOf(req.socket.remoteAddress, req.headers['x-forwarded-for'], fromProxy(req.headers));
  return {
    throttle,
    clientOf: clientOfReq,
    async check(req) {
      const header = req.headers.authorization;
      // No credentials at all is a browser asking which realm: answered at once, never counted.
      if (!header)
        throw new LoginRefused(401, 'Unauthorized', unauthorized(header).message, {
          'WWW-Authenticate': WWW_AUTHENTICATE,
        });
      const client = clientOfReq(req);
      const wait = throttle.lockedFor(client);
      if (wait > 0) {
        const seconds = Math.ceil(wait / 1000);
        // Held like a wrong guess: a locked-out flood then costs sockets and timers, not a
        // tight loop of instant answers on both cores.
        await throttle.hold();
        throw new LoginRefused(
          429,
          'TooManyRequests',
          `Too many wrong logins from this client (${client}): try again in ${seconds} s`,
          { 'Retry-After': String(seconds) },
        );
      }
      if (authorized(header)) {
        throttle.succeeded(client);
        return;
      }
      await throttle.failed(client);
      throw new LoginRefused(401, 'Unauthorized', unauthorized(header).message, {
        'WWW-Authenticate': WWW_AUTHENTICATE,
      });
    },
  };
}

/** /authz checks the credentials itself (it is what the proxy asks); auth info is how a client learns to sign in. */
const PUBLIC_PATHS = new Set(['/healthz', '/readyz', '/authz', AUTH_INFO_PATH]);

/**
 * The login gate on every route but the public ones, and /authz: the proxy's forward auth,
 * 204 for the right credentials, else 401 after the throttle. Registered after the origin
 * check, whose hook must run first.
 */
/**
 * A step of /authz before the login: answers a proxied request it decides (a Port's visibility)
 * and resolves true, else resolves false. `signIn` is the gate's check of the credentials.
 */
export type ProxiedAccess = (req: FastifyRequest, reply: FastifyReply, signIn: () => Promise<void>) => Promise<boolean>;

export const authPlugin = fp(
  async (app: FastifyInstance, opts: { gate: LoginGate; proxied?: ProxiedAccess }) => {
    if (!opts.gate) throw new Error('authPlugin needs a login gate');
    const { gate, proxied } = opts;
    app.addHook('onRequest', async (req) => {
      if (PUBLIC_PATHS.has(req.url.split('?')[0]!)) return;
      await gate.check(req);
    });
    app.route({
      method: ['GET', 'HEAD'],
      url: '/authz',
      handler: async (req, reply) => {
        if (proxied && (await proxied(req, reply, () => gate.check(req)))) return reply;
        await gate.check(req);
        return reply.code(204).send();
      },
    });
  },
  { name: 'tidepool-auth', fastify: '5.x', dependencies: ['tidepool-origin'] },
);
