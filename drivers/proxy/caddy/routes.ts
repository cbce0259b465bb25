// The routes that proxy to a workspace by name (the IDE on the workspace server, a Port on the
// preview server), the trailing-slash redirect in front of them, and their error routes, which
// ask Tidepool's API to wake a sleeping workspace and otherwise hand a failed lookup to the pages
// server (./pages-server.ts).
import { FORWARDED_URI_HEADER, SHARE_COOKIE, SHARE_HEADER, SHARE_SEGMENT } from '../../../specs/port-share.js';
import { SHARE_COOKIE_ONLY } from './auth.js';
import { ZONE } from '../dns/zone.js';
import { uiUrl, type CaddyConfigSettings } from './config-settings.js';
import type { Json } from './json.js';
import { page, texts, type PageKind } from './pages.js';
import { PROXY_SECRET_HEADER } from '../../../specs/proxy.js';

export function lookup(s: CaddyConfigSettings, name: string, port: string): Json {
  return {
    source: 'a',
    name,
    port,
    refresh: s.refresh,
    // UDP: about twice as fast as the default TCP; dnsmasq answers from memory and never forwards.
    resolver: { addresses: [`udp/127.0.0.1:${s.dnsPort}`] },
  };
}

/**
 * How long Caddy waits for a workspace's TCP handshake. A container on the bridge answers in well
 * under a millisecond; an address nobody holds (a workspace stopped less than a name refresh ago,
 * still in Caddy's lookup cache) queues the SYN behind ARP until TCP's first retransmission, 1 s
 * and more: a request then held that long for nothing, and a workspace started again just after
 * a stop answered a second late. Half a second fails it fast enough, then the next lookup counts.
 */
export const UPSTREAM_DIAL_TIMEOUT = '500ms';

/** Tidepool's cookies in a Cookie header, with the separator before or after them. */
export const TIDEPOOL_COOKIES = '(^|;)\\s*tp_(session|signin)=[^;]*';

/** "?query" when there is one, "" otherwise: kept on the trailing-slash redirect. */
const QUERY_VAR: Json = {
  handler: 'map',
  source: '{http.request.uri.query}',
  destinations: ['{tp_qs}'],
  mappings: [{ input_regexp: '^(.+)$', outputs: ['?$1'] }],
  defaults: [''],
};

export function slashRedirect(pattern: string): Json {
  return {
    match: [{ path_regexp: { pattern } }],
    handle: [
      QUERY_VAR,
      { handler: 'static_response', status_code: 308, headers: { Location: ['{http.request.uri.path}/{tp_qs}'] } },
    ],
  };
}

const seg = (i: number) => `{http.request.uri.path.${i}}`;

/**
 * Where a route finds its names in the path: a workspace of the default namespace under
 * /workspace/{name}/, one of namespace NS under /ns/{NS}/workspace/{name}/, which the zone
 * knows as "{name}.{NS}" (specs/object-key.ts routeName).
 */
export const ROUTE_SHAPES = {
  plain: { prefix: '/workspace/', ws: seg(1), wsPath: `/workspace/${seg(1)}`, portSegment: 3 },
  namespaced: {
    prefix: '/ns/[a-z0-9-]{1,63}/workspace/',
    ws: `${seg(3)}.${seg(1)}`,
    wsPath: `/ns/${seg(1)}/workspace/${seg(3)}`,
    portSegment: 5,
  },
} as const;
export type RouteShape = (typeof ROUTE_SHAPES)[keyof typeof ROUTE_SHAPES];

/** [/ns/{ns}]/workspace/{ws}/port/{n}/tp-share/{token}/rest -> [/ns/{ns}]/workspace/{ws}/port/{n}/rest */
const SHARE_SEGMENT_STRIP: Json = {
  handler: 'rewrite',
  path_regexp: [{ find: `^((?:/ns/[^/]+)?/workspace/[^/]+/port/[0-9]+)/${SHARE_SEGMENT}/[^/]*/?`, replace: '$1/' }],
};

/** The share cookie out of the Cookie header (and the '; ' it leaves at the start). */
const SHARE_COOKIE_STRIP: Json[] = [
  { search_regexp: `(^|;\\s*)${SHARE_COOKIE}=[^;]*`, replace: '' },
  { search_regexp: '^;\\s*', replace: '' },
];

/**
 * The route of one kind: capture the names into vars (before the rewrite changes the path
 * they come from), strip the prefix, proxy to the name's answer.
 */
