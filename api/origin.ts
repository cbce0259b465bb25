// Cross-site requests: a page on another origin (a Port's dev server on the preview origin, an
// IDE on the workspace origin, any site on the internet) must not drive the API with the
// credentials the browser keeps for the app origin. WebSocket upgrades bypass CORS entirely
// and "simple" POSTs are sent before any CORS check, so the browser's own rules do not cover
// them: the API refuses them itself, from the Origin (and Sec-Fetch-Site) headers browsers send.
//
// The app origin is the one the browser addressed: the request's Host, which Caddy passes on
// unchanged (code-server relies on the same; see REFERENCE.md). That holds whatever name the
// user reaches Tidepool by (localhost, a LAN address, --domain), with or without --tls (Caddy
// terminates TLS; the scheme is not compared, since one host:port serves only one scheme) and
// behind a tunnel that keeps the Host. The workspace and preview origins differ from it by
// their port, so they never match; the origin of --workspace-url is refused by name as well.
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from './errors.js';

export interface OriginPolicy {
  /** Origins that are never the app's (the IDEs' --workspace-url), refused even if their host matched. */
  foreign?: readonly string[];
}

/** Methods that change state: each is refused when a browser sends it from another origin. */
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Sec-Fetch-Site values of a request a page of this origin (or the user, typing a URL) made. */
const OWN_SITE = new Set(['same-origin', 'none']);

const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };

/**
 * Why a request must be refused as cross-origin (a 403 Status naming the origin), or
 * undefined when it may go on. `upgrade`: a WebSocket handshake (a GET, checked all the same).
 * A request without Origin is allowed: the CLI, curl and kubectl-style clients send none,
 * and a browser always sends one on a WebSocket and on a cross-origin POST.
 */
export function crossOriginRefusal(
  req: { method?: string | undefined; headers: IncomingHttpHeaders },
  policy: OriginPolicy,
  upgrade = false,
): ApiError | undefined {
  const method = (req.method ?? 'GET').toUpperCase();
  if (!upgrade && !STATE_CHANGING.has(method)) return undefined;
  const what = upgrade ? 'a WebSocket' : `a ${method} request`;
  const origin = single(req.headers.origin);
  if (origin === undefined) {
    const site = single(req.headers['sec-fetch-site']);
    if (site === undefined || OWN_SITE.has(site.toLowerCase())) return undefined;
    return forbidden(`${what} from a page of another site (Sec-Fetch-Site: ${site}) is refused`);
  }
  const host = single(req.headers.host);
  const own = host !== undefined && sameOrigin(origin, host);
  if (own && !policy.foreign?.some((f) => sameOrigin(origin, hostOf(f)))) return undefined;
  const expected = host ? ` (this server's app origin is the one at ${host})` : '';
  return forbidden(
    `${what} from origin ${JSON.stringify(origin.slice(0, 200))} is refused: only pages of the app origin${expected} may make it; the CLI and other clients send no Origin header`,
  );
}

function forbidden(message: string): ApiError {
  return new ApiError(403, 'Forbidden', `Forbidden: ${message}`);
}

/** A header's only value; a repeated one counts as absent-or-bad by being unparseable below. */
function single(v: string | string[] | undefined): string | undefined {
  if (Array.isArray(v)) return v.join(',');
  return v;
}

/** The host:port of a URL (for --workspace-url), or '' when it cannot be parsed. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

/**
 * Whether `origin` (scheme://host[:port], as browsers send it) names the host:port in `host`
 * (a Host header). A Host without a port matches the scheme's default port. `null` (a
 * sandboxed frame, a file: page) and anything unparseable match nothing.
 */
export function sameOrigin(origin: string, host: string): boolean {
  if (!host) return false;
  let o: URL;
  let h: URL;
  try {
    o = new URL(origin);
    h = new URL(`${o.protocol}//${host}`);
  } catch {
    return false;
  }
  if (!(o.protocol in DEFAULT_PORT) || o.pathname.length > 1 || o.username || o.password) return false;
  const port = (u: URL) => u.port || DEFAULT_PORT[u.protocol];
  return o.hostname.toLowerCase() === h.hostname.toLowerCase() && port(o) === port(h);
}

/**
 * Refuses a cross-origin request before authentication: a page of another origin is refused
 * whatever credentials its browser attaches, and its guesses never reach the login throttle.
 */
export const originPlugin = fp(
  async (app: FastifyInstance, policy: OriginPolicy) => {
    app.addHook('onRequest', async (req) => {
      const refused = crossOriginRefusal(req.raw, policy);
      if (refused) throw refused;
    });
  },
  { name: 'tidepool-origin', fastify: '5.x' },
);

/**
 * A request authenticated by the session cookie (the one credential every port of the host
 * shares) must come from a page of its own origin, or be a top-level navigation (a link from
 * the UI to an IDE or a Port, a typed URL): a Port's page on the preview origin may not fetch,
 * post to, frame or open a WebSocket to the API or an IDE with it. Basic auth needs none of
 * this (browsers keep it per origin). `method` and `upgrade` are the original request's (for
 * /authz, what Caddy forwarded). Undefined when it may go on.
 */
export function sessionRefusal(
  req: { method?: string | undefined; headers: IncomingHttpHeaders },
  policy: OriginPolicy,
  upgrade = false,
): ApiError | undefined {
  const stateOrUpgrade = crossOriginRefusal(req, policy, upgrade);
  if (stateOrUpgrade) return stateOrUpgrade;
  const site = single(req.headers['sec-fetch-site'])?.toLowerCase();
  if (site === undefined || OWN_SITE.has(site)) return undefined;
  const mode = single(req.headers['sec-fetch-mode'])?.toLowerCase();
  const dest = single(req.headers['sec-fetch-dest'])?.toLowerCase();
  const method = (req.method ?? 'GET').toUpperCase();
  if (!upgrade && mode === 'navigate' && (dest === undefined || dest === 'document') && method === 'GET')
    return undefined;
  return forbidden(
    `a request signed in by the session cookie from a page of another origin (Sec-Fetch-Site: ${site}, Sec-Fetch-Mode: ${mode ?? 'none'}) is refused: only pages of its own origin may use the session, and other pages may only link to it`,
  );
}
