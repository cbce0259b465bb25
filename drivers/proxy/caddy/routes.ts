// The routes that proxy to a workspace by name (the IDE on the workspace server, a Port on the
// preview server), the trailing-slash redirect in front of them, and their error routes, which
// hand a failed lookup to the pages server (./pages-server.ts).
import { ZONE } from '../dns/zone.js';
import { uiUrl, type CaddyConfigSettings } from './config-settings.js';
import type { Json } from './json.js';
import { page, texts, type PageKind } from './pages.js';

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

/**
 * The route of one kind: capture the names into vars (before the rewrite changes the path
 * they come from), strip the prefix, proxy to the name's answer.
 */
export function routed(s: CaddyConfigSettings, kind: PageKind, pattern: string): Json {
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
            delete: ['Authorization', 'X-Tidepool-Session', 'X-Tidepool-Signin'],
            // A Port gets its own cookies, never Tidepool's (the IDE's server dropped them all).
            ...(ide ? {} : { replace: { Cookie: [{ search_regexp: TIDEPOOL_COOKIES, replace: '' }] } }),
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
export function errorRoutes(s: CaddyConfigSettings, kind: PageKind): Json {
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
