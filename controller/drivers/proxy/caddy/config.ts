// The whole Caddy config, fixed at boot: it depends on the server settings only (ports,
// credentials, where the resolver is), never on the route table. Every route is looked up per
// request by name in Tidepool's zone (../dns/zone.ts) with `dynamic_upstreams`, so a workspace
// or Port coming or going changes a hosts file, not Caddy, and no connection is dropped.
// Shape and traps: ../shared/REFERENCE.md, "Routing without reloads in Caddy 2.6.2".
// Over 300 lines: one config whose servers refer to one another (the error routes hand off to
// the pages server); each server and each repeated route is a function of its own.
//
//   app server      :8080  /api, /app (the API), browser protections, basic auth
//   workspace server :8081 /workspace/{ws}/       -> {ws}.ws.ZONE:8080 (prefix stripped)
//                          /workspace/{ws}/port/… -> 308 to the preview server
//   preview server   :8082 /workspace/{ws}/port/{n}/ -> {n}.{ws}.port.ZONE:{n}
//   pages server     127.0.0.1:P (internal)  tells "exists but idle" (503) from "unknown" (404)
//
// An unknown name is NXDOMAIN, which Caddy answers 503; the server's error routes send that
// request to the pages server, which looks the name up among the idle names: found, it
// answers "not running" (503); not found, its own error route answers "unknown" (404) once
// `alive.ZONE` resolves (so a resolver that is down shows as 503, not as "unknown").
import { ZONE } from '../dns/zone.js';
import { page, texts, type PageKind } from './pages.js';
import { TLS_SERVER, tlsApps, type TlsSettings } from './tls.js';
import { login } from './auth.js';
import { PROXY_SECRET_HEADER } from '../../../../specs/proxy.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface CaddyConfigSettings {
  /** The `admin` block (a load without it moves the admin endpoint). */
  admin: { [key: string]: Json };
  /** Listen address of the app server (API and UI), e.g. ":8080". */
  appListen: string;
  /** Listen address of the workspace server (IDEs), e.g. ":8081". */
  workspaceListen: string;
  /** Listen address of the preview server (Ports), e.g. ":8082". */
  previewListen: string;
  /** host:port of the internal pages server, on loopback. */
  pagesListen: string;
  /** host:port of Tidepool's API. */
  apiUpstream: string;
  /** Sent to the API with every request (the forward auth, the proxied API): its X-Forwarded-For is then believed. */
  proxySecret: string;
  username: string;
  /** bcrypt hash of the password ("$2a$..."): Caddy reads a leading "$" as a raw hash. */
  passwordHash: string;
  /** UDP port of the route resolver (dnsmasq) on 127.0.0.1. */
  dnsPort: number;
  /** The port every IDE listens on in its workspace. */
  idePort: number;
  /** How long Caddy keeps a looked-up answer, e.g. "1s": a stopped workspace is followed within it. */
  refresh: string;
  /** Where the access log of the workspace and preview servers goes ("udp/127.0.0.1:port"); none when absent. */
  accessLog?: string;
  /** TLS on the app, workspace and preview servers (./tls.ts); plain HTTP when absent. */
  tls?: TlsSettings;
}

export const APP_SERVER = 'tidepool_app';
export const WORKSPACE_SERVER = 'tidepool_workspaces';
export const PREVIEW_SERVER = 'tidepool_previews';
export const PAGES_SERVER = 'tidepool_pages';

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

const portOf = (listen: string) => Number(listen.slice(listen.lastIndexOf(':') + 1));
/** The UI, on the host the browser used, at the app port. */
const uiUrl = (s: CaddyConfigSettings) => `{http.request.scheme}://{http.request.host}:${portOf(s.appListen)}/app/`;

/** The auth position of every public server (./auth.ts): the API's throttled check. */
const basicAuth = (s: CaddyConfigSettings): Json => login(s);

function apiProxy(s: CaddyConfigSettings): Json {
  return {
    handler: 'reverse_proxy',
    upstreams: [{ dial: s.apiUpstream }],
    flush_interval: -1, // the API's watch streams must not be buffered
    headers: {
      // The API counts logins per client: this tells it the X-Forwarded-For is Caddy's.
      request: { set: { [PROXY_SECRET_HEADER]: [s.proxySecret] } },
      response: { delete: CORS_HEADERS },
    },
  };
}

function lookup(s: CaddyConfigSettings, name: string, port: string): Json {
  return {
    source: 'a',
    name,
    port,
    refresh: s.refresh,
    // UDP: about twice as fast as the default TCP; dnsmasq answers from memory and never forwards.
    resolver: { addresses: [`udp/127.0.0.1:${s.dnsPort}`] },
  };
}

/** "?query" when there is one, "" otherwise: kept on the trailing-slash redirect. */
const QUERY_VAR: Json = {
  handler: 'map',
  source: '{http.request.uri.query}',
  destinations: ['{tp_qs}'],
  mappings: [{ input_regexp: '^(.+)$', outputs: ['?$1'] }],
  defaults: [''],
};

