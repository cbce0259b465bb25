// What the Caddy config is built from (the server settings, never the route table), and the
// few values every server derives from them.
import type { Json } from './json.js';
import type { TlsSettings } from './tls.js';

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

export const portOf = (listen: string) => Number(listen.slice(listen.lastIndexOf(':') + 1));
/** The UI, on the host the browser used, at the app port. */
export const uiUrl = (s: CaddyConfigSettings) =>
  `{http.request.scheme}://{http.request.host}:${portOf(s.appListen)}/app/`;
