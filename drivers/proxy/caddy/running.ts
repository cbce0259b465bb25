// The Caddy driver's steady state, once booted (./boot.ts): Caddy holds the config the server
// settings make (LiveConfig loads it again only when it does not: a Caddy restarted empty, a
// config edited by hand), and the route table lives in dnsmasq's hosts file. Route changes
// never load Caddy.
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { Daemon } from '../daemon.js';
import type { Dnsmasq } from '../dns/dnsmasq.js';
import type { RouteTable } from '../types.js';
import { parseConfig, type CaddyAdmin } from './admin.js';
import type { DesiredConfig } from './desired.js';
import type { Json } from './json.js';
import type { Logger } from './process.js';

/**
 * How long a check that found Caddy holding the wanted config spares converge() another: a
 * routes reconcile reads (which checks) and then writes the names, a few milliseconds apart.
 * Every read checks again.
 */
const CHECK_STANDS_MS = 250;

/** Caddy's live config against the one wanted. */
export class LiveConfig {
  readonly client: CaddyAdmin;
  readonly desired: DesiredConfig;
  /** Where the config Caddy boots with is kept (a Caddy Tidepool runs), or undefined (one it does not). */
  readonly #bootFile: string | undefined;
  readonly #logger: Logger;
  /** Counts a load; returns the count so far. */
  readonly #loaded: () => number;
  /** The text of the live config that last matched the wanted one. */
  #matched: string | undefined;
  /** When a check last found the wanted config (performance.now()), or -Infinity. */
  #checkedAt = -Infinity;

  constructor(o: {
    client: CaddyAdmin;
    desired: DesiredConfig;
    bootFile: string | undefined;
    logger: Logger;
    loaded: () => number;
  }) {
    this.client = o.client;
    this.desired = o.desired;
    this.#bootFile = o.bootFile;
    this.#logger = o.logger;
    this.#loaded = o.loaded;
  }

  /** Whether Caddy holds the wanted config now. */
  async current(): Promise<boolean> {
    const text = await this.client.getConfigText();
    // The same text as the last match is the same config: no parse, no canonical form.
    const ok = text === this.#matched || this.desired.matches(parseConfig(text));
    this.#matched = ok ? text : undefined;
    this.#checkedAt = ok ? performance.now() : -Infinity;
    return ok;
  }

  /**
   * Loads the wanted config when the live one differs (a server setting changed, or Caddy lost
   * it). A check that found it a moment ago (the read of the same routes reconcile) stands.
   */
  async converge(): Promise<void> {
    if (performance.now() - this.#checkedAt < CHECK_STANDS_MS) return;
    if (await this.current()) return;
    if (this.#bootFile) await writeFile(this.#bootFile, this.desired.json, { mode: 0o600 });
    await this.client.load(this.desired.json);
    const loads = this.#loaded();
    this.#logger.info({ loads }, 'caddy config loaded (it was not the one the server settings make)');
  }
}

export interface RunningCaddyParts {
  config: LiveConfig;
  dns: Dnsmasq;
  /** The Caddy Tidepool supervises; absent when it drives one it did not start (an admin URL). */
  caddy?: Daemon;
  /** With TLS internal: the root certificate of Caddy's CA. */
  caCertPath?: string;
}

export class RunningCaddy {
  readonly #config: LiveConfig;
  readonly #dns: Dnsmasq;
  readonly #caddy: Daemon | undefined;
  readonly caCertPath: string | undefined;

  constructor(p: RunningCaddyParts) {
    this.#config = p.config;
    this.#dns = p.dns;
    this.#caddy = p.caddy;
    this.caCertPath = p.caCertPath;
  }

  get client(): CaddyAdmin {
    return this.#config.client;
  }

  get pid(): number | undefined {
    return this.#caddy?.pid;
  }

  get dnsmasqPid(): number | undefined {
    return this.#dns.pid;
  }

  get dnsPort(): number {
    return this.#dns.port;
  }

  get adopted(): { caddy: boolean; dnsmasq: boolean } {
    return { caddy: !!this.#caddy?.adopted, dnsmasq: this.#dns.adopted };
  }

  /** The live table, or null when Caddy's config or dnsmasq's answers are not the ones Tidepool made. */
  async read(): Promise<RouteTable | null> {
    if (!(await this.#config.current())) return null;
    return this.#dns.read();
  }

  /** Makes `table` (normalized) live: Caddy's config first when it was lost, then the names. */
  async apply(table: RouteTable): Promise<void> {
    await this.#config.converge();
    await this.#dns.write(table);
  }

  /** The config Caddy should have. */
  config(): Json {
    return this.#config.desired.value();
  }

  /** Stops supervising; ends the processes unless `keepRunning` (the next Tidepool adopts them). */
  async close(keepRunning: boolean): Promise<void> {
    if (keepRunning) {
      this.#caddy?.release();
      this.#dns.release();
    } else {
      await this.#caddy?.stop();
      await this.#dns.stop();
    }
    await this.#config.client.close();
  }
}
