// What the Caddy driver is given (CaddyProxyOptions) and what it offers beyond the ProxyDriver
// contract (CaddyProxy): its processes, its admin client, the config it wants.
import type { ProxyCloseOptions, ProxyDriver, RouteTable } from '../types.js';
import type { CaddyAdmin } from './admin.js';
import type { Json } from './json.js';
import type { Logger } from './process.js';
import type { TlsSettings } from './tls.js';

export interface CaddyProxyOptions {
  /**
   * Admin API of an existing Caddy to drive, e.g. "http://127.0.0.1:2019". Its config is
   * replaced by ours (its own `admin` block kept) when it differs. Default: none — Tidepool
   * starts and supervises `caddy run` with its admin API on a unix socket in stateDir.
   */
  adminUrl?: string;
  /** The Caddy executable (used only without adminUrl). Default "caddy" (from PATH). */
  caddyBinary?: string;
  /** The dnsmasq executable. Default /usr/sbin/dnsmasq when it exists, else "dnsmasq". */
  dnsmasqBinary?: string;
  /** Listen address of the app server (/api, /app). Default ":8080". */
  appListen?: string;
  /** Listen address of the workspace server (IDEs, /workspace/{ws}/). Default ":8081". */
  workspaceListen?: string;
  /** Listen address of the preview server (Ports, /workspace/{ws}/port/{n}/). Default ":8082". */
  previewListen?: string;
  /** host:port of Tidepool's API, e.g. "127.0.0.1:7080". Required. */
  apiUpstream: string;
  /** Basic-auth credentials enforced on the public servers (/healthz on the app server is exempt). Required. */
  credentials: { username: string; password: string };
  /**
   * Sent to the API with every request Caddy makes to it (the forward auth, the proxied API), so
   * that the API believes Caddy's X-Forwarded-For. Default: a random one of this driver (serve
   * keeps one in the data directory, so that an adopted Caddy still holds the right one).
   */
  proxySecret?: string;
  /** The port of every workspace's IDE. Default 8080. */
  idePort?: number;
  /** How long Caddy keeps a name's answer. Default "1s" (see bench/proxy.ts for the figures). */
  refresh?: string;
  /** Whether Caddy's access log is streamed to subscribeAccess. Default true. */
  accessLog?: boolean;
  /** TLS on the app, workspace and preview servers (see ./tls.ts). Default: none, plain HTTP. */
  tls?: TlsSettings;
  /** Where the config, the hosts file, pid files, sockets and logs go. Default "<cwd>/.tidepool/caddy". */
  stateDir?: string;
  /** pino-like logger. Default: silent. */
  logger?: Logger;
}

export interface CaddyProxy extends ProxyDriver {
  readonly name: 'caddy';
  /** Admin API: its URL, or "unix//path" of the socket. Known after start(). */
  readonly adminUrl: string | undefined;
  /** pid of the Caddy Tidepool supervises; undefined when driving an existing one or when it is down. */
  readonly pid: number | undefined;
  /** pid of the supervised dnsmasq. */
  readonly dnsmasqPid: number | undefined;
  /** UDP port of the dnsmasq on 127.0.0.1. */
  readonly dnsPort: number | undefined;
  /** Whether Caddy and dnsmasq were found running (left by a previous Tidepool) rather than started. */
  readonly adopted: { caddy: boolean; dnsmasq: boolean };
  /** Where the hosts file is. */
  readonly hostsPath: string;
  /** Caddy config loads this driver made after boot (0 while only routes change). */
  readonly loads: number;
  /** With `tls.mode` internal: the root certificate of Caddy's CA (a PEM file), for users to trust. Known after start(). */
  readonly caCertPath: string | undefined;
  start(): Promise<void>;
  read(): Promise<RouteTable | null>;
  apply(table: RouteTable): Promise<void>;
  subscribe(onChange: () => void): () => void;
  subscribeAccess(onAccess: (workspace: string) => void): () => void;
  close(opts?: ProxyCloseOptions): Promise<void>;
  /** The admin client (tests and benchmarks use it for raw calls). Available after start(). */
  admin(): CaddyAdmin;
  /** The exact config Caddy should have. */
  buildConfig(): Promise<Json>;
}
