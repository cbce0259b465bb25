// The Caddy proxy driver: the whole route table in one admin-API `POST /load`, and only
// when the live config differs from the one we would build.
import { join } from 'node:path';
import type { ProxyDriver, RouteTable } from '../types.js';
import { CaddyAdmin } from './admin.js';
import { PasswordHash } from './auth.js';
import { buildCaddyConfig, canonicalJson, passwordHashesIn, routeTableFromConfig, type Json } from './config.js';
import { CaddyProcess, freeLoopbackPort, type Logger } from './process.js';
import { normalizeRouteTable } from './table.js';

export { CaddyAdmin, CaddyAdminError } from './admin.js';
export { APP_SERVER, WORKSPACE_SERVER, IDS, buildCaddyConfig, canonicalJson, routeTableFromConfig, type CaddyConfigSettings, type Json } from './config.js';
export { freeLoopbackPort, type Logger } from './process.js';
export { normalizeRouteTable } from './table.js';

export interface CaddyProxyOptions {
  /**
   * Admin API of an existing Caddy to drive, e.g. "http://127.0.0.1:2019". Its config is
   * replaced as a whole by ours; its own `admin` block is kept as found. Default: none —
   * Tidepool starts and supervises `caddy run` with its admin API on 127.0.0.1:<free port>.
   */
  adminUrl?: string;
  /** The Caddy executable (used only without adminUrl). Default "caddy" (from PATH). */
  caddyBinary?: string;
  /** Listen address of the app server (/api, /app). Default ":8080". */
  appListen?: string;
  /** Listen address of the workspace server (/workspace/...). Default ":8081". */
  workspaceListen?: string;
  /** host:port of Tidepool's API, e.g. "127.0.0.1:7080". Required. */
  apiUpstream: string;
  /** Basic-auth credentials enforced by Caddy on both servers (/healthz on the app server is exempt). Required. */
  credentials: { username: string; password: string };
  /** Where the boot config, Caddy's log and its storage go (without adminUrl). Default "<cwd>/.tidepool/caddy". */
  stateDir?: string;
  /** pino-like logger. Default: silent. */
  logger?: Logger;
}

export interface CaddyProxy extends ProxyDriver {
  readonly name: 'caddy';
  /** Admin API base URL; known after start() when Tidepool runs Caddy itself. */
  readonly adminUrl: string | undefined;
  /** pid of the Caddy Tidepool supervises; undefined when driving an existing one or when it is down. */
  readonly pid: number | undefined;
  start(): Promise<void>;
  read(): Promise<RouteTable | null>;
  apply(table: RouteTable): Promise<void>;
  subscribe(onChange: () => void): () => void;
  close(): Promise<void>;
  /** The admin client (tests and benchmarks use it for raw calls). Available after start(). */
  admin(): CaddyAdmin;
  /** The exact config apply(table) would load now. */
  buildConfig(table: RouteTable): Promise<Json>;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

export function createCaddyProxy(opts: CaddyProxyOptions): CaddyProxy {
  const appListen = opts.appListen ?? ':8080';
  const workspaceListen = opts.workspaceListen ?? ':8081';
  const stateDir = opts.stateDir ?? join(process.cwd(), '.tidepool', 'caddy');
  const logger = opts.logger ?? silent;
  const { username, password } = opts.credentials;
  const hash = new PasswordHash(password);
  const listeners = new Set<() => void>();

  let client: CaddyAdmin | undefined;
  let proc: CaddyProcess | undefined;
  let adminBlock: { [key: string]: Json } = {};
  let starting: Promise<void> | undefined;
  let applying: Promise<unknown> = Promise.resolve();

  const notify = () => {
    for (const fn of [...listeners]) {
      try { fn(); } catch (err) { logger.error({ err: (err as Error).message }, 'proxy subscriber failed'); }
    }
  };

  async function startOwn(): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      // A free port can be taken between our probe and Caddy's bind: try another one.
      const port = await freeLoopbackPort();
      adminBlock = { listen: `127.0.0.1:${port}`, config: { persist: false } };
      const c = new CaddyAdmin(`http://127.0.0.1:${port}`);
      const p = new CaddyProcess({
        binary: opts.caddyBinary ?? 'caddy', stateDir, admin: adminBlock, client: c, logger,
        onRestart: notify,
      });
      try {
        await p.start();
        client = c;
        proc = p;
        logger.info({ caddyPid: p.pid, admin: c.baseUrl }, 'caddy started');
        return;
      } catch (err) {
        lastError = err;
        await p.stop();
        await c.close();
      }
    }
    throw lastError;
  }

  async function startExternal(url: string): Promise<void> {
    const c = new CaddyAdmin(url);
    try {
      const live = await c.getConfig();
      const found = live !== null && typeof live === 'object' && !Array.isArray(live) ? live.admin : undefined;
      adminBlock = found && typeof found === 'object' && !Array.isArray(found)
        ? found
        : { listen: new URL(url).host, config: { persist: false } };
      client = c;
    } catch (err) {
      await c.close();
      throw err;
    }
  }

  function start(): Promise<void> {
    starting ??= (opts.adminUrl ? startExternal(opts.adminUrl) : startOwn()).catch((err: unknown) => {
      starting = undefined;
      throw err;
    });
    return starting;
  }

  async function configFor(table: RouteTable, passwordHash: string): Promise<{ [key: string]: Json }> {
    return buildCaddyConfig(table, { admin: adminBlock, appListen, workspaceListen, apiUpstream: opts.apiUpstream, username, passwordHash });
  }

  async function applyNow(table: RouteTable): Promise<void> {
    const normalized = normalizeRouteTable(table); // bad tables fail before any I/O
    await start();
    const live = await client!.getConfig();
    const desired = await configFor(normalized, await hash.pick(passwordHashesIn(live, username)));
    const body = JSON.stringify(desired);
    // Same config, same keys: the canonical form has the length of any serialization of it,
    // so a length mismatch settles it without canonicalizing thousands of entries.
    if (live !== null) {
      const liveCanonical = canonicalJson(live);
      if (liveCanonical.length === body.length && liveCanonical === canonicalJson(desired)) return;
    }
    await client!.load(body);
    logger.info({ workspaces: normalized.workspaces.length, ports: normalized.ports.length }, 'caddy config loaded');
  }

  return {
    name: 'caddy',
    get adminUrl() { return client?.baseUrl ?? opts.adminUrl; },
    get pid() { return proc?.pid; },
    start,

    async read() {
      await start();
      const live = await client!.getConfig();
      const found = routeTableFromConfig(live);
      if (!found) return null;
      let table: RouteTable;
      try { table = normalizeRouteTable(found); } catch { return null; }
      const liveHash = await hash.matching(passwordHashesIn(live, username));
      if (!liveHash) return null;
      return canonicalJson(await configFor(table, liveHash)) === canonicalJson(live) ? table : null;
    },

    apply(table) {
      // One load at a time: two interleaved /loads could leave the older table live.
      const run = applying.then(() => applyNow(table));
      applying = run.catch(() => undefined);
      return run;
    },

    subscribe(onChange) {
      listeners.add(onChange);
      return () => { listeners.delete(onChange); };
    },

    async close() {
      listeners.clear();
      await starting?.catch(() => undefined);
      await proc?.stop();
      await client?.close();
      proc = undefined;
      client = undefined;
      starting = undefined;
    },

    admin() {
      if (!client) throw new Error('caddy proxy not started');
      return client;
    },

    async buildConfig(table) {
      await start();
      const live = await client!.getConfig();
      return configFor(table, await hash.pick(passwordHashesIn(live, username)));
    },
  };
}
