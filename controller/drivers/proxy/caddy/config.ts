// The whole Caddy config Tidepool builds from a RouteTable, and the way back.
// Shape and traps: ../shared/REFERENCE.md, "Route table shape". The workspace and port
// tables live in two `map` handlers, so the number of routes stays fixed whatever the
// number of workspaces, and one /load converges everything.
import type { RouteTable } from '../types.js';
import { normalizeRouteTable } from './table.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Everything besides the route table that goes into the config. */
export interface CaddyConfigSettings {
  /** The `admin` block sent with every /load (a load without it moves the admin endpoint). */
  admin: { [key: string]: Json };
  /** Listen address of the app server (API and status UI), e.g. ":8080". */
  appListen: string;
  /** Listen address of the workspace server, e.g. ":8081". */
  workspaceListen: string;
  /** host:port of Tidepool's API. */
  apiUpstream: string;
  /** Basic auth user. */
  username: string;
  /** bcrypt hash of the password ("$2a$..." / "$2b$..."): Caddy reads a leading "$" as a raw hash. */
  passwordHash: string;
}

export const APP_SERVER = 'tidepool_app';
export const WORKSPACE_SERVER = 'tidepool_workspaces';
/** `@id`s, addressable as /id/<id> in the admin API. */
export const IDS = {
  portRoute: 'tidepool_port_route',
  workspaceRoute: 'tidepool_workspace_route',
  portMap: 'tidepool_port_map',
  workspaceMap: 'tidepool_workspace_map',
} as const;

const NOT_FOUND = { handler: 'static_response', status_code: 404, body: '404 page not found\n' };
/** Upstreams must not be able to make a browser call the API, so these never reach the client from the API. */
const CORS_HEADERS = ['Access-Control-Allow-Origin', 'Access-Control-Allow-Credentials', 'Access-Control-Allow-Methods', 'Access-Control-Allow-Headers', 'Access-Control-Expose-Headers'];

function basicAuth(s: CaddyConfigSettings): Json {
  return {
    handler: 'authentication',
    providers: {
      http_basic: {
        accounts: [{ username: s.username, password: s.passwordHash }],
        hash: { algorithm: 'bcrypt' },
        // Caddy checks bcrypt on every request otherwise (tens of ms of CPU each).
        hash_cache: {},
      },
    },
  };
}

function apiProxy(s: CaddyConfigSettings): Json {
  return {
    handler: 'reverse_proxy',
    upstreams: [{ dial: s.apiUpstream }],
    flush_interval: -1, // the API's watch streams must not be buffered
    headers: { response: { delete: CORS_HEADERS } },
  };
}

/**
 * One table lookup and the proxying that follows, for the IDE route (`/workspace/{ws}/`)
 * or the port route (`/workspace/{ws}/port/{n}/`). The map output is read lazily, so it is
 * copied into vars before the rewrite changes the path it is computed from.
 */
function lookupAndProxy(opts: { mapId: string; source: string; prefix: string; noSlash: string; mappings: Json[] }): Json {
  return {
    handler: 'subroute',
    routes: [
      {
        handle: [
          { '@id': opts.mapId, handler: 'map', source: opts.source, destinations: ['{tp_up}'], mappings: opts.mappings, defaults: ['none'] },
          // "?query" when there is one, "" otherwise: kept on the trailing-slash redirect.
          { handler: 'map', source: '{http.request.uri.query}', destinations: ['{tp_qs}'], mappings: [{ input_regexp: '^(.+)$', outputs: ['?$1'] }], defaults: [''] },
        ],
      },
      { match: [{ vars: { '{tp_up}': ['none'] } }], handle: [NOT_FOUND] },
      {
        match: [{ path_regexp: { pattern: opts.noSlash } }],
        handle: [{ handler: 'static_response', status_code: 308, headers: { Location: ['{http.request.uri.path}/{tp_qs}'] } }],
      },
      {
        handle: [
          { handler: 'vars', tp_dial: '{tp_up}', tp_prefix: opts.prefix },
          { handler: 'rewrite', strip_path_prefix: '{http.vars.tp_prefix}' },
          {
            handler: 'reverse_proxy',
            upstreams: [{ dial: '{http.vars.tp_dial}' }],
            flush_interval: -1,
            headers: {
              request: {
                set: { 'X-Forwarded-Prefix': ['{http.vars.tp_prefix}'] },
                // The Tidepool credentials are for Caddy; a workspace must never see them.
                delete: ['Authorization'],
              },
            },
          },
        ],
      },
    ],
  };
}

