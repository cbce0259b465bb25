// Who a request comes from, behind the login throttle: HTTP basic auth (the local admin), a
// Bearer token (a personal access token, or an OIDC token of the configured provider) or a
// sign-in session's cookie (./signin/). Basic auth: The comparison hashes both sides (so
// lengths leak nothing) and compares the digests with timingSafeEqual: a wrong user name and a
// wrong password take the same path and the same time. Every way in goes through one
// LoginGate: the API's routes, its WebSocket upgrades, and /authz, which Tidepool's Caddy asks
// for every request to the UI, the IDEs and the Ports.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AUTH_INFO_PATH, PROXY_SECRET_HEADER, type AuthMode } from '../specs/index.js';
import { ApiError } from './errors.js';
import { forwardAuth, type ReachCheck } from './forward-auth.js';
import { sessionRefusal, type OriginPolicy } from './origin.js';
import type { OwnOrigins } from './signin/return-url.js';
import { localAdmin, type Identity } from './identity.js';
import { credentialCookie, SESSION_COOKIE, SESSION_HEADER } from './signin/cookies.js';
import type { SignInProvider } from './signin/provider.js';
import { admit, type Person, type SignInRules } from './signin/rules.js';
import type { SessionStore } from './signin/sessions.js';
import type { TokenStore } from './signin/tokens.js';
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

