// The Caddy driver as the controller sees it: the ProxyDriver contract over one boot at a time
// (./boot.ts, started on first use and again after a failed one) and the RunningCaddy it
// returns (./running.ts). It keeps what outlives a boot: the subscribers, the access log they
// listen to, the password hash and proxy secret chosen, the count of config loads.
import { join } from 'node:path';
import { errorMessage } from '../../../specs/errors.js';
import { IDE_PORT } from '../../../specs/workspace.js';
import type { Daemon } from '../daemon.js';
import type { ProxyCloseOptions, RouteTable } from '../types.js';
import { AccessLog } from './access.js';
import type { CaddyAdmin } from './admin.js';
import { PasswordHash } from './auth.js';
import { CaddyBoot } from './boot.js';
import { ProxySecret } from './desired.js';
import type { Json } from './json.js';
import type { CaddyProxy, CaddyProxyOptions } from './options.js';
import type { Logger } from './process.js';
import type { RunningCaddy } from './running.js';
import { normalizeRouteTable } from './table.js';

const silent: Logger = { info() {}, warn() {}, error() {} };

export class CaddyProxyDriver implements CaddyProxy {
  readonly name = 'caddy';
  readonly #opts: CaddyProxyOptions;
  readonly #stateDir: string;
  readonly #logger: Logger;
  readonly #idePort: number;
  readonly #hash: PasswordHash;
  readonly #secret: ProxySecret;
  readonly #listeners = new Set<() => void>();
  readonly #accessSubscribers = new Set<(workspace: string) => void>();
  #starting: Promise<RunningCaddy> | undefined;
  #running: RunningCaddy | undefined;
  #access: AccessLog | undefined;
  /** A Caddy a failed boot left supervised: ended (or released) on close. */
  #stray: Daemon | undefined;
  #applying: Promise<unknown> = Promise.resolve();
  #loads = 0;

  constructor(opts: CaddyProxyOptions) {
    this.#opts = opts;
    this.#stateDir = opts.stateDir ?? join(process.cwd(), '.tidepool', 'caddy');
    this.#logger = opts.logger ?? silent;
    this.#idePort = opts.idePort ?? IDE_PORT;
    this.#hash = new PasswordHash(opts.credentials.password);
    this.#secret = new ProxySecret(opts.proxySecret);
  }

  get adminUrl(): string | undefined {
    return this.#running?.client.baseUrl ?? this.#opts.adminUrl;
  }
  get pid(): number | undefined {
    return this.#running?.pid;
  }
  get dnsmasqPid(): number | undefined {
    return this.#running?.dnsmasqPid;
  }
  get dnsPort(): number | undefined {
    return this.#running?.dnsPort;
  }
  get adopted(): { caddy: boolean; dnsmasq: boolean } {
    return this.#running?.adopted ?? { caddy: false, dnsmasq: false };
  }
  get hostsPath(): string {
    return join(this.#stateDir, 'hosts', 'routes');
  }
  get loads(): number {
    return this.#loads;
  }
  get caCertPath(): string | undefined {
    return this.#running?.caCertPath;
  }

  async start(): Promise<void> {
    await this.#started();
  }

  /** The running Caddy, booted on first use (and again after a boot that failed). */
  #started(): Promise<RunningCaddy> {
    this.#starting ??= this.#boot();
    return this.#starting;
  }

  async #boot(): Promise<RunningCaddy> {
    const boot = new CaddyBoot({
      opts: this.#opts,
      stateDir: this.#stateDir,
      logger: this.#logger,
      idePort: this.#idePort,
      hash: this.#hash,
      secret: this.#secret,
      notify: () => this.#notify(),
      openAccessLog: (port) => this.#openAccessLog(port),
      loaded: () => ++this.#loads,
    });
    try {
      this.#running = await boot.run();
      return this.#running;
    } catch (err) {
      this.#starting = undefined;
      this.#stray = boot.startedCaddy;
      await this.#access?.close();
      this.#access = undefined;
      throw err;
    }
  }

  async #openAccessLog(port: number): Promise<AccessLog> {
    // Set before it listens: a subscribeAccess meanwhile subscribes to it directly.
    const access = new AccessLog(this.#logger);
    this.#access = access;
    await access.listen(port);
    for (const fn of this.#accessSubscribers) access.subscribe(fn);
    return access;
  }

  #notify(): void {
    for (const fn of [...this.#listeners]) {
      try {
        fn();
      } catch (err) {
        this.#logger.error({ err: errorMessage(err) }, 'proxy subscriber failed');
      }
    }
  }

  async read(): Promise<RouteTable | null> {
    return (await this.#started()).read();
  }

  apply(table: RouteTable): Promise<void> {
    // One write at a time: two interleaved ones could leave the older table live.
    const run = this.#applying.then(() => this.#applyNow(table));
    this.#applying = run.catch(() => undefined);
    return run;
  }

  async #applyNow(table: RouteTable): Promise<void> {
    const normalized = normalizeRouteTable(table, this.#idePort); // bad tables fail before any I/O
    await (await this.#started()).apply(normalized);
  }

  subscribe(onChange: () => void): () => void {
    this.#listeners.add(onChange);
    return () => {
      this.#listeners.delete(onChange);
    };
  }

  subscribeAccess(onAccess: (workspace: string) => void): () => void {
    // Subscribing may come before start(): kept until the access log exists.
    this.#accessSubscribers.add(onAccess);
    const off = this.#access?.subscribe(onAccess);
    return () => {
      this.#accessSubscribers.delete(onAccess);
      off?.();
    };
  }

  async close(closeOpts?: ProxyCloseOptions): Promise<void> {
    const keepRunning = closeOpts?.keepRunning ?? false;
    this.#listeners.clear();
    const running = await this.#starting?.catch(() => undefined);
    await running?.close(keepRunning);
    if (keepRunning) this.#stray?.release();
    else await this.#stray?.stop();
    await this.#access?.close();
    this.#access = undefined;
    this.#running = undefined;
    this.#stray = undefined;
    this.#starting = undefined;
  }

  admin(): CaddyAdmin {
    if (!this.#running) throw new Error('caddy proxy not started');
    return this.#running.client;
  }

  async buildConfig(): Promise<Json> {
    return (await this.#started()).config();
  }
}