function slashRedirect(pattern: string): Json {
  return {
    match: [{ path_regexp: { pattern } }],
    handle: [
      QUERY_VAR,
      { handler: 'static_response', status_code: 308, headers: { Location: ['{http.request.uri.path}/{tp_qs}'] } },
    ],
  };
}

/**
 * The route of one kind: capture the names into vars (before the rewrite changes the path
 * they come from), strip the prefix, proxy to the name's answer.
 */
function routed(s: CaddyConfigSettings, kind: PageKind, pattern: string): Json {
  const ide = kind === 'ide';
  const prefix = ide
    ? '/workspace/{http.request.uri.path.1}'
    : '/workspace/{http.request.uri.path.1}/port/{http.request.uri.path.3}';
  return {
    match: [{ path_regexp: { pattern } }],
    handle: [
      {
        handler: 'vars',
        tp_kind: kind,
        tp_ws: '{http.request.uri.path.1}',
        tp_port: ide ? String(s.idePort) : '{http.request.uri.path.3}',
        tp_prefix: prefix,
      },
      { handler: 'rewrite', strip_path_prefix: '{http.vars.tp_prefix}' },
      {
        handler: 'reverse_proxy',
        dynamic_upstreams: ide
          ? lookup(s, `{http.vars.tp_ws}.ws.${ZONE}.`, String(s.idePort))
          : lookup(s, `{http.vars.tp_port}.{http.vars.tp_ws}.port.${ZONE}.`, '{http.vars.tp_port}'),
        flush_interval: -1,
        headers: {
          request: {
            set: { 'X-Forwarded-Prefix': ['{http.vars.tp_prefix}'] },
            // The Tidepool credentials are for Caddy; a workspace must never see them.
            delete: ['Authorization'],
          },
          // A Port's cookies would be the host's (cookies ignore ports): the UI's, the API's and
          // every IDE's. A browser never gets them.
          ...(ide ? {} : { response: { delete: ['Set-Cookie'] } }),
        },
      },
    ],
  };
}

/** Error routes of the workspace and preview servers: our pages for 503 (via the pages server) and 502. */
function errorRoutes(s: CaddyConfigSettings, kind: PageKind): Json {
  const refused = texts.refused(kind, '{http.vars.tp_ws}', '{http.vars.tp_port}');
  return {
    routes: [
      {
        match: [{ vars: { '{http.error.status_code}': ['503'], '{http.vars.tp_kind}': [kind] } }],
        handle: [
          {
            handler: 'reverse_proxy',
            upstreams: [{ dial: s.pagesListen }],
            headers: {
              request: {
                set: {
                  'X-Tp-Page': ['lookup'],
                  'X-Tp-Kind': [kind],
                  'X-Tp-Ws': ['{http.vars.tp_ws}'],
                  'X-Tp-Port': ['{http.vars.tp_port}'],
                  'X-Tp-Ui': [uiUrl(s)],
                },
                delete: ['Authorization'],
              },
            },
          },
        ],
      },
      {
        match: [{ vars: { '{http.error.status_code}': ['502'], '{http.vars.tp_kind}': [kind] } }],
        handle: [page(502, refused.title, refused.text, uiUrl(s))],
      },
    ],
  };
}

const NAME_RE = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';

/**
 * The internal server that tells why a name got no upstream (see the head of this file). Each
 * hop is a new request to this same server (a stage in X-Tp-Page), so that each lookup that
 * fails has an error route of its own:
 *   lookup:  the "up" name resolves  -> refused: routed, but nothing answers (502)
 *            else (error route)      -> lookup2
 *   lookup2: the idle name resolves  -> idle: exists, not running (503)
 *            else (error route)      -> unknown (404), once alive.ZONE resolves
 */
function pagesServer(s: CaddyConfigSettings): Json {
  const pagesPort = String(portOf(s.pagesListen));
  const h = (k: string) => `{http.request.header.${k}}`;
  const ws = h('X-Tp-Ws'),
    port = h('X-Tp-Port'),
    ui = h('X-Tp-Ui');
  const valid = { header_regexp: { 'X-Tp-Ws': { pattern: NAME_RE }, 'X-Tp-Port': { pattern: '^[0-9]{1,5}$' } } };
  const when = (stage: string, kind: PageKind) => ({ ...valid, header: { 'X-Tp-Page': [stage], 'X-Tp-Kind': [kind] } });
  const failed = (stage: string, kind: PageKind) => [
    { ...when(stage, kind), vars: { '{http.error.status_code}': ['503'] } },
  ];
  const setStage = (stage: string) => ({ request: { set: { 'X-Tp-Page': [stage] } } });
  const hop = (name: string, stage: string): Json => ({
    handler: 'reverse_proxy',
    dynamic_upstreams: lookup(s, name, pagesPort),
    headers: setStage(stage),
  });
  const routes: Json[] = [];
  const errors: Json[] = [];
  for (const kind of ['ide', 'port'] as const) {
    const [up, idleName] =
      kind === 'ide'
        ? [`${ws}.up.${ZONE}.`, `${ws}.idle.${ZONE}.`]
        : [`${port}.${ws}.upport.${ZONE}.`, `${port}.${ws}.idleport.${ZONE}.`];
    const refused = texts.refused(kind, ws, port),
      idle = texts.idle(kind, ws, port),
      unknown = texts.unknown(kind, ws, port);
    routes.push({ match: [when('lookup', kind)], handle: [hop(up, 'refused')] });
    routes.push({ match: [when('lookup2', kind)], handle: [hop(idleName, 'idle')] });
    routes.push({ match: [when('refused', kind)], handle: [page(502, refused.title, refused.text, ui)] });
    routes.push({ match: [when('idle', kind)], handle: [page(503, idle.title, idle.text, ui)] });
    routes.push({ match: [when('unknown', kind)], handle: [page(404, unknown.title, unknown.text, ui)] });
    errors.push({
      match: failed('lookup', kind),
      handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: s.pagesListen }], headers: setStage('lookup2') }],
    });
    errors.push({ match: failed('lookup2', kind), handle: [hop(`alive.${ZONE}.`, 'unknown')] });
  }
  routes.push({ handle: [{ handler: 'static_response', status_code: 400, body: 'bad request\n' }] });
  return { listen: [s.pagesListen], automatic_https: { disable: true }, routes, errors: { routes: errors } };
}