/** A refused login: 401, 403 (a person the sign-in rules keep out) or 429, with the headers its answer must carry. */
export class LoginRefused extends ApiError {
  constructor(
    code: 401 | 403 | 429,
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
  /** Default basic: a 401 asks for basic auth; otherwise it points at the sign-in page. */
  mode?: AuthMode;
  /** Sessions of signed-in browsers (the tp_session cookie). Defaults to none. */
  sessions?: SessionStore;
  /** Personal access tokens (Bearer tp_...). Defaults to none. */
  tokens?: TokenStore;
  /** The OIDC provider whose own tokens are accepted as Bearer, and who may sign in. */
  bearer?: { provider: SignInProvider; rules: SignInRules };
  throttle?: ThrottleOptions;
  /** The secret Tidepool's Caddy sends in PROXY_SECRET_HEADER; without it no X-Forwarded-For is believed. */
  proxySecret?: string;
}

export interface LoginGate {
  /** Who the credentials are; rejects with LoginRefused (401 after the throttle's wait, or 429). */
  check(req: LoginRequest): Promise<Identity>;
  /** Whether the request is from Tidepool's own Caddy (it carried the proxy secret). */
  fromProxy(req: LoginRequest): boolean;
  readonly mode: AuthMode;
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
  const mode = opts.mode ?? 'basic';
  const challenge = { 'WWW-Authenticate': mode === 'basic' ? WWW_AUTHENTICATE : `Bearer realm="${REALM}"` };
  const noCredentials = () =>
    new LoginRefused(
      401,
      'Unauthorized',
      mode === 'basic'
        ? unauthorized(undefined).message
        : "Unauthorized: sign in at /auth/login (a browser), or send a Bearer token (tidepool login, tidepool token create) or the local admin's basic auth",
      challenge,
    );
  const badToken = 'Unauthorized: the Bearer token is unknown, revoked or expired';
  /** The person of an Authorization header, or why its credentials are wrong; throws for a person not let in. */
  const byHeader = async (header: string): Promise<Identity | string> => {
    const bearer = /^\s*bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    if (bearer === undefined)
      return authorized(header) ? localAdmin(opts.credentials.username) : unauthorized(header).message;
    if (bearer.startsWith('tp_')) return opts.tokens?.identityOf(bearer) ?? badToken;
    if (!opts.bearer?.provider.verifyBearer) return badToken;
    let person: Person;
    try {
      person = await opts.bearer.provider.verifyBearer(bearer);
    } catch (err) {
      return (err as Error).message;
    }
    const verdict = admit(person, opts.bearer.rules);
    if ('refused' in verdict) throw new LoginRefused(403, 'Forbidden', `Forbidden: ${verdict.refused}`, {});
    return { ...verdict.identity, via: 'token' };
  };
  return {
    throttle,
    mode,
    fromProxy: (req) => fromProxy(req.headers),
    clientOf: clientOfReq,
    async check(req) {
      const header = req.headers.authorization;
      // No credentials at all is a browser asking which realm (or a signed-in browser's
      // cookie): answered at once, never counted. A stale session is no guess (its id is 256 random bits).
      if (!header) {
        const session = credentialCookie(req.headers, fromProxy(req.headers), SESSION_COOKIE, SESSION_HEADER);
        const who = opts.sessions?.identityOf(session);
        if (who) return who;
        throw noCredentials();
      }
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
      const who = await byHeader(header);
      if (typeof who === 'object') {
        throttle.succeeded(client);
        return who;
      }
      await throttle.failed(client);
      throw new LoginRefused(401, 'Unauthorized', who, challenge);
    },
  };
}

/** /authz checks the credentials itself (it is what the proxy asks); auth info is how a client learns to sign in; /auth/* is sign-in and sign-out. */
const PUBLIC_PATHS = new Set(['/healthz', '/readyz', '/authz', AUTH_INFO_PATH]);
const isPublic = (path: string) => PUBLIC_PATHS.has(path) || path.startsWith('/auth/');

/**
 * A step of /authz before the login: answers a proxied request it decides (a Port's visibility)
 * and resolves true, else resolves false. `signIn` is the gate's check of the credentials.
 */
export type ProxiedAccess = (req: FastifyRequest, reply: FastifyReply, signIn: () => Promise<void>) => Promise<boolean>;

export interface AuthPluginOptions {
  gate: LoginGate;
  origins: OriginPolicy;
  /** Tidepool's own origins: where /authz sends a page load to sign in. */
  own?: OwnOrigins;
  /** Who may reach which IDE (the namespaces' rule); everyone signed in when left out. */
  reach?: ReachCheck;
  /** The Port step of /authz (./port-authz.ts): a Port's visibility and share links. */
  proxied?: ProxiedAccess;
}

/** A route's config that leaves the login to the route: it must call signInStep's step before it reads an identity. */
export interface SignsItselfIn {
  signsItselfIn?: boolean;
}

/**
 * The login of a request: the gate's check of its credentials, which sets req.identity, and for a
 * session the origin rule (sessionRefusal). Throws 401, 403 or 429.
 */
export function signInStep(gate: LoginGate, origins: OriginPolicy) {
  return async (req: FastifyRequest): Promise<void> => {
    req.identity = await gate.check(req);
    if (req.identity.via === 'session') {
      const refused = sessionRefusal(req.raw, origins);
      if (refused) throw refused;
    }
  };
}

/**
 * The login gate on every route but the public ones (it sets req.identity), and /authz: the
 * proxy's forward auth (./forward-auth.ts). A request signed in by the session cookie must also
 * come from a page of the app origin (sessionRefusal). Registered after the origin check, whose
 * hook must run first.
 */
export const authPlugin = fp(
  async (app: FastifyInstance, opts: AuthPluginOptions) => {
    if (!opts.gate) throw new Error('authPlugin needs a login gate');
    const { gate } = opts;
    const own = opts.own ?? { ports: [], extra: [] };
    const signIn = signInStep(gate, opts.origins);
    app.addHook('onRequest', async (req) => {
      if (isPublic(req.url.split('?')[0]!)) return;
      // A route that decides first whether it needs a sign-in (the waking page: a public Port's
      // share link wakes its workspace) calls the same step itself (SignsItselfIn).
      if ((req.routeOptions.config as SignsItselfIn | undefined)?.signsItselfIn) return;
      await signIn(req);
    });
    app.route({
      method: ['GET', 'HEAD'],
      url: '/authz',
      handler: (req, reply) =>
        forwardAuth(req, reply, {
          gate,
          origins: opts.origins,
          own,
          reach: opts.reach,
          ...(opts.proxied ? { proxied: opts.proxied } : {}),
        }),
    });
  },
  { name: 'tidepool-auth', fastify: '5.x', dependencies: ['tidepool-origin'] },
);
