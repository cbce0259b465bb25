// The three public servers: the app server (the UI and the API, with the browser protections),
// the workspace server (the IDEs) and the preview server (the Ports), each behind login()
// (./auth.ts).
import { PROXY_SECRET_HEADER } from '../../../specs/proxy.js';
import { login, SESSION_HEADERS, SESSION_VARS } from './auth.js';
import { portOf, uiUrl, type CaddyConfigSettings } from './config-settings.js';
import type { Json, JsonObject } from './json.js';
import { page, texts, type PageKind } from './pages.js';
import { ROUTE_SHAPES, errorRoutes, routed, slashRedirect } from './routes.js';
import { TLS_SERVER } from './tls.js';

/** Upstreams must not be able to make a browser call the API, so these never reach the client from the API. */
const CORS_HEADERS = [
  'Access-Control-Allow-Origin',
  'Access-Control-Allow-Credentials',
  'Access-Control-Allow-Methods',
  'Access-Control-Allow-Headers',
  'Access-Control-Expose-Headers',
];

/** The UI's policy: its own scripts and API only; never framed (a workspace page could frame its Stop buttons). */
export const APP_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** The auth position of every public server (./auth.ts): the API's throttled check. */
const basicAuth = (s: CaddyConfigSettings): Json => login(s);

function apiProxy(s: CaddyConfigSettings): Json {
  return {
    handler: 'reverse_proxy',
    upstreams: [{ dial: s.apiUpstream }],
    flush_interval: -1, // the API's watch streams must not be buffered
    headers: {
      // The API counts logins per client: this tells it the X-Forwarded-For is Caddy's.
      // The session cookie reaches the API only as SESSION_HEADERS (Cookie is dropped).
      request: { set: { [PROXY_SECRET_HEADER]: [s.proxySecret], ...SESSION_HEADERS } },
      response: { delete: CORS_HEADERS },
    },
  };
}

const notAPath = (kind: PageKind): Json => {
  const t = texts.notAPath(kind);
  return { handle: [page(404, t.title, t.text)] };
};

/**
 * The app and workspace servers pass no cookie on: the UI and the API read the session from
 * SESSION_HEADERS (./auth.ts), and code-server with `--auth none` reads none (its session cookie is for `--auth password`; VS
 * Code's connection-token cookie is off, code-server runs it without one). Every cookie of the
 * host (cookies ignore ports) would be set by a page on the preview origin, so it is dropped
 * before the request goes anywhere: no Port's page can reach, or overflow, the UI, the API or an
 * IDE with cookies.
 */
const DROP_COOKIES: Json = { handle: [{ handler: 'headers', request: { delete: ['Cookie'] } }] };

/**
 * Go's own limit on a request's headers is 1 MiB (Caddy's default); set here so that the limit
 * is written down: Chromium keeps up to 180 cookies of 4 KiB for a host, about 720 KiB, which
 * must still reach DROP_COOKIES rather than be answered 431 by Caddy.
 */
export const MAX_HEADER_BYTES = 1 << 20;

/** What every public server shares: no automatic HTTPS, TLS when asked, the access log on the workspace ones. */
function publicServer(s: CaddyConfigSettings, listen: string, logged: boolean): JsonObject {
  return {
    listen: [listen],
    automatic_https: { disable: true },
    max_header_bytes: MAX_HEADER_BYTES,
    ...(s.tls ? TLS_SERVER : {}),
    ...(logged && s.accessLog ? { logs: {} } : {}),
  };
}

