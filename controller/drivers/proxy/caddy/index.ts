// The Caddy proxy driver: a Caddy whose config is fixed at boot, and a dnsmasq that holds the
// route table as names. apply() writes a hosts file (and waits until dnsmasq answers from it);
// Caddy is loaded only when its config is not the one the server settings make (a Caddy
// restarted empty, a changed password): route changes never reload it.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Daemon } from '../daemon.js';
import { Dnsmasq } from '../dns/dnsmasq.js';
import { DEFAULT_PORTS, type ProxyCloseOptions, type ProxyDriver, type RouteTable } from '../types.js';
import { IDE_PORT } from '../../../../specs/workspace.js';
import { CaddyAdmin } from './admin.js';
import { PasswordHash } from './auth.js';
import { buildCaddyConfig, canonicalJson, passwordHashesIn, type Json } from './config.js';
import { AccessLog } from './access.js';
import { caddyConfigPath, caddyDaemon, caddyDataHome, freeLoopbackPort, type Logger } from './process.js';
import { normalizeRouteTable } from './table.js';
import { caRootPath, type TlsSettings } from './tls.js';
import { errorMessage } from '../../../../specs/errors.js';
import { PROXY_SECRET_HEADER } from '../../../../specs/proxy.js';

export { CaddyAdmin, CaddyAdminError } from './admin.js';
export {
  APP_CSP,
  APP_SERVER,
  PAGES_SERVER,
  PREVIEW_SERVER,
  WORKSPACE_SERVER,
  buildCaddyConfig,
  canonicalJson,
  type CaddyConfigSettings,
  type Json,
} from './config.js';
export { freeLoopbackPort, type Logger } from './process.js';
export { normalizeRouteTable } from './table.js';
export { TLS_MODES, tlsSettings, type TlsMode, type TlsSettings } from './tls.js';

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

const silent: Logger = { info() {}, warn() {}, error() {} };