type JsonObject = { [key: string]: Json };

const notAPath = (kind: PageKind): Json => {
  const t = texts.notAPath(kind);
  return { handle: [page(404, t.title, t.text)] };
};

/**
 * The app and workspace servers use no cookie: the UI and the API sign in with basic auth, and
 * code-server with `--auth none` reads none (its session cookie is for `--auth password`; VS
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
function appServer(s: CaddyConfigSettings): Json {
  return {
    ...publicServer(s, s.appListen, false),
    routes: [
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

/** The IDEs; the old Port paths redirect to the preview server. */
function workspaceServer(s: CaddyConfigSettings): Json {
  const previewPort = portOf(s.previewListen);
  return {
    ...publicServer(s, s.workspaceListen, true),
    routes: [
      DROP_COOKIES,
      { handle: [basicAuth(s)] },
      {
        // Ports live on their own origin: a dev server's page must not be same-origin with the IDEs.
        match: [{ path_regexp: { pattern: '^/workspace/[^/]+/port/[0-9]+(/|$)' } }],
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
      { ...(slashRedirect('^/workspace/[a-z0-9-]{1,63}$') as object), terminal: true },
      { ...(routed(s, 'ide', '^/workspace/[a-z0-9-]{1,63}/') as object), terminal: true },
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

/** The Ports, an origin apart from the IDEs. */
function previewServer(s: CaddyConfigSettings): Json {
  return {
    ...publicServer(s, s.previewListen, true),
    routes: [
      { handle: [basicAuth(s)] },
      idePortRefused(s),
      { ...(slashRedirect('^/workspace/[a-z0-9-]{1,63}/port/[0-9]{1,5}$') as object), terminal: true },
      { ...(routed(s, 'port', '^/workspace/[a-z0-9-]{1,63}/port/[0-9]{1,5}/') as object), terminal: true },
      notAPath('port'),
    ],
    errors: errorRoutes(s, 'port'),
  };
}

export function buildCaddyConfig(s: CaddyConfigSettings): JsonObject {
  const config: JsonObject = {
    admin: s.admin,
    apps: {
      http: {
        servers: {
          [APP_SERVER]: appServer(s),
          [WORKSPACE_SERVER]: workspaceServer(s),
          [PREVIEW_SERVER]: previewServer(s),
          [PAGES_SERVER]: pagesServer(s),
        },
      },
      ...(s.tls ? tlsApps(s.tls) : {}),
    },
  };
  if (s.accessLog) config.logging = accessLogging(s.accessLog);
  return config;
}

/**
 * Caddy's `logging` block that streams the access log of the servers with `logs` set (the
 * workspace and preview servers) to `address` ("udp/127.0.0.1:port", ./access.ts).
 */
export function accessLogging(address: string): { [key: string]: Json } {
  return {
    logs: {
      default: { exclude: ['http.log.access'] },
      tidepool_access: {
        writer: { output: 'net', address, dial_timeout: '1s' },
        // One small datagram per request: the headers are not needed (and must not travel).
        encoder: {
          format: 'filter',
          wrap: { format: 'json' },
          fields: {
            'request>headers': { filter: 'delete' },
            resp_headers: { filter: 'delete' },
            'request>tls': { filter: 'delete' },
          },
        },
        include: ['http.log.access'],
      },
    },
  };
}

/** Every basic-auth hash for `username` found in a config (to reuse one that still matches). */
export function passwordHashesIn(config: Json, username: string): string[] {
  const out = new Set<string>();
  const walk = (v: Json): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      if (v.username === username && typeof v.password === 'string' && v.password.startsWith('$2')) out.add(v.password);
      Object.values(v).forEach(walk);
    }
  };
  walk(config);
  return [...out];
}

/** JSON with object keys sorted: two configs are the same to Caddy exactly when these are equal. */
export function canonicalJson(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k]!)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