export function routed(
  s: CaddyConfigSettings,
  kind: PageKind,
  pattern: string,
  shape: RouteShape = ROUTE_SHAPES.plain,
): Json {
  const ide = kind === 'ide';
  const portVar = seg(shape.portSegment);
  const prefix = ide ? shape.wsPath : `${shape.wsPath}/port/${portVar}`;
  return {
    match: [{ path_regexp: { pattern } }],
    handle: [
      {
        handler: 'vars',
        tp_kind: kind,
        tp_ws: shape.ws,
        tp_port: ide ? String(s.idePort) : portVar,
        tp_prefix: prefix,
      },
      // A public Port's share token never reaches the dev server: out of the path here, out of the Cookie below.
      ...(ide ? [] : [SHARE_SEGMENT_STRIP]),
      { handler: 'rewrite', strip_path_prefix: '{http.vars.tp_prefix}' },
      {
        handler: 'reverse_proxy',
        dynamic_upstreams: ide
          ? lookup(s, `{http.vars.tp_ws}.ws.${ZONE}.`, String(s.idePort))
          : lookup(s, `{http.vars.tp_port}.{http.vars.tp_ws}.port.${ZONE}.`, '{http.vars.tp_port}'),
        flush_interval: -1,
        transport: { protocol: 'http', dial_timeout: UPSTREAM_DIAL_TIMEOUT },
        headers: {
          request: {
            set: { 'X-Forwarded-Prefix': ['{http.vars.tp_prefix}'] },
            // The Tidepool credentials are for Caddy; a workspace must never see them.
            delete: ['Authorization', 'X-Tidepool-Session', 'X-Tidepool-Signin'],
            // A Port gets its own cookies, never Tidepool's (the IDE's server dropped them all):
            // not the session, not a public Port's share cookie.
            ...(ide
              ? {}
              : { replace: { Cookie: [{ search_regexp: TIDEPOOL_COOKIES, replace: '' }, ...SHARE_COOKIE_STRIP] } }),
          },
          // A Port's cookies would be the host's (cookies ignore ports): the UI's, the API's and
          // every IDE's. A browser never gets them.
          ...(ide ? {} : { response: { delete: ['Set-Cookie'] } }),
        },
      },
    ],
  };
}

/**
 * Error routes of the workspace and preview servers: for a 503 (the name has no upstream), first
 * Tidepool's API, which wakes a sleeping workspace (see wakeHop); when it is not one to wake (a
 * 404) or the API is away, our pages (via the pages server). The IDE's 502 (its address refused
 * or did not answer) goes the same way: a starting workspace is routed before its IDE listens
 * (controller/reconcilers/routes.ts startingIp), and the API's page says it is starting; for a
 * Ready one the pages server says "refuses". A Port's 502 is our page at once.
 */
export function errorRoutes(s: CaddyConfigSettings, kind: PageKind): Json {
  const refused = texts.refused(kind, '{http.vars.tp_ws}', '{http.vars.tp_port}');
  const toPages: Json = {
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
  };
  return {
    routes: [
      {
        match: [
          {
            vars: {
              '{http.error.status_code}': kind === 'ide' ? ['502', '503'] : ['503'],
              '{http.vars.tp_kind}': [kind],
            },
          },
        ],
        handle: [
          {
            handler: 'subroute',
            routes: [{ handle: [wakeHop(s, kind, toPages)] }],
            // The API does not answer (serve restarting): our pages, as before there was waking.
            errors: { routes: [{ handle: [toPages] }] },
          },
        ],
      },
      ...(kind === 'ide'
        ? []
        : [
            {
              match: [{ vars: { '{http.error.status_code}': ['502'], '{http.vars.tp_kind}': [kind] } }],
              handle: [page(502, refused.title, refused.text, uiUrl(s))],
            },
          ]),
    ],
  };
}

/**
 * The request, as a GET with the client's own credentials (it has passed the login; the API
 * checks them again), to the API's waking page: it wakes a sleeping workspace and answers 503
 * with Retry-After (a page that reloads itself for a browser), or 404 when the name is not one
 * to wake, and then the pages server answers as for any name without an upstream. The
 * credentials go only to the API: the pages server's hops may dial a workspace's address.
 */
function wakeHop(s: CaddyConfigSettings, kind: PageKind, toPages: Json): Json {
  return {
    handler: 'reverse_proxy',
    upstreams: [{ dial: s.apiUpstream }],
    rewrite: {
      method: 'GET',
      uri: `/api/v1/workspaces/{http.vars.tp_ws}/waking?kind=${kind}&port={http.vars.tp_port}`,
    },
    headers: {
      request: {
        // A WebSocket (an IDE tab reconnecting) asks as a plain GET that says it was one: it does
        // not wake the workspace (an open tab would wake it again as soon as it slept).
        set: {
          [PROXY_SECRET_HEADER]: [s.proxySecret],
          // A signed-in browser's session, as the forward auth sends it (./auth.ts).
          'X-Tidepool-Session': ['{http.vars.tp_session}'],
          'X-Tp-Upgrade': ['{http.request.header.Upgrade}'],
          'X-Tp-Ui': [uiUrl(s)],
          // A public Port's share token (the original path's, or the share cookie's), as the
          // forward auth sends them: its link wakes the workspace without a sign-in.
          ...(kind === 'port'
            ? { [FORWARDED_URI_HEADER]: ['{http.request.orig_uri}'], [SHARE_HEADER]: ['{http.request.header.Cookie}'] }
            : {}),
        },
        // A Port's cookies stay out (up to hundreds of KiB, over the API's header limit).
        delete: ['Cookie', 'Connection', 'Upgrade'],
        ...(kind === 'port' ? { replace: { [SHARE_HEADER]: SHARE_COOKIE_ONLY } } : {}),
      },
      response: { set: { 'X-Content-Type-Options': ['nosniff'] } },
    },
    handle_response: [{ match: { status_code: [404] }, routes: [{ handle: [toPages] }] }],
  };
}