/** The whole config for `table` (validated and sorted first; throws ProxyError on a bad table). */
export function buildCaddyConfig(table: RouteTable, s: CaddyConfigSettings): { [key: string]: Json } {
  const t = normalizeRouteTable(table);
  return {
    admin: s.admin,
    apps: {
      http: {
        servers: {
          [APP_SERVER]: {
            listen: [s.appListen],
            automatic_https: { disable: true },
            routes: [
              { match: [{ path: ['/healthz'] }], handle: [apiProxy(s)] },
              { handle: [basicAuth(s)] },
              { match: [{ path: ['/'] }], handle: [{ handler: 'static_response', status_code: 302, headers: { Location: ['/app/'] } }] },
              { match: [{ path: ['/api/*', '/app', '/app/*', '/openapi.json'] }], handle: [apiProxy(s)] },
              { handle: [NOT_FOUND] },
            ],
          },
          [WORKSPACE_SERVER]: {
            listen: [s.workspaceListen],
            automatic_https: { disable: true },
            routes: [
              { handle: [basicAuth(s)] },
              {
                '@id': IDS.portRoute,
                match: [{ path_regexp: { pattern: '^/workspace/[^/]+/port/[0-9]+(/|$)' } }],
                handle: [lookupAndProxy({
                  mapId: IDS.portMap,
                  source: '{http.request.uri.path.1}/{http.request.uri.path.3}',
                  prefix: '/workspace/{http.request.uri.path.1}/port/{http.request.uri.path.3}',
                  noSlash: '^/workspace/[^/]+/port/[0-9]+$',
                  mappings: t.ports.map((p) => ({ input: `${p.workspace}/${p.port}`, outputs: [p.upstream] })),
                })],
              },
              {
                '@id': IDS.workspaceRoute,
                match: [{ path: ['/workspace/*'] }],
                handle: [lookupAndProxy({
                  mapId: IDS.workspaceMap,
                  source: '{http.request.uri.path.1}',
                  prefix: '/workspace/{http.request.uri.path.1}',
                  noSlash: '^/workspace/[^/]+$',
                  mappings: t.workspaces.map((w) => ({ input: w.name, outputs: [w.upstream] })),
                })],
              },
              { handle: [NOT_FOUND] },
            ],
          },
        },
      },
    },
  };
}

/** Every object in `config` carrying `"@id": id`. */
function findById(config: Json, id: string, out: { [key: string]: Json }[] = []): { [key: string]: Json }[] {
  if (Array.isArray(config)) for (const v of config) findById(v, id, out);
  else if (config !== null && typeof config === 'object') {
    if (config['@id'] === id) out.push(config);
    for (const v of Object.values(config)) findById(v, id, out);
  }
  return out;
}

function mappingsOf(config: Json, id: string): [string, string][] | null {
  const found = findById(config, id);
  if (found.length !== 1) return null;
  const mappings = found[0]!.mappings;
  if (!Array.isArray(mappings)) return null;
  const out: [string, string][] = [];
  for (const m of mappings) {
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return null;
    const { input, outputs } = m;
    if (typeof input !== 'string' || !Array.isArray(outputs) || outputs.length !== 1 || typeof outputs[0] !== 'string') return null;
    out.push([input, outputs[0]]);
  }
  return out;
}

/**
 * The route table held by the two maps of a live config, or null when they are not
 * there. It says nothing about the rest of the config: the caller rebuilds and compares.
 */
export function routeTableFromConfig(config: Json): RouteTable | null {
  const ws = mappingsOf(config, IDS.workspaceMap);
  const ports = mappingsOf(config, IDS.portMap);
  if (!ws || !ports) return null;
  const table: RouteTable = { workspaces: ws.map(([name, upstream]) => ({ name, upstream })), ports: [] };
  for (const [input, upstream] of ports) {
    const m = /^(.+)\/([0-9]+)$/.exec(input);
    if (!m) return null;
    table.ports.push({ workspace: m[1]!, port: Number(m[2]), upstream });
  }
  return table;
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
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k]!)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
