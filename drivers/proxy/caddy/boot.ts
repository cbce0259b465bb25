// The Caddy driver's boot: the dnsmasq up (started or adopted), the settings of the config this
// state dir last booted with read back, the access log listening, then either a Caddy Tidepool
// runs (started, or adopted when a previous Tidepool left it running, and loaded only when its
// config is not ours) or one it was pointed at (its admin URL; its `admin` block kept). What it
// returns is a RunningCaddy (./running.ts), the steady state, with every part in place.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../../../specs/errors.js';
import type { Daemon } from '../daemon.js';
import { Dnsmasq } from '../dns/dnsmasq.js';
import { DEFAULT_PORTS } from '../types.js';
import type { AccessLog } from './access.js';
import { CaddyAdmin } from './admin.js';
import type { PasswordHash } from './auth.js';
import { DesiredConfig, readPreviousBoot, type PreviousBoot, type ProxySecret } from './desired.js';
import { passwordHashesIn, type Json } from './json.js';
import type { CaddyProxyOptions } from './options.js';
import { caddyConfigPath, caddyDaemon, caddyDataHome, freeLoopbackPort, type Logger } from './process.js';
import { LiveConfig, RunningCaddy } from './running.js';
import { caRootPath, certificateServed } from './tls.js';

/** What a boot needs from the driver, which outlives each boot. */
export interface CaddyBootContext {
  opts: CaddyProxyOptions;
  stateDir: string;
  logger: Logger;
  idePort: number;
  hash: PasswordHash;
  secret: ProxySecret;
  /** Caddy or dnsmasq was started again after it died. */
  notify(): void;
  /** Opens the access log on `port` (or another when taken), with the driver's subscribers. */
  openAccessLog(port: number): Promise<AccessLog>;
  /** Counts a config load; returns the count so far. */
  loaded(): number;
}

/** What every attempt at the config shares. */
interface BootParts {
  dns: Dnsmasq;
  previous: PreviousBoot;
  accessAddress: string | undefined;
}

type AdminBlock = { [key: string]: Json };

/** Caddy's start-up error says the pages port is taken ("listen tcp 127.0.0.1:N: bind: address already in use"). */
function pagesPortTaken(message: string, pagesPort: number): boolean {
  return message.includes(`:${pagesPort}: bind: address already in use`);
}

export class CaddyBoot {
  readonly #c: CaddyBootContext;
  #startedCaddy: Daemon | undefined;

  constructor(context: CaddyBootContext) {
    this.#c = context;
  }

  /** A Caddy this boot started (or adopted) before it failed: still supervised, for the driver to end on close. */
  get startedCaddy(): Daemon | undefined {
    return this.#startedCaddy;
  }

  async run(): Promise<RunningCaddy> {
    const { opts, stateDir, logger, idePort } = this.#c;
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const dns = new Dnsmasq({
      stateDir,
      logger,
      idePort,
      onRestart: this.#c.notify,
      ...(opts.dnsmasqBinary ? { binary: opts.dnsmasqBinary } : {}),
    });
    try {
      await dns.start();
      const previous = await readPreviousBoot(stateDir, opts.credentials.username, this.#c.hash, this.#c.secret);
      const access = opts.accessLog !== false ? await this.#c.openAccessLog(previous.accessPort) : undefined;
      const parts = { dns, previous, accessAddress: access?.address };
      return opts.adminUrl ? await this.#external(opts.adminUrl, parts) : await this.#supervised(parts);
    } catch (err) {
      await dns.stop().catch(() => undefined);
      throw err;
    }
  }

  #desired(p: BootParts, admin: AdminBlock, pagesPort: number, passwordHash: string): DesiredConfig {
    const { opts } = this.#c;
    return new DesiredConfig({
      admin,
      appListen: opts.appListen ?? `:${DEFAULT_PORTS.app}`,
      workspaceListen: opts.workspaceListen ?? `:${DEFAULT_PORTS.workspace}`,
      previewListen: opts.previewListen ?? `:${DEFAULT_PORTS.preview}`,
      pagesListen: `127.0.0.1:${pagesPort}`,
      apiUpstream: opts.apiUpstream,
      proxySecret: this.#c.secret.value,
      username: opts.credentials.username,
      passwordHash,
      dnsPort: p.dns.port,
      idePort: this.#c.idePort,
      refresh: opts.refresh ?? '1s',
      ...(p.accessAddress ? { accessLog: p.accessAddress } : {}),
      ...(opts.tls ? { tls: opts.tls } : {}),
    });
  }