/** The UI and the API, with the browser protections. */
export function appServer(s: CaddyConfigSettings): Json {
  return {
    ...publicServer(s, s.appListen, false),
    routes: [
      SESSION_VARS,
      {
        handle: [
          {
            handler: 'headers',
            // DROP_COOKIES, in the handler that is there anyway.
            request: { delete: ['Cookie'] },
            response: {
              set: {
                'Content-Security-Policy': [APP_CSP],
                'X-Content-Type-Options': ['nosniff'],
                'Referrer-Policy': ['same-origin'],
              },
            },
          },
        ],
      },
      { match: [{ path: ['/healthz'] }], handle: [apiProxy(s)], terminal: true },
      // Sign-in and sign-out come before the login they lead to.
      { match: [{ path: ['/auth/*'] }], handle: [apiProxy(s)], terminal: true },
      { handle: [basicAuth(s)] },
      {
        match: [{ path: ['/'] }],
        handle: [{ handler: 'static_response', status_code: 302, headers: { Location: ['/app/'] } }],
        terminal: true,
      },
      {
        match: [{ path: ['/api/*', '/app', '/app/*', '/openapi.json'] }],
        handle: [apiProxy(s)],
        terminal: true,
      },
      { handle: [{ handler: 'static_response', status_code: 404, body: '404 page not found\n' }] },
    ],
  };
}

/**
 * The trailing-slash redirect and the route of `kind`, for the default namespace's paths
 * (/workspace/...) and for every other namespace's (/ns/{ns}/workspace/...): `tail` is what
 * follows /workspace/ up to the slash.
 */
function shapedRoutes(s: CaddyConfigSettings, kind: PageKind, tail: string): Json[] {
  return Object.values(ROUTE_SHAPES).flatMap((shape) => [
    { ...(slashRedirect(`^${shape.prefix}${tail}$`) as object), terminal: true },
    { ...(routed(s, kind, `^${shape.prefix}${tail}/`, shape) as object), terminal: true },
  ]);
}

/** The IDEs; the old Port paths redirect to the preview server. */
export function workspaceServer(s: CaddyConfigSettings): Json {
  const previewPort = portOf(s.previewListen);
  return {
    ...publicServer(s, s.workspaceListen, true),
    routes: [
      SESSION_VARS,
      DROP_COOKIES,
      { handle: [basicAuth(s)] },
      {
        // Ports live on their own origin: a dev server's page must not be same-origin with the IDEs.
        match: [{ path_regexp: { pattern: '^(/ns/[^/]+)?/workspace/[^/]+/port/[0-9]+(/|$)' } }],
        handle: [
          {
            handler: 'static_response',
            status_code: 308,
            headers: {
              Location: [`{http.request.scheme}://{http.request.host}:${previewPort}{http.request.uri}`],
            },
          },
        ],
        terminal: true,
      },
      ...shapedRoutes(s, 'ide', '[a-z0-9-]{1,63}'),
      notAPath('ide'),
    ],
    errors: errorRoutes(s, 'ide'),
  };
}

/**
 * The IDE's port is never a Port (specs/port.ts refuses one); a Port stored before that rule
 * must still not serve the IDE on this origin.
 */
function idePortRefused(s: CaddyConfigSettings): Json {
  const t = texts.idePort('{http.request.uri.path.1}', String(s.idePort));
  return {
    match: [{ path_regexp: { pattern: `^/workspace/[a-z0-9-]{1,63}/port/0*${s.idePort}(/|$)` } }],
    handle: [page(404, t.title, t.text, uiUrl(s))],
    terminal: true,
  };
}

/** idePortRefused for a namespace's Port paths (/ns/{ns}/workspace/{name}/port/{n}/). */
function namespacedIdePortRefused(s: CaddyConfigSettings): Json {
  const t = texts.idePort('{http.request.uri.path.3}', String(s.idePort));
  return {
    match: [{ path_regexp: { pattern: `^/ns/[a-z0-9-]{1,63}/workspace/[a-z0-9-]{1,63}/port/0*${s.idePort}(/|$)` } }],
    handle: [page(404, t.title, t.text, uiUrl(s))],
    terminal: true,
  };
}

/** The Ports, an origin apart from the IDEs. */
export function previewServer(s: CaddyConfigSettings): Json {
  return {
    ...publicServer(s, s.previewListen, true),
    routes: [
      SESSION_VARS,
      { handle: [basicAuth(s)] },
      idePortRefused(s),
      namespacedIdePortRefused(s),
      ...shapedRoutes(s, 'port', '[a-z0-9-]{1,63}/port/[0-9]{1,5}'),
      notAPath('port'),
    ],
    errors: errorRoutes(s, 'port'),
  };
}
