// GET /authz: what Tidepool's Caddy asks before every request to the UI, the IDEs and the Ports
// (drivers/proxy/caddy/auth.ts). Caddy forwards the request's headers (the session cookie copied
// into SESSION_HEADER, never the Cookie itself) with its method, URI and upgrade in headers of
// their own, and the Host unchanged. 204 lets it through; anything else is written back to the
// browser as it is:
//   - no credentials on a page load (OIDC or GitHub sign-in): 302 to the app origin's
//     /auth/login with the page as its return URL;
//   - a session used from a page of another origin (origin.ts, sessionRefusal): 403;
//   - a signed-in person whom `reach` refuses (another's namespace): a 403 page naming them.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';
import type { Identity } from './identity.js';
import { LoginRefused, type LoginGate, type ProxiedAccess } from './auth.js';
import { sessionRefusal, type OriginPolicy } from './origin.js';
import { link, sendError } from './signin/page.js';
import type { OwnOrigins } from './signin/return-url.js';

/** The original request, as Caddy tells it. */
export interface Target {
  method: string;
  /** Path and query. */
  uri: string;
  /** The Host the browser addressed (host:port). */
  host: string;
  proto: 'http' | 'https';
  upgrade: boolean;
}

/** Whether `who` may reach `target`: undefined, or why not (shown on the 403 page). For the namespaces' rules. */
export type ReachCheck = (who: Identity, target: Target) => string | undefined;

export interface ForwardAuthOptions {
  gate: LoginGate;
  origins: OriginPolicy;
  own: OwnOrigins;
  reach?: ReachCheck | undefined;
  /** The Port step (a Port's visibility and share links): it decides Port requests itself, signing in when it must. */
  proxied?: ProxiedAccess;
}

const header = (req: FastifyRequest, name: string) => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
};

export function targetOf(req: FastifyRequest, fromProxy: boolean): Target {
  const proto = fromProxy && header(req, 'x-forwarded-proto') === 'https' ? 'https' : 'http';
  return {
    method: (fromProxy && header(req, 'x-forwarded-method')) || 'GET',
    uri: (fromProxy && header(req, 'x-forwarded-uri')) || '/',
    host: header(req, 'host') ?? '',
    proto,
    upgrade: fromProxy && !!header(req, 'x-tidepool-upgrade'),
  };
}

/** A page load: what a sign-in redirect helps (a fetch or a WebSocket gets the 401). */
const navigation = (req: FastifyRequest, t: Target) =>
  t.method === 'GET' &&
  !t.upgrade &&
  (header(req, 'sec-fetch-mode') === 'navigate' ||
    (header(req, 'sec-fetch-mode') === undefined && /text\/html/.test(header(req, 'accept') ?? '')));

/** The sign-in page on the app origin for a page of `t`, with `t` as the return URL. */
export function signInUrl(t: Target, own: OwnOrigins): string {
  let hostname: string;
  try {
    hostname = new URL(`http://${t.host}`).hostname;
  } catch {
    return '/auth/login';
  }
  const app = own.appPort ? `${t.proto}://${hostname.includes(':') ? `[${hostname}]` : hostname}:${own.appPort}` : '';
  return `${app}/auth/login?return=${encodeURIComponent(`${t.proto}://${t.host}${t.uri}`)}`;
}

export async function forwardAuth(req: FastifyRequest, reply: FastifyReply, o: ForwardAuthOptions) {
  const t = targetOf(req, o.gate.fromProxy(req));
  /** The credentials' person on req.identity; a session also passes the rules of its origin. */
  const signIn = async () => {
    const who = await o.gate.check(req);
    req.identity = who;
    if (who.via === 'session') {
      const refused = sessionRefusal({ method: t.method, headers: req.headers }, o.origins, t.upgrade);
      if (refused) throw refused;
    }
  };
  try {
    // A Port is decided by its visibility (a public one's share link needs no sign-in).
    if (o.proxied && (await o.proxied(req, reply, signIn))) return reply;
    await signIn();
  } catch (err) {
    if (err instanceof LoginRefused && err.code === 401 && o.gate.mode !== 'basic' && navigation(req, t))
      return reply.code(302).header('cache-control', 'no-store').header('location', signInUrl(t, o.own)).send();
    throw err;
  }
  const who = req.identity!;
  const why = o.reach?.(who, t);
  if (why) {
    const err = new ApiError(
      403,
      'Forbidden',
      `Forbidden: signed in as ${who.name} (namespace ${who.namespace}): ${why}`,
    );
    return sendError(req, reply, err, link(signOutHint(o.own, t), 'Sign in as someone else'));
  }
  return reply.code(204).send();
}

const signOutHint = (own: OwnOrigins, t: Target) => signInUrl(t, own).replace('/auth/login?', '/auth/logout?');