// A factory returning the driver as an object of short methods over the Caddy, the dnsmasq,
// the access log and the desired config they share; long as a whole (and so is this file,
// over 300 lines), not in any one method. The config itself is config.ts; the names, ../dns/.
export function createCaddyProxy(opts: CaddyProxyOptions): CaddyProxy {
  const stateDir = opts.stateDir ?? join(process.cwd(), '.tidepool', 'caddy');
  const logger = opts.logger ?? silent;
  const idePort = opts.idePort ?? IDE_PORT;
  const { username, password } = opts.credentials;
  const hash = new PasswordHash(password);
  let proxySecret = opts.proxySecret ?? '';
  const listeners = new Set<() => void>();
  const adminSocket = join(stateDir, 'admin.sock');

  let client: CaddyAdmin | undefined;
  let caddy: Daemon | undefined;
  let dns: Dnsmasq | undefined;
  let adminBlock: { [key: string]: Json } = {};
  let pagesPort = 0;
  let passwordHash = '';
  let desired: { json: string; canonical: string } | undefined;
  let starting: Promise<void> | undefined;
  let applying: Promise<unknown> = Promise.resolve();
  let loads = 0;
  let access: AccessLog | undefined;
  let accessPort = 0;
  let caCertPath: string | undefined;

  const accessSubscribers = new Set<(workspace: string) => void>();
  const notify = () => {
    for (const fn of [...listeners]) {
      try {
        fn();
      } catch (err) {
        logger.error({ err: errorMessage(err) }, 'proxy subscriber failed');
      }
    }
  };

  function buildDesired(): void {
    const config = buildCaddyConfig({
      admin: adminBlock,
      appListen: opts.appListen ?? `:${DEFAULT_PORTS.app}`,
      workspaceListen: opts.workspaceListen ?? `:${DEFAULT_PORTS.workspace}`,
      previewListen: opts.previewListen ?? `:${DEFAULT_PORTS.preview}`,
      pagesListen: `127.0.0.1:${pagesPort}`,
      apiUpstream: opts.apiUpstream,
      proxySecret,
      username,
      passwordHash,
      dnsPort: dns!.port,
      idePort,
      refresh: opts.refresh ?? '1s',
      ...(access ? { accessLog: access.address } : {}),
      ...(opts.tls ? { tls: opts.tls } : {}),
    });
    desired = { json: JSON.stringify(config), canonical: canonicalJson(config) };
  }

  /** Without a secret given, the one a config holds (an adopted Caddy's), else a new one. */
  function reuseProxySecret(configText: string): void {
    if (opts.proxySecret) return;
    const found = new RegExp(`"${PROXY_SECRET_HEADER}":\\["([A-Za-z0-9_-]+)"\\]`).exec(configText)?.[1];
    proxySecret = found ?? (proxySecret || randomBytes(32).toString('base64url'));
  }

  /** The pages port and password hash of the config this state dir last booted, reused so that an adopted Caddy matches. */
  async function previousBoot(): Promise<void> {
    const text = await readFile(caddyConfigPath(stateDir), 'utf8').catch(() => '');
    let old: Json = null;
    try {
      old = text ? (JSON.parse(text) as Json) : null;
    } catch {
      /* rewritten below */
    }
    passwordHash = await hash.pick(passwordHashesIn(old, username));
    const m = /"listen":\["127\.0\.0\.1:(\d+)"\]/.exec(text.slice(text.indexOf('"tidepool_pages"')));
    pagesPort = m ? Number(m[1]) : await freeLoopbackPort();
    accessPort = Number(/"address":"udp\/127\.0\.0\.1:(\d+)"/.exec(text)?.[1] ?? 0);
    reuseProxySecret(text);
  }

  /** Loads our config when the live one differs (a server setting changed, or Caddy lost it). */
  async function converge(): Promise<void> {
    const live = await client!.getConfig();
    if (live !== null && canonicalJson(live) === desired!.canonical) return;
    if (caddy) await writeFile(caddyConfigPath(stateDir), desired!.json, { mode: 0o600 });
    await client!.load(desired!.json);
    loads++;
    logger.info({ loads }, 'caddy config loaded (it was not the one the server settings make)');
  }

  /**
   * Where users find the CA to trust: the root.crt Caddy writes in its storage (written when the
   * config loads); a Caddy not ours keeps its storage elsewhere, so its CA (from its admin API)
   * is copied into stateDir.
   */
  async function locateCaRoot(): Promise<void> {
    if (opts.tls?.mode !== 'internal') return;
    if (!caddy) {
      const ca = JSON.parse(await client!.call('GET', '/pki/ca/local')) as { root_certificate?: string };
      if (!ca.root_certificate)
        throw new Error('the Caddy admin API gave no root certificate for its local CA (/pki/ca/local)');
      caCertPath = join(stateDir, 'ca-root.crt');
      await writeFile(caCertPath, ca.root_certificate, { mode: 0o644 });
      return;
    }
    const path = caRootPath(caddyDataHome(stateDir));
    for (let i = 0; !existsSync(path); i++) {
      if (i >= 100) throw new Error(`Caddy did not write its CA's root certificate at ${path}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    caCertPath = path;
  }

  async function startAll(): Promise<void> {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    dns = new Dnsmasq({
      stateDir,
      logger,
      idePort,
      onRestart: notify,
      ...(opts.dnsmasqBinary ? { binary: opts.dnsmasqBinary } : {}),
    });
    await dns.start();
    await previousBoot();
    if (opts.accessLog !== false) {
      access = new AccessLog(logger);
      await access.listen(accessPort);
      for (const fn of accessSubscribers) access.subscribe(fn);
    }
    if (opts.adminUrl) {
      const c = new CaddyAdmin(opts.adminUrl);
      try {
        const live = await c.getConfig();
        const found = live !== null && typeof live === 'object' && !Array.isArray(live) ? live.admin : undefined;
        adminBlock =
          found && typeof found === 'object' && !Array.isArray(found)
            ? found
            : { listen: new URL(opts.adminUrl).host, config: { persist: false } };
        passwordHash = await hash.pick(passwordHashesIn(live, username));
        reuseProxySecret(JSON.stringify(live));
        client = c;
        buildDesired();
        await converge();
        await locateCaRoot();
      } catch (err) {
        client = undefined;
        await c.close();
        throw err;
      }
      return;
    }
    adminBlock = { listen: `unix/${adminSocket}`, config: { persist: false } };
    for (let attempt = 0; ; attempt++) {
      buildDesired();
      const c = new CaddyAdmin(adminSocket);
      const d = caddyDaemon({
        binary: opts.caddyBinary ?? 'caddy',
        stateDir,
        adminSocket,
        client: c,
        config: () => desired!.json,
        logger,
        onRestart: notify,
      });
      try {
        await d.start();
        client = c;
        caddy = d;
        // A Caddy left running may hold older settings (ports, credentials, the API's address):
        // loading ours is a reload, which closes its proxied connections, so say so.
        if (d.adopted) {
          const live = await c.getConfig();
          if (live === null || canonicalJson(live) !== desired!.canonical) {
            logger.warn(
              { caddyPid: d.pid },
              'the Caddy left running has other server settings: loading ours (this reload closes its proxied connections)',
            );
            await converge();
          }
        }
        await locateCaRoot();
        logger.info(
          { caddyPid: d.pid, adopted: d.adopted, admin: adminSocket, dnsmasqPid: dns.pid, dnsPort: dns.port },
          d.adopted ? 'caddy adopted' : 'caddy started',
        );
        return;
      } catch (err) {
        await c.close();
        // The pages port can be taken between our probe and Caddy's bind: try another one.
        if (attempt >= 2 || !/pages|address already in use/.test(errorMessage(err))) throw err;
        pagesPort = await freeLoopbackPort();
      }
    }
  }

  function start(): Promise<void> {
    starting ??= startAll().catch(async (err: unknown) => {
      starting = undefined;
      await dns?.stop().catch(() => undefined);
      await access?.close();
      access = undefined;
      throw err;
    });
    return starting;
  }

  async function applyNow(table: RouteTable): Promise<void> {
    const normalized = normalizeRouteTable(table, idePort); // bad tables fail before any I/O
    await start();
    await converge();
    await dns!.write(normalized);
  }

  return {
    name: 'caddy',
    get adminUrl() {
      return client?.baseUrl ?? opts.adminUrl;
    },
    get pid() {
      return caddy?.pid;
    },
    get dnsmasqPid() {
      return dns?.pid;
    },
    get dnsPort() {
      return dns?.port;
    },
    get adopted() {
      return { caddy: !!caddy?.adopted, dnsmasq: !!dns?.adopted };
    },
    get hostsPath() {
      return join(stateDir, 'hosts', 'routes');
    },
    get loads() {
      return loads;
    },
    get caCertPath() {
      return caCertPath;
    },
    start,

    async read() {
      await start();
      const live = await client!.getConfig();
      if (live === null || canonicalJson(live) !== desired!.canonical) return null;
      return dns!.read();
    },

    apply(table) {
      // One write at a time: two interleaved ones could leave the older table live.
      const run = applying.then(() => applyNow(table));
      applying = run.catch(() => undefined);
      return run;
    },

    subscribe(onChange) {
      listeners.add(onChange);
      return () => {
        listeners.delete(onChange);
      };
    },

    subscribeAccess(onAccess) {
      // Subscribing may come before start(): keep it until the listener exists.
      accessSubscribers.add(onAccess);
      const off = access?.subscribe(onAccess);
      return () => {
        accessSubscribers.delete(onAccess);
        off?.();
      };
    },

    async close(closeOpts) {
      listeners.clear();
      await starting?.catch(() => undefined);
      if (closeOpts?.keepRunning) {
        caddy?.release();
        dns?.release();
      } else {
        await caddy?.stop();
        await dns?.stop();
      }
      await client?.close();
      await access?.close();
      access = undefined;
      caddy = undefined;
      dns = undefined;
      client = undefined;
      starting = undefined;
    },

    admin() {
      if (!client) throw new Error('caddy proxy not started');
      return client;
    },

    async buildConfig() {
      await start();
      return JSON.parse(desired!.json) as Json;
    },
  };
}