  #liveConfig(client: CaddyAdmin, desired: DesiredConfig, bootFile: string | undefined): LiveConfig {
    return new LiveConfig({ client, desired, bootFile, logger: this.#c.logger, loaded: this.#c.loaded });
  }

  /** A Caddy Tidepool does not run: its config replaced by ours when it differs, its `admin` block kept. */
  async #external(adminUrl: string, p: BootParts): Promise<RunningCaddy> {
    const client = new CaddyAdmin(adminUrl);
    try {
      const live = await client.getConfig();
      const found = live !== null && typeof live === 'object' && !Array.isArray(live) ? live.admin : undefined;
      const admin =
        found && typeof found === 'object' && !Array.isArray(found)
          ? found
          : { listen: new URL(adminUrl).host, config: { persist: false } };
      const passwordHash = await this.#c.hash.pick(passwordHashesIn(live, this.#c.opts.credentials.username));
      this.#c.secret.reuse(JSON.stringify(live));
      const config = this.#liveConfig(client, this.#desired(p, admin, p.previous.pagesPort, passwordHash), undefined);
      await config.converge();
      const caCertPath = await this.#locateCaRoot(client, false);
      return new RunningCaddy({ config, dns: p.dns, ...(caCertPath ? { caCertPath } : {}) });
    } catch (err) {
      await client.close();
      throw err;
    }
  }

  /** The Caddy Tidepool runs: started, or adopted and loaded only when its config is not ours. */
  async #supervised(p: BootParts): Promise<RunningCaddy> {
    const { opts, stateDir, logger } = this.#c;
    const adminSocket = join(stateDir, 'admin.sock');
    const admin = { listen: `unix/${adminSocket}`, config: { persist: false } };
    let pagesPort = p.previous.pagesPort;
    for (let attempt = 0; ; attempt++) {
      const desired = this.#desired(p, admin, pagesPort, p.previous.passwordHash);
      const client = new CaddyAdmin(adminSocket);
      const caddy = caddyDaemon({
        binary: opts.caddyBinary ?? 'caddy',
        stateDir,
        adminSocket,
        client,
        config: () => desired.json,
        logger,
        onRestart: this.#c.notify,
      });
      try {
        await caddy.start();
        this.#startedCaddy = caddy;
        const config = this.#liveConfig(client, desired, caddyConfigPath(stateDir));
        // A Caddy left running may hold older settings (ports, credentials, the API's address):
        // loading ours is a reload, which closes its proxied connections, so say so.
        if (caddy.adopted && !(await config.current())) {
          logger.warn(
            { caddyPid: caddy.pid },
            'the Caddy left running has other server settings: loading ours (this reload closes its proxied connections)',
          );
          await config.converge();
        }
        const caCertPath = await this.#locateCaRoot(client, true);
        logger.info(
          {
            caddyPid: caddy.pid,
            adopted: caddy.adopted,
            admin: adminSocket,
            dnsmasqPid: p.dns.pid,
            dnsPort: p.dns.port,
          },
          caddy.adopted ? 'caddy adopted' : 'caddy started',
        );
        return new RunningCaddy({ config, dns: p.dns, caddy, ...(caCertPath ? { caCertPath } : {}) });
      } catch (err) {
        await client.close();
        // The pages port can be taken between our probe and Caddy's bind: try another one. Any
        // other taken port is the user's to choose, and a new attempt would only fail again.
        if (attempt >= 2 || !pagesPortTaken(errorMessage(err), pagesPort)) throw err;
        pagesPort = await freeLoopbackPort();
      }
    }
  }

  /**
   * With TLS internal, where users find the CA to trust: the root.crt Caddy writes in its
   * storage (written when the config loads); a Caddy not ours keeps its storage elsewhere, so
   * its CA (from its admin API) is copied into the state dir.
   */
  async #locateCaRoot(client: CaddyAdmin, ours: boolean): Promise<string | undefined> {
    const { opts, stateDir } = this.#c;
    if (opts.tls?.mode !== 'internal') return undefined;
    if (!ours) {
      const ca = JSON.parse(await client.call('GET', '/pki/ca/local')) as { root_certificate?: string };
      if (!ca.root_certificate)
        throw new Error('the Caddy admin API gave no root certificate for its local CA (/pki/ca/local)');
      const path = join(stateDir, 'ca-root.crt');
      await writeFile(path, ca.root_certificate, { mode: 0o644 });
      return path;
    }
    const path = caRootPath(caddyDataHome(stateDir));
    for (let i = 0; !existsSync(path); i++) {
      if (i >= 100) throw new Error(`Caddy did not write its CA's root certificate at ${path}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Up means answering: the site certificates are issued after the config loads.
    const appListen = opts.appListen ?? `:${DEFAULT_PORTS.app}`;
    if (!(await certificateServed(appListen, 15_000)))
      this.#c.logger.warn({ appListen }, 'Caddy has not served a TLS certificate on the app port within 15 s');
    return path;
  }
}
