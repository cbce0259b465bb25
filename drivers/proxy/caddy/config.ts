// The whole Caddy config, fixed at boot: it depends on the server settings only (ports,
// credentials, where the resolver is), never on the route table. Every route is looked up per
// request by name in Tidepool's zone (../dns/zone.ts) with `dynamic_upstreams`, so a workspace
// or Port coming or going changes a hosts file, not Caddy, and no connection is dropped.
// Shape and traps: ../shared/REFERENCE.md, "Routing without reloads in Caddy 2.6.2".
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
//
// The parts: servers.ts (app, workspace, preview), routes.ts (the routes by name and their
// error routes), pages-server.ts, auth.ts (login), tls.ts; config-settings.ts is what they are
// built from, json.ts the JSON type and the comparison of two configs.
import { appServer, previewServer, workspaceServer } from './servers.js';
import type { CaddyConfigSettings } from './config-settings.js';
import type { Json, JsonObject } from './json.js';
import { pagesServer } from './pages-server.js';
import { tlsApps } from './tls.js';

export type { CaddyConfigSettings } from './config-settings.js';
export { canonicalJson, passwordHashesIn, type Json, type JsonObject } from './json.js';
export { APP_CSP, MAX_HEADER_BYTES } from './servers.js';

export const APP_SERVER = 'tidepool_app';
export const WORKSPACE_SERVER = 'tidepool_workspaces';
export const PREVIEW_SERVER = 'tidepool_previews';
export const PAGES_SERVER = 'tidepool_pages';

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
